// Out-of-band changes to the cloud emulator through its unsigned admin API (docs/emulator.md),
// for tests that drive the netns VPC model without the controller.

async function call(method: string, url: string, body?: unknown): Promise<unknown> {
  const res = await fetch(url, {
    method,
    headers: body === undefined ? {} : { 'content-type': 'application/json' },
    body: body === undefined ? undefined : JSON.stringify(body),
    signal: AbortSignal.timeout(10_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${url}: HTTP ${res.status} ${text.slice(0, 300)}`);
  return text ? (JSON.parse(text) as unknown) : undefined;
}

const base = (url: string): string => url.replace(/\/+$/, '');

/** GET /_admin/state (the VpcStateSnapshot: servers, ports, route_tables, ...). */
export function adminState(emulatorUrl: string): Promise<unknown> {
  return call('GET', `${base(emulatorUrl)}/_admin/state`);
}

/** Adds an ecs route (destination → server id) to a route table, bypassing the signed API. */
export async function adminAddRoute(emulatorUrl: string, routeTableId: string, destination: string, serverId: string): Promise<void> {
  await call('POST', `${base(emulatorUrl)}/_admin/routetables/${encodeURIComponent(routeTableId)}/routes`, {
    destination,
    nexthop: serverId,
    type: 'ecs',
  });
}

/** Deletes the route for destination from a route table. */
export async function adminDeleteRoute(emulatorUrl: string, routeTableId: string, destination: string): Promise<void> {
  await call(
    'DELETE',
    `${base(emulatorUrl)}/_admin/routetables/${encodeURIComponent(routeTableId)}/routes?destination=${encodeURIComponent(destination)}`,
  );
}

/** Sets a port's allowed_address_pairs (["1.1.1.1/0"] disables the source/destination check; [] resets it). */
export async function adminSetAddressPairs(emulatorUrl: string, portId: string, ips: readonly string[]): Promise<void> {
  await call('PUT', `${base(emulatorUrl)}/_admin/ports/${encodeURIComponent(portId)}`, {
    allowed_address_pairs: ips.map((ip_address) => ({ ip_address })),
  });
}
