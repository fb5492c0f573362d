// The Alibaba Cloud emulator's HTTP server: one port on 127.0.0.1 serving the VPC (2016-04-28)
// and ECS (2014-05-26) RPC APIs as @alicloud/openapi-core sends them (POST /?<parameters>, empty
// body, x-acs-action / x-acs-version headers, ACS3-HMAC-SHA256), and the unsigned control API
// under /_admin/. Each API call goes through the gateway's pipeline:
//   latency -> action lookup -> signature / AccessKey / clock / nonce / RAM -> per-AK throttle
//   (Throttling.User) -> injected fault -> the VPC model -> JSON with RequestId
// and is recorded in the call log. The machinery (faults, call log, token buckets, HTTP
// plumbing) is the Huawei emulator's, shared.

import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { CallLog, type CallRecord } from '../calllog.js';
import { holdResponse, isLoopback, readBody, sleep } from '../common/http.js';
import { FaultControl, type BadBodyKind } from '../faults.js';
import { Throttle, type ThrottleLimits } from '../throttle.js';
import { handleAliAdmin } from './admin.js';
import { findAction, Params } from './api.js';
import { AliAuthenticator, DEFAULT_ALI_AUTH } from './auth.js';
import { AliError, AliErrors, injectedAliError } from './errors.js';
import { ALI_SEED, aliSeedState } from './seed.js';
import { parseQuery, type WireRequest } from './signer.js';
import { AliState } from './state.js';
import type { AliStateInit } from './types.js';

export { ALI_SEED, aliSeedState };

export interface AliCallRecord extends CallRecord {
  /** For CreateRouteEntries / DeleteRouteEntries: entries in the batch as sent. */
  entries?: number;
  /** For the same: entries reported in FailedRouteEntries. */
  failed?: number;
}

export interface AliEmulatorOptions {
  /** TCP port on 127.0.0.1; 0 (default) picks a free one. */
  port?: number;
  /** The account to emulate; default aliSeedState(). */
  state?: AliStateInit;
  /** How long entries stay Pending (and the VPC busy) after a route write; default 200 ms. */
  entryDelayMs?: number;
  latencyMs?: number;
  jitterMs?: number;
  /** Per-AccessKey rate limit of writes (every action but Describe*), calls/s; 0 = unlimited. */
  writesPerSecond?: number;
  /** Per-AccessKey rate limit of Describe* calls; 0 = unlimited. */
  readsPerSecond?: number;
  /** Custom entries per route table; default the state's, else 200. */
  routeQuota?: number;
  /** Server clock (x-acs-date window, entry states, throttling); default real time. */
  clock?: () => Date;
  /** Allowed x-acs-date distance from the clock; default 15 min. */
  maxClockSkewMs?: number;
  log?: boolean;
  random?: () => number;
}

export interface AliEmulator {
  readonly url: string;
  /** host:port, what the SDK's `endpoint` takes. */
  readonly endpoint: string;
  readonly port: number;
  readonly state: AliState;
  readonly calls: AliCallRecord[];
  readonly faults: FaultControl;
  readonly lastSeq: number;
  callsSince(seq: number, operation?: string): AliCallRecord[];
  clearCalls(): void;
  setThrottle(limits: Partial<ThrottleLimits>): ThrottleLimits;
  /** Back to the initial state; clears calls, faults, nonces and throttle changes. */
  reset(): void;
  close(): Promise<void>;
}

