// The chart's RBAC is sufficient and minimal, proven with the real controller process running
// under the chart's ServiceAccount (a token from the TokenRequest API) against the real API
// server: with every rule it converges the seed example and records Events; without any single
// rule (or any single verb of a rule) it fails, with the API server's 403 naming the resource.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import {
  CoordinationV1Api,
  CoreV1Api,
  CustomObjectsApi,
  setHeaderOptions,
  type CoreV1Event,
  type KubeConfig,
  type KubernetesObject,
  type V1Deployment,
  type V1PolicyRule,
  V1MicroTime,
} from '@kubernetes/client-node';
import { adminKubeConfig, controlPlane } from '../helpers/controlplane.js';
import { installCrd, repoRoot, resetCluster, waitFor } from '../helpers/kube.js';
import { startController, type ControllerProcess } from '../helpers/controller.js';
import { readLedger } from '../helpers/invariants.js';
import { chartDir, kubectl, parseObjects, randomSuffix, tool } from '../helpers/cli.js';
import type { HostNetwork } from '../../controller/api/types.js';
import { encodeShard, labelsFor } from '../../controller/ledger-format.js';

const HN = { group: 'hostnet.io', version: 'v1alpha1', plural: 'hostnetworks' };
const SEED_HOSTS = ['ecs-1', 'ecs-2'];
const RBAC_KINDS = new Set(['ServiceAccount', 'ClusterRole', 'ClusterRoleBinding', 'Role', 'RoleBinding']);
// The names of an installation from before ids were derived (the chart's installationId empty:
// such an installation keeps the id "default").
const LEGACY_LEASE = 'hostnet-controller-default';
/** The ledger shard of "default" holding the seed's blocks (10.0.0.0/16; see controller/ledger-format.ts). */
const LEGACY_LEDGER_SHARD = 'hostnet-allocations-default-10-0';
/** As the chart runs it: no installation id set (startController pins "default" otherwise). */
const AUTO_ID = { HOSTNET_INSTALLATION_ID: '' };
/** How long a broken controller gets to show its failure (the intact one converges in ~1-2 s). */
const FAILURE_WINDOW_MS = 15_000;
/** How long a broken controller is watched for not converging (more than one 5 s resync). */
const NO_CONVERGENCE_MS = 8_000;

type RoleKind = 'Role' | 'ClusterRole';
type RoleObject = KubernetesObject & { rules: V1PolicyRule[] };

/** The chart rendered the way a user installs it for this test: memory cloud, namespace ns. */
function render(release: string, namespace: string): KubernetesObject[] {
  const out = execFileSync(tool('helm'), ['template', release, chartDir, '--namespace', namespace, '--set', 'cloud.provider=memory'], { encoding: 'utf8' });
  return parseObjects(out);
}

interface Variant {
  title: string;
  roleKind: RoleKind;
  /** The role's name without the release prefix, e.g. "hostnet-controller-events" → "-events". */
  roleSuffix: string;
  rule: number;
  resource: string;
  /** Verbs removed (all of the rule's when the rule is removed). */
  removed: string[];
  wholeRule: boolean;
}

/** One variant per rule (the rule removed) and, for rules with several verbs, one per verb. */
function variants(): Variant[] {
  const objs = render('probe', 'probe-ns');
  const prefix = 'probe-hostnet-controller';
  const out: Variant[] = [];
  for (const o of objs) {
    if (o.kind !== 'Role' && o.kind !== 'ClusterRole') continue;
    const role = o as RoleObject;
    const suffix = role.metadata!.name!.slice(prefix.length);
    role.rules.forEach((r, i) => {
      const what = `${r.resources!.join(',')}${r.resourceNames ? ` [${r.resourceNames.join(',')}]` : ''}`;
      const base = { roleKind: o.kind as RoleKind, roleSuffix: suffix, rule: i, resource: r.resources![0]! };
      out.push({ ...base, title: `${o.kind} hostnet-controller${suffix} rule ${i + 1} (${what}: ${r.verbs.join(',')}) removed`, removed: [...r.verbs], wholeRule: true });
      if (r.verbs.length > 1) {
        for (const v of r.verbs) {
          out.push({ ...base, title: `${o.kind} hostnet-controller${suffix} rule ${i + 1} (${what}) without verb ${v}`, removed: [v], wholeRule: false });
        }
      }
    });
  }
  return out;
}

