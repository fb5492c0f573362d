// The Alibaba emulator's control API under /_admin/, in the Huawei emulator's style: look at the
// emulated account, change it behind the controller's back (a person in the console), inject
// faults, read the call log. No signature; loopback only. Errors are {"error":{"code","message"}}.

import type { FaultSpec } from '../faults.js';
import { AliError } from './errors.js';
import type { AliEmulator } from './server.js';

export interface AdminResult {
  status: number;
  body: unknown;
}

class AdminError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

function object(body: unknown): Record<string, unknown> {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new AdminError(400, 'The body must be a JSON object.');
  return body as Record<string, unknown>;
}

function str(o: Record<string, unknown>, key: string, required: true): string;
function str(o: Record<string, unknown>, key: string, required?: false): string | undefined;
function str(o: Record<string, unknown>, key: string, required = false): string | undefined {
  const v = o[key];
  if (v === undefined && !required) return undefined;
  if (typeof v !== 'string') throw new AdminError(400, `${key} must be a string.`);
  return v;
}

function num(o: Record<string, unknown>, key: string): number | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'number' || !Number.isFinite(v)) throw new AdminError(400, `${key} must be a number.`);
  return v;
}

const ok = (body: unknown = { ok: true }, status = 200): AdminResult => ({ status, body });

export function handleAliAdmin(em: AliEmulator, method: string, path: string, query: URLSearchParams, body: unknown): AdminResult {
  try {
    return route(em, method, path.replace(/\/+$/, ''), query, body);
  } catch (e) {
    if (e instanceof AdminError) {
      const code = e.status === 404 ? 'ADMIN.NotFound' : e.status === 405 ? 'ADMIN.MethodNotAllowed' : 'ADMIN.BadRequest';
      return { status: e.status, body: { error: { code, message: e.message } } };
    }
    if (e instanceof AliError) return { status: e.status, body: { error: { code: e.code, message: e.message } } };
    if (e instanceof RangeError || e instanceof TypeError) return { status: 400, body: { error: { code: 'ADMIN.BadRequest', message: e.message } } };
    throw e;
  }
}

function route(em: AliEmulator, method: string, p: string, query: URLSearchParams, body: unknown): AdminResult {
  const entries = /^\/_admin\/routetables\/([^/]+)\/entries$/.exec(p);
  if (entries) {
    const tableId = decodeURIComponent(entries[1]!);
    switch (method) {
      case 'GET':
        return ok({ entries: em.state.tableEntries(tableId) });
      case 'POST': {
        const o = object(body);
        const name = str(o, 'name');
        const description = str(o, 'description');
        const entry = em.state.adminAddEntry(
          tableId,
          { destination: str(o, 'destination', true), nextHop: str(o, 'nextHop', true), ...(name !== undefined ? { name } : {}), ...(description !== undefined ? { description } : {}) },
          o.force === true,
        );
        return ok(entry, 201);
      }
      case 'PATCH': {
        const o = object(body);
        const nextHop = str(o, 'nextHop');
        const name = str(o, 'name');
        const description = str(o, 'description');
        return ok(
          em.state.adminModifyEntry(tableId, str(o, 'destination', true), {
            ...(nextHop !== undefined ? { nextHop } : {}),
            ...(name !== undefined ? { name } : {}),
            ...(description !== undefined ? { description } : {}),
          }),
        );
      }
      case 'DELETE': {
        const destination = query.get('destination');
        if (destination === null) throw new AdminError(400, 'destination query parameter is required.');
        em.state.adminDeleteEntry(tableId, destination);
        return ok();
      }
    }
    throw new AdminError(405, `${method} is not supported on ${p}.`);
  }
  const instance = /^\/_admin\/instances\/([^/]+)$/.exec(p);
  if (instance && method === 'DELETE') {
    em.state.removeInstance(decodeURIComponent(instance[1]!));
    return ok();
  }
  const account = /^\/_admin\/accounts\/([^/]+)$/.exec(p);
  if (account && method === 'POST') {
    const o = object(body);
    if (typeof o.disabled !== 'boolean') throw new AdminError(400, 'disabled must be a boolean.');
    em.state.setAccountDisabled(decodeURIComponent(account[1]!), o.disabled);
    return ok();
  }
  switch (`${method} ${p}`) {
    case 'GET /_admin/health':
      return ok({ ok: true, url: em.url });
    case 'GET /_admin/state':
      return ok(em.state.snapshot());
    case 'GET /_admin/calls': {
      const since = Number(query.get('since') ?? '0');
      if (!Number.isInteger(since) || since < 0) throw new AdminError(400, 'since must be a non-negative integer.');
      return ok({ calls: em.callsSince(since, query.get('operation') ?? undefined), lastSeq: em.lastSeq });
    }
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
    case 'POST /_admin/quota': {
      const n = num(object(body), 'customEntriesPerTable');
      if (n !== undefined) em.state.setQuota(n);
      return ok({ customEntriesPerTable: em.state.quota });
    }
    case 'POST /_admin/timing': {
      const n = num(object(body), 'entryDelayMs');
      if (n !== undefined) em.state.setEntryDelay(n);
      return ok({ entryDelayMs: em.state.entryDelayMs });
    }
    case 'POST /_admin/throttle': {
      const o = object(body);
      const writesPerSecond = num(o, 'writesPerSecond');
      const readsPerSecond = num(o, 'readsPerSecond');
      return ok(em.setThrottle({ ...(writesPerSecond !== undefined ? { writesPerSecond } : {}), ...(readsPerSecond !== undefined ? { readsPerSecond } : {}) }));
    }
    case 'POST /_admin/instances': {
      const o = object(body);
      const name = str(o, 'name');
      return ok(em.state.addInstance({ id: str(o, 'id', true), vswitchId: str(o, 'vswitchId', true), ip: str(o, 'ip', true), ...(name !== undefined ? { name } : {}) }), 201);
    }
    case 'POST /_admin/reset':
      em.reset();
      return ok();
  }
  throw new AdminError(404, `No admin endpoint ${method} ${p}.`);
}
