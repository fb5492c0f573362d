// One route per call: EC2 has no batch route call and nothing is atomic across routes. Routes
// always target the host's primary ENI (NetworkInterfaceId): AWS refuses InstanceId targets on
// instances with several NICs, the ENI works for all. A migrated block moves with ReplaceRoute (one
// call, no window without a route), a released one goes with DeleteRoute.
import { CreateRouteCommand, DeleteRouteCommand, ReplaceRouteCommand, type EC2Client } from '@aws-sdk/client-ec2';
import { fencedSend, type Fence } from './write.js';

export interface RouteToEni {
  tableId: string;
  destination: string;
  eniId: string;
}

/** CreateRoute. Errors: conflict (RouteAlreadyExists), quota (RouteLimitExceeded, naming the table), notFound (table/ENI). */
export async function createRoute(client: EC2Client, fence: Fence, r: RouteToEni): Promise<void> {
  await fencedSend(fence, 'CreateRoute', () => client.send(new CreateRouteCommand({ RouteTableId: r.tableId, DestinationCidrBlock: r.destination, NetworkInterfaceId: r.eniId })),
    { tableId: r.tableId, destination: r.destination, eniId: r.eniId },
  );
}

/** ReplaceRoute: the route's target becomes `eniId`. A missing route → notFound (see isMissingRoute). */
export async function replaceRoute(client: EC2Client, fence: Fence, r: RouteToEni): Promise<void> {
  await fencedSend(fence, 'ReplaceRoute', () => client.send(new ReplaceRouteCommand({ RouteTableId: r.tableId, DestinationCidrBlock: r.destination, NetworkInterfaceId: r.eniId })),
    { tableId: r.tableId, destination: r.destination, eniId: r.eniId },
  );
}

/** DeleteRoute. Returns false when the route was already gone (InvalidRoute.NotFound): the goal is met. */
export async function deleteRoute(client: EC2Client, fence: Fence, r: { tableId: string; destination: string }): Promise<boolean> {
  try {
    await fencedSend(fence, 'DeleteRoute', () => client.send(new DeleteRouteCommand({ RouteTableId: r.tableId, DestinationCidrBlock: r.destination })), {
      tableId: r.tableId,
      destination: r.destination,
    });
    return true;
  } catch (err) {
    if ((err as { code?: string }).code === 'InvalidRoute.NotFound') return false;
    throw err;
  }
}
