// The HostNetwork informer (controller/kube/informer.ts) against the real kube-apiserver, through
// a TLS-terminating proxy of the test's own (test/helpers/watch-proxy.ts) that misbehaves on the
// watch only, so lists and writes keep working while the watch is silent or cut:
// - a silent watch is given up after the idle timeout (the watchdog) and a change made while it
//   was silent reaches the cache once watches pass again;
// - a watch that is cut (reset) is restarted after each error, with a growing delay, and the
//   cache converges;
// - a watch that is refused every time (403, as without the RBAC verb) still lets the cache
//   converge, deletes included, by re-listing after each failure;
// - the first list comes from the watch cache (resourceVersion=0), a relist is a consistent read.
import assert from 'node:assert/strict';
import type { KubeConfig } from '@kubernetes/client-node';
import type { HostNetwork } from '../../controller/api/types.js';
import { HostNetworkInformer } from '../../controller/kube/informer.js';
import type { ControlPlane } from '../../hack/controlplane.js';
import { freshCluster } from '../helpers/controller.js';
import { ECS1, createHn, deleteHn, hostNetwork } from '../helpers/invariants.js';
import { resetCluster, waitFor } from '../helpers/kube.js';
import { capturingLogger } from '../helpers/logs.js';
import { startWatchProxy, type WatchProxy } from '../helpers/watch-proxy.js';

interface LogLine {
  level: string;
  message: string;
  retryInMs?: number;
  status?: number;
  idleMs?: number;
}

