// The AWS provider: the EC2 pieces of this folder (tables.ts, routes.ts, eni.ts,
// security-group.ts) behind the core's CloudProvider contract (../provider.ts).
//
// In the core's terms:
// - routeWrites per-route (EC2 has no batch route call), at most PerTableConcurrency's limit per
//   table; ownership by ledger (an EC2 route has no description or tags to carry a mark).
// - The core names hosts by instance id (spec.instanceID); EC2 routes target the host's primary
//   ENI (NetworkInterfaceId). The provider translates both ways: writes resolve the instance's
//   ENI (once, cached in EniDirectory), reads show an ENI target as the instance it is attached to.
// - A blackhole route (its ENI is gone with its instance) is listed with state 'blackhole': the
//   core replaces it (ReplaceRoute), and when the host's instance itself is gone the write fails
//   with a notFound naming the instance, which the host's condition reports.
// - Source/destination check: all or nothing on EC2, so both modes switch it off; the record the
//   core keeps is the same for both.
import type { EC2Client } from '@aws-sdk/client-ec2';
import { AuthBackoff } from '../auth-backoff.js';
import { CloudError } from '../errors.js';
import type { WriteFence } from '../fence.js';
import type {
  CloudProvider,
  CloudRoute,
  IngressRuleSpec,
  ProviderCapabilities,
  RouteChange,
  RouteTableInfo,
  SourceDestCheckMode,
  SourceDestCheckResult,
} from '../provider.js';
import { TokenBucket } from '../ratelimit.js';
import { parseCidr } from '../../cidr.js';
import { classifyAwsError } from './errors.js';
import { createEc2Client, type Ec2CallRecord } from './client.js';
import { EniDirectory } from './eni.js';
import { createRoute, deleteRoute, replaceRoute } from './routes.js';
import { ensurePoolIngress } from './security-group.js';
import { describeTables, type RouteView, type TableSelection } from './tables.js';
import { DEFAULT_WRITES_PER_TABLE, PerTableConcurrency } from './table-concurrency.js';

/** AWS's default quota of non-propagated routes per route table. */
export const AWS_DEFAULT_ROUTES_PER_TABLE = 50;

/** What ensureSourceDestCheck changes on EC2 (one flag on the ENI, whatever the mode). */
export const SOURCE_DEST_CHECK_RECORD = 'sourceDestCheck=false';

export const AWS_CAPABILITIES: ProviderCapabilities = {
  routeWrites: { kind: 'per-route', concurrency: DEFAULT_WRITES_PER_TABLE },
  ownership: { kind: 'ledger' },
  sourceDestCheck: 'supported',
  asyncRoutes: false,
};

export interface ProviderLogger {
  debug(msg: string, meta?: object): void;
  info(msg: string, meta?: object): void;
  warn(msg: string, meta?: object): void;
  error(msg: string, meta?: object): void;
}

export interface AwsProviderConfig {
  region: string;
  endpoint?: string;
  /** Tables by id, or every table of vpcId carrying the tag. */
  tables: TableSelection;
  timeoutMs?: number;
  qps: number;
  burst: number;
}

export interface AwsProviderDeps {
  /** A prebuilt client (tests); by default one is built from the configuration (default credential chain). */
  client?: EC2Client;
  fence?: WriteFence;
  authBackoff?: AuthBackoff;
  /** Called once per EC2 request. */
  onCall?: (call: Ec2CallRecord) => void;
}

/** An ENI route target the core shows as the instance it belongs to ('' when not a host route). */
function routeKind(v: RouteView): CloudRoute['kind'] {
  if (v.target.kind === 'local') return 'system';
  return v.candidate ? 'host' : 'other';
}

const OPEN_FENCE: Pick<WriteFence, 'run'> = { run: (_op, send) => send() };

export class AwsProvider implements CloudProvider {
  readonly name = 'aws';
  readonly capabilities = AWS_CAPABILITIES;
  private readonly client: EC2Client;
  private readonly fence: Pick<WriteFence, 'run'>;
  private readonly signal?: AbortSignal;
  private readonly enis: EniDirectory;
  private readonly limiter: TokenBucket;
  private readonly auth: AuthBackoff;
  private readonly perTable = new PerTableConcurrency(DEFAULT_WRITES_PER_TABLE);
  /** ENI → instance, for showing ENI targets as hosts (filled by resolve and by listRoutes). */
  private readonly instanceOfEni = new Map<string, string>();
  /** "table destination" of routes last listed as blackholes: their instance is looked up afresh before a replace. */
  private readonly blackholes = new Set<string>();

