// The Alibaba Cloud provider: VRouter route tables of one VPC through @alicloud/vpc20160428 and
// the pool's security-group ingress through @alicloud/ecs20140526, in the core's terms
// (../provider.ts):
// - routeWrites 'partial-batch' of at most 50: CreateRouteEntries / DeleteRouteEntries report
//   FailedRouteEntries entry by entry; a migration is ModifyRouteEntry with NewNextHopId.
// - ownership by mark: RouteEntryName and Description both carry it (at most 128 characters,
//   the name's limit).
// - asyncRoutes: entries are Pending/Modifying until Available; the core counts a route as
//   programmed only once it is listed available.
// - sourceDestCheck 'not-applicable': ECS has no such check; the NIC is never called.
// The SDK-side pieces (retry with backoff, one batch in flight per VPC, waiting for Available,
// duplicates resolved by reading) are entries.ts; this file maps them onto the contract and adds
// the auth backoff, the write fence, the client-side rate limit (a write and a read bucket, for
// the VPC and the ECS calls alike) and the re-read of a mounted credentials Secret.

import * as $Vpc from '@alicloud/vpc20160428';
import type { Config } from '../../config.js';
import { AuthBackoff } from '../auth-backoff.js';
import { CredentialsReread } from '../credentials-file.js';
import { CloudError, isCloudError } from '../errors.js';
import { isFencedError, type WriteFence } from '../fence.js';
import { TokenBucket } from '../ratelimit.js';
import type {
  CloudProvider,
  CloudRoute,
  IngressRuleSpec,
  ProviderCapabilities,
  RouteBatch,
  RouteBatchResult,
  RouteKind,
  RouteTableInfo,
  SourceDestCheckMode,
  SourceDestCheckResult,
} from '../provider.js';
import type { BackoffPolicy } from './backoff.js';
import { MAX_ENTRIES_PER_BATCH, PerVpcSerializer } from './batch.js';
import { accessKeyHint, createAlibabaClients, loadStaticCredentials, sameStaticCredentials, secretsOf, type AlibabaClientConfig, type AlibabaClients, type StaticCredentials } from './client.js';
import { AlibabaRouteEntries, type EntryOutcome, type RouteEntryView } from './entries.js';
import { redactSecrets } from '../redact.js';
import { toCloudError } from './errors.js';
import { ensurePoolIngress, type Throttle } from './security-group.js';

/** RouteEntryName holds 1-128 characters (Description 256): the mark fits the shorter. */
export const MAX_ROUTE_ENTRY_NAME = 128;

export const ALIBABA_CAPABILITIES: ProviderCapabilities = Object.freeze({
  routeWrites: { kind: 'partial-batch', maxBatch: MAX_ENTRIES_PER_BATCH },
  ownership: { kind: 'mark', maxLength: MAX_ROUTE_ENTRY_NAME },
  sourceDestCheck: 'not-applicable',
  asyncRoutes: true,
}) as ProviderCapabilities;

/** The only next hop type the controller writes: an ECS instance. */
export const NEXT_HOP_INSTANCE = 'Instance';

export interface ProviderLogger {
  debug(msg: string, meta?: object): void;
  info(msg: string, meta?: object): void;
  warn(msg: string, meta?: object): void;
  error(msg: string, meta?: object): void;
}

export interface AlibabaProviderConfig extends AlibabaClientConfig {
  /** The VPC whose tables are used when routeTableIds is empty. */
  vpcId?: string;
  routeTableIds?: string[];
}

export interface AlibabaProviderDeps {
  /** Prebuilt clients (tests); by default createAlibabaClients(config). */
  clients?: AlibabaClients;
  fence?: WriteFence;
  authBackoff?: AuthBackoff;
  /** One per process: one batch in flight per VPC across every table. */
  serializer?: PerVpcSerializer;
  writeRetry?: BackoffPolicy;
  availablePoll?: BackoffPolicy;
  /** The client-side rate limit of writes (--cloud-qps / --cloud-burst), and of reads unless readLimiter is given; none when absent. */
  limiter?: TokenBucket;
  /** The read bucket (--cloud-read-qps / --cloud-burst): reads never wait behind writes. */
  readLimiter?: TokenBucket;
  /** How often a mounted credentials Secret (credentialsDir) is re-read; default CREDENTIALS_CHECK_MS. */
  credentialsCheckMs?: number;
}