const JSON_TYPE = 'application/json;charset=utf-8';

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  if (res.headersSent || res.destroyed) return;
  const text = JSON.stringify(body);
  res.writeHead(status, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** A garbled 2xx answer for the badBody fault; our guesses at a broken path, as for Huawei. */
function badBodyText(kind: BadBodyKind, body: unknown, bytes: number): string {
  const real = JSON.stringify(body);
  switch (kind) {
    case 'invalidJson':
      return '<html><head><title>502 Bad Gateway</title></head><body>Tengine</body></html>';
    case 'empty':
      return '';
    case 'wrongShape':
      return JSON.stringify({ RequestId: 'garbled' });
    case 'truncated':
      return real.slice(0, Math.floor(real.length / 2));
    case 'oversized': {
      const pad = '"' + 'x'.repeat(200) + '"';
      const count = Math.max(1, Math.floor((bytes - real.length) / (pad.length + 1)));
      return `${real.slice(0, -1)},"Padding":[${new Array<string>(count).fill(pad).join(',')}]}`;
    }
  }
}

class AliEmulatorImpl implements AliEmulator {
  readonly state: AliState;
  readonly faults: FaultControl;
  private readonly log = new CallLog<AliCallRecord>();
  private readonly auth: AliAuthenticator;
  private readonly throttle: Throttle;
  private readonly clock: () => Date;
  private readonly held = new Set<() => void>();
  url = '';
  endpoint = '';
  port = 0;

  constructor(
    private readonly http: HttpServer,
    private readonly opts: AliEmulatorOptions,
  ) {
    this.clock = opts.clock ?? (() => new Date());
    const nowMs = (): number => this.clock().getTime();
    const init = opts.state ?? aliSeedState();
    this.state = new AliState(opts.routeQuota !== undefined ? { ...init, customEntriesPerTable: opts.routeQuota } : init, nowMs, opts.entryDelayMs ?? 200);
    this.faults = new FaultControl({ latencyMs: opts.latencyMs ?? 0, jitterMs: opts.jitterMs ?? 0 }, opts.random);
    this.auth = new AliAuthenticator(this.state, nowMs, { maxSkewMs: opts.maxClockSkewMs ?? DEFAULT_ALI_AUTH.maxSkewMs });
    this.throttle = new Throttle(this.baseLimits(), nowMs);
  }

  private baseLimits(): ThrottleLimits {
    return { writesPerSecond: this.opts.writesPerSecond ?? 0, readsPerSecond: this.opts.readsPerSecond ?? 0 };
  }

  get calls(): AliCallRecord[] {
    return this.log.records;
  }

  get lastSeq(): number {
    return this.log.lastSeq;
  }

  callsSince(seq: number, operation?: string): AliCallRecord[] {
    return this.log.since(seq, operation);
  }

  clearCalls(): void {
    this.log.clear();
  }

  setThrottle(limits: Partial<ThrottleLimits>): ThrottleLimits {
    this.throttle.set(limits);
    return this.throttle.limits;
  }

  reset(): void {
    this.state.reset();
    this.state.setEntryDelay(this.opts.entryDelayMs ?? 200);
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

  private hostId(version: string | undefined): string {
    return `${version === '2014-05-26' ? 'ecs' : 'vpc'}.${this.state.regionId}.aliyuncs.com`;
  }

  private errorBody(err: AliError, requestId: string, version: string | undefined): Record<string, string> {
    return {
      RequestId: requestId,
      HostId: this.hostId(version),
      Code: err.code,
      Message: err.message,
      Recommend: `https://api.aliyun.com/troubleshoot?q=${encodeURIComponent(err.code)}&product=${version === '2014-05-26' ? 'Ecs' : 'Vpc'}`,
    };
  }

  async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    // Alibaba's request ids are upper-case UUIDs.
    const hex = randomBytes(16).toString('hex').toUpperCase();
    const requestId = `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
    const target = req.url ?? '/';
    const q = target.indexOf('?');
    const rawPath = q < 0 ? target : target.slice(0, q);
    const rawQuery = q < 0 ? '' : target.slice(q + 1);
    const method = (req.method ?? 'GET').toUpperCase();
    let body: Buffer;
    try {
      body = await readBody(req);
    } catch {
      return;
    }
    if (rawPath === '/_admin' || rawPath.startsWith('/_admin/')) {
      if (!isLoopback(req.socket.remoteAddress)) {
        sendJson(res, 403, { error: { code: 'ADMIN.Forbidden', message: 'The admin API only answers loopback clients.' } });
        return;
      }
      let parsed: unknown;
      try {
        parsed = body.length === 0 ? undefined : JSON.parse(body.toString('utf8'));
      } catch {
        sendJson(res, 400, { error: { code: 'ADMIN.BadRequest', message: 'The body is not valid JSON.' } });
        return;
      }
      const result = handleAliAdmin(this, method, rawPath, new URLSearchParams(rawQuery), parsed);
      sendJson(res, result.status, result.body);
      return;
    }
    await this.handleApi(req, res, { method, rawPath, rawQuery, body, requestId });
  }

  private async handleApi(
    req: IncomingMessage,
    res: ServerResponse,
    call: { method: string; rawPath: string; rawQuery: string; body: Buffer; requestId: string },
  ): Promise<void> {
    const started = performance.now();
    const wire: WireRequest = { method: call.method, rawPath: call.rawPath, rawQuery: call.rawQuery, headers: req.headers, body: call.body };
    const actionName = typeof req.headers['x-acs-action'] === 'string' ? req.headers['x-acs-action'] : undefined;
    const version = typeof req.headers['x-acs-version'] === 'string' ? req.headers['x-acs-version'] : undefined;
    const action = findAction(actionName, version);
    const ak = AliAuthenticator.accessKeyOf(wire);
    const entry: Omit<AliCallRecord, 'seq'> = {
      time: this.clock().toISOString(),
      operation: action?.name ?? actionName ?? 'Unknown',
      method: call.method,
      path: call.rawPath,
      status: 0,
      latencyMs: 0,
      throttled: false,
      requestId: call.requestId,
      ...(ak !== undefined ? { ak } : {}),
    };
    const finish = (status: number, code?: string): void => {
      entry.status = status;
      if (code !== undefined) entry.code = code;
      entry.latencyMs = Math.round((performance.now() - started) * 10) / 10;
      const record = this.log.add(entry);
      if (this.opts.log) console.log(`${record.time} ${record.operation} -> ${status}${code ? ` ${code}` : ''} ${record.latencyMs}ms`);
    };
    const fail = (err: AliError): void => {
      sendJson(res, err.status, this.errorBody(err, call.requestId, version));
      finish(err.status, err.code);
    };

    await sleep(this.faults.nextDelayMs());
    try {
      if (call.rawPath !== '/') throw AliErrors.actionNotFound(actionName ?? call.rawPath);
      if (call.method !== 'POST' && call.method !== 'GET') throw AliErrors.unsupportedMethod(call.method);
      if (!action) {
        if (actionName !== undefined && version !== undefined && findAction(actionName, version === '2016-04-28' ? '2014-05-26' : '2016-04-28')) throw AliErrors.versionNotSupported(version);
        throw AliErrors.actionNotFound(actionName ?? '(none)');
      }
      const verifiedAk = this.auth.authenticate(wire, action.name);
      if (this.throttle.check(verifiedAk, action.write) !== undefined) {
        entry.throttled = true;
        throw AliErrors.throttlingUser();
      }
      const params = new Params(new Map(parseQuery(call.rawQuery)));
      const run = (): Record<string, unknown> => {
        const out = action.run({ state: this.state, params, requestId: call.requestId });
        if (typeof out.FailedCount === 'number') entry.failed = out.FailedCount;
        return out;
      };
      if (action.name === 'CreateRouteEntries' || action.name === 'DeleteRouteEntries') {
        entry.entries = countEntries(call.rawQuery);
      }
      const quietly = (): Record<string, unknown> | undefined => {
        try {
          return run();
        } catch {
          return undefined;
        }
      };
      const fault = this.faults.decide(action.name);
      switch (fault.kind) {
        case 'reset':
          entry.fault = 'reset';
          if (fault.apply) quietly();
          req.socket.destroy();
          finish(0);
          return;
        case 'timeout': {
          entry.fault = 'timeout';
          const applied = fault.apply ? quietly() : undefined;
          await holdResponse(res, fault.ms, this.held);
          if (res.destroyed || fault.ms === undefined) {
            finish(0);
            return;
          }
          sendJson(res, 200, applied ?? run());
          finish(200);
          return;
        }
        case 'fail':
          entry.fault = fault.source;
          throw injectedAliError(fault.status, fault.code, fault.message);
        case 'badBody': {
          entry.fault = `badBody:${fault.body}`;
          const result = fault.apply || !action.write ? run() : { RequestId: call.requestId };
          const text = badBodyText(fault.body, result, fault.bytes);
          if (!res.headersSent && !res.destroyed) {
            res.writeHead(200, { 'Content-Type': JSON_TYPE, 'Content-Length': Buffer.byteLength(text) });
            res.end(text);
          }
          finish(200);
          return;
        }
        case 'none':
          break;
      }
      sendJson(res, 200, run());
      finish(200);
    } catch (e) {
      if (e instanceof AliError) {
        fail(e);
        return;
      }
      console.error('alibaba emulator: internal error', e);
      fail(AliErrors.internal());
    }
  }
}

/** Distinct N of RouteEntries.N.* in a raw query (the batch size as sent). */
function countEntries(rawQuery: string): number {
  const seen = new Set<string>();
  for (const [k] of parseQuery(rawQuery)) {
    const m = /^RouteEntries\.(\d+)\./.exec(k);
    if (m) seen.add(m[1]!);
  }
  return seen.size;
}

export async function startAliEmulator(opts: AliEmulatorOptions = {}): Promise<AliEmulator> {
  const http = createServer();
  const emulator = new AliEmulatorImpl(http, opts);
  http.on('request', (req: IncomingMessage, res: ServerResponse) => {
    emulator.handle(req, res).catch((e: unknown) => {
      console.error('alibaba emulator: unhandled error', e);
      if (!res.headersSent) sendJson(res, 500, { Code: 'InternalError', Message: 'The request processing has failed due to some unknown error.' });
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(opts.port ?? 0, '127.0.0.1', () => {
      http.off('error', reject);
      resolve();
    });
  });
  const port = (http.address() as AddressInfo).port;
  emulator.port = port;
  emulator.endpoint = `127.0.0.1:${port}`;
  emulator.url = `http://127.0.0.1:${port}`;
  return emulator;
}
