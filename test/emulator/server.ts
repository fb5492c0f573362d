// The emulator's HTTP server: one port on 127.0.0.1 serving the Huawei Cloud VPC API (signed,
// throttled, slowed down and broken on demand) and the unsigned control API under /_admin/.
// Each API call goes through the same pipeline as at the real gateway:
//   latency -> route match (APIGW.0101) -> AK/SK auth (APIGW.0301) -> per-AK throttle
//   (APIG.0308) -> injected fault -> the VPC model -> response with X-Request-Id
// and is recorded in the call log.

import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import { handleAdmin } from './admin.js';
import { garbledText, paddingItems, type GarbledForms } from './common/bad-body.js';
import { sleep } from './common/http.js';
import { EmulatorMachinery, type CommonEmulatorOptions, type EmulatorControl, isAdminPath, listenEmulator, readRequest, sendText, serveAdminRequest } from './common/server.js';
import { injectedError, matchOperation, Query, renderError, type ApiOperation } from './api.js';
import { Authenticator, DEFAULT_AUTH_OPTIONS } from './auth.js';
import { parseJson } from './bodies.js';
import type { CallRecord } from './calllog.js';
import { Errors, GatewayError, VpcError } from './errors.js';
import { SEED, seedState } from './seed.js';
import type { WireRequest } from './signer.js';
import { VpcState } from './state.js';
import type { AddressPair, Port, RouteTable, Server, VpcStateInit, VpcStateSnapshot } from './types.js';

export { SEED, seedState };
export type { CallRecord, VpcStateInit };

/**
 * The emulator's options (common/server.ts has the ones every emulator takes). Writes are PUT, POST
 * and DELETE, reads GET; the clock also drives X-Sdk-Date checks and lockouts.
 */
export interface EmulatorOptions extends CommonEmulatorOptions {
  /**
   * Address to listen on; default 127.0.0.1. The cluster suite passes the node-facing address of
   * its own network namespace's link so pods can reach the API (the admin API still only answers
   * loopback clients).
   */
  host?: string;
  /** The account to emulate; default seedState(). */
  state?: VpcStateInit;
  /** How long an AK stays locked after `authLockAfter` consecutive bad signatures; default 5 min. */
  authLockMs?: number;
  /** Consecutive bad signatures that lock an AK; default 5. */
  authLockAfter?: number;
}

export interface AdminRouteInput {
  destination: string;
  type?: string;
  nexthop?: string;
  description?: string;
  /** Skip the API's validation (e.g. to plant a route to a deleted server). */
  force?: boolean;
}

export interface Emulator extends EmulatorControl<CallRecord> {
  /** The live model; tests may read it directly. */
  readonly state: VpcState;
  /** Out-of-band route edits, as a person in the console would make them. */
  addRoute(tableId: string, route: AdminRouteInput): RouteTable;
  modifyRoute(tableId: string, route: AdminRouteInput): RouteTable;
  deleteRoute(tableId: string, destination: string, opts?: { force?: boolean }): RouteTable;
  setQuota(quota: { routesPerTable?: number; routeTablesPerVpc?: number }): void;
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
}

const JSON_TYPE = 'application/json;charset=UTF-8';
function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, JSON_TYPE, status === 204 ? '' : JSON.stringify(body));
}