  constructor(
    private readonly cfg: AwsProviderConfig,
    private readonly log: ProviderLogger,
    deps: AwsProviderDeps = {},
  ) {
    this.client =
      deps.client ??
      createEc2Client({
        region: cfg.region,
        ...(cfg.endpoint ? { endpoint: cfg.endpoint } : {}),
        ...(cfg.timeoutMs ? { requestTimeoutMs: cfg.timeoutMs } : {}),
        ...(deps.onCall ? { onCall: deps.onCall } : {}),
      });
    this.fence = deps.fence ?? OPEN_FENCE;
    this.signal = deps.fence?.signal;
    this.auth = deps.authBackoff ?? new AuthBackoff();
    this.limiter = new TokenBucket({ qps: cfg.qps, burst: cfg.burst });
    this.installGuard();
    this.enis = new EniDirectory(this.client, this.fence);
    this.log.debug('cloud provider ready', { provider: this.name, region: cfg.region, endpoint: cfg.endpoint, tables: cfg.tables, qps: cfg.qps, burst: cfg.burst });
  }

  /**
   * Every request: the auth backoff (a refused key is not hammered), then for reads the
   * client-side rate limit (writes take their token before the fence, see write()), then the
   * outcome fed back to the backoff. Credentials never reach a log line: the SDK's logger is
   * silent and our lines carry AWS's code and request id only.
   */
  private installGuard(): void {
    this.client.middlewareStack.add(
      (next, context) => async (args) => {
        const action = (context.commandName ?? 'Unknown').replace(/Command$/, '');
        const admitted = this.auth.admit(action);
        if (!admitted.send) throw admitted.error;
        if (action.startsWith('Describe')) await this.limiter.acquire(this.signal);
        try {
          const out = await next(args);
          this.auth.succeeded();
          return out;
        } catch (err) {
          const ce = classifyAwsError(err, action);
          if (ce.kind === 'auth') {
            const waitMs = this.auth.failed(ce);
            if (waitMs > 0) {
              this.log.error('AWS refused the credentials; no EC2 call until the backoff is over', {
                provider: this.name,
                operation: action,
                code: ce.code,
                requestId: ce.requestId,
                consecutiveFailures: this.auth.consecutiveFailures,
                backoffSeconds: Math.round(waitMs / 1000),
              });
            }
          } else if (ce.httpStatus !== undefined) this.auth.succeeded();
          else this.auth.settled();
          throw err;
        }
      },
      { step: 'initialize', name: 'hostnetGuard', priority: 'high' },
    );
  }

