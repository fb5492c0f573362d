import assert from 'node:assert/strict';
import { ListItemSplitter } from '../../controller/kube/list-items.js';

/** Feeds `pieces` and returns the items (parsed) and the rest of the document (parsed). */
function split(pieces: string[]): { items: unknown[]; rest: unknown } {
  const items: unknown[] = [];
  const s = new ListItemSplitter((text) => items.push(JSON.parse(text)));
  for (const p of pieces) s.feed(p);
  return { items, rest: JSON.parse(s.end()) };
}

const tricky = {
  metadata: { name: 'a', annotations: { note: 'braces } { and brackets ] [ in a string, an escaped quote \\" and "items":[{' } },
  spec: { list: [[1, 2], { x: [] }], empty: {}, s: 'back\\slash\\', u: 'ünïcödé ✓ 🚀' },
};
const doc = {
  apiVersion: 'hostnet.io/v1alpha1',
  kind: 'HostNetworkList',
  metadata: { resourceVersion: '42', note: '"items":[' },
  items: [tricky, { metadata: { name: 'b' } }, { metadata: { name: 'c', managedFields: [{ manager: 'x' }] } }],
};

describe('ListItemSplitter: a list answer split into its items, fed in pieces', () => {
  const text = JSON.stringify(doc);
  const expectedRest = { ...doc, items: [] };

  it('one piece: every item, in order, and the rest with "items":[]', () => {
    assert.deepEqual(split([text]), { items: doc.items, rest: expectedRest });
  });

  it('two pieces split at every position, and one character at a time', () => {
    for (let i = 0; i <= text.length; i++) assert.deepEqual(split([text.slice(0, i), text.slice(i)]), { items: doc.items, rest: expectedRest }, `split at ${i}`);
    assert.deepEqual(split([...text]), { items: doc.items, rest: expectedRest });
  });

  it('indented JSON, items before or after metadata, an empty list', () => {
    assert.deepEqual(split([JSON.stringify(doc, null, 2)]), { items: doc.items, rest: expectedRest });
    const itemsFirst = JSON.stringify({ items: doc.items, metadata: doc.metadata });
    assert.deepEqual(split([itemsFirst]), { items: doc.items, rest: { items: [], metadata: doc.metadata } });
    assert.deepEqual(split(['{"kind":"L","items":[],"metadata":{}}']), { items: [], rest: { kind: 'L', items: [], metadata: {} } });
  });

  it('an "items" key inside metadata is not the list', () => {
    const nested = { metadata: { items: [{ not: 'an item' }] }, items: [{ metadata: { name: 'x' } }] };
    assert.deepEqual(split([JSON.stringify(nested)]), { items: nested.items, rest: { ...nested, items: [] } });
  });

  it('an answer cut short is an error, not a shorter list', () => {
    const s = new ListItemSplitter(() => undefined);
    s.feed(text.slice(0, text.length - 5));
    assert.throws(() => s.end(), /ended in the middle/);
  });
});
