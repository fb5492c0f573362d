// The Huawei Cloud / Open Telekom Cloud provider, on the official Node SDK
// (@huaweicloud/huaweicloud-sdk-vpc, v2 VpcClient). It automates the user's manual steps:
//   step 2  source/destination check off  -> ensureSourceDestCheck (NIC allowed_address_pairs)
//   step 4  routes to the containers       -> listRouteTables / listRoutes / applyRoutes
//   step 5  security-group ingress rules   -> ensureIngressRule
// Every call goes through call(): client-side rate limit, a hard deadline on top of the SDK's
// request timeout, raw-response capture and classification into CloudError.

import type {
  CloudProvider,
  CloudRoute,
  IngressRuleSpec,
  ProviderCapabilities,
  RouteBatch,
  RouteKind,
  RouteTableInfo,
  SourceDestCheckMode,
  SourceDestCheckResult,
} from '../provider.js';
import { CloudError } from '../errors.js';
import { createVpcClient, vpcSdk, withRawCapture, type RawCapture, type VpcClient } from './sdk.js';
import { toCloudError, untrustworthySuccess, type ShapeCheck } from './errors.js';
import { AuthBackoff } from '../auth-backoff.js';
import { resolveHuaweiConfig, type HuaweiProviderConfig, type ResolvedHuaweiConfig } from './config.js';
import { isFencedError, type WriteFence } from '../fence.js';
import { TokenBucket } from '../ratelimit.js';
import { akHint, redact, sameCredentials, type HuaweiCredentials } from './credentials.js';
import { CREDENTIALS_CHECK_MS, CredentialsReread } from '../credentials-file.js';
import { covers, parseCidr } from '../../cidr.js';
import { PortDirectory, type PortView } from './port-directory.js';

export type { HuaweiProviderConfig, HuaweiFlavor } from './config.js';

/** The logger the provider writes to; winston's Logger fits. */
export interface ProviderLogger {
  debug(msg: string, meta?: object): void;
  info(msg: string, meta?: object): void;
  warn(msg: string, meta?: object): void;
  error(msg: string, meta?: object): void;
}

/** allowed_address_pairs entry that switches the source/destination check off entirely. */
export const DISABLE_CHECK_PAIR = '1.1.1.1/0';

export interface AddressPair {
  ip_address: string;
  mac_address?: string;
}

/**
 * The port's new allowed_address_pairs: the existing ones (kept: the list REPLACES on update)
 * plus `wanted`, unless an existing pair already covers it (then changed is false).
 */
export function mergeAddressPairs(existing: readonly AddressPair[], wanted: string): { pairs: AddressPair[]; changed: boolean } {
  const pairs = existing.map((p) => ({ ...p }));
  if (pairs.some((p) => covers(p.ip_address, wanted))) return { pairs, changed: false };
  pairs.push({ ip_address: wanted });
  return { pairs, changed: true };
}

/** The port's allowed_address_pairs without `pair` (exact match; every other pair is kept). */
export function withoutAddressPair(existing: readonly AddressPair[], pair: string): { pairs: AddressPair[]; changed: boolean } {
  const pairs = existing.filter((p) => p.ip_address !== pair).map((p) => ({ ...p }));
  return { pairs, changed: pairs.length !== existing.length };
}

/** Same pairs, order aside: what a re-read must show for a write to count as not lost. */
function samePairs(a: readonly AddressPair[], b: readonly AddressPair[]): boolean {
  const key = (l: readonly AddressPair[]) => l.map((p) => p.ip_address).sort().join(',');
  return key(a) === key(b);
}

/** Read-compute-write rounds for one server's ports before a lost update is reported. */
const PORT_UPDATE_ATTEMPTS = 3;

function rec(v: unknown): Record<string, unknown> {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : {};
}

function arr(v: unknown): unknown[] {
  return Array.isArray(v) ? v : [];
}

function s(v: unknown): string {
  return typeof v === 'string' ? v : '';
}

function toPairs(v: unknown): AddressPair[] {
  return arr(v)
    .map(rec)
    .filter((a) => s(a.ip_address) !== '')
    .map((a) => (s(a.mac_address) ? { ip_address: s(a.ip_address), mac_address: s(a.mac_address) } : { ip_address: s(a.ip_address) }));
}

