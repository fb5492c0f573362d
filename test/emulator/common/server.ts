// The request plumbing every cloud emulator shares (the Huawei one in test/emulator/server.ts, the
// Alibaba one in test/emulator/alibaba/server.ts): the HTTP server on loopback, reading a request,
// the loopback-only admin half, the machinery beside each cloud's model (call log, faults,
// per-AK throttle, requests held by a timeout fault), recording a call, and answering it through
// an injected fault. What a cloud's gateway does — its signature, its errors, its actions and
// their answers — stays in that cloud's folder and comes in here as callbacks.

import type { IncomingMessage, Server as HttpServer, ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { performance } from 'node:perf_hooks';
import { CallLog, type CallRecord } from '../calllog.js';
import { FaultControl, type BadBodyKind, type FaultAction } from '../faults.js';
import { Throttle, type ThrottleLimits } from '../throttle.js';
import type { AdminResult } from './admin.js';
import { holdResponse, isLoopback, readBody } from './http.js';

/** A request as read off the wire: method, target (path and raw query) and body. */
export interface RawRequest {
  method: string;
  target: string;
  rawPath: string;
  rawQuery: string;
  body: Buffer;
}

/** Reads a request's target and bounded body; undefined when the client went away mid-request. */
export async function readRequest(req: IncomingMessage): Promise<RawRequest | undefined> {
  const target = req.url ?? '/';
  const q = target.indexOf('?');
  const rawPath = q < 0 ? target : target.slice(0, q);
  const rawQuery = q < 0 ? '' : target.slice(q + 1);
  const method = (req.method ?? 'GET').toUpperCase();
  try {
    return { method, target, rawPath, rawQuery, body: await readBody(req) };
  } catch {
    return undefined;
  }
}

export function isAdminPath(rawPath: string): boolean {
  return rawPath === '/_admin' || rawPath.startsWith('/_admin/');
}

/** Writes a whole answer, unless one was already sent or the client is gone. */
export function sendText(res: ServerResponse, status: number, contentType: string, text: string): void {
  if (res.headersSent || res.destroyed) return;
  res.writeHead(status, { 'Content-Type': contentType, 'Content-Length': Buffer.byteLength(text) });
  res.end(text);
}

/** Sends a JSON answer (status and body) the way the cloud does. */
export type SendJson = (res: ServerResponse, status: number, body: unknown) => void;

/**
 * The admin half of a request: only from loopback (403 otherwise), the body parsed as JSON by the
 * cloud's `parse` (400 when it throws), then `serve`'s result sent.
 */
export function serveAdminRequest(req: IncomingMessage, res: ServerResponse, body: Buffer, sendJson: SendJson, parse: (body: Buffer) => unknown, serve: (parsed: unknown) => AdminResult): void {
  if (!isLoopback(req.socket.remoteAddress)) {
    sendJson(res, 403, { error: { code: 'ADMIN.Forbidden', message: 'The admin API only answers loopback clients.' } });
    return;
  }
  let parsed: unknown;
  try {
    parsed = parse(body);
  } catch {
    sendJson(res, 400, { error: { code: 'ADMIN.BadRequest', message: 'The body is not valid JSON.' } });
    return;
  }
  const result = serve(parsed);
  sendJson(res, result.status, result.body);
}

/** The options of the shared machinery, which every emulator's options include. */
export interface MachineryOptions {
  /** Added to every API call (not to /_admin/). */
  latencyMs?: number;
  /** Uniform random extra delay in [0, jitterMs). */
  jitterMs?: number;
  /** Per-AK rate limit of writes, calls per second; 0 = unlimited (default). The cloud says which calls write. */
  writesPerSecond?: number;
  /** Per-AK rate limit of reads; 0 = unlimited (default). */
  readsPerSecond?: number;
  /** Server clock (signature date window, throttling, timestamps); default real time. */
  clock?: () => Date;
  /** Print one line per API call to stdout. */
  log?: boolean;
  /** Randomness for jitter and error rates; default Math.random. */
  random?: () => number;
}

/** The options every emulator takes. */
export interface CommonEmulatorOptions extends MachineryOptions {
  /** TCP port; 0 (default) picks a free one. */
  port?: number;
  /** Custom (non-local, non-system) routes per route table; default the state's quota, else 200. */
  routeQuota?: number;
  /** Allowed distance of the signed request's date from the clock; default 15 min. */
  maxClockSkewMs?: number;
}

/** What every emulator offers its tests (and its admin API, see common/admin.ts). */
export interface EmulatorControl<R extends CallRecord> {
  /** http://HOST:PORT. */
  readonly url: string;
  readonly port: number;
  /** The live call log (cleared in place). */
  readonly calls: R[];
  readonly faults: FaultControl;
  /** The seq of the last recorded call (0 before any). */
  readonly lastSeq: number;
  callsSince(seq: number, operation?: string): R[];
  clearCalls(): void;
  setThrottle(limits: Partial<ThrottleLimits>): ThrottleLimits;
  /** Back to the initial state; clears the call log, faults, the auth memory and throttle changes. */
  reset(): void;
  close(): Promise<void>;
}

/** One API call past authentication and throttling, as EmulatorMachinery.answerThroughFault needs it. */
export interface FaultedCall<A> {
  /** The call's record, which gets the fault's name. */
  entry: { fault?: CallRecord['fault'] };
  finish(status: number, code?: string): void;
  /** Runs the operation against the model; throws the cloud's API error. */
  run(): A;
  /** Sends an answer `run` gave; returns its status. */
  send(answer: A): number;
  /** For badBody: the answer garbled as `kind` (with its status), the write applied or not. */
  garble(kind: BadBodyKind, bytes: number, apply: boolean): { status: number; text: string };
  contentType: string;
  /** The cloud's error for an injected failure, thrown to its error path. */
  injected(status: number, code: string | undefined, message: string | undefined): Error;
}

/**
 * What every emulator runs beside its model: the call log, the fault control, the per-AK throttle,
 * the requests a timeout fault holds, and the HTTP server. A cloud's emulator extends it with its
 * model, its authenticator and its request handling.
 */
export abstract class EmulatorMachinery<R extends CallRecord> implements EmulatorControl<R> {
  readonly faults: FaultControl;
  protected readonly log = new CallLog<R>();
  protected readonly throttle: Throttle;
  protected readonly clock: () => Date;
  /** Resolvers of requests held by a timeout fault, released on close(). */
  protected readonly held = new Set<() => void>();
  url = '';
  port = 0;

  constructor(
    protected readonly http: HttpServer,
    private readonly machinery: MachineryOptions,
  ) {
    this.clock = machinery.clock ?? (() => new Date());
    this.faults = new FaultControl({ latencyMs: machinery.latencyMs ?? 0, jitterMs: machinery.jitterMs ?? 0 }, machinery.random);
    this.throttle = new Throttle(this.baseLimits(), () => this.clock().getTime());
  }

  private baseLimits(): ThrottleLimits {
    return { writesPerSecond: this.machinery.writesPerSecond ?? 0, readsPerSecond: this.machinery.readsPerSecond ?? 0 };
  }

  get calls(): R[] {
    return this.log.records;
  }

  get lastSeq(): number {
    return this.log.lastSeq;
  }

  callsSince(seq: number, operation?: string): R[] {
    return this.log.since(seq, operation);
  }

  clearCalls(): void {
    this.log.clear();
  }

  setThrottle(limits: Partial<ThrottleLimits>): ThrottleLimits {
    this.throttle.set(limits);
    return this.throttle.limits;
  }

  /** The machinery back to its start: no calls, no faults, the configured limits, full buckets. */
  protected resetMachinery(): void {
    this.log.clear();
    this.faults.clear();
    this.throttle.set(this.baseLimits());
    this.throttle.reset();
  }

  abstract reset(): void;

  async close(): Promise<void> {
    for (const release of this.held) release();
    this.held.clear();
    await new Promise<void>((resolve) => {
      this.http.close(() => resolve());
      this.http.closeAllConnections();
    });
  }

  /**
   * Answers a call as the fault decided for it: reset (the connection dropped, the write maybe
   * applied), timeout (held, the write maybe applied; answered when the hold has an end), fail (the
   * cloud's error thrown), badBody (a garbled success), or none (the real answer).
   */
  protected async answerThroughFault<A>(fault: FaultAction, req: IncomingMessage, res: ServerResponse, call: FaultedCall<A>): Promise<void> {
    const quietly = (): A | undefined => {
      // An operation whose answer will never be sent: its error, if any, is dropped like the answer.
      try {
        return call.run();
      } catch {
        return undefined;
      }
    };
    switch (fault.kind) {
      case 'reset':
        call.entry.fault = 'reset';
        if (fault.apply) quietly();
        req.socket.destroy();
        call.finish(0);
        return;
      case 'timeout': {
        call.entry.fault = 'timeout';
        const applied = fault.apply ? quietly() : undefined;
        await holdResponse(res, fault.ms, this.held);
        if (res.destroyed || fault.ms === undefined) {
          call.finish(0);
          return;
        }
        call.finish(call.send(applied ?? call.run()));
        return;
      }
      case 'fail':
        call.entry.fault = fault.source;
        throw call.injected(fault.status, fault.code, fault.message);
      case 'badBody': {
        call.entry.fault = `badBody:${fault.body}`;
        const { status, text } = call.garble(fault.body, fault.bytes, fault.apply);
        sendText(res, status, call.contentType, text);
        call.finish(status);
        return;
      }
      case 'none':
        break;
    }
    call.finish(call.send(call.run()));
  }

  /**
   * Opens the record of an API call that arrived at `started` (performance.now()) and returns it
   * with the function that ends it: that sets the call's status (0: no answer sent), error code
   * and latency, adds it to the call log and, with the log option, prints `line` of it.
   */
  protected beginCall(
    started: number,
    call: { operation: string; method: string; path: string; requestId: string; ak?: string | undefined; remote?: string | undefined },
    line: (record: R) => string,
  ): { entry: Omit<R, 'seq'>; finish: (status: number, code?: string) => void } {
    // A cloud's own record fields (R beyond CallRecord) are optional and filled in as the call goes.
    const entry = {
      time: this.clock().toISOString(),
      operation: call.operation,
      method: call.method,
      path: call.path,
      status: 0,
      latencyMs: 0,
      throttled: false,
      requestId: call.requestId,
      ...(call.ak !== undefined ? { ak: call.ak } : {}),
      ...(call.remote !== undefined ? { remote: call.remote } : {}),
    } as Omit<R, 'seq'>;
    const finish = (status: number, code?: string): void => {
      entry.status = status;
      if (code !== undefined) entry.code = code;
      entry.latencyMs = Math.round((performance.now() - started) * 10) / 10;
      const record = this.log.add(entry);
      if (this.machinery.log) console.log(line(record));
    };
    return { entry, finish };
  }
}

/**
 * Starts `http` on `host`:`port` (0: a free one) with `handle` serving every request; an error
 * `handle` lets out is printed and answered by `unhandled`. Resolves with the port once listening.
 */
export async function listenEmulator(
  http: HttpServer,
  handle: (req: IncomingMessage, res: ServerResponse) => Promise<void>,
  where: { port?: number; host: string; name: string },
  unhandled: (res: ServerResponse) => void,
): Promise<number> {
  http.on('request', (req: IncomingMessage, res: ServerResponse) => {
    handle(req, res).catch((e: unknown) => {
      console.error(`${where.name}: unhandled error`, e);
      if (!res.headersSent) unhandled(res);
    });
  });
  await new Promise<void>((resolve, reject) => {
    http.once('error', reject);
    http.listen(where.port ?? 0, where.host, () => {
      http.off('error', reject);
      resolve();
    });
  });
  return (http.address() as AddressInfo).port;
}
