// The emulator's HTTP server: one port on 127.0.0.1 serving the Huawei Cloud VPC API (signed,
// throttled, slowed down and broken on demand) and the unsigned control API under /_admin/.
// Each API call goes through the same pipeline as at the real gateway:
//   latency -> route match (APIGW.0101) -> AK/SK auth (APIGW.0301) -> per-AK throttle
//   (APIG.0308) -> injected fault -> the VPC model -> response with X-Request-Id
// and is recorded in the call log.

import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { handleAdmin } from './admin.js';
import { holdResponse, isLoopback, readBody, sleep } from './common/http.js';
import { injectedError, matchOperation, Query, renderError, type ApiOperation } from './api.js';
import { Authenticator, DEFAULT_AUTH_OPTIONS } from './auth.js';
import { parseJson } from './bodies.js';
import { CallLog, type CallRecord } from './calllog.js';
import { Errors, GatewayError, VpcError } from './errors.js';
import { FaultControl, type BadBodyKind } from './faults.js';
import { SEED, seedState } from './seed.js';
import { splitTarget, type WireRequest } from './signer.js';
import { VpcState } from './state.js';
import { Throttle, type ThrottleLimits } from './throttle.js';
import type { AddressPair, Port, RouteTable, Server, VpcStateInit, VpcStateSnapshot } from './types.js';

export { SEED, seedState };
export type { CallRecord, VpcStateInit };

export interface EmulatorOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /**
   * Address to listen on; default 127.0.0.1. The cluster suite passes the node-facing address of
   * its own network namespace's link so pods can reach the API (the admin API still only answers
   * loopback clients).
   */
  host?: string;
  /** The account to emulate; default seedState(). */
  state?: VpcStateInit;
  /** Added to every API call (not to /_admin/). */
  latencyMs?: number;
  /** Uniform random extra delay in [0, jitterMs). */
  jitterMs?: number;
  /** Per-AK write (PUT/POST/DELETE) rate limit, calls per second; 0 = unlimited (default). */
  writesPerSecond?: number;
  /** Per-AK read (GET) rate limit; 0 = unlimited (default). */
  readsPerSecond?: number;
  /** Non-local routes per route table; default the state's quota, else 200. */
  routeQuota?: number;
  /** Server clock for X-Sdk-Date checks, lockouts, throttling and timestamps; default real time. */
  clock?: () => Date;
  /** Print one line per API call to stdout. */
  log?: boolean;
  /** How long an AK stays locked after `authLockAfter` consecutive bad signatures; default 5 min. */
  authLockMs?: number;
  /** Consecutive bad signatures that lock an AK; default 5. */
  authLockAfter?: number;
  /** Allowed X-Sdk-Date distance from the clock; default 15 min. */
  maxClockSkewMs?: number;
  /** Randomness for jitter and error rates; default Math.random. */
  random?: () => number;
}

export interface AdminRouteInput {
  destination: string;
  type?: string;
  nexthop?: string;
  description?: string;
  /** Skip the API's validation (e.g. to plant a route to a deleted server). */
  force?: boolean;
}