/** System entries are the VPC's own; Instance entries are hosts; anything else is someone else's. */
function kindOf(e: RouteEntryView): RouteKind {
  if (e.type === 'System') return 'system';
  return e.nextHopType === NEXT_HOP_INSTANCE ? 'host' : 'other';
}

/** Available is the only state in which the entry forwards; every other (Pending, Modifying, Creating, Deleting) is pending. */
function toRoute(e: RouteEntryView): CloudRoute {
  return {
    destination: e.destination,
    kind: kindOf(e),
    nexthop: e.nextHopId,
    // The controller writes the mark into both; a Description edited away still leaves the name.
    description: e.description || e.name,
    ...(e.status === 'Available' ? {} : { state: 'pending' as const }),
    cloudType: e.type === 'System' ? 'System' : e.nextHopType,
  };
}

export class AlibabaCloudProvider implements CloudProvider {
  readonly name = 'alibaba';
  readonly capabilities = ALIBABA_CAPABILITIES;
  /** Built again with the new key when a mounted Secret rotates (see checkCredentials). */
  private clients: AlibabaClients;
  /** Every secret ever used (old keys too: a late answer may still echo one), for redaction; shared with entries. */
  private readonly secrets: string[];
  private readonly reread?: CredentialsReread<StaticCredentials>;
  private readonly throttle?: Throttle;
  private readonly entries: AlibabaRouteEntries;
  private readonly auth: AuthBackoff;
  /** Route table → its VPC (for the per-VPC serializer), learned by listRouteTables. */
  private readonly tableVpc = new Map<string, string>();
  /** Route table → destination → entry id, from the last read (deletes and modifies go by id). */
  private readonly ids = new Map<string, Map<string, string>>();

  constructor(
    private readonly cfg: AlibabaProviderConfig,
    private readonly log: ProviderLogger,
    private readonly deps: AlibabaProviderDeps = {},
  ) {
    if (!cfg.vpcId && !(cfg.routeTableIds && cfg.routeTableIds.length > 0)) throw new Error('alibaba provider: a VPC id or route table ids are required');
    this.clients = deps.clients ?? createAlibabaClients(cfg);
    this.secrets = [...this.clients.secrets];
    this.auth = deps.authBackoff ?? new AuthBackoff();
    // A closed fence ends the wait for a token; a write is fenced after the wait, when it is sent.
    const write = deps.limiter;
    const read = deps.readLimiter ?? deps.limiter;
    if (write || read) this.throttle = (kind) => ((kind === 'write' ? write : read)?.acquire(deps.fence?.signal) ?? Promise.resolve());
    this.entries = new AlibabaRouteEntries(() => this.clients.vpc, {
      regionId: cfg.regionId,
      serializer: deps.serializer ?? new PerVpcSerializer(),
      secrets: this.secrets,
      ...(deps.fence ? { gate: deps.fence } : {}),
      ...(deps.writeRetry ? { writeRetry: deps.writeRetry } : {}),
      ...(deps.availablePoll ? { availablePoll: deps.availablePoll } : {}),
      ...(this.throttle ? { throttle: this.throttle } : {}),
    });
    // A mounted Secret changes under us (kubelet swaps `..data` after a rotation): re-read it and
    // sign with the new key. The SDK's credential chain (no directory) refreshes on its own.
    const dir = cfg.credentialsDir;
    if (dir) {
      this.reread = new CredentialsReread({
        initial: this.clients.credentials ?? loadStaticCredentials(dir),
        read: () => loadStaticCredentials(dir),
        same: sameStaticCredentials,
        onChange: (fresh) => {
          this.clients = createAlibabaClients(cfg, fresh);
          for (const v of secretsOf(fresh)) if (!this.secrets.includes(v)) this.secrets.push(v);
          this.auth.reset();
        },
        hint: (c) => accessKeyHint(c.accessKeyId),
        redact: (text) => redactSecrets(text, this.secrets),
        log: this.log,
        provider: this.name,
        ...(deps.credentialsCheckMs !== undefined ? { intervalMs: deps.credentialsCheckMs } : {}),
      });
    }
    this.log.info('cloud provider ready', { provider: this.name, region: cfg.regionId, vpcId: cfg.vpcId, routeTableIds: cfg.routeTableIds, credentials: this.clients.credentialsSource });
  }