function withoutRule(objs: KubernetesObject[], release: string, v: Variant): KubernetesObject[] {
  const copy = structuredClone(objs);
  const role = copy.find((o) => o.kind === v.roleKind && o.metadata!.name === `${release}-hostnet-controller${v.roleSuffix}`) as RoleObject | undefined;
  assert.ok(role, `rendered ${v.roleKind} ${release}-hostnet-controller${v.roleSuffix}`);
  const rule = role.rules[v.rule]!;
  if (v.wholeRule) role.rules.splice(v.rule, 1);
  else rule.verbs = rule.verbs.filter((x) => !v.removed.includes(x));
  return copy;
}

function kubeconfigFor(dir: string, server: string, token: string): string {
  const file = join(dir, 'kubeconfig');
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server, 'insecure-skip-tls-verify': true } }],
      users: [{ name: 'sa', user: { token } }],
      contexts: [{ name: 'sa', context: { cluster: 'test', user: 'sa' } }],
      'current-context': 'sa',
    }),
    { mode: 0o600 },
  );
  return file;
}

function isReady(hn: HostNetwork | undefined): boolean {
  return hn?.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') === true;
}

/** Lines of the controller's log that carry the API server's 403 for this verb and resource. */
function forbiddenLines(logs: string, verbs: string[], resource: string): string[] {
  return logs
    .split('\n')
    .filter((l) => /forbidden|403/i.test(l) && l.includes(resource) && verbs.some((v) => l.includes(`cannot ${v} resource`)));
}