export interface Emulator {
  /** http://127.0.0.1:PORT, the endpoint to give the SDK. */
  readonly url: string;
  readonly port: number;
  /** The live model; tests may read it directly. */
  readonly state: VpcState;
  /** The live call log (cleared in place). */
  readonly calls: CallRecord[];
  readonly faults: FaultControl;
  /** The seq of the last recorded call (0 before any). */
  readonly lastSeq: number;
  callsSince(seq: number, operation?: string): CallRecord[];
  clearCalls(): void;
  /** Out-of-band route edits, as a person in the console would make them. */
  addRoute(tableId: string, route: AdminRouteInput): RouteTable;
  modifyRoute(tableId: string, route: AdminRouteInput): RouteTable;
  deleteRoute(tableId: string, destination: string, opts?: { force?: boolean }): RouteTable;
  setQuota(quota: { routesPerTable?: number; routeTablesPerVpc?: number }): void;
  setThrottle(limits: Partial<ThrottleLimits>): ThrottleLimits;
  /** Replaces a port's allowed_address_pairs (e.g. [] to turn the source/destination check back on). */
  setPortAddressPairs(portId: string, pairs: AddressPair[]): Port;
  /** Adds an ECS server with one NIC port in the subnet holding `ip` (or `subnetId`). */
  addServer(server: { name: string; ip: string; id?: string; subnetId?: string; portId?: string }): Server;
  /** Deletes a server and its port; routes pointing at it stay. */
  removeServer(id: string): void;
  /** A deep copy of the whole state (GET /_admin/state). */
  snapshot(): VpcStateSnapshot;
  /** Back to the initial state; clears the call log, faults, lockouts and throttle changes. */
  reset(): void;
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json;charset=UTF-8';
function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = status === 204 ? '' : JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** A garbled 2xx answer for the badBody fault (see BadBodyKind); `body` is the real answer. */
function badBodyText(kind: BadBodyKind, body: unknown, bytes: number): string {
  const real = JSON.stringify(body);
  switch (kind) {
    case 'invalidJson':
      return '<html><head><title>502 Bad Gateway</title></head><body>upstream closed the connection</body></html>';
    case 'empty':
      return '';
    case 'wrongShape':
      return JSON.stringify({ result: 'ok' });
    case 'truncated':
      return real.slice(0, Math.floor(real.length / 2));
    case 'oversized': {
      // The real answer with padding routes (as many as fit in `bytes`) in its route list, or a
      // padding field when it has none: valid JSON a trusting client would parse whole.
      const pad = '{"destination":"172.31.255.255/32","type":"ecs","nexthop":"padding","description":"' + 'x'.repeat(150) + '"}';
      const count = Math.max(1, Math.floor((bytes - real.length) / (pad.length + 1)));
      const padding = new Array<string>(count).fill(pad).join(',');
      if (/"routes":\[/.test(real)) return real.replace(/"routes":\[/, `"routes":[${padding},`).replace(/,\]/, ']');
      return `${real.slice(0, -1)},"padding":[${padding}]}`;
    }
  }
}

/** Counts of an UpdateRouteTable delta as sent, tolerant of malformed bodies. */
function deltaCounts(body: unknown): { add: number; mod: number; del: number } {
  const routes = (body as { routetable?: { routes?: Record<string, unknown> } } | undefined)?.routetable?.routes;
  const count = (key: string): number => {
    const list = routes?.[key];
    return Array.isArray(list) ? list.length : 0;
  };
  return { add: count('add'), mod: count('mod'), del: count('del') };
}

class EmulatorImpl implements Emulator {
  readonly state: VpcState;
  readonly faults: FaultControl;
  private readonly log = new CallLog();
  private readonly auth: Authenticator;
  private readonly throttle: Throttle;
  private readonly clock: () => Date;
  /** Resolvers of requests held by a timeout fault, released on close(). */
  private readonly held = new Set<() => void>();
  url = '';
  port = 0;

  constructor(
    private readonly http: HttpServer,
    private readonly opts: EmulatorOptions,
  ) {
    this.clock = opts.clock ?? (() => new Date());
    this.state = new VpcState(opts.state ?? seedState(), this.clock, opts.routeQuota);
    this.faults = new FaultControl({ latencyMs: opts.latencyMs ?? 0, jitterMs: opts.jitterMs ?? 0 }, opts.random);
    this.auth = new Authenticator(() => ({ projectId: this.state.projectId, credentials: this.state.credentials }), this.clock, {
      lockAfter: opts.authLockAfter ?? DEFAULT_AUTH_OPTIONS.lockAfter,
      lockMs: opts.authLockMs ?? DEFAULT_AUTH_OPTIONS.lockMs,
      maxSkewMs: opts.maxClockSkewMs ?? DEFAULT_AUTH_OPTIONS.maxSkewMs,
    });
    this.throttle = new Throttle(this.baseLimits(), () => this.clock().getTime());
  }

  private baseLimits(): ThrottleLimits {
    return { writesPerSecond: this.opts.writesPerSecond ?? 0, readsPerSecond: this.opts.readsPerSecond ?? 0 };
  }

  get calls(): CallRecord[] {
    return this.log.records;
  }

  get lastSeq(): number {
    return this.log.lastSeq;
  }

  callsSince(seq: number, operation?: string): CallRecord[] {
    return this.log.since(seq, operation);
  }

  clearCalls(): void {
    this.log.clear();
  }

  addRoute(tableId: string, route: AdminRouteInput): RouteTable {
    const { force, ...input } = route;
    return this.state.adminAddRoute(tableId, input, force ?? false);
  }

  modifyRoute(tableId: string, route: AdminRouteInput): RouteTable {
    const { force, ...input } = route;
    return this.state.adminModifyRoute(tableId, input, force ?? false);
  }

  deleteRoute(tableId: string, destination: string, opts: { force?: boolean } = {}): RouteTable {
    return this.state.adminDeleteRoute(tableId, destination, opts.force ?? false);
  }

  setQuota(quota: { routesPerTable?: number; routeTablesPerVpc?: number }): void {
    if (quota.routesPerTable !== undefined) this.state.setRouteQuota(quota.routesPerTable);
    if (quota.routeTablesPerVpc !== undefined) this.state.setRouteTableQuota(quota.routeTablesPerVpc);
  }

  setThrottle(limits: Partial<ThrottleLimits>): ThrottleLimits {
    this.throttle.set(limits);
    return this.throttle.limits;
  }

  setPortAddressPairs(portId: string, pairs: AddressPair[]): Port {
    return this.state.setAllowedAddressPairs(portId, pairs);
  }

  addServer(server: { name: string; ip: string; id?: string; subnetId?: string; portId?: string }): Server {
    return this.state.addServer({
      name: server.name,
      ip: server.ip,
      ...(server.id !== undefined ? { id: server.id } : {}),
      ...(server.subnetId !== undefined ? { subnet_id: server.subnetId } : {}),
      ...(server.portId !== undefined ? { port_id: server.portId } : {}),
    });
  }

  removeServer(id: string): void {
    this.state.removeServer(id);
  }

  snapshot(): VpcStateSnapshot {
    return this.state.snapshot();
  }

  reset(): void {
    this.state.reset();
    this.log.clear();
    this.faults.clear();
    this.auth.reset();
    this.throttle.set(this.baseLimits());
    this.throttle.reset();
  }

  async close(): Promise<void> {
    for (const release of this.held) release();
    this.held.clear();
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  /** Entry point for every HTTP request. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomBytes(16).toString('hex');
    res.setHeader('X-Request-Id', requestId);
    const target = req.url ?? '/';
    const { rawPath, rawQuery } = splitTarget(target);
    const method = (req.method ?? 'GET').toUpperCase();
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch {
      return; // the client went away mid-request
    }
    if (rawPath === '/_admin' || rawPath.startsWith('/_admin/')) {
      this.handleAdmin(req, res, method, rawPath, rawQuery, body);
      return;
    }
    await this.handleApi(req, res, { method, target, rawPath, rawQuery, body, requestId });
  }

  private handleAdmin(req: IncomingMessage, res: ServerResponse, method: string, rawPath: string, rawQuery: string, body: Buffer): void {
    if (!isLoopback(req.socket.remoteAddress)) {
      sendJson(res, 403, { error: { code: 'ADMIN.Forbidden', message: 'The admin API only answers loopback clients.' } });
      return;
    }
    let parsed: unknown;
    try {
      parsed = parseJson(body.toString('utf8'));
    } catch {
      sendJson(res, 400, { error: { code: 'ADMIN.BadRequest', message: 'The body is not valid JSON.' } });
      return;
    }
    const result = handleAdmin(this, method, rawPath, new Query(rawQuery), parsed);
    sendJson(res, result.status, result.body);
  }

  private async handleApi(
    req: IncomingMessage,
    res: ServerResponse,
    call: { method: string; target: string; rawPath: string; rawQuery: string; body: Buffer; requestId: string },
  ): Promise<void> {
    const started = performance.now();
    const time = this.clock().toISOString();
    const wire: WireRequest = { method: call.method, target: call.target, headers: req.headers, body: call.body };
    const match = matchOperation(call.method, call.rawPath);
    const operation: ApiOperation | undefined = match?.op;
    const ak = Authenticator.akOf(wire);
    const entry: Omit<CallRecord, 'seq'> = {
      time,
      operation: operation?.name ?? 'Unknown',
      method: call.method,
      path: call.rawPath,
      status: 0,
      latencyMs: 0,
      throttled: false,
      requestId: call.requestId,
      ...(ak !== undefined ? { ak } : {}),
      ...(req.socket.remoteAddress !== undefined ? { remote: req.socket.remoteAddress } : {}),
    };
    const finish = (status: number, code?: string): void => {
      entry.status = status;
      if (code !== undefined) entry.code = code;
      entry.latencyMs = Math.round((performance.now() - started) * 10) / 10;
      const record = this.log.add(entry);
      if (this.opts.log) {
        console.log(`${record.time} ${record.method} ${record.path} ${record.operation} -> ${status}${code ? ` ${code}` : ''} ${record.latencyMs}ms`);
      }
    };
    const fail = (err: VpcError | GatewayError): void => {
      const rendered = renderError(err, operation?.family ?? 'v1', call.requestId);
      sendJson(res, rendered.status, rendered.body);
      finish(rendered.status, rendered.code);
    };

    await sleep(this.faults.nextDelayMs());
    if (!match || !operation) {
      fail(Errors.apiNotFound());
      return;
    }
    let parsedBody: unknown;
    const run = (): { status: number; body: unknown } =>
      operation.run({ state: this.state, params: match.params, query: new Query(call.rawQuery), body: parsedBody, requestId: call.requestId });
    try {
      const { ak: verifiedAk } = this.auth.authenticate(wire, match.pathProject);
      const limit = this.throttle.check(verifiedAk, call.method !== 'GET');
      if (limit !== undefined) {
        entry.throttled = true;
        throw Errors.throttled(limit);
      }
      parsedBody = parseJson(call.body.toString('utf8'));
      if (operation.name === 'UpdateRouteTable') entry.delta = deltaCounts(parsedBody);
      const fault = this.faults.decide(operation.name);
      switch (fault.kind) {
        case 'reset': {
          entry.fault = 'reset';
          if (fault.apply) this.runQuietly(run);
          req.socket.destroy();
          finish(0);
          return;
        }
        case 'timeout': {
          entry.fault = 'timeout';
          const applied = fault.apply ? this.runQuietly(run) : undefined;
          await this.hold(res, fault.ms);
          if (res.destroyed || fault.ms === undefined) {
            finish(0);
            return;
          }
          const result = applied ?? run();
          sendJson(res, result.status, result.body);
          finish(result.status);
          return;
        }
        case 'fail':
          entry.fault = fault.source;
          throw injectedError(fault.status, fault.code, fault.message);
        case 'badBody': {
          entry.fault = `badBody:${fault.body}`;
          // A read always runs (it changes nothing); a write only with apply. Either way the
          // status is a success.
          const result = fault.apply || call.method === 'GET' ? run() : { status: 200, body: {} };
          const text = badBodyText(fault.body, result.body, fault.bytes);
          if (!res.headersSent && !res.destroyed) {
            res.writeHead(result.status, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(text) });
            res.end(text);
          }
          finish(result.status);
          return;
        }
        case 'none':
          break;
      }
      const result = run();
      sendJson(res, result.status, result.body);
      finish(result.status);
    } catch (e) {
      if (e instanceof VpcError || e instanceof GatewayError) {
        fail(e);
        return;
      }
      console.error('emulator: internal error', e);
      fail(Errors.internal());
    }
  }

  /** Runs an operation whose answer will never be sent; its error, if any, is dropped like the answer. */
  private runQuietly(run: () => { status: number; body: unknown }): { status: number; body: unknown } | undefined {
    try {
      return run();
    } catch {
      return undefined;
    }
  }

  /** Holds a request for `ms`, or until the client gives up (or the emulator closes) when undefined. */
  private hold(res: ServerResponse, ms: number | undefined): Promise<void> {
    return holdResponse(res, ms, this.held);
  }
}

/** Starts an emulator on 127.0.0.1 (or opts.host) and resolves once it is listening. */
export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const http = createServer();
  const emulator = new EmulatorImpl(http, opts);
  http.on('request', (req: IncomingMessage, res: ServerResponse) => {
    emulator.handle(req, res).catch((e: unknown) => {
      console.error('emulator: unhandled error', e);
      if (!res.headersSent) sendJson(res, 500, { code: 'VPC.0106', message: 'Internal server error.' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port ?? 0, opts.host ?? '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  emulator.port = port;
  emulator.url = `http://${opts.host ?? '127.0.0.1'}:${port}`;
  return emulator;
}