function toPorts(resp: unknown): PortView[] {
  return arr(rec(resp).ports)
    .map(rec)
    .filter((p) => s(p.id) !== '')
    .map((p) => ({
      id: s(p.id),
      deviceId: s(p.device_id),
      pairs: toPairs(p.allowed_address_pairs),
      addresses: arr(p.fixed_ips)
        .map((f) => s(rec(f).ip_address))
        .filter((ip) => ip !== ''),
    }));
}

/** The pairs an UpdatePort answer shows on the port; undefined when the answer does not say. */
function answeredPairs(resp: unknown): AddressPair[] | undefined {
  const port = rec(rec(resp).port);
  return Array.isArray(port.allowed_address_pairs) ? toPairs(port.allowed_address_pairs) : undefined;
}

/**
 * Huawei's route types in the core's terms: "ecs" (next hop a server) is the only kind the
 * controller writes; "local" is the VPC's own subnet route; everything else (vip, nat, peering,
 * eni, ...) is somebody else's and never touched.
 */
export const ROUTE_TYPE_SERVER = 'ecs';
const ROUTE_TYPE_LOCAL = 'local';

function kindOf(type: string): RouteKind {
  return type === ROUTE_TYPE_SERVER ? 'host' : type === ROUTE_TYPE_LOCAL ? 'system' : 'other';
}

function toRoutes(resp: unknown): CloudRoute[] {
  return arr(rec(rec(resp).routetable).routes)
    .map(rec)
    .map((r) => ({ destination: s(r.destination), kind: kindOf(s(r.type)), cloudType: s(r.type), nexthop: s(r.nexthop), description: s(r.description) }));
}

/** The route description holds 0-255 characters: the ownership mark lives there. */
export const MAX_ROUTE_DESCRIPTION = 255;

/**
 * UpdateRouteTable takes a whole delta and applies all of it or none. The API reference names
 * no limit on the number of entries per call (nor does the emulator set one): every change of a
 * flush goes in one call, as before the core learned of batch limits.
 */
export const MAX_ROUTES_PER_UPDATE = Number.POSITIVE_INFINITY;

export const HUAWEI_CAPABILITIES: ProviderCapabilities = {
  routeWrites: { kind: 'atomic-batch', maxBatch: MAX_ROUTES_PER_UPDATE },
  ownership: { kind: 'mark', maxLength: MAX_ROUTE_DESCRIPTION },
  sourceDestCheck: 'supported',
  asyncRoutes: false,
};

export interface HuaweiProviderDeps {
  /** A prebuilt client (tests); by default one is built from the configuration. */
  client?: VpcClient;
  /** Every write request passes it right before it is sent (see fence.ts). */
  fence?: WriteFence;
  /** The auth backoff (tests shorten it). */
  authBackoff?: AuthBackoff;
  /**
   * Re-reads the credentials (a mounted Secret directory; see factory.ts). Without it the
   * credentials of the configuration are used for the provider's lifetime.
   */
  rereadCredentials?: () => HuaweiCredentials;
  /** How often the credentials are re-read (default CREDENTIALS_CHECK_MS). */
  credentialsCheckMs?: number;
}

/** How often a mounted credentials Secret is re-read (see ../credentials-file.ts). */
export { CREDENTIALS_CHECK_MS };

/** The calls that change the cloud: each must pass the write fence. */
const WRITE_OPERATIONS = new Set(['UpdateRouteTable', 'UpdatePort', 'NeutronUpdatePort', 'CreateSecurityGroupRule', 'NeutronCreateSecurityGroupRule']);

/** What each operation's successful answer must hold (see untrustworthySuccess). */
const isList = (v: unknown): boolean => Array.isArray(v);
const isObject = (v: unknown): boolean => !!v && typeof v === 'object' && !Array.isArray(v);
const SHAPES: Record<string, ShapeCheck> = {
  ShowRouteTable: (b) => {
    const t = rec(b.routetable);
    if (!isObject(b.routetable)) return 'no routetable object';
    if (!isList(t.routes)) return 'routetable.routes is not a list';
    const bad = arr(t.routes).findIndex((r) => typeof rec(r).destination !== 'string' || typeof rec(r).type !== 'string');
    return bad >= 0 ? `routetable.routes[${bad}] has no destination or type` : undefined;
  },
  ListRouteTables: (b) => (isList(b.routetables) ? undefined : 'routetables is not a list'),
  UpdateRouteTable: (b) => (isObject(b.routetable) ? undefined : 'no routetable object'),
  ListPorts: (b) => (isList(b.ports) ? undefined : 'ports is not a list'),
  NeutronListPorts: (b) => (isList(b.ports) ? undefined : 'ports is not a list'),
  UpdatePort: (b) => (isObject(b.port) ? undefined : 'no port object'),
  NeutronUpdatePort: (b) => (isObject(b.port) ? undefined : 'no port object'),
  ListSecurityGroupRules: (b) => (isList(b.security_group_rules) ? undefined : 'security_group_rules is not a list'),
  NeutronListSecurityGroupRules: (b) => (isList(b.security_group_rules) ? undefined : 'security_group_rules is not a list'),
  CreateSecurityGroupRule: (b) => (isObject(b.security_group_rule) ? undefined : 'no security_group_rule object'),
  NeutronCreateSecurityGroupRule: (b) => (isObject(b.security_group_rule) ? undefined : 'no security_group_rule object'),
};