  /** Re-reads a mounted Secret now; true when the key changed (the clients were built again). */
  private checkCredentials(): boolean {
    return this.reread?.check() ?? false;
  }

  /**
   * Every operation passes the auth backoff: after refused credentials nothing is sent until the
   * wait is over (a key refused again and again is locked for everyone). A refusal re-reads the
   * Secret first: after a rotation the operation is sent once more with the new key instead.
   */
  private async guarded<T>(operation: string, fn: () => Promise<T>, retried = false): Promise<T> {
    // Held back by the auth backoff: a rotated Secret ends it now rather than at the next poll.
    if (this.auth.consecutiveFailures > 0) this.checkCredentials();
    const admitted = this.auth.admit(operation);
    if (!admitted.send) throw admitted.error;
    const clients = this.clients;
    try {
      const out = await fn();
      this.auth.succeeded();
      return out;
    } catch (err) {
      if (isFencedError(err)) throw err;
      const ce = isCloudError(err) ? err : toCloudError(err, operation, this.secrets);
      // Refused with a key that is no longer the Secret's: nothing refused was applied, and every
      // operation here reads before it writes, so sending it again with the new key is safe.
      if (ce.kind === 'auth' && !retried && (clients !== this.clients || this.checkCredentials())) {
        this.log.debug('cloud call refused with the previous key; sending it again with the new one', { provider: this.name, operation, code: ce.code, requestId: ce.requestId });
        return this.guarded(operation, fn, true);
      }
      if (ce.kind === 'auth') {
        const waitMs = this.auth.failed(ce);
        if (waitMs > 0) this.log.error('the cloud refused the credentials; no cloud call until the backoff is over', { provider: this.name, operation, code: ce.code, requestId: ce.requestId, backoffSeconds: Math.round(waitMs / 1000) });
      } else if (ce.httpStatus !== undefined) this.auth.succeeded();
      else this.auth.settled();
      throw ce;
    }
  }

  async listRouteTables(): Promise<RouteTableInfo[]> {
    return this.guarded('DescribeRouteTableList', async () => {
      const wantedIds = this.cfg.routeTableIds ?? [];
      const filters = wantedIds.length > 0 ? wantedIds.map((id) => ({ routeTableId: id })) : [{ vpcId: this.cfg.vpcId! }];
      const out: RouteTableInfo[] = [];
      for (const filter of filters) {
        const found = await this.describeTables(filter);
        if ('routeTableId' in filter && found.length === 0) {
          throw new CloudError({ kind: 'notFound', operation: 'DescribeRouteTableList', code: 'InvalidRouteTableId.NotFound', cloudMessage: `route table ${filter.routeTableId} (--route-table-ids) does not exist in region ${this.cfg.regionId}` });
        }
        for (const t of found) {
          if (this.cfg.vpcId && t.vpcId !== this.cfg.vpcId) this.log.warn('configured route table belongs to another VPC', { provider: this.name, routeTableId: t.id, vpcId: t.vpcId, configuredVpcId: this.cfg.vpcId });
          this.tableVpc.set(t.id, t.vpcId);
          out.push({ id: t.id, name: t.name });
        }
      }
      return out;
    });
  }

  private async describeTables(filter: { vpcId?: string; routeTableId?: string }): Promise<{ id: string; name: string; vpcId: string }[]> {
    const out: { id: string; name: string; vpcId: string }[] = [];
    const pageSize = 50;
    for (let pageNumber = 1; pageNumber <= 1000; pageNumber++) {
      const res = await this.entries.read('DescribeRouteTableList', () => this.clients.vpc.describeRouteTableList(new $Vpc.DescribeRouteTableListRequest({ regionId: this.cfg.regionId, ...filter, pageNumber, pageSize })));
      const items = res.body?.routerTableList?.routerTableListType;
      if (!Array.isArray(items)) throw new CloudError({ kind: 'transient', operation: 'DescribeRouteTableList', cloudMessage: 'the answer has no RouterTableList' });
      for (const t of items) if (t.routeTableId) out.push({ id: t.routeTableId, name: t.routeTableName ?? '', vpcId: t.vpcId ?? '' });
      if (items.length < pageSize || out.length >= (res.body?.totalCount ?? 0)) break;
    }
    return out;
  }

