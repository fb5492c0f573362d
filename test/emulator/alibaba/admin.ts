// The Alibaba emulator's control API under /_admin/, in the Huawei emulator's style: look at the
// emulated account, change it behind the controller's back (a person in the console), inject
// faults, read the call log. No signature; loopback only. Errors are {"error":{"code","message"}}.
// Health, state, calls, faults, throttle and reset are the emulators' shared endpoints
// (../common/admin.ts); here are the Alibaba model's own: entries, instances, accounts, quota
// and timing.

import { AdminError, num, object, ok, serveAdmin, str, type AdminResult, type CloudAdmin } from '../common/admin.js';
import { AliError } from './errors.js';
import type { AliEmulator } from './server.js';

export type { AdminResult };

const ALIBABA_ADMIN: CloudAdmin<AliEmulator, URLSearchParams> = {
  route,
  snapshot: (em) => em.state.snapshot(),
  since: (query) => {
    const since = Number(query.get('since') ?? '0');
    if (!Number.isInteger(since) || since < 0) throw new AdminError(400, 'since must be a non-negative integer.');
    return since;
  },
  apiError: (e) => (e instanceof AliError ? e : undefined),
};

export function handleAliAdmin(em: AliEmulator, method: string, path: string, query: URLSearchParams, body: unknown): AdminResult {
  return serveAdmin(ALIBABA_ADMIN, em, method, path, query, body);
}

function route(em: AliEmulator, method: string, p: string, query: URLSearchParams, body: unknown): AdminResult | undefined {
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
    case 'POST /_admin/instances': {
      const o = object(body);
      const name = str(o, 'name');
      return ok(em.state.addInstance({ id: str(o, 'id', true), vswitchId: str(o, 'vswitchId', true), ip: str(o, 'ip', true), ...(name !== undefined ? { name } : {}) }), 201);
    }
  }
  return undefined;
}