/** The operations that only read (ListPorts, ShowRouteTable, ...): they take the read bucket. */
const READ_OPERATION = /^(Neutron)?(List|Show)[A-Z]/;

export class HuaweiCloudProvider implements CloudProvider {
  readonly name: string;
  readonly capabilities = HUAWEI_CAPABILITIES;
  readonly config: Readonly<Omit<ResolvedHuaweiConfig, 'credentials'>>;
  private client: VpcClient;
  private readonly makeClient: (c: HuaweiCredentials) => VpcClient;
  /** Re-reads a mounted Secret (absent: the configuration's key for the provider's lifetime). */
  private readonly reread?: CredentialsReread<HuaweiCredentials>;
  /** Writes (route tables, ports, security group rules) and reads each have their own bucket. */
  private readonly writeLimiter: TokenBucket;
  private readonly readLimiter: TokenBucket;
  /** Every secret ever used (old keys too: a late answer may still echo one), for redact(). */
  private readonly secrets: string[];
  private readonly tableLocks = new Map<string, Promise<unknown>>();
  /** Per server: one change of its ports' address pairs at a time (see changePortPairs). */
  private readonly portLocks = new Map<string, Promise<unknown>>();
  /** Where a change of a server's ports starts: one shared listing when many servers are checked at once. */
  private readonly portDirectory: PortDirectory;
  private readonly fence?: WriteFence;
  private readonly auth: AuthBackoff;

  constructor(
    cfg: HuaweiProviderConfig,
    private readonly log: ProviderLogger,
    deps: HuaweiProviderDeps = {},
  ) {
    const resolved = resolveHuaweiConfig(cfg);
    const { credentials, ...rest } = resolved;
    this.config = Object.freeze(rest);
    this.name = resolved.flavor;
    this.secrets = [];
    this.rememberSecrets(credentials);
    this.writeLimiter = new TokenBucket({ qps: resolved.qps, burst: resolved.burst });
    this.readLimiter = new TokenBucket({ qps: resolved.readQps, burst: resolved.burst });
    this.portDirectory = new PortDirectory(
      (limit, marker) => this.listPortsPage(limit, marker),
      async (instanceId) => (await this.listServerPorts(instanceId)).ports,
    );
    this.fence = deps.fence;
    this.auth = deps.authBackoff ?? new AuthBackoff();
    this.makeClient = (c) =>
      createVpcClient({
        endpoint: resolved.endpoint,
        projectId: resolved.projectId,
        ak: c.ak,
        sk: c.sk,
        securityToken: c.securityToken,
        timeoutMs: resolved.timeoutMs,
        userAgent: resolved.userAgent,
      });
    this.client = deps.client ?? this.makeClient(credentials);
    if (deps.rereadCredentials) {
      this.reread = new CredentialsReread({
        initial: credentials,
        read: deps.rereadCredentials,
        same: sameCredentials,
        onChange: (fresh) => {
          this.rememberSecrets(fresh);
          this.client = this.makeClient(fresh);
          this.auth.reset();
        },
        hint: (c) => akHint(c.ak),
        redact: (text) => redact(text, this.secrets),
        log: this.log,
        provider: this.name,
        intervalMs: deps.credentialsCheckMs ?? CREDENTIALS_CHECK_MS,
      });
    }
    this.log.debug('cloud provider ready', {
      provider: this.name,
      endpoint: resolved.endpoint,
      projectId: resolved.projectId,
      vpcId: resolved.vpcId,
      routeTableIds: resolved.routeTableIds,
      timeoutMs: resolved.timeoutMs,
      qps: resolved.qps,
      burst: resolved.burst,
      readQps: resolved.readQps,
    });
  }