describe('kube/informer: watchdog and restart (real API server behind a watch-only faulty proxy)', function () {
  this.timeout(60_000);
  let cp: ControlPlane;
  let kc: KubeConfig;
  let proxy: WatchProxy;
  let informer: HostNetworkInformer | undefined;

  before(async () => {
    ({ cp, kc } = await freshCluster());
  });

  beforeEach(async () => {
    proxy = await startWatchProxy(cp.url, kc);
  });

  afterEach(async () => {
    // The informer first: closing the proxy cuts its connections, which it must not see as live.
    await informer?.stop();
    informer = undefined;
    await proxy.close();
  });

  after(async () => {
    await resetCluster(kc);
  });

  const noop = (): void => undefined;
  const handlers = { onAdd: noop, onUpdate: noop, onDelete: noop };

  it('a silent watch is restarted after the idle timeout and a change made meanwhile reaches the cache', async () => {
    const { log, lines } = capturingLogger<LogLine>();
    informer = new HostNetworkInformer(proxy.kubeConfig(), log, 1000, handlers);
    await informer.start();
    const inf = informer;
    await createHn(kc, hostNetwork('watchdog-before', { instanceID: ECS1 }));
    await waitFor('the first host through the working watch', async () => inf.get('watchdog-before') !== undefined);

    proxy.setWatchMode('freeze');
    const watchesAtFreeze = proxy.watchRequests;
    const logsAtFreeze = lines.length;
    await createHn(kc, hostNetwork('watchdog-during', { instanceID: ECS1 }));
    // The informer gives the silent watch up and opens another one (held by the proxy too).
    await waitFor('a new watch after the freeze', async () => proxy.watchRequests > watchesAtFreeze, 15_000);
    // The first word after the freeze is the watchdog's: a silent watch is not an error. (The held
    // watches after it are cut at the idle timeout, and those are errors: see watch-deadline.ts.)
    const firstWarning = lines.slice(logsAtFreeze).find((l) => l.level === 'warn');
    assert.equal(firstWarning?.message, 'watch silent; restarting it', `logs since the freeze: ${JSON.stringify(lines.slice(logsAtFreeze))}`);
    assert.ok((firstWarning?.idleMs ?? 0) >= 1000, `restarted only after the idle timeout (${firstWarning?.idleMs} ms)`);
    assert.equal(inf.get('watchdog-during'), undefined, 'nothing got through while the watch was frozen');

    proxy.setWatchMode('pass');
    await waitFor('the host created during the freeze in the cache', async () => inf.get('watchdog-during') !== undefined, 15_000);
    assert.deepEqual(inf.list().map((h: HostNetwork) => h.metadata.name).sort(), ['watchdog-before', 'watchdog-during']);
  });

  it('a watch that is cut is restarted after each error with a growing delay, and the cache converges', async () => {
    const { log, lines } = capturingLogger<LogLine>();
    // An idle timeout far beyond the test: only the restart after errors can bring the watch back.
    informer = new HostNetworkInformer(proxy.kubeConfig(), log, 600_000, handlers);
    await informer.start();
    const inf = informer;
    const before = inf.list().length;

    proxy.setWatchMode('reset');
    await createHn(kc, hostNetwork('reset-during', { instanceID: ECS1 }));
    const failures = (): LogLine[] => lines.filter((l) => l.level === 'warn' && l.message === 'watch failed; restarting it');
    await waitFor('three failed watches in a row', async () => failures().length >= 3, 20_000);
    const [d1 = NaN, d2 = NaN, d3 = NaN] = failures().map((l) => l.retryInMs ?? NaN);
    assert.ok(d1 > 0 && d1 < d2 && d2 < d3, `the delay grows with each failure in a row: ${d1}, ${d2}, ${d3} ms`);
    assert.ok(proxy.watchesReset >= 3, `each retry opened a new watch that the proxy cut (${proxy.watchesReset})`);

    // (Re-listed after each failure, the host may be in the cache already: see the next test.)
    proxy.setWatchMode('pass');
    await waitFor('the host created while watches were cut in the cache', async () => inf.get('reset-during') !== undefined, 20_000);
    assert.equal(inf.list().length, before + 1, 'exactly the one new host was added');
  });

  it('a watch refused every time (403) still converges by re-listing after each failure, deletes included', async () => {
    const { log, lines } = capturingLogger<LogLine>();
    const deleted: string[] = [];
    informer = new HostNetworkInformer(proxy.kubeConfig(), log, 600_000, { ...handlers, onDelete: (h) => deleted.push(h.metadata.name) });
    await informer.start();
    const inf = informer;
    await createHn(kc, hostNetwork('refused-gone', { instanceID: ECS1 }));
    await waitFor('the first host through the working watch', async () => inf.get('refused-gone') !== undefined);

    proxy.setWatchMode('forbid');
    const listsAtForbid = proxy.listRequests;
    await deleteHn(kc, 'refused-gone');
    await createHn(kc, hostNetwork('refused-new', { instanceID: ECS1 }));
    await waitFor('the cache converged without a watch', async () => inf.get('refused-new') !== undefined && inf.get('refused-gone') === undefined, 20_000);
    assert.deepEqual(deleted, ['refused-gone'], 'the delete reached the handler');
    assert.ok(proxy.listRequests > listsAtForbid, `re-listed (${proxy.listRequests - listsAtForbid} lists) after the watch was cut`);
    // The re-list can land before the informer's next watch is tried: wait for that watch to be
    // refused and reported.
    const refused = await waitFor(
      'a refused watch reported',
      async () => (proxy.watchesForbidden >= 1 ? lines.find((l) => l.message.startsWith('watch failed; restarting it') && l.status === 403) : undefined),
      20_000,
    );
    assert.ok(refused?.message.includes('check the RBAC rule'), `the warning points at RBAC: ${JSON.stringify(refused)}`);
  });

  it('the first list is served from the watch cache (resourceVersion=0); a relist after a watch failure is a consistent read', async () => {
    const { log } = capturingLogger<LogLine>();
    informer = new HostNetworkInformer(proxy.kubeConfig(), log, 600_000, handlers);
    await informer.start();
    const inf = informer;
    const rv = (path: string): string | null => new URL(path, 'https://proxy').searchParams.get('resourceVersion');
    const first = proxy.listPaths.filter((p) => p.includes('/hostnetworks'));
    assert.equal(first.length, 1, `one list at start: ${JSON.stringify(first)}`);
    assert.equal(rv(first[0] ?? ''), '0', `the start-up list asks the watch cache: ${first[0]}`);

    proxy.setWatchMode('forbid');
    const listsAtForbid = proxy.listPaths.length;
    await createHn(kc, hostNetwork('relist-new', { instanceID: ECS1 }));
    await waitFor('the new host through a relist', async () => inf.get('relist-new') !== undefined, 20_000);
    const relists = proxy.listPaths.slice(listsAtForbid).filter((p) => p.includes('/hostnetworks'));
    assert.ok(relists.length >= 1, 'relisted after the refused watch');
    for (const p of relists) assert.equal(rv(p), null, `a relist is a consistent read (no resourceVersion): ${p}`);
  });
});
