// controller/kube/connections.ts against the real kube-apiserver, through a TCP proxy of the
// test's that counts the connections it accepts (each one a TCP connect and a TLS handshake):
// client-node as it comes opens one connection per request; through shareConnections() status
// patches reuse keep-alive connections (at most one per request in flight), the writes land,
// and the informer's watch, which keeps its own connection, still delivers.
import assert from 'node:assert/strict';
import { KubeConfig } from '@kubernetes/client-node';
import { shareConnections } from '../../controller/kube/connections.js';
import { HostNetworkInformer } from '../../controller/kube/informer.js';
import { KubeStatusWriter } from '../../controller/kube/status.js';
import { createLogger } from '../../controller/logger.js';
import type { ControlPlane } from '../../hack/controlplane.js';
import { freshCluster } from '../helpers/controller.js';
import { ECS1, createHn, getHn, hostNetwork } from '../helpers/invariants.js';
import { resetCluster, waitFor } from '../helpers/kube.js';
import { startFreezableProxy, type FreezableProxy } from '../helpers/tcpproxy.js';
import type { HostNetwork } from '../../controller/api/types.js';

/** kc with its cluster's server replaced by the proxy (same CA and credentials; the certificate names 127.0.0.1). */
function viaProxy(kc: KubeConfig, port: number): KubeConfig {
  const out = new KubeConfig();
  const cluster = kc.getCurrentCluster()!;
  out.loadFromOptions({
    clusters: [{ ...cluster, server: `https://127.0.0.1:${port}` }],
    users: kc.users,
    contexts: kc.contexts,
    currentContext: kc.currentContext,
  });
  return out;
}

describe('kube/connections: API requests share keep-alive connections (real API server)', function () {
  this.timeout(60_000);
  let cp: ControlPlane;
  let kc: KubeConfig;
  let proxy: FreezableProxy;

  before(async () => {
    ({ cp, kc } = await freshCluster());
    const u = new URL(cp.url);
    proxy = await startFreezableProxy({ host: u.hostname, port: Number(u.port) });
  });

  after(async () => {
    await proxy.close();
    await resetCluster(kc);
  });

  /** Status writes, `parallel` at a time, `rounds` times; returns the connections they opened. */
  async function statusWrites(writer: KubeStatusWriter, obj: HostNetwork, parallel: number, rounds: number, tag: string): Promise<number> {
    const before = proxy.accepted;
    for (let r = 0; r < rounds; r++) {
      await Promise.all(Array.from({ length: parallel }, (_, i) => writer.write(obj, { podCIDR: `10.${r}.${i}.0/24`, nextHop: `${tag}-${r}-${i}` })));
    }
    return proxy.accepted - before;
  }

  it('client-node as it comes opens a connection per request; shared, sequential requests reuse one', async () => {
    const obj = await createHn(kc, hostNetwork('conn-seq', { instanceID: ECS1 }));
    // The baseline: without it the assertion below could not tell reuse from a proxy that counts nothing.
    const plain = await statusWrites(new KubeStatusWriter(viaProxy(kc, proxy.port)), obj, 1, 10, 'plain');
    assert.ok(plain >= 10, `client-node alone: ${plain} connections for 10 requests`);

    const shared = shareConnections(viaProxy(kc, proxy.port));
    try {
      const opened = await statusWrites(new KubeStatusWriter(shared.kc), obj, 1, 10, 'shared');
      assert.ok(opened <= 1, `shared: ${opened} connections for 10 sequential requests`);
      assert.equal(shared.agents, 1);
      assert.equal((await getHn(kc, 'conn-seq'))?.status?.nextHop, 'shared-9-0', 'the last write landed');
    } finally {
      shared.close();
    }
  });

  it('shared, parallel requests open at most one connection per request in flight and reuse them', async () => {
    const obj = await createHn(kc, hostNetwork('conn-par', { instanceID: ECS1 }));
    const shared = shareConnections(viaProxy(kc, proxy.port));
    try {
      const opened = await statusWrites(new KubeStatusWriter(shared.kc), obj, 8, 5, 'par');
      assert.ok(opened <= 8, `shared: ${opened} connections for 5 rounds of 8 parallel requests`);
    } finally {
      shared.close();
    }
  });

  it('the informer built on the shared view still lists and watches', async () => {
    const shared = shareConnections(viaProxy(kc, proxy.port));
    const noop = (): void => undefined;
    const informer = new HostNetworkInformer(shared.kc, createLogger('error', 'json'), 60_000, { onAdd: noop, onUpdate: noop, onDelete: noop });
    try {
      await informer.start();
      await createHn(kc, hostNetwork('conn-watched', { instanceID: ECS1 }));
      await waitFor('the host through the watch', async () => informer.get('conn-watched') !== undefined);
    } finally {
      await informer.stop();
      shared.close();
    }
  });
});
