// --cloud-provider=none (direct routing, no cloud router): the configuration it takes, and the
// reconciler over it with in-memory parts: the block is allocated and recorded, the NIC
// condition says NotApplicable, Ready follows the agent's HostConfigured, and the provider is
// never asked for anything beyond its (empty) list of route tables.
import assert from 'node:assert/strict';
import { BlockAllocator } from '../../controller/allocator.js';
import { getCondition, rfc3339 } from '../../controller/api/conditions.js';
import { ConfigError, parseConfig, type Config } from '../../controller/config.js';
import { Ledger, MemoryLedgerStore } from '../../controller/ledger.js';
import { silentLogger } from '../../controller/logger.js';
import { createProvider } from '../../controller/provider/factory.js';
import { NoCloudProvider } from '../../controller/provider/none/provider.js';
import type { CloudProvider } from '../../controller/provider/provider.js';
import { FakeStatusWriter } from './fakes/status.js';
import { wireReconciler } from './fakes/wiring.js';

function config(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const r = parseConfig(argv, env);
  assert.equal(r.kind, 'config');
  return (r as { config: Config }).config;
}

/** The provider with every method call recorded (name and arguments). */
function recorded(inner: CloudProvider): { provider: CloudProvider; calls: string[] } {
  const calls: string[] = [];
  const provider = new Proxy(inner, {
    get(target, prop, receiver) {
      const v = Reflect.get(target, prop, receiver) as unknown;
      if (typeof v !== 'function') return v;
      return (...args: unknown[]) => {
        calls.push(String(prop));
        return (v as (...a: unknown[]) => unknown).apply(target, args);
      };
    },
  });
  return { provider, calls };
}

describe('--cloud-provider=none: configuration', () => {
  it('needs no cloud flag, and the factory builds the provider without a cloud', async () => {
    const c = config(['--cloud-provider=none']);
    assert.equal(c.cloudProvider, 'none');
    const p = await createProvider(c, silentLogger());
    assert.equal(p.name, 'none');
    assert.equal(p.capabilities.sourceDestCheck, 'not-applicable');
  });

  for (const [flag, value] of [
    ['cloud-region', 'cn-north-4'],
    ['cloud-endpoint', 'https://vpc.example.test'],
    ['cloud-project-id', 'p'],
    ['cloud-vpc-id', 'vpc-1'],
    ['route-table-ids', 'rtb-1'],
    ['cloud-credentials-dir', '/creds'],
    ['security-group-id', 'sg-1'],
  ] as const) {
    it(`refuses --${flag} (as a flag or its variable), naming it`, () => {
      assert.throws(() => parseConfig(['--cloud-provider=none', `--${flag}=${value}`], {}), (e: Error) => e instanceof ConfigError && e.message.startsWith(`invalid --${flag}=`) && /no effect with --cloud-provider=none/.test(e.message));
      const env = { [`HOSTNET_${flag.toUpperCase().replace(/-/g, '_')}`]: value };
      assert.throws(() => parseConfig(['--cloud-provider=none'], env), (e: Error) => e instanceof ConfigError && e.message.startsWith(`invalid --${flag}=`));
    });
  }

  it('an empty variable (Kubernetes value: "") counts as unset', () => {
    assert.equal(config(['--cloud-provider=none'], { HOSTNET_CLOUD_REGION: '', HOSTNET_SECURITY_GROUP_ID: '' }).cloudProvider, 'none');
  });
});

describe('--cloud-provider=none: the reconciler over it', () => {
  async function harness() {
    const { provider, calls } = recorded(new NoCloudProvider());
    const status = new FakeStatusWriter();
    const log = silentLogger();
    const ledger = new Ledger(new MemoryLedgerStore(), new BlockAllocator('10.0.0.0/16', 24, []), log);
    const { reconciler: rec, tables } = await wireReconciler({ provider, status, ledger, log, installationId: 'ut', inPool: () => true });
    const sync = async (name: string): Promise<void> => {
      await rec.sync(name);
      await tables.flushAll();
      await rec.sync(name);
    };
    const cond = (name: string, type: string) => getCondition(status.get(name)?.status?.conditions, type);
    return { status, ledger, calls, sync, cond };
  }

  it('records the block, NIC NotApplicable, no route table, and no provider call beyond the empty table list', async () => {
    const h = await harness();
    h.status.put({ metadata: { name: 'h1' }, spec: { instanceID: 'host-1', hostIP: '127.0.0.2' } });
    h.status.put({ metadata: { name: 'h2' }, spec: { instanceID: 'host-2', hostIP: '127.0.0.3' } });
    await h.sync('h1');
    await h.sync('h2');
    const s1 = h.status.get('h1')!.status!;
    const s2 = h.status.get('h2')!.status!;
    assert.ok(s1.podCIDR && s2.podCIDR && s1.podCIDR !== s2.podCIDR, `blocks ${s1.podCIDR} ${s2.podCIDR}`);
    assert.equal(h.ledger.blockOf('h1'), s1.podCIDR);
    assert.equal(h.ledger.blockOf('h2'), s2.podCIDR);
    assert.deepEqual(s1.routeTables, []);
    assert.deepEqual([h.cond('h1', 'CIDRAllocated')?.status, h.cond('h1', 'CIDRAllocated')?.reason], ['True', 'Allocated']);
    assert.deepEqual([h.cond('h1', 'SourceDestCheckDisabled')?.status, h.cond('h1', 'SourceDestCheckDisabled')?.reason], ['True', 'NotApplicable']);
    // No route exists: the condition says there is no cloud router, not that a route was created.
    assert.deepEqual([h.cond('h1', 'RouteProgrammed')?.status, h.cond('h1', 'RouteProgrammed')?.reason], ['True', 'NoCloudRouter']);
    assert.match(h.cond('h1', 'RouteProgrammed')?.message ?? '', /^No cloud router \(--cloud-provider=none\): no route table to program; the hosts' hostnet-agents \(--routing=direct\) route 10\.0\.\d+\.0\/24 to host-1 directly$/);
    // No agent has reported: a host without an agent is ready on its block alone.
    assert.equal(h.cond('h1', 'Ready')?.status, 'True');
    assert.deepEqual(h.calls, ['listRouteTables']);
  });

  it("Ready follows the agent's HostConfigured", async () => {
    const h = await harness();
    h.status.put({ metadata: { name: 'h1' }, spec: { instanceID: 'host-1', hostIP: '127.0.0.2' } });
    await h.sync('h1');
    const agent = (s: 'True' | 'False', reason: string) => {
      const obj = h.status.get('h1')!;
      const others = (obj.status?.conditions ?? []).filter((c) => c.type !== 'HostConfigured');
      obj.status = { ...obj.status, conditions: [...others, { type: 'HostConfigured', status: s, reason, message: 'agent', observedGeneration: 1, lastTransitionTime: rfc3339(new Date()) }] };
      h.status.objects.set('h1', obj);
    };
    agent('False', 'DockerUnavailable');
    await h.sync('h1');
    assert.deepEqual([h.cond('h1', 'Ready')?.status, h.cond('h1', 'Ready')?.reason], ['False', 'DockerUnavailable']);
    agent('True', 'Configured');
    await h.sync('h1');
    assert.deepEqual([h.cond('h1', 'Ready')?.status, h.cond('h1', 'Ready')?.reason], ['True', 'HostReady']);
    assert.deepEqual(h.calls, ['listRouteTables']);
  });
});