  /** A write: a rate-limiter token first, then (inside the helper) the fence right before the request. */
  private async write<T>(tableId: string | undefined, fn: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      await this.limiter.acquire(this.signal);
      return fn();
    };
    return tableId === undefined ? run() : this.perTable.run(tableId, run);
  }

  async listRouteTables(): Promise<RouteTableInfo[]> {
    const tables = await describeTables(this.client, this.cfg.tables);
    return tables.map((t) => ({ id: t.id, name: t.tags.Name ?? '' }));
  }

  async listRoutes(tableId: string): Promise<CloudRoute[]> {
    const [table] = await describeTables(this.client, { kind: 'ids', tableIds: [tableId] });
    const views = table?.routes ?? [];
    // ENI targets nobody told us about yet (a restart): one read for all of them.
    const unknown = views.filter((v) => v.candidate && v.target.kind === 'eni' && !this.instanceOfEni.has(v.target.id) && v.state === 'active').map((v) => (v.target as { id: string }).id);
    if (unknown.length > 0) for (const [eni, inst] of await this.enis.instancesOf(unknown)) this.instanceOfEni.set(eni, inst);
    for (const key of [...this.blackholes]) if (key.startsWith(`${tableId} `)) this.blackholes.delete(key);
    for (const v of views) if (v.state === 'blackhole') this.blackholes.add(`${tableId} ${v.destination}`);
    return views.map((v): CloudRoute => {
      const kind = routeKind(v);
      let nexthop = '';
      if (v.target.kind === 'eni') nexthop = this.instanceOfEni.get(v.target.id) ?? v.target.id;
      else if (v.target.kind === 'instance') nexthop = v.target.id;
      return {
        destination: v.destination,
        kind,
        nexthop,
        description: '',
        ...(v.state === 'blackhole' ? { state: 'blackhole' as const } : {}),
        cloudType: v.target.kind === 'eni' ? 'NetworkInterfaceId' : v.target.kind === 'instance' ? 'InstanceId' : v.target.kind === 'local' ? 'local' : (v.target.id ?? v.origin),
      };
    });
  }

  private async eniFor(instanceId: string): Promise<string> {
    const eni = await this.enis.primaryEni(instanceId);
    this.instanceOfEni.set(eni, instanceId);
    return eni;
  }

  async writeRoute(tableId: string, change: RouteChange): Promise<void> {
    if (change.op === 'delete') {
      const gone = !(await this.write(tableId, () => deleteRoute(this.client, this.fence, { tableId, destination: change.destination })));
      if (gone) this.log.debug('route was already gone', { provider: this.name, routeTableId: tableId, destination: change.destination });
      return;
    }
    // A blackhole's target is gone: its instance may be too (terminated), so the cached ENI is not
    // trusted; a fresh lookup fails with a notFound naming the instance, which the host reports.
    if (this.blackholes.delete(`${tableId} ${change.route.destination}`)) this.enis.forget(change.route.nexthop);
    const eniId = await this.eniFor(change.route.nexthop);
    const r = { tableId, destination: change.route.destination, eniId };
    if (change.op === 'replace') {
      try {
        await this.write(tableId, () => replaceRoute(this.client, this.fence, r));
        return;
      } catch (err) {
        // Deleted behind our back since the last read: create it instead.
        if (!(err instanceof CloudError && err.kind === 'notFound' && err.operation === 'ReplaceRoute')) throw err;
      }
    }
    try {
      await this.write(tableId, () => createRoute(this.client, this.fence, r));
    } catch (err) {
      if (!(err instanceof CloudError && err.code === 'RouteAlreadyExists')) throw err;
      // Someone holds the destination now (or an earlier create of ours that timed out went
      // through): read it. Ours already → done; anybody else's → a conflict, untouched.
      const [table] = await describeTables(this.client, { kind: 'ids', tableIds: [tableId] });
      const have = table?.routes.find((v) => v.destination === r.destination);
      if (have && have.target.kind === 'eni' && have.target.id === eniId && have.state === 'active') return;
      throw err;
    }
  }

  sourceDestCheckRecord(_mode: SourceDestCheckMode, _block: string): string {
    return SOURCE_DEST_CHECK_RECORD;
  }

  async ensureSourceDestCheck(instanceId: string, mode: SourceDestCheckMode, block: string): Promise<SourceDestCheckResult> {
    if (mode === 'block' && !parseCidr(block, false)) throw new CloudError({ kind: 'invalid', operation: 'EnsureSourceDestCheck', cloudMessage: `block "${block}" is not an IPv4 CIDR` });
    if (!instanceId) throw new CloudError({ kind: 'invalid', operation: 'EnsureSourceDestCheck', cloudMessage: 'instance id is empty' });
    const eniId = await this.eniFor(instanceId);
    // The core calls this once per host and then once per --port-recheck-period: read every time.
    const outcome = await this.write(undefined, () => this.enis.ensureSourceDestCheckOff(eniId, { recheck: true }));
    if (outcome === 'turned-off') this.log.info('source/destination check switched off', { provider: this.name, instanceId, eniId });
    return { portId: eniId, changed: outcome === 'turned-off', addresses: this.enis.addresses(eniId) };
  }

  async removeSourceDestCheck(instanceId: string, record: string): Promise<{ removed: boolean }> {
    if (record !== SOURCE_DEST_CHECK_RECORD) return { removed: false };
    let eniId: string;
    try {
      eniId = await this.eniFor(instanceId);
    } catch (err) {
      // The instance is gone: nothing left to restore.
      if (err instanceof CloudError && err.kind === 'notFound') return { removed: false };
      throw err;
    }
    const restored = await this.write(undefined, () => this.enis.restoreSourceDestCheck(eniId));
    if (restored) this.log.info('source/destination check switched back on', { provider: this.name, instanceId, eniId });
    return { removed: restored };
  }

  async ensureIngressRule(rule: IngressRuleSpec): Promise<{ created: number }> {
    if (!rule.securityGroupId) throw new CloudError({ kind: 'invalid', operation: 'EnsureIngressRule', cloudMessage: 'securityGroupId is empty' });
    if (!parseCidr(rule.remoteIpPrefix, false)) throw new CloudError({ kind: 'invalid', operation: 'EnsureIngressRule', cloudMessage: `remoteIpPrefix "${rule.remoteIpPrefix}" is not an IPv4 CIDR` });
    const created = await this.write(undefined, () => ensurePoolIngress(this.client, this.fence, { groupId: rule.securityGroupId, poolCidr: rule.remoteIpPrefix, protocols: rule.protocols }));
    if (created > 0) this.log.info('security group rule created', { provider: this.name, securityGroupId: rule.securityGroupId, remoteIpPrefix: rule.remoteIpPrefix, rules: created });
    return { created };
  }
}

export function createAwsProvider(cfg: AwsProviderConfig, log: ProviderLogger, deps: AwsProviderDeps = {}): AwsProvider {
  return new AwsProvider(cfg, log, deps);
}
