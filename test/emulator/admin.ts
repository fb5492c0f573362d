// The control API under /_admin/: look at the emulated cloud, change it behind the controller's
// back (as a person in the console would), and inject faults. No signature; the server only
// accepts it from loopback. JSON in and out; errors are `{"error":{"code","message"}}`.

import type { Query } from './api.js';
import { GatewayError, VpcError } from './errors.js';
import type { FaultSpec } from './faults.js';
import type { Emulator } from './server.js';
import type { AddressPair } from './types.js';

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

function routeBody(o: Record<string, unknown>): { destination: string; type?: string; nexthop?: string; description?: string } {
  const type = str(o, 'type');
  const nexthop = str(o, 'nexthop');
  const description = str(o, 'description');
  return {
    destination: str(o, 'destination', true),
    ...(type !== undefined ? { type } : {}),
    ...(nexthop !== undefined ? { nexthop } : {}),
    ...(description !== undefined ? { description } : {}),
  };
}

const ok = (body: unknown = { ok: true }, status = 200): AdminResult => ({ status, body });

/** Serves one admin request. `path` is the raw path starting with /_admin. */
export function handleAdmin(em: Emulator, method: string, path: string, query: Query, body: unknown): AdminResult {
  try {
    return route(em, method, path, query, body);
  } catch (e) {
    if (e instanceof AdminError) {
      const code = e.status === 404 ? 'ADMIN.NotFound' : e.status === 405 ? 'ADMIN.MethodNotAllowed' : 'ADMIN.BadRequest';
      return { status: e.status, body: { error: { code, message: e.message } } };
    }
    if (e instanceof VpcError || e instanceof GatewayError) return { status: e.status, body: { error: { code: e.code, message: e.message } } };
    if (e instanceof RangeError || e instanceof TypeError) return { status: 400, body: { error: { code: 'ADMIN.BadRequest', message: e.message } } };
    throw e;
  }
}

function route(em: Emulator, method: string, path: string, query: Query, body: unknown): AdminResult {
  const p = path.replace(/\/+$/, '');
  const routes = /^\/_admin\/routetables\/([^/]+)\/routes$/.exec(p);
  if (routes) {
    const tableId = decodeURIComponent(routes[1]!);
    switch (method) {
      case 'POST': {
        const o = object(body);
        return ok(em.addRoute(tableId, { ...routeBody(o), force: o.force === true }), 201);
      }
      case 'PATCH': {
        const o = object(body);
        return ok(em.modifyRoute(tableId, { ...routeBody(o), force: o.force === true }));
      }
      case 'DELETE': {
        const destination = query.get('destination');
        if (destination === undefined) throw new AdminError(400, 'destination query parameter is required.');
        return ok(em.deleteRoute(tableId, destination, { force: query.get('force') === 'true' }));
      }
    }
    throw new AdminError(405, `${method} is not supported on ${p}.`);
  }
  const port = /^\/_admin\/ports\/([^/]+)$/.exec(p);
  if (port && method === 'PUT') {
    const pairs = object(body).allowed_address_pairs;
    if (!Array.isArray(pairs)) throw new AdminError(400, 'allowed_address_pairs must be a list.');
    return ok(em.setPortAddressPairs(decodeURIComponent(port[1]!), pairs as AddressPair[]));
  }
  const server = /^\/_admin\/servers\/([^/]+)$/.exec(p);
  if (server && method === 'DELETE') {
    em.removeServer(decodeURIComponent(server[1]!));
    return ok();
  }
  switch (`${method} ${p}`) {
    case 'GET /_admin/health':
      return ok({ ok: true, url: em.url });
    case 'GET /_admin/state':
      return ok(em.snapshot());
    case 'GET /_admin/calls': {
      const since = query.int('since', 0, Number.MAX_SAFE_INTEGER) ?? 0;
      return ok({ calls: em.callsSince(since, query.get('operation')), lastSeq: em.lastSeq });
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
      const o = object(body);
      const routesPerTable = num(o, 'routesPerTable');
      const routeTablesPerVpc = num(o, 'routeTablesPerVpc');
      em.setQuota({
        ...(routesPerTable !== undefined ? { routesPerTable } : {}),
        ...(routeTablesPerVpc !== undefined ? { routeTablesPerVpc } : {}),
      });
      return ok(em.state.quota);
    }
    case 'POST /_admin/throttle': {
      const o = object(body);
      const writesPerSecond = num(o, 'writesPerSecond');
      const readsPerSecond = num(o, 'readsPerSecond');
      return ok(
        em.setThrottle({
          ...(writesPerSecond !== undefined ? { writesPerSecond } : {}),
          ...(readsPerSecond !== undefined ? { readsPerSecond } : {}),
        }),
      );
    }
    case 'POST /_admin/servers': {
      const o = object(body);
      const id = str(o, 'id');
      const subnetId = str(o, 'subnetId');
      const portId = str(o, 'portId');
      return ok(
        em.addServer({
          name: str(o, 'name', true),
          ip: str(o, 'ip', true),
          ...(id !== undefined ? { id } : {}),
          ...(subnetId !== undefined ? { subnetId } : {}),
          ...(portId !== undefined ? { portId } : {}),
        }),
        201,
      );
    }
    case 'POST /_admin/reset':
      em.reset();
      return ok();
  }
  throw new AdminError(404, `No admin endpoint ${method} ${p}.`);
}
