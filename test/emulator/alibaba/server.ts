// The Alibaba Cloud emulator's HTTP server: one port on 127.0.0.1 serving the VPC (2016-04-28)
// and ECS (2014-05-26) RPC APIs as @alicloud/openapi-core sends them (POST /?<parameters>, empty
// body, x-acs-action / x-acs-version headers, ACS3-HMAC-SHA256), and the unsigned control API
// under /_admin/. Each API call goes through the gateway's pipeline:
//   latency -> action lookup -> signature / AccessKey / clock / nonce / RAM -> per-AK throttle
//   (Throttling.User) -> injected fault -> the VPC model -> JSON with RequestId
// and is recorded in the call log. The machinery (faults, call log, token buckets, HTTP
// plumbing, answering through a fault) is shared with the Huawei emulator (../common/).

import { randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server as HttpServer, type ServerResponse } from 'node:http';
import { performance } from 'node:perf_hooks';
import type { CallRecord } from '../calllog.js';
import { garbledText, paddingItems, type GarbledForms } from '../common/bad-body.js';
import { sleep } from '../common/http.js';
import { EmulatorMachinery, type CommonEmulatorOptions, type EmulatorControl, isAdminPath, listenEmulator, readRequest, sendText, serveAdminRequest } from '../common/server.js';
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

/**
 * The emulator's options (../common/server.ts has the ones every emulator takes). Writes are every
 * action but Describe*, reads the Describe* calls; the clock also drives the x-acs-date window and
 * the entries' states; routeQuota counts custom entries.
 */
export interface AliEmulatorOptions extends CommonEmulatorOptions {
  /** The account to emulate; default aliSeedState(). */
  state?: AliStateInit;
  /** How long entries stay Pending (and the VPC busy) after a route write; default 200 ms. */
  entryDelayMs?: number;
}

export interface AliEmulator extends EmulatorControl<AliCallRecord> {
  /** host:port, what the SDK's `endpoint` takes. */
  readonly endpoint: string;
  readonly state: AliState;
  /** Back to the initial state; clears calls, faults, nonces and throttle changes. */
  reset(): void;
}

const JSON_TYPE = 'application/json;charset=utf-8';

function sendJson(res: ServerResponse, status: number, body: unknown): void {
  sendText(res, status, JSON_TYPE, JSON.stringify(body));
}

/** Alibaba's forms of the badBody fault's garbled 2xx answers; our guesses at a broken path, as for Huawei. */
const ALIBABA_GARBLED: GarbledForms = {
  invalidJson: '<html><head><title>502 Bad Gateway</title></head><body>Tengine</body></html>',
  wrongShape: { RequestId: 'garbled' },
  oversized: (real, bytes) => `${real.slice(0, -1)},"Padding":[${paddingItems(real, bytes, '"' + 'x'.repeat(200) + '"')}]}`,
};

class AliEmulatorImpl extends EmulatorMachinery<AliCallRecord> implements AliEmulator {
  readonly state: AliState;
  private readonly auth: AliAuthenticator;
  endpoint = '';

  constructor(
    http: HttpServer,
    private readonly opts: AliEmulatorOptions,
  ) {
    super(http, opts);
    const nowMs = (): number => this.clock().getTime();
    const init = opts.state ?? aliSeedState();
    this.state = new AliState(opts.routeQuota !== undefined ? { ...init, customEntriesPerTable: opts.routeQuota } : init, nowMs, opts.entryDelayMs ?? 200);
    this.auth = new AliAuthenticator(this.state, nowMs, { maxSkewMs: opts.maxClockSkewMs ?? DEFAULT_ALI_AUTH.maxSkewMs });
  }

  reset(): void {
    this.state.reset();
    this.state.setEntryDelay(this.opts.entryDelayMs ?? 200);
    this.resetMachinery();
    this.auth.reset();
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
    const request = await readRequest(req);
    if (!request) return; // the client went away mid-request
    const { method, rawPath, rawQuery, body } = request;
    if (isAdminPath(rawPath)) {
      serveAdminRequest(req, res, body, sendJson, (b) => (b.length === 0 ? undefined : JSON.parse(b.toString('utf8'))), (parsed) => handleAliAdmin(this, method, rawPath, new URLSearchParams(rawQuery), parsed));
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
    const { entry, finish } = this.beginCall(
      started,
      { operation: action?.name ?? actionName ?? 'Unknown', method: call.method, path: call.rawPath, requestId: call.requestId, ak },
      (r) => `${r.time} ${r.operation} -> ${r.status}${r.code ? ` ${r.code}` : ''} ${r.latencyMs}ms`,
    );
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
      await this.answerThroughFault(this.faults.decide(action.name), req, res, {
        entry,
        finish,
        run,
        send: (answer) => {
          sendJson(res, 200, answer);
          return 200;
        },
        garble: (kind, bytes, apply) => ({ status: 200, text: garbledText(kind, apply || !action.write ? run() : { RequestId: call.requestId }, bytes, ALIBABA_GARBLED) }),
        contentType: JSON_TYPE,
        injected: injectedAliError,
      });
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
  const port = await listenEmulator(http, (req, res) => emulator.handle(req, res), { port: opts.port, host: '127.0.0.1', name: 'alibaba emulator' }, (res) =>
    sendJson(res, 500, { Code: 'InternalError', Message: 'The request processing has failed due to some unknown error.' }),
  );
  emulator.port = port;
  emulator.endpoint = `127.0.0.1:${port}`;
  emulator.url = `http://127.0.0.1:${port}`;
  return emulator;
}