/** Huawei's forms of the badBody fault's garbled 2xx answers (see BadBodyKind). */
const HUAWEI_GARBLED: GarbledForms = {
  invalidJson: '<html><head><title>502 Bad Gateway</title></head><body>upstream closed the connection</body></html>',
  wrongShape: { result: 'ok' },
  oversized: (real, bytes) => {
    // The real answer with padding routes (as many as fit in `bytes`) in its route list, or a
    // padding field when it has none: valid JSON a trusting client would parse whole.
    const padding = paddingItems(real, bytes, '{"destination":"172.31.255.255/32","type":"ecs","nexthop":"padding","description":"' + 'x'.repeat(150) + '"}');
    if (/"routes":\[/.test(real)) return real.replace(/"routes":\[/, `"routes":[${padding},`).replace(/,\]/, ']');
    return `${real.slice(0, -1)},"padding":[${padding}]}`;
  },
};

/** Counts of an UpdateRouteTable delta as sent, tolerant of malformed bodies. */
function deltaCounts(body: unknown): { add: number; mod: number; del: number } {
  const routes = (body as { routetable?: { routes?: Record<string, unknown> } } | undefined)?.routetable?.routes;
  const count = (key: string): number => {
    const list = routes?.[key];
    return Array.isArray(list) ? list.length : 0;
  };
  return { add: count('add'), mod: count('mod'), del: count('del') };
}

class EmulatorImpl extends EmulatorMachinery<CallRecord> implements Emulator {
  readonly state: VpcState;
  private readonly auth: Authenticator;

  constructor(http: HttpServer, opts: EmulatorOptions) {
    super(http, opts);
    this.state = new VpcState(opts.state ?? seedState(), this.clock, opts.routeQuota);
    this.auth = new Authenticator(() => ({ projectId: this.state.projectId, credentials: this.state.credentials }), this.clock, {
      lockAfter: opts.authLockAfter ?? DEFAULT_AUTH_OPTIONS.lockAfter,
      lockMs: opts.authLockMs ?? DEFAULT_AUTH_OPTIONS.lockMs,
      maxSkewMs: opts.maxClockSkewMs ?? DEFAULT_AUTH_OPTIONS.maxSkewMs,
    });
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
    this.resetMachinery();
    this.auth.reset();
  }

  /** Entry point for every HTTP request. */
  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const requestId = randomBytes(16).toString('hex');
    res.setHeader('X-Request-Id', requestId);
    const request = await readRequest(req);
    if (!request) return; // the client went away mid-request
    const { method, rawPath, rawQuery, body } = request;
    if (isAdminPath(rawPath)) {
      serveAdminRequest(req, res, body, sendJson, (b) => parseJson(b.toString('utf8')), (parsed) => handleAdmin(this, method, rawPath, new Query(rawQuery), parsed));
      return;
    }
    await this.handleApi(req, res, { ...request, requestId });
  }

  private async handleApi(
    req: IncomingMessage,
    res: ServerResponse,
    call: { method: string; target: string; rawPath: string; rawQuery: string; body: Buffer; requestId: string },
  ): Promise<void> {
    const started = performance.now();
    const wire: WireRequest = { method: call.method, target: call.target, headers: req.headers, body: call.body };
    const match = matchOperation(call.method, call.rawPath);
    const operation: ApiOperation | undefined = match?.op;
    const ak = Authenticator.akOf(wire);
    const { entry, finish } = this.beginCall(
      started,
      { operation: operation?.name ?? 'Unknown', method: call.method, path: call.rawPath, requestId: call.requestId, ak, remote: req.socket.remoteAddress },
      (r) => `${r.time} ${r.method} ${r.path} ${r.operation} -> ${r.status}${r.code ? ` ${r.code}` : ''} ${r.latencyMs}ms`,
    );
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
      await this.answerThroughFault(this.faults.decide(operation.name), req, res, {
        entry,
        finish,
        run,
        send: (result) => {
          sendJson(res, result.status, result.body);
          return result.status;
        },
        // A read always runs (it changes nothing); a write only with apply. Either way the status
        // is a success.
        garble: (kind, bytes, apply) => {
          const result = apply || call.method === 'GET' ? run() : { status: 200, body: {} };
          return { status: result.status, text: garbledText(kind, result.body, bytes, HUAWEI_GARBLED) };
        },
        contentType: JSON_TYPE,
        injected: injectedError,
      });
    } catch (e) {
      if (e instanceof VpcError || e instanceof GatewayError) {
        fail(e);
        return;
      }
      console.error('emulator: internal error', e);
      fail(Errors.internal());
    }
  }
}

/** Starts an emulator on 127.0.0.1 (or opts.host) and resolves once it is listening. */
export async function startEmulator(opts: EmulatorOptions = {}): Promise<Emulator> {
  const http = createServer();
  const emulator = new EmulatorImpl(http, opts);
  const port = await listenEmulator(http, (req, res) => emulator.handle(req, res), { port: opts.port, host: opts.host ?? '127.0.0.1', name: 'emulator' }, (res) =>
    sendJson(res, 500, { code: 'VPC.0106', message: 'Internal server error.' }),
  );
  emulator.port = port;
  emulator.url = `http://${opts.host ?? '127.0.0.1'}:${port}`;
  return emulator;
}