  async listRoutes(tableId: string): Promise<CloudRoute[]> {
    return this.guarded('DescribeRouteEntryList', async () => {
      const views = await this.entries.list(tableId, { type: 'all' });
      this.remember(tableId, views);
      return views.map(toRoute);
    });
  }

  private remember(tableId: string, views: readonly RouteEntryView[]): void {
    this.ids.set(tableId, new Map(views.filter((v) => v.type !== 'System').map((v) => [v.destination, v.id])));
  }

  /** The table's VPC (one batch in flight per VPC); read once when listRouteTables has not run. */
  private async vpcOf(tableId: string): Promise<string> {
    const known = this.tableVpc.get(tableId);
    if (known) return known;
    const [t] = await this.describeTables({ routeTableId: tableId });
    if (!t) throw new CloudError({ kind: 'notFound', operation: 'DescribeRouteTableList', code: 'InvalidRouteTableId.NotFound', cloudMessage: `route table ${tableId} does not exist` });
    this.tableVpc.set(tableId, t.vpcId);
    return t.vpcId;
  }

  /** The ids of `destinations` in the table: from the last read, else read again. */
  private async idsOf(tableId: string, destinations: readonly string[]): Promise<Map<string, string>> {
    let known = this.ids.get(tableId);
    if (!known || destinations.some((d) => !known!.has(d))) {
      this.remember(tableId, await this.entries.list(tableId));
      known = this.ids.get(tableId)!;
    }
    return known;
  }

  /**
   * Deletes first (they free quota), then migrations and mark changes (ModifyRouteEntry, one per
   * entry), then creates. Each refused entry is reported with the cloud's FailedCode and
   * message; a part whose call failed as a whole (after its retries) reports each of its
   * entries with that error, so what the other parts did is not lost.
   */
  async applyRoutes(tableId: string, batch: RouteBatch): Promise<RouteBatchResult> {
    const size = batch.add.length + batch.mod.length + batch.del.length;
    if (size > MAX_ENTRIES_PER_BATCH) throw new Error(`alibaba provider: a batch of ${size} exceeds ${MAX_ENTRIES_PER_BATCH}`);
    return this.guarded('applyRoutes', async () => {
      const vpcId = await this.vpcOf(tableId);
      const failed: RouteBatchResult['failed'] = [];
      const fail = (destinations: readonly string[], err: unknown): void => {
        if (isFencedError(err) || !isCloudError(err)) throw err;
        for (const destination of destinations) failed.push({ destination, error: err });
      };
      const collect = (outcomes: readonly EntryOutcome[]): void => {
        for (const o of outcomes) if (!o.ok) failed.push({ destination: o.destination, error: o.error });
      };
      const ids = batch.del.length + batch.mod.length > 0 ? await this.idsOf(tableId, [...batch.del, ...batch.mod].map((x) => x.destination)) : new Map<string, string>();

      if (batch.del.length > 0) {
        // An entry not in the table any more is already what a delete wants.
        const doomed = batch.del.filter((d) => ids.has(d.destination)).map((d) => ({ id: ids.get(d.destination)!, routeTableId: tableId, destination: d.destination }));
        try {
          if (doomed.length > 0) collect(await this.entries.remove(vpcId, doomed));
          for (const d of doomed) ids.delete(d.destination);
        } catch (err) {
          fail(doomed.map((d) => d.destination), err);
        }
      }

      for (const m of batch.mod) {
        const id = ids.get(m.destination);
        if (!id) {
          fail([m.destination], new CloudError({ kind: 'notFound', operation: 'ModifyRouteEntry', code: 'InvalidRouteEntry.NotFound', cloudMessage: `no entry for ${m.destination} in ${tableId} any more` }));
          continue;
        }
        try {
          // The core sends what is still pending as pending: the next read shows it Available.
          await this.entries.moveNextHop(vpcId, { id, routeTableId: tableId, destination: m.destination }, m.nexthop, { name: m.description, description: m.description });
        } catch (err) {
          fail([m.destination], err);
        }
      }

      if (batch.add.length > 0) {
        const wanted = batch.add.map((a) => ({ routeTableId: tableId, destination: a.destination, instanceId: a.nexthop, name: a.description, description: a.description }));
        try {
          collect(await this.entries.create(vpcId, wanted));
        } catch (err) {
          fail(wanted.map((w) => w.destination), err);
        }
      }
      // Ids of created entries are learned at the next read.
      this.ids.delete(tableId);
      return { failed };
    });
  }