describe('install: the chart RBAC is sufficient and minimal (controller under the chart ServiceAccount)', function () {
  this.timeout(120_000);
  let kc: KubeConfig;
  let server: string;
  let adminKubeconfig: string;
  let ctl: ControllerProcess | undefined;
  let dir: string;
  let cleanups: (() => Promise<unknown>)[] = [];

  before(async () => {
    const cp = await controlPlane();
    server = cp.url;
    adminKubeconfig = cp.kubeconfig;
    kc = await adminKubeConfig();
    await installCrd(kc);
    await resetCluster(kc);
    dir = mkdtempSync(join(tmpdir(), 'hostnet-rbac-'));
  });

  afterEach(async function () {
    if (ctl) {
      await ctl.stop();
      if (this.currentTest?.state === 'failed') console.log(ctl.logs().slice(-6000));
    }
    ctl = undefined;
    await resetCluster(kc);
    for (const c of cleanups.reverse()) await c().catch(() => undefined);
    cleanups = [];
  });

  after(() => rmSync(dir, { recursive: true, force: true }));

  interface Setup {
    namespace: string;
    release: string;
    kubeconfig: string;
    args: string[];
  }

  /** Applies the (possibly reduced) RBAC in a fresh namespace and writes a kubeconfig with the SA's token. */
  async function setup(v?: Variant, pre: { lease?: boolean; ledger?: boolean } = {}): Promise<Setup> {
    const suffix = randomSuffix();
    const namespace = `hostnet-rbac-${suffix}`;
    const release = `r${suffix}`;
    const all = render(release, namespace);
    const rbac = (v ? withoutRule(all, release, v) : all).filter((o) => RBAC_KINDS.has(o.kind!));
    await kubectl(adminKubeconfig, ['create', 'namespace', namespace]);
    const manifest = rbac.map((o) => JSON.stringify(o)).join('\n');
    await kubectl(adminKubeconfig, ['apply', '-f', '-'], { input: manifest });
    cleanups.push(() => kubectl(adminKubeconfig, ['delete', '--ignore-not-found', '-f', '-'], { input: manifest }));
    cleanups.push(() => kubectl(adminKubeconfig, ['-n', namespace, 'delete', 'lease,configmap', '--all', '--ignore-not-found']));
    const sa = rbac.find((o) => o.kind === 'ServiceAccount')!.metadata!.name!;
    const token = (await kubectl(adminKubeconfig, ['create', 'token', sa, '-n', namespace, '--duration=1h'])).trim();
    const kubeconfig = kubeconfigFor(mkdtempSync(join(dir, 'kc-')), server, token);
    // An installation that ran before: the Lease released by a graceful stop, the ledger empty.
    if (pre.lease) {
      await kc.makeApiClient(CoordinationV1Api).createNamespacedLease({
        namespace,
        body: { metadata: { name: LEGACY_LEASE }, spec: { holderIdentity: '', leaseDurationSeconds: 1, renewTime: new V1MicroTime(Date.now() - 60_000) } },
      });
    }
    if (pre.ledger) {
      await kc.makeApiClient(CoreV1Api).createNamespacedConfigMap({
        namespace,
        body: { metadata: { name: LEGACY_LEDGER_SHARD, labels: labelsFor('default'), annotations: encodeShard('10-0', new Map(), { format: 2, pool: '10.0.0.0/16', blockSize: 24 }).annotations }, data: {} },
      });
    }
    // The Deployment's own arguments, minus the listen addresses and the log settings that
    // startController chooses; a 5 s resync so failures show quickly.
    const dep = all.find((o) => o.kind === 'Deployment') as V1Deployment;
    const chartArgs = dep.spec!.template.spec!.containers[0]!.args!.filter((a) => !/^--(metrics-bind-address|health-bind-address|log-level|log-format)=/.test(a));
    assert.ok(chartArgs.includes(`--leader-election-namespace=${namespace}`) && chartArgs.includes('--event-namespace=default') && chartArgs.includes('--cloud-provider=memory'), chartArgs.join(' '));
    return { namespace, release, kubeconfig, args: [...chartArgs, '--resync-period=5s'] };
  }

  async function applySeed(): Promise<Map<string, string>> {
    await kubectl(adminKubeconfig, ['apply', '-f', join(repoRoot, 'examples', 'seed-hosts.yaml')]);
    const api = kc.makeApiClient(CustomObjectsApi);
    const uids = new Map<string, string>();
    for (const name of SEED_HOSTS) uids.set(name, ((await api.getClusterCustomObject({ ...HN, name })) as HostNetwork).metadata.uid!);
    cleanups.push(() => deleteEvents([...uids.values()]));
    return uids;
  }

  async function hosts(): Promise<(HostNetwork | undefined)[]> {
    const api = kc.makeApiClient(CustomObjectsApi);
    return Promise.all(SEED_HOSTS.map((name) => api.getClusterCustomObject({ ...HN, name }).then((o) => o as HostNetwork, () => undefined)));
  }

  async function eventsOf(uids: string[]): Promise<CoreV1Event[]> {
    const list = await kc.makeApiClient(CoreV1Api).listNamespacedEvent({ namespace: 'default' });
    return list.items.filter((e) => uids.includes(e.involvedObject.uid ?? ''));
  }

  async function deleteEvents(uids: string[]): Promise<void> {
    const core = kc.makeApiClient(CoreV1Api);
    for (const e of await eventsOf(uids)) await core.deleteNamespacedEvent({ name: e.metadata!.name!, namespace: 'default' }).catch(() => undefined);
  }

  async function patchInstance(name: string, instanceID: string): Promise<void> {
    await kc.makeApiClient(CustomObjectsApi).patchClusterCustomObject({ ...HN, name, body: { spec: { instanceID } } }, setHeaderOptions('Content-Type', 'application/merge-patch+json'));
  }

  async function readyStatus(name: string): Promise<string | undefined> {
    const hn = (await hosts())[SEED_HOSTS.indexOf(name)];
    return hn?.status?.observedGeneration === hn?.metadata.generation ? hn?.status?.conditions?.find((c) => c.type === 'Ready')?.status : undefined;
  }

  /**
   * The same Warning twice on one object: ecs-1 pointed at a server the cloud does not know (its
   * route is refused), back at its own server, and at the unknown one again. Resolves with the
   * Events of that Warning once its second occurrence is recorded, in whichever form.
   */
  async function repeatWarning(uid: string): Promise<CoreV1Event[]> {
    const own = (await hosts())[0]!.spec.instanceID;
    for (const [i, id] of ['i-not-a-server', own, 'i-not-a-server'].entries()) {
      await patchInstance('ecs-1', id);
      const want = i === 1 ? 'True' : 'False';
      await waitFor(`ecs-1 Ready=${want} with instanceID ${id}`, async () => (await readyStatus('ecs-1')) === want, 15_000, 100);
    }
    return waitFor(
      'the repeated Warning event',
      async () => {
        const byMessage = new Map<string, CoreV1Event[]>();
        for (const e of await eventsOf([uid])) {
          if (e.type === 'Warning') byMessage.set(`${e.reason}: ${e.message}`, [...(byMessage.get(`${e.reason}: ${e.message}`) ?? []), e]);
        }
        return [...byMessage.values()].find((evs) => evs.length >= 2 || evs.some((e) => (e.count ?? 1) >= 2));
      },
      10_000,
      200,
    );
  }

  it('with exactly the chart RBAC the controller leads, converges the seed example and records Events', async () => {
    const s = await setup();
    ctl = await startController({ kubeconfig: s.kubeconfig, args: s.args, env: AUTO_ID, waitLeader: true });
    const uids = await applySeed();
    await waitFor('both seed hosts Ready', async () => (await hosts()).every(isReady), 30_000, 100);
    const [ecs1] = await hosts();
    assert.equal(ecs1?.status?.podCIDR, '10.0.2.0/24');
    assert.ok(ecs1?.metadata.finalizers?.includes('hostnet.io/routes'), 'finalizer added');
    const identity = /"identity":"([^"]+)"/.exec(ctl.logs())?.[1];
    assert.ok(identity, 'the controller logs its identity');
    // No installationId in the chart: the id comes from this cluster's kube-system namespace.
    const installation = /"installation":"([^"]+)"/.exec(ctl.logs())?.[1];
    const kubeSystemUid = (await kc.makeApiClient(CoreV1Api).readNamespace({ name: 'kube-system' })).metadata!.uid!;
    assert.ok(installation?.startsWith(`cluster-${kubeSystemUid.slice(0, 8)}-`), `installation id ${installation} from kube-system UID ${kubeSystemUid}`);
    const lease = await kc.makeApiClient(CoordinationV1Api).readNamespacedLease({ name: `hostnet-controller-${installation}`, namespace: s.namespace });
    assert.equal(lease.spec?.holderIdentity, identity, 'the Lease in the release namespace is held by the controller');
    const ledger = await readLedger(kc, installation, s.namespace);
    assert.deepEqual(ledger.data, { '10.0.2.0_24': 'ecs-1', '10.0.3.0_24': 'ecs-2' });
    const events = await waitFor('Events for both hosts', async () => {
      const evs = await eventsOf([...uids.values()]);
      // Each seed host is on its own server: each sets that server's address pair (a new host's
      // first route posts no Event: transitions only).
      return SEED_HOSTS.every((n) => evs.some((e) => e.involvedObject.name === n && e.reason === 'SourceDestCheckDisabled')) ? evs : undefined;
    });
    assert.ok(events.every((e) => e.reportingInstance === identity && e.source?.component === 'hostnet-controller'));
    // A repeated Event is counted on the first one (Event patch), not piled up.
    const repeated = await repeatWarning(uids.get('ecs-1')!);
    assert.equal(repeated.length, 1, `one Warning Event: ${JSON.stringify(repeated.map((e) => [e.metadata?.name, e.count]))}`);
    assert.equal(repeated[0]!.count, 2);
    assert.ok(!/forbidden/i.test(ctl.logs()), `no 403 with the full RBAC:\n${ctl.logs().split('\n').filter((l) => /forbidden/i.test(l)).join('\n')}`);
  });

  for (const v of variants()) {
    it(`breaks without: ${v.title}`, async () => {
      const needsExisting = v.removed.includes('update');
      const s = await setup(v, { lease: v.resource === 'leases' && needsExisting, ledger: v.resource === 'configmaps' && needsExisting });
      const started = Date.now();
      ctl = await startController({ kubeconfig: s.kubeconfig, args: s.args, env: AUTO_ID, waitReady: false });
      const uids = await applySeed();

      if (v.resource === 'events' && !v.removed.includes('create')) {
        // Only `patch` missing: everything converges, but a repeated Event can no longer be
        // counted; the controller says so with the API server's 403.
        await waitFor('both seed hosts Ready', async () => (await hosts()).every(isReady), FAILURE_WINDOW_MS, 100);
        await repeatWarning(uids.get('ecs-1')!).catch(() => undefined);
        const lines = await waitFor(
          'a 403 naming patch on events in the log',
          async () => {
            const l = forbiddenLines(ctl!.logs(), ['patch'], 'events');
            return l.length > 0 ? l : undefined;
          },
          FAILURE_WINDOW_MS,
          200,
        );
        assert.ok(lines.some((l) => /event not recorded/.test(l)), lines.join('\n'));
        return;
      }

      if (v.resource === 'hostnetworks' && v.removed.length === 1 && v.removed[0] === 'watch') {
        // Without watch the informer cannot follow changes: every watch is refused and it falls
        // back to re-listing with a growing backoff (the hosts still converge, late); the warning
        // names the path and points at the RBAC rule.
        const warnings = await waitFor(
          'repeated watch failures',
          async () => {
            const w = ctl!.logs().split('\n').filter((l) => l.includes('watch failed; restarting it') && /403|Forbidden/.test(l) && l.includes('hostnetworks'));
            return w.length >= 3 ? w : undefined;
          },
          FAILURE_WINDOW_MS,
          200,
        );
        // (That there are three is what the wait above waited for.) Each one tells what to fix.
        for (const w of warnings) assert.ok(w.includes('check the RBAC rule for list and watch on hostnetworks.hostnet.io'), w);
        return;
      }

      const evidence = await waitFor(
        `a 403 naming ${v.resource} (${v.removed.join(',')}) in the controller's log`,
        async () => {
          const lines = forbiddenLines(ctl!.logs(), v.removed, v.resource);
          return lines.length > 0 ? lines : undefined;
        },
        FAILURE_WINDOW_MS,
        200,
      ).catch((err: Error) => {
        throw new Error(`${err.message}\n--- controller log ---\n${ctl!.logs().slice(-4000)}`);
      });
      assert.match(evidence[0]!, new RegExp(`system:serviceaccount:${s.namespace}:`), 'the message names the ServiceAccount');

      if (v.resource === 'events') {
        // Hosts converge, but nobody can see what happened: no Event about them.
        await waitFor('both seed hosts Ready', async () => (await hosts()).every(isReady), FAILURE_WINDOW_MS, 100);
        // Every Event the controller queued for them has been tried (and refused) before we look.
        await waitFor('no Event left to write', async () => (await ctl!.metric('hostnet_events_pending')) === 0, FAILURE_WINDOW_MS, 100);
        assert.deepEqual(await eventsOf([...uids.values()]), [], 'no Events were recorded');
        return;
      }

      // Everything else: the hosts do not converge (observed for more than one resync).
      const until = started + NO_CONVERGENCE_MS;
      while (Date.now() < until) {
        const hs = await hosts();
        assert.ok(!hs.every(isReady), `the seed hosts became Ready without ${v.title}`);
        await new Promise((r) => setTimeout(r, 250));
      }
      if (v.resource === 'leases') {
        const leases = await kc.makeApiClient(CoordinationV1Api).listNamespacedLease({ namespace: s.namespace });
        assert.ok(leases.items.every((l) => !l.spec?.holderIdentity), `no Lease is held: ${JSON.stringify(leases.items.map((l) => [l.metadata?.name, l.spec?.holderIdentity]))}`);
      }
      if (v.resource === 'configmaps') {
        const cms = await kc.makeApiClient(CoreV1Api).listNamespacedConfigMap({ namespace: s.namespace });
        const ledgers = cms.items.filter((c) => c.metadata?.name?.startsWith('hostnet-allocations-'));
        assert.ok(ledgers.every((c) => Object.keys(c.data ?? {}).length === 0), `no allocation was recorded: ${JSON.stringify(ledgers.map((c) => c.data))}`);
      }
      if (v.resource === 'namespaces') {
        // Without it the id cannot be derived: the controller stops at start-up and says how to fix it.
        assert.match(ctl.logs(), /start-up failed: cannot read namespace kube-system to derive the installation id: .*set --installation-id, or let the controller get namespaces\/kube-system/);
        // The log line comes just before the exit: wait for the process to end, not for the line.
        const code = await Promise.race([ctl.exited, new Promise<'still running'>((r) => setTimeout(() => r('still running'), FAILURE_WINDOW_MS).unref())]);
        assert.equal(code, 1, 'a failed start-up exits with status 1');
      }
    });
  }
});
