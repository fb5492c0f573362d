// The text a person reads about one table's route for a host: built from the facts the route
// layer reports (routes/table.ts), here rather than there, so the route layer stays about
// routes and every condition message is written in one voice by the reconciler.
import type { RouteOutcome } from './routes/table.js';

export function describeRouteOutcome(tableId: string, destination: string, o: RouteOutcome): string | undefined {
  switch (o.state) {
    case 'Programmed':
      return undefined;
    case 'Conflict': {
      const c = o.conflict;
      if (!c) return `route table ${tableId} already has a route for ${destination} that is not ours; remove it or pin another podCIDR`;
      return `route table ${tableId} already has a route for ${destination} that is not ours (type ${c.cloudType ?? c.kind}, next hop ${c.nexthop || '-'}${c.description ? `, description "${c.description}"` : ''}); remove it or pin another podCIDR`;
    }
    case 'QuotaExceeded':
      return `route table ${tableId} is full (${o.used ?? '?'} of ${o.capacity ?? '?'} routes); the route is added as soon as there is room (raise the quota or add a route table)`;
    case 'Error':
      return o.error?.message ?? `route table ${tableId}: the change failed`;
    case 'Pending':
      return o.cloudPending ? `route table ${tableId}: the cloud is still programming the route` : `waiting for route table ${tableId}`;
    default:
      return undefined;
  }
}