  sourceDestCheckRecord(_mode: SourceDestCheckMode, _block: string): string {
    return '';
  }

  /** Not called (sourceDestCheck 'not-applicable'); refuses rather than pretending. */
  ensureSourceDestCheck(instanceId: string): Promise<SourceDestCheckResult> {
    return Promise.reject(new Error(`alibaba provider: ECS has no source/destination check (asked for ${instanceId})`));
  }

  /** Nothing was ever added to a NIC, so nothing is taken off. */
  removeSourceDestCheck(): Promise<{ removed: boolean }> {
    return Promise.resolve({ removed: false });
  }

  async ensureIngressRule(rule: IngressRuleSpec): Promise<{ created: number }> {
    return this.guarded('AuthorizeSecurityGroup', async () => {
      const protocols = rule.protocols.includes('all') ? (['ALL'] as const) : [...new Set(rule.protocols)].map((p) => p.toUpperCase() as 'ICMP' | 'UDP' | 'TCP');
      const r = await ensurePoolIngress(
        this.clients.ecs,
        { regionId: this.cfg.regionId, securityGroupId: rule.securityGroupId, poolCidr: rule.remoteIpPrefix, description: 'hostnet-controller pool ingress', protocols },
        { ...(this.deps.fence ? { gate: this.deps.fence } : {}), ...(this.throttle ? { throttle: this.throttle } : {}), secrets: this.secrets },
      );
      if (r.written) this.log.info('security group permission added', { provider: this.name, securityGroupId: rule.securityGroupId, protocols, remoteIpPrefix: rule.remoteIpPrefix });
      return { created: r.created };
    });
  }
}

/** "https://host:port/..." → the SDK's endpoint (host:port) and protocol. */
export function splitEndpoint(url: string): { endpoint: string; protocol: 'https' | 'http' } {
  const u = new URL(url);
  return { endpoint: u.host, protocol: u.protocol === 'http:' ? 'http' : 'https' };
}

/** The provider's configuration from the controller's flags (see controller/config.ts). */
export function alibabaConfigFrom(config: Config): AlibabaProviderConfig {
  const vpc = config.cloudEndpoint ? splitEndpoint(config.cloudEndpoint) : undefined;
  const ecs = config.alibabaEcsEndpoint ? splitEndpoint(config.alibabaEcsEndpoint) : vpc;
  if (vpc && ecs && vpc.protocol !== ecs.protocol) throw new Error('--cloud-endpoint and --alibaba-ecs-endpoint must use the same scheme (http or https)');
  return {
    regionId: config.cloudRegion!,
    ...(vpc ? { vpcEndpoint: vpc.endpoint, protocol: vpc.protocol } : {}),
    ...(ecs ? { ecsEndpoint: ecs.endpoint, protocol: ecs.protocol } : {}),
    ...(config.cloudCredentialsDir ? { credentialsDir: config.cloudCredentialsDir } : {}),
    timeoutMs: config.cloudTimeoutMs,
    ...(config.cloudVpcId ? { vpcId: config.cloudVpcId } : {}),
    ...(config.routeTableIds.length > 0 ? { routeTableIds: config.routeTableIds } : {}),
  };
}

/** Used by factory.ts (loaded lazily). */
export function createAlibabaProvider(cfg: AlibabaProviderConfig, log: ProviderLogger, deps: AlibabaProviderDeps = {}): CloudProvider {
  return new AlibabaCloudProvider(cfg, log, deps);
}

/** The client-side rate limit of the controller's flags: writes --cloud-qps, reads --cloud-read-qps, each with --cloud-burst. */
export function alibabaLimitersFrom(config: Config): { limiter: TokenBucket; readLimiter: TokenBucket } {
  return { limiter: new TokenBucket({ qps: config.cloudQps, burst: config.cloudBurst }), readLimiter: new TokenBucket({ qps: config.cloudReadQps, burst: config.cloudBurst }) };
}
