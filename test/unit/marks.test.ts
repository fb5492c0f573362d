// The ownership mark in route descriptions.
import assert from 'node:assert/strict';
import { isOwnedBy, markFor, ownerFromMark } from '../../controller/routes/marks.js';

describe('routes/marks', () => {
  it('markFor is "hostnet:<installation>:<name>" for ordinary names', () => {
    assert.equal(markFor('default', 'node-1'), 'hostnet:default:node-1');
    assert.equal(ownerFromMark('default', 'hostnet:default:node-1'), 'node-1');
    assert.equal(isOwnedBy('default', 'hostnet:default:node-1'), true);
  });

  it('ownership is per installation, and a prefix of another id does not match', () => {
    assert.equal(isOwnedBy('prod', markFor('prod-2', 'x')), false);
    assert.equal(isOwnedBy('prod-2', markFor('prod', 'x')), false);
    assert.equal(isOwnedBy('prod', 'hostnet:prod'), false);
    assert.equal(isOwnedBy('prod', ''), false);
    assert.equal(isOwnedBy('prod', undefined), false);
    assert.equal(isOwnedBy('prod', 'made by hand'), false);
    assert.equal(ownerFromMark('prod', markFor('prod-2', 'x')), undefined);
    assert.equal(ownerFromMark('prod', undefined), undefined);
  });

  it('a name that fits exactly is not shortened', () => {
    const head = 'hostnet:default:';
    const name = 'n'.repeat(255 - head.length);
    assert.equal(markFor('default', name).length, 255);
    assert.equal(ownerFromMark('default', markFor('default', name)), name);
  });

  it('long names are shortened to at most 255 chars, still owned, and distinct', () => {
    for (const id of ['default', 'a'.repeat(40)]) {
      const base = 'x'.repeat(240);
      const m1 = markFor(id, `${base}-one-with-a-long-tail`);
      const m2 = markFor(id, `${base}-two-with-a-long-tail`);
      for (const m of [m1, m2]) {
        assert.ok(m.length <= 255, `${m.length}`);
        assert.equal(isOwnedBy(id, m), true);
        assert.equal(ownerFromMark(id, m), undefined, 'a shortened mark does not name the owner');
        assert.match(m, /~[0-9a-f]{12}$/);
      }
      assert.notEqual(m1, m2);
      assert.equal(markFor(id, `${base}-one-with-a-long-tail`), m1, 'stable');
    }
    const longest = markFor('default', 'y'.repeat(253));
    assert.equal(longest.length, 255);
  });
});
