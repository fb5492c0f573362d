// The control API under /_admin/ every cloud emulator shares: the body checks, the error shape
// ({"error":{"code","message"}}, ADMIN.* codes), and the endpoints that are the same for every
// cloud — health, state, the call log, faults, throttle and reset. Each cloud serves its own
// model's endpoints (routes, ports, entries, instances, quota...) next to these
// (test/emulator/admin.ts for Huawei, test/emulator/alibaba/admin.ts).

import type { CallRecord } from '../calllog.js';
import type { FaultSpec } from '../faults.js';
import type { EmulatorControl } from './server.js';

export interface AdminResult {
  status: number;
  body: unknown;
}

/** A refused admin request: its status picks the ADMIN.* code. */
export class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

export function object(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AdminError(400, 'The body must be a JSON object.');
  return body as Record<string, unknown>;
}

export function str(o: Record<string, unknown>, key: string, required: true): string;
export function str(o: Record<string, unknown>, key: string, required?: false): string | undefined;
export function str(o: Record<string, unknown>, key: string, required = false): string | undefined {
  const v = o[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string') throw new AdminError(400, `${key} must be a string.`);
  return v;
}

export function num(o: Record<string, unknown>, key: string): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new AdminError(400, `${key} must be a number.`);
  return v;
}

export const ok = (body: unknown = { ok: true }, status = 200): AdminResult => ({ status, body });

/** A query string as each emulator parses it (its own Query, or URLSearchParams). */
export interface AdminQuery {
  get(key: string): string | null | undefined;
}

/** What every emulator offers the shared endpoints. */
export type AdminTarget = EmulatorControl<CallRecord>;

/** A cloud's part of the admin API. */
export interface CloudAdmin<E extends AdminTarget, Q extends AdminQuery> {
  /** The cloud's own endpoints: a result, or undefined when `method p` is none of them. */
  route(em: E, method: string, p: string, query: Q, body: unknown): AdminResult | undefined;
  /** GET /_admin/state. */
  snapshot(em: E): unknown;
  /** The `since` of GET /_admin/calls (0 when absent); throws on a bad one. */
  since(query: Q): number;
  /** The cloud's own API error as status and code, or undefined when `e` is not one. */
  apiError(e: unknown): { status: number; code: string; message: string } | undefined;
}

/** Serves one admin request. `path` is the raw path starting with /_admin. */
export function serveAdmin<E extends AdminTarget, Q extends AdminQuery>(cloud: CloudAdmin<E, Q>, em: E, method: string, path: string, query: Q, body: unknown): AdminResult {
  try {
    const p = path.replace(/\/+$/, '');
    return cloud.route(em, method, p, query, body) ?? commonRoute(cloud, em, method, p, query, body);
  } catch (e) {
    if (e instanceof AdminError) {
      const code = e.status === 404 ? 'ADMIN.NotFound' : e.status === 405 ? 'ADMIN.MethodNotAllowed' : 'ADMIN.BadRequest';
      return { status: e.status, body: { error: { code, message: e.message } } };
    }
    const api = cloud.apiError(e);
    if (api) return { status: api.status, body: { error: { code: api.code, message: api.message } } };
    if (e instanceof RangeError || e instanceof TypeError) return { status: 400, body: { error: { code: 'ADMIN.BadRequest', message: e.message } } };
    throw e;
  }
}

function commonRoute<E extends AdminTarget, Q extends AdminQuery>(cloud: CloudAdmin<E, Q>, em: E, method: string, p: string, query: Q, body: unknown): AdminResult {
  switch (`${method} ${p}`) {
    case 'GET /_admin/health':
      return ok({ ok: true, url: em.url });
    case 'GET /_admin/state':
      return ok(cloud.snapshot(em));
    case 'GET /_admin/calls':
      return ok({ calls: em.callsSince(cloud.since(query), query.get('operation') ?? undefined), lastSeq: em.lastSeq });
    case 'DELETE /_admin/calls':
      em.clearCalls();
      return ok();
    case 'GET /_admin/faults':
      return ok(em.faults.current());
    case 'POST /_admin/faults':
      em.faults.set(object(body) as FaultSpec);
      return ok(em.faults.current());
    case 'DELETE /_admin/faults':
      em.faults.clear();
      return ok(em.faults.current());
    case 'POST /_admin/throttle': {
      const o = object(body);
      const writesPerSecond = num(o, 'writesPerSecond');
      const readsPerSecond = num(o, 'readsPerSecond');
      return ok(em.setThrottle({ ...(writesPerSecond !== undefined ? { writesPerSecond } : {}), ...(readsPerSecond !== undefined ? { readsPerSecond } : {}) }));
    }
    case 'POST /_admin/reset':
      em.reset();
      return ok();
  }
  throw new AdminError(404, `No admin endpoint ${method} ${p}.`);
}
