// The Huawei provider's port directory: one paged listing of the project's ports instead of one
// ListPorts per server when many servers are looked up at once (issue 16, NIC cold start).
import assert from 'node:assert/strict';
import { PortDirectory, type PortView } from '../../controller/provider/huawei/port-directory.js';

function port(i: number, pairs: string[] = []): PortView {
  return { id: `port-${i}`, deviceId: `srv-${i}`, pairs: pairs.map((ip) => ({ ip_address: ip })), addresses: [`192.168.0.${i}`] };
}

function cloud(ports: PortView[]) {
  const calls: string[] = [];
  let now = 1_000_000;
  const listPage = async (limit: number, marker: string | undefined): Promise<PortView[]> => {
    calls.push(`list ${limit} ${marker ?? '-'}`);
    const start = marker === undefined ? 0 : ports.findIndex((p) => p.id === marker) + 1;
    return ports.slice(start, start + limit).map((p) => structuredClone(p));
  };
  const readServer = async (id: string): Promise<PortView[]> => {
    calls.push(`read ${id}`);
    return ports.filter((p) => p.deviceId === id).map((p) => structuredClone(p));
  };
  return {
    calls,
    ports,
    tick: (ms: number) => (now += ms),
    dir: (o: { minBatch?: number; pageSize?: number; maxPages?: number } = {}) => new PortDirectory(listPage, readServer, { maxAgeMs: 3000, now: () => now, ...o }),
  };
}

describe('PortDirectory (Huawei NIC lookups)', () => {
  it('a few servers are read one by one; no listing of the project', async () => {
    const c = cloud([port(1), port(2), port(3)]);
    const d = c.dir({ minBatch: 4 });
    assert.deepEqual(await Promise.all(['srv-1', 'srv-2', 'srv-3'].map((s) => d.lookup(s))), [[port(1)], [port(2)], [port(3)]]);
    assert.deepEqual(c.calls, ['read srv-1', 'read srv-2', 'read srv-3']);
  });

  it('many lookups at once share one paged listing, which answers later lookups while it is fresh', async () => {
    const ports = Array.from({ length: 25 }, (_, i) => port(i, i % 2 ? ['1.1.1.1/0'] : []));
    const c = cloud(ports);
    const d = c.dir({ minBatch: 4, pageSize: 10 });
    const ids = ports.map((p) => p.deviceId);
    const got = await Promise.all(ids.map((s) => d.lookup(s)));
    assert.deepEqual(got, ports.map((p) => [p]));
    // Three lookups were too few for a listing; the fourth listed the project in pages of 10.
    assert.deepEqual([...c.calls].sort(), ['list 10 -', 'list 10 port-19', 'list 10 port-9', 'read srv-0', 'read srv-1', 'read srv-2']);
    c.tick(2999);
    await d.lookup('srv-7');
    assert.equal(c.calls.length, 6, 'answered from the listing while fresh');
    c.tick(1);
    // Stale now, and only two lookups within the last 3 s: read one by one until it is busy again.
    await d.lookup('srv-7');
    await d.lookup('srv-8');
    assert.deepEqual(c.calls.slice(6), ['read srv-7', 'read srv-8']);
    await d.lookup('srv-9');
    assert.deepEqual(c.calls.slice(8), ['list 10 -', 'list 10 port-9', 'list 10 port-19'], 'four lookups within 3 s: listed again');
  });

  it('a server the listing lacks (newer than it) is read; a forgotten one is read again', async () => {
    const c = cloud([port(1), port(2), port(3), port(4)]);
    const d = c.dir({ minBatch: 2 });
    await Promise.all([d.lookup('srv-1'), d.lookup('srv-2')]);
    assert.deepEqual([...c.calls].sort(), ['list 2000 -', 'read srv-1']);
    c.ports.push(port(5));
    assert.deepEqual(await d.lookup('srv-5'), [port(5)]);
    assert.equal(c.calls.at(-1), 'read srv-5');
    d.forget('srv-3');
    c.ports[2]!.pairs = [{ ip_address: '10.0.3.0/24' }];
    assert.deepEqual(await d.lookup('srv-3'), [port(3, ['10.0.3.0/24'])]);
    assert.equal(c.calls.at(-1), 'read srv-3');
  });

  it('what a lookup returns is a copy: changing it changes no later answer', async () => {
    const c = cloud([port(1), port(2)]);
    const d = c.dir({ minBatch: 1 });
    const first = await d.lookup('srv-1');
    first[0]!.pairs.push({ ip_address: '10.9.9.0/24' });
    assert.deepEqual(await d.lookup('srv-1'), [port(1)]);
    assert.deepEqual(c.calls, ['list 2000 -']);
  });

  it('a project with more pages than maxPages is looked up server by server', async () => {
    const ports = Array.from({ length: 12 }, (_, i) => port(i));
    const c = cloud(ports);
    const d = c.dir({ minBatch: 1, pageSize: 5, maxPages: 2 });
    assert.deepEqual(await d.lookup('srv-11'), [port(11)]);
    assert.deepEqual(c.calls, ['list 5 -', 'list 5 port-4', 'read srv-11']);
    await d.lookup('srv-3');
    assert.equal(c.calls.at(-1), 'read srv-3', 'no second listing soon after one that was too large');
  });

  it('a failed listing fails the lookups that waited for it; the next one tries again', async () => {
    let fail = true;
    const calls: string[] = [];
    const d = new PortDirectory(
      async () => {
        calls.push('list');
        if (fail) throw new Error('throttled');
        return [port(1)];
      },
      async (id) => {
        calls.push(`read ${id}`);
        return [];
      },
      { minBatch: 1 },
    );
    await assert.rejects(d.lookup('srv-1'), /throttled/);
    fail = false;
    assert.deepEqual(await d.lookup('srv-1'), [port(1)]);
    assert.deepEqual(calls, ['list', 'list']);
  });
});
