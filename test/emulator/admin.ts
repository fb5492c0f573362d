// The control API under /_admin/: look at the emulated cloud, change it behind the controller's
// back (as a person in the console would), and inject faults. No signature; the server only
// accepts it from loopback. JSON in and out; errors are `{"error":{"code","message"}}`.
// Health, state, calls, faults, throttle and reset are the emulators' shared endpoints
// (common/admin.ts); here are the Huawei model's own: routes, ports, servers and quota.

import type { Query } from './api.js';
import { AdminError, num, object, ok, serveAdmin, str, type AdminResult, type CloudAdmin } from './common/admin.js';
import { GatewayError, VpcError } from './errors.js';
import type { Emulator } from './server.js';
import type { AddressPair } from './types.js';

export type { AdminResult };

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

const HUAWEI_ADMIN: CloudAdmin<Emulator, Query> = {
  route,
  snapshot: (em) => em.snapshot(),
  since: (query) => query.int('since', 0, Number.MAX_SAFE_INTEGER) ?? 0,
  apiError: (e) => (e instanceof VpcError || e instanceof GatewayError ? e : undefined),
};

/** Serves one admin request. `path` is the raw path starting with /_admin. */
export function handleAdmin(em: Emulator, method: string, path: string, query: Query, body: unknown): AdminResult {
  return serveAdmin(HUAWEI_ADMIN, em, method, path, query, body);
}

function route(em: Emulator, method: string, p: string, query: Query, body: unknown): AdminResult | undefined {
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
  }
  return undefined;
}