  private rememberSecrets(c: HuaweiCredentials): void {
    for (const v of [c.ak, c.sk, c.securityToken]) if (v && !this.secrets.includes(v)) this.secrets.push(v);
  }

  /**
   * Re-reads the credentials; when they changed, signs with the new key from now on and ends the
   * auth backoff (its refusals were for the old key). Returns whether they changed. A Secret that
   * cannot be read (a key missing, an empty file) keeps the current key, logged once.
   */
  private checkCredentials(): boolean {
    return this.reread?.check() ?? false;
  }

  /**
   * One SDK call: auth backoff, rate limit, deadline, raw capture, answer check, classification.
   * `tokenTaken`: the caller already took this call's token of the rate limit (a port write
   * whose read had to come after the wait; see changePortPairs).
   */
  private async call<T>(operation: string, fn: (client: VpcClient) => Promise<T>, retried = false, tokenTaken = false): Promise<T> {
    // Held back by the auth backoff: a rotated Secret ends it now rather than at the next tick.
    if (this.auth.consecutiveFailures > 0) this.checkCredentials();
    const admitted = this.auth.admit(operation);
    if (!admitted.send) throw admitted.error;
    // A closed fence ends the wait for a token; a write is fenced after the wait, when it is sent.
    if (!tokenTaken) await this.limiterFor(operation).acquire(this.fence?.signal);
    const raw: RawCapture = {};
    const started = Date.now();
    const limitMs = this.config.timeoutMs + 1000;
    let timer: ReturnType<typeof setTimeout> | undefined;
    const client = this.client;
    const send = (): Promise<T> => withRawCapture(raw, () => fn(client));
    const request = this.fence && WRITE_OPERATIONS.has(operation) ? this.fence.run(operation, send) : send();
    request.catch(() => undefined); // may settle after the deadline: never unhandled
    const deadline = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        const err = new Error(`request timed out after ${limitMs} ms`) as NodeJS.ErrnoException;
        err.code = 'ETIMEDOUT';
        reject(err);
      }, limitMs);
    });
    try {
      const result = await Promise.race([request, deadline]);
      const untrusted = untrustworthySuccess(operation, raw, SHAPES[operation]);
      if (untrusted) throw untrusted;
      this.log.debug('cloud call ok', { provider: this.name, operation, status: raw.status, requestId: raw.requestId, ms: Date.now() - started });
      this.auth.succeeded();
      return result;
    } catch (err) {
      // Refused by the fence: never sent, so not a cloud error.
      if (isFencedError(err)) throw err;
      // The SDK may also throw on a 2xx it could not read: judge the answer the same way.
      const ce = (err instanceof CloudError ? err : untrustworthySuccess(operation, raw, SHAPES[operation])) ?? toCloudError(operation, err, raw, this.secrets);
      // Refused: if the key changed meanwhile (a rotation; nothing refused is applied), send once
      // more with the new key instead of opening the backoff for a key no longer in use.
      if (ce.kind === 'auth' && !retried && (client !== this.client || this.checkCredentials())) {
        this.log.debug('cloud call refused with the previous key; sending it again with the new one', { provider: this.name, operation, code: ce.code, requestId: ce.requestId });
        clearTimeout(timer);
        return this.call(operation, fn, true);
      }
      if (ce.kind === 'auth') {
        const waitMs = this.auth.failed(ce);
        if (waitMs > 0) {
          this.log.error('the cloud refused the credentials; no cloud call until the backoff is over (5 bad signatures lock the access key for everyone)', {
            provider: this.name,
            operation,
            status: ce.httpStatus,
            code: ce.code,
            requestId: ce.requestId,
            consecutiveFailures: this.auth.consecutiveFailures,
            backoffSeconds: Math.round(waitMs / 1000),
          });
        }
      } else if (ce.httpStatus !== undefined) {
        this.auth.succeeded(); // an answer past the gateway's signature check
      } else {
        this.auth.settled();
      }
      this.log.debug('cloud call failed', {
        provider: this.name,
        operation,
        kind: ce.kind,
        status: ce.httpStatus,
        code: ce.code,
        requestId: ce.requestId,
        message: redact(ce.message, this.secrets),
        ms: Date.now() - started,
      });
      throw ce;
    } finally {
      clearTimeout(timer);
    }
  }

  async listRouteTables(): Promise<RouteTableInfo[]> {
    const ids = this.config.routeTableIds;
    if (ids?.length) {
      const out: RouteTableInfo[] = [];
      for (const id of ids) {
        const resp = await this.showRouteTable(id);
        const table = rec(rec(resp).routetable);
        const vpcId = s(table.vpc_id);
        if (this.config.vpcId && vpcId && vpcId !== this.config.vpcId) {
          this.log.warn('configured route table belongs to another VPC', { provider: this.name, routeTableId: id, vpcId, configuredVpcId: this.config.vpcId });
        }
        out.push({ id, name: s(table.name) });
      }
      return out;
    }
    const vpcId = this.config.vpcId!;
    const out: RouteTableInfo[] = [];
    const seen = new Set<string>();
    let marker: string | undefined;
    for (let page = 0; page < 1000; page++) {
      const req = new vpcSdk.ListRouteTablesRequest().withVpcId(vpcId).withLimit(this.config.pageSize);
      if (marker) req.withMarker(marker);
      const resp = await this.call('ListRouteTables', (c) => c.listRouteTables(req));
      const tables = arr(rec(resp).routetables).map(rec);
      let fresh = 0;
      for (const t of tables) {
        const id = s(t.id);
        if (!id || seen.has(id)) continue;
        seen.add(id);
        fresh++;
        out.push({ id, name: s(t.name) });
      }
      const last = tables.length ? s(tables[tables.length - 1]!.id) : '';
      // Done on a short page, or when a server ignores the marker (nothing new came back).
      if (tables.length < this.config.pageSize || fresh === 0 || !last) break;
      marker = last;
    }
    return out;
  }

  private showRouteTable(tableId: string): Promise<unknown> {
    return this.call('ShowRouteTable', (c) => c.showRouteTable(new vpcSdk.ShowRouteTableRequest().withRoutetableId(tableId)));
  }

  async listRoutes(tableId: string): Promise<CloudRoute[]> {
    return toRoutes(await this.showRouteTable(tableId));
  }

  /** Serializes writes per table: the API has no optimistic locking. */
  private withTableLock<T>(tableId: string, fn: () => Promise<T>): Promise<T> {
    return this.withLock(this.tableLocks, tableId, fn);
  }

  /** One `fn` per key at a time, in call order (a promise chain per key). */
  private withLock<T>(locks: Map<string, Promise<unknown>>, key: string, fn: () => Promise<T>): Promise<T> {
    const prev = locks.get(key) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    locks.set(key, tail);
    void tail.then(() => {
      if (locks.get(key) === tail) locks.delete(key);
    });
    return run;
  }

  async applyRoutes(tableId: string, batch: RouteBatch): Promise<void> {
    if (!batch.add.length && !batch.mod.length && !batch.del.length) return;
    const action = new vpcSdk.RouteTableRouteAction();
    if (batch.add.length) {
      action.withAdd(batch.add.map((r) => new vpcSdk.AddRouteTableRoute().withType(ROUTE_TYPE_SERVER).withDestination(r.destination).withNexthop(r.nexthop).withDescription(r.description)));
    }
    if (batch.mod.length) {
      action.withMod(batch.mod.map((r) => new vpcSdk.ModRouteTableRoute().withType(ROUTE_TYPE_SERVER).withDestination(r.destination).withNexthop(r.nexthop).withDescription(r.description)));
    }
    if (batch.del.length) {
      action.withDel(batch.del.map((r) => new vpcSdk.DelRouteTableRoute().withDestination(r.destination)));
    }
    const req = new vpcSdk.UpdateRouteTableRequest()
      .withRoutetableId(tableId)
      .withBody(new vpcSdk.UpdateRoutetableReqBody().withRoutetable(new vpcSdk.UpdateRouteTableReq().withRoutes(action)));
    await this.withTableLock(tableId, () => this.call('UpdateRouteTable', (c) => c.updateRouteTable(req)));
    this.log.debug('route table updated', { provider: this.name, routeTableId: tableId, add: batch.add.length, mod: batch.mod.length, del: batch.del.length });
  }

  private limiterFor(operation: string): TokenBucket {
    return READ_OPERATION.test(operation) ? this.readLimiter : this.writeLimiter;
  }

  /** One page of the project's ports (ListPorts / NeutronListPorts paged by limit and marker). */
  private async listPortsPage(limit: number, marker: string | undefined): Promise<PortView[]> {
    if (this.config.flavor === 'otc') {
      const req = new vpcSdk.NeutronListPortsRequest().withLimit(limit);
      return toPorts(await this.call('NeutronListPorts', (c) => c.neutronListPorts(marker === undefined ? req : req.withMarker(marker))));
    }
    const req = new vpcSdk.ListPortsRequest().withLimit(limit);
    return toPorts(await this.call('ListPorts', (c) => c.listPorts(marker === undefined ? req : req.withMarker(marker))));
  }

  private async listServerPorts(instanceId: string): Promise<{ ports: PortView[]; operation: string }> {
    if (this.config.flavor === 'otc') {
      // OTC has no v1 ports API: Neutron.
      const resp = await this.call('NeutronListPorts', (c) => c.neutronListPorts(new vpcSdk.NeutronListPortsRequest().withDeviceId(instanceId)));
      return { ports: toPorts(resp), operation: 'NeutronListPorts' };
    }
    const resp = await this.call('ListPorts', (c) => c.listPorts(new vpcSdk.ListPortsRequest().withDeviceId(instanceId)));
    return { ports: toPorts(resp), operation: 'ListPorts' };
  }

  /** Replaces the port's pairs; resolves with the pairs the answer shows (undefined: it does not say). */
  private async updatePortPairs(portId: string, pairs: AddressPair[], tokenTaken: boolean): Promise<AddressPair[] | undefined> {
    const sdkPairs = pairs.map((p) => {
      const pair = new vpcSdk.AllowedAddressPair().withIpAddress(p.ip_address);
      return p.mac_address ? pair.withMacAddress(p.mac_address) : pair;
    });
    if (this.config.flavor === 'otc') {
      const req = new vpcSdk.NeutronUpdatePortRequest()
        .withPortId(portId)
        .withBody(new vpcSdk.NeutronUpdatePortRequestBody().withPort(new vpcSdk.NeutronUpdatePortOption().withAllowedAddressPairs(sdkPairs)));
      return answeredPairs(await this.call('NeutronUpdatePort', (c) => c.neutronUpdatePort(req), false, tokenTaken));
    }
    const req = new vpcSdk.UpdatePortRequest()
      .withPortId(portId)
      .withBody(new vpcSdk.UpdatePortRequestBody().withPort(new vpcSdk.UpdatePortOption().withAllowedAddressPairs(sdkPairs)));
    return answeredPairs(await this.call('UpdatePort', (c) => c.updatePort(req), false, tokenTaken));
  }

  async ensureSourceDestCheck(instanceId: string, mode: SourceDestCheckMode, block: string): Promise<SourceDestCheckResult> {
    const operation = 'EnsureSourceDestCheck';
    let wanted: string;
    if (mode === 'disable') wanted = DISABLE_CHECK_PAIR;
    else if (mode === 'block') {
      if (!parseCidr(block, false)) {
        throw new CloudError({ kind: 'invalid', operation, cloudMessage: `block "${block}" is not an IPv4 CIDR` });
      }
      wanted = block;
    } else {
      throw new CloudError({ kind: 'invalid', operation, cloudMessage: `unknown source/destination check mode "${String(mode)}"` });
    }
    if (!instanceId) throw new CloudError({ kind: 'invalid', operation, cloudMessage: 'server id is empty' });

    const { ports, changedPorts } = await this.changePortPairs(instanceId, (pairs) => mergeAddressPairs(pairs, wanted), true);
    for (const id of changedPorts) this.log.info('NIC allowed address pairs updated', { provider: this.name, instanceId, portId: id, mode, added: wanted });
    const firstChanged = changedPorts[0];
    return { portId: firstChanged ?? ports[0]!.id, changed: firstChanged !== undefined, addresses: ports.flatMap((p) => p.addresses) };
  }

  /** disable: the pair 1.1.1.1/0 (the cloud's way of switching the check off); block: the block. */
  sourceDestCheckRecord(mode: SourceDestCheckMode, block: string): string {
    return mode === 'disable' ? DISABLE_CHECK_PAIR : block;
  }

  /** The record is the address pair ensureSourceDestCheck added. */
  removeSourceDestCheck(instanceId: string, record: string): Promise<{ removed: boolean }> {
    return this.removeAddressPair(instanceId, record);
  }

  async removeAddressPair(instanceId: string, pair: string): Promise<{ removed: boolean }> {
    if (!instanceId) throw new CloudError({ kind: 'invalid', operation: 'RemoveAddressPair', cloudMessage: 'server id is empty' });
    const { changedPorts } = await this.changePortPairs(instanceId, (pairs) => withoutAddressPair(pairs, pair), false);
    for (const id of changedPorts) this.log.info('NIC allowed address pair removed', { provider: this.name, instanceId, portId: id, removed: pair });
    return { removed: changedPorts.length > 0 };
  }

  /**
   * Applies `change` to the allowed_address_pairs of every port of the server. The list is
   * replaced on update and the API has no conditional write, so: one change per server at a time
   * in this process (portLocks), and a change made by someone else is not overwritten unseen:
   * whether a change is needed comes from the port directory (one shared listing when many
   * servers are checked at once, else a read of this server); when it is, the write's token of
   * the rate limit is taken first, then this server's ports are read and the write computed from
   * that read goes out at once, so no wait for the write budget sits between the read and the
   * write. The write's answer shows the port as written; an answer that does not (or says
   * nothing) is checked with one more read (someone wrote in between: compute again). A change
   * costs 2 reads (1 when the directory answered from a listing) and 1 write, a port already
   * right 1 read or a share of a listing.
   */
  private changePortPairs(
    instanceId: string,
    change: (pairs: readonly AddressPair[]) => { pairs: AddressPair[]; changed: boolean },
    portRequired: boolean,
  ): Promise<{ ports: PortView[]; changedPorts: string[] }> {
    return this.withLock(this.portLocks, instanceId, async () => {
      const changedPorts = new Set<string>();
      const listOp = this.config.flavor === 'otc' ? 'NeutronListPorts' : 'ListPorts';
      const noPort = (): CloudError =>
        new CloudError({ kind: 'notFound', operation: listOp, cloudMessage: `no NIC port found for server ${instanceId} (device_id) in project ${this.config.projectId}` });
      let seen = await this.portDirectory.lookup(instanceId);
      for (let attempt = 1; ; attempt++) {
        if (!seen.length && portRequired) throw noPort();
        if (!seen.some((p) => change(p.pairs).changed)) return { ports: seen, changedPorts: [...changedPorts] };
        // A closed fence ends the wait (and the write is fenced again when it is sent).
        await this.writeLimiter.acquire(this.fence?.signal);
        const { ports } = await this.listServerPorts(instanceId);
        if (!ports.length && portRequired) throw noPort();
        const writes = ports.map((p) => ({ port: p, ...change(p.pairs) })).filter((w) => w.changed);
        // Already right (the directory's view was older than the port): the token goes unused.
        if (!writes.length) return { ports, changedPorts: [...changedPorts] };
        let confirmed = true;
        for (const [i, w] of writes.entries()) {
          const answered = await this.updatePortPairs(w.port.id, w.pairs, i === 0);
          this.portDirectory.forget(instanceId);
          changedPorts.add(w.port.id);
          if (answered === undefined || !samePairs(answered, w.pairs)) confirmed = false;
        }
        const written = ports.map((p) => ({ ...p, pairs: writes.find((w) => w.port.id === p.id)?.pairs ?? p.pairs }));
        if (confirmed) return { ports: written, changedPorts: [...changedPorts] };
        const after = (await this.listServerPorts(instanceId)).ports;
        if (writes.every((w) => samePairs(after.find((p) => p.id === w.port.id)?.pairs ?? [], w.pairs))) return { ports: after, changedPorts: [...changedPorts] };
        this.log.warn('NIC port changed by someone else while we updated it; reading it again', { provider: this.name, instanceId, attempt });
        if (attempt >= PORT_UPDATE_ATTEMPTS) {
          throw new CloudError({ kind: 'transient', operation: listOp, cloudMessage: `the NIC ports of server ${instanceId} kept changing during ${attempt} updates; trying again later` });
        }
        seen = after;
      }
    });
  }

  async ensureIngressRule(rule: IngressRuleSpec): Promise<{ created: number }> {
    const operation = 'EnsureIngressRule';
    if (!rule.securityGroupId) throw new CloudError({ kind: 'invalid', operation, cloudMessage: 'securityGroupId is empty' });
    if (!parseCidr(rule.remoteIpPrefix, false)) {
      throw new CloudError({ kind: 'invalid', operation, cloudMessage: `remoteIpPrefix "${rule.remoteIpPrefix}" is not an IPv4 CIDR` });
    }
    // "all" makes one rule without a protocol, which covers the others.
    const wanted: (string | undefined)[] = rule.protocols.includes('all') ? [undefined] : [...new Set(rule.protocols)];
    // Read first: a create that answers "duplicate" still spends a write call of the throttle,
    // and a restart should cost reads only.
    const existing = await this.existingIngressRules(rule.securityGroupId, rule.remoteIpPrefix);
    const protocols = existing === undefined ? wanted : existing.has(undefined) ? [] : wanted.filter((p) => !existing.has(p));
    let created = 0;
    for (const protocol of protocols) {
      try {
        await this.createIngressRule(rule.securityGroupId, rule.remoteIpPrefix, protocol);
        created++;
        this.log.info('security group rule created', { provider: this.name, securityGroupId: rule.securityGroupId, protocol: protocol ?? 'all', remoteIpPrefix: rule.remoteIpPrefix });
      } catch (err) {
        // A duplicate (409 VPC.0602 / Neutron SecurityGroupRuleExists) means the rule is there.
        if (err instanceof CloudError && err.kind === 'conflict') continue;
        throw err;
      }
    }
    return { created };
  }

  /**
   * Protocols of the IPv4 ingress rules from remoteIpPrefix already in the group (undefined =
   * a rule for every protocol); undefined when the list could not be read (then we just create).
   */
  private async existingIngressRules(securityGroupId: string, remoteIpPrefix: string): Promise<Set<string | undefined> | undefined> {
    try {
      const resp =
        this.config.flavor === 'otc'
          ? await this.call('NeutronListSecurityGroupRules', (c) =>
              c.neutronListSecurityGroupRules(new vpcSdk.NeutronListSecurityGroupRulesRequest().withSecurityGroupId(securityGroupId).withLimit(2000)),
            )
          : await this.call('ListSecurityGroupRules', (c) => c.listSecurityGroupRules(new vpcSdk.ListSecurityGroupRulesRequest().withSecurityGroupId(securityGroupId).withLimit(2000)));
      const found = new Set<string | undefined>();
      for (const r of arr(rec(resp).security_group_rules).map(rec)) {
        if (s(r.direction) !== 'ingress' || (s(r.ethertype) || 'IPv4') !== 'IPv4' || s(r.remote_ip_prefix) !== remoteIpPrefix) continue;
        found.add(s(r.protocol) || undefined);
      }
      return found;
    } catch (err) {
      this.log.debug('could not list security group rules; creating them', { provider: this.name, securityGroupId, error: (err as Error).message });
      return undefined;
    }
  }

  private async createIngressRule(securityGroupId: string, remoteIpPrefix: string, protocol: string | undefined): Promise<void> {
    if (this.config.flavor === 'otc') {
      const opt = new vpcSdk.NeutronCreateSecurityGroupRuleOption()
        .withSecurityGroupId(securityGroupId)
        .withDirection('ingress')
        .withEthertype('IPv4')
        .withRemoteIpPrefix(remoteIpPrefix);
      if (protocol) opt.withProtocol(protocol);
      const req = new vpcSdk.NeutronCreateSecurityGroupRuleRequest().withBody(new vpcSdk.NeutronCreateSecurityGroupRuleRequestBody().withSecurityGroupRule(opt));
      await this.call('NeutronCreateSecurityGroupRule', (c) => c.neutronCreateSecurityGroupRule(req));
      return;
    }
    const opt = new vpcSdk.CreateSecurityGroupRuleOption()
      .withSecurityGroupId(securityGroupId)
      .withDirection('ingress')
      .withEthertype('IPv4')
      .withRemoteIpPrefix(remoteIpPrefix);
    if (protocol) opt.withProtocol(protocol);
    const req = new vpcSdk.CreateSecurityGroupRuleRequest().withBody(new vpcSdk.CreateSecurityGroupRuleRequestBody().withSecurityGroupRule(opt));
    await this.call('CreateSecurityGroupRule', (c) => c.createSecurityGroupRule(req));
  }
}

/** Builds the provider; throws HuaweiConfigError on a bad configuration. */
export function createHuaweiProvider(cfg: HuaweiProviderConfig, log: ProviderLogger, deps: HuaweiProviderDeps = {}): HuaweiCloudProvider {
  return new HuaweiCloudProvider(cfg, log, deps);
}
