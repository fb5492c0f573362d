// controller/provider/aws/routes.ts through the real SDK against moto. Behaviour from moto unless
// a test says "fault layer" (test/aws/fault-proxy.ts: what moto lacks and real AWS does).
import assert from 'node:assert/strict';
import { CreateRouteCommand, DescribeRouteTablesCommand } from '@aws-sdk/client-ec2';
import { createRoute, deleteRoute, replaceRoute } from '../../controller/provider/aws/routes.js';
import { isMissingRoute } from '../../controller/provider/aws/errors.js';
import { createEc2Client } from '../../controller/provider/aws/client.js';
import { CloudError } from '../../controller/provider/errors.js';
import { FencedError, WriteFence } from '../../controller/provider/fence.js';
import { MOTO_CREDENTIALS, MOTO_REGION } from '../helpers/moto.js';
import { providerCalls, useAwsTestbed } from '../aws/testbed.js';

async function routesOf(bed: ReturnType<typeof useAwsTestbed>, tableId: string): Promise<Map<string, string | undefined>> {
  const out = await bed.fx.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [tableId] }));
  return new Map((out.RouteTables?.[0]?.Routes ?? []).map((r) => [r.DestinationCidrBlock ?? '', r.NetworkInterfaceId ?? r.InstanceId ?? r.GatewayId]));
}

async function rejection(p: Promise<unknown>): Promise<unknown> {
  try {
    await p;
  } catch (err) {
    return err;
  }
  throw new Error('expected a rejection');
}

describe('AWS routes (SDK → fault proxy → moto)', function () {
  const bed = useAwsTestbed({ hosts: 2, tables: 1 });
  const dest = '100.64.1.0/24';

  it('creates a route to the primary ENI with one CreateRoute', async () => {
    const [a] = bed.fx.hosts;
    await createRoute(bed.client, bed.fence, { tableId: bed.fx.tableIds[0]!, destination: dest, eniId: a!.eniId });
    assert.equal((await routesOf(bed, bed.fx.tableIds[0]!)).get(dest), a!.eniId);
    const calls = providerCalls(bed);
    assert.deepEqual(calls.map((c) => [c.operation, c.status]), [['CreateRoute', 200]]);
    assert.equal(calls[0]!.params.NetworkInterfaceId, a!.eniId);
    assert.equal(calls[0]!.params.DestinationCidrBlock, dest);
    assert.equal(calls[0]!.params.InstanceId, undefined);
  });

  it('migration is exactly one ReplaceRoute and the route then targets the new ENI', async () => {
    const [a, b] = bed.fx.hosts;
    const tableId = bed.fx.tableIds[0]!;
    await createRoute(bed.client, bed.fence, { tableId, destination: dest, eniId: a!.eniId });
    const seq = bed.proxy.log.lastSeq;
    await replaceRoute(bed.client, bed.fence, { tableId, destination: dest, eniId: b!.eniId });
    assert.deepEqual(bed.proxy.calls(seq).map((c) => c.operation), ['ReplaceRoute']);
    assert.equal((await routesOf(bed, tableId)).get(dest), b!.eniId);
  });

  it('ReplaceRoute of a missing route is notFound and recognised as a missing route (moto: InvalidParameterValue)', async () => {
    const err = await rejection(replaceRoute(bed.client, bed.fence, { tableId: bed.fx.tableIds[0]!, destination: dest, eniId: bed.fx.hosts[0]!.eniId }));
    assert.ok(err instanceof CloudError);
    assert.equal((err as CloudError).kind, 'notFound');
    assert.equal((err as CloudError).code, 'InvalidParameterValue');
    assert.equal(isMissingRoute(err), true);
  });

  it('DeleteRoute removes the route; deleting it again reports "already gone" (moto: InvalidRoute.NotFound)', async () => {
    const tableId = bed.fx.tableIds[0]!;
    await createRoute(bed.client, bed.fence, { tableId, destination: dest, eniId: bed.fx.hosts[0]!.eniId });
    assert.equal(await deleteRoute(bed.client, bed.fence, { tableId, destination: dest }), true);
    assert.equal((await routesOf(bed, tableId)).has(dest), false);
    assert.equal(await deleteRoute(bed.client, bed.fence, { tableId, destination: dest }), false);
    assert.deepEqual(providerCalls(bed, 'DeleteRoute').map((c) => c.code), [undefined, 'InvalidRoute.NotFound']);
  });

  it('a destination someone else routes is a conflict and their route stays (fault layer: moto skips the check for ENI targets)', async () => {
    const [a, b] = bed.fx.hosts;
    const tableId = bed.fx.tableIds[0]!;
    await bed.fx.ec2.send(new CreateRouteCommand({ RouteTableId: tableId, DestinationCidrBlock: dest, InstanceId: b!.instanceId }));
    const err = await rejection(createRoute(bed.client, bed.fence, { tableId, destination: dest, eniId: a!.eniId }));
    assert.equal((err as CloudError).kind, 'conflict');
    assert.equal((err as CloudError).code, 'RouteAlreadyExists');
    assert.ok((err as CloudError).message.includes(dest) && (err as CloudError).message.includes(tableId), (err as CloudError).message);
    assert.equal((await routesOf(bed, tableId)).get(dest), b!.instanceId);
  });

  it('route quota: the call beyond the limit is quota naming the table (fault layer: moto has no quota)', async () => {
    bed.proxy.set({ routeLimit: 2 });
    const tableId = bed.fx.tableIds[0]!;
    const eniId = bed.fx.hosts[0]!.eniId;
    await createRoute(bed.client, bed.fence, { tableId, destination: '100.64.1.0/24', eniId });
    await createRoute(bed.client, bed.fence, { tableId, destination: '100.64.2.0/24', eniId });
    const err = await rejection(createRoute(bed.client, bed.fence, { tableId, destination: '100.64.3.0/24', eniId }));
    assert.equal((err as CloudError).kind, 'quota');
    assert.equal((err as CloudError).code, 'RouteLimitExceeded');
    assert.ok((err as CloudError).message.includes(`route table ${tableId}`), (err as CloudError).message);
    assert.equal((await routesOf(bed, tableId)).has('100.64.3.0/24'), false);
  });

  it('route quota holds under concurrent CreateRoutes: exactly the limit lands (fault layer)', async () => {
    bed.proxy.set({ routeLimit: 3 });
    const tableId = bed.fx.tableIds[0]!;
    const eniId = bed.fx.hosts[0]!.eniId;
    const results = await Promise.allSettled([1, 2, 3, 4, 5, 6].map((i) => createRoute(bed.client, bed.fence, { tableId, destination: `100.64.${i}.0/24`, eniId })));
    const kinds = results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as CloudError).kind)).sort();
    assert.deepEqual(kinds, ['ok', 'ok', 'ok', 'quota', 'quota', 'quota']);
    const routes = await routesOf(bed, tableId);
    assert.equal([...routes.values()].filter((t) => t === eniId).length, 3);
  });

  it('RequestLimitExceeded (503) is throttled and costs exactly one request: the SDK does not retry (fault layer)', async () => {
    bed.proxy.faults.set({ failNext: { status: 503, code: 'RequestLimitExceeded', message: 'Request limit exceeded.', operation: 'CreateRoute' } });
    const err = await rejection(createRoute(bed.client, bed.fence, { tableId: bed.fx.tableIds[0]!, destination: dest, eniId: bed.fx.hosts[0]!.eniId }));
    assert.equal((err as CloudError).kind, 'throttled');
    assert.equal((err as CloudError).retryable, true);
    assert.equal(providerCalls(bed, 'CreateRoute').length, 1);
    assert.equal((await routesOf(bed, bed.fx.tableIds[0]!)).has(dest), false);
  });

  it('rate-based throttling answers RequestLimitExceeded once the burst is spent (fault layer)', async () => {
    bed.proxy.set({ throttle: { ratePerSec: 0.001, burst: 2 } });
    const tableId = bed.fx.tableIds[0]!;
    const eniId = bed.fx.hosts[0]!.eniId;
    const results = await Promise.allSettled([1, 2, 3].map((i) => createRoute(bed.client, bed.fence, { tableId, destination: `100.64.${i}.0/24`, eniId })));
    const kinds = results.map((r) => (r.status === 'fulfilled' ? 'ok' : (r.reason as CloudError).kind)).sort();
    assert.deepEqual(kinds, ['ok', 'ok', 'throttled']);
  });

  it('5xx, connection resets and timeouts are transient', async function () {
    const tableId = bed.fx.tableIds[0]!;
    const eniId = bed.fx.hosts[0]!.eniId;
    const quick = createEc2Client({ region: MOTO_REGION, endpoint: bed.proxy.endpoint, credentials: MOTO_CREDENTIALS, requestTimeoutMs: 400 });
    try {
      bed.proxy.faults.set({ failNext: { status: 500, code: 'InternalError', operation: 'CreateRoute' } });
      const e500 = (await rejection(createRoute(quick, bed.fence, { tableId, destination: dest, eniId }))) as CloudError;
      bed.proxy.faults.set({ resetNext: { operation: 'CreateRoute' } });
      const reset = (await rejection(createRoute(quick, bed.fence, { tableId, destination: dest, eniId }))) as CloudError;
      bed.proxy.faults.set({ timeoutNext: { operation: 'CreateRoute' } });
      const timeout = (await rejection(createRoute(quick, bed.fence, { tableId, destination: dest, eniId }))) as CloudError;
      assert.deepEqual([e500, reset, timeout].map((e) => [e.name, e.kind]), [
        ['CloudError', 'transient'],
        ['CloudError', 'transient'],
        ['CloudError', 'transient'],
      ]);
      assert.equal(e500.httpStatus, 500);
      assert.equal((await routesOf(bed, tableId)).has(dest), false);
    } finally {
      quick.destroy();
    }
  });

  it('a closed fence stops the write before any request goes out', async () => {
    const fence = new WriteFence();
    fence.close('lost the lease');
    const err = await rejection(createRoute(bed.client, fence, { tableId: bed.fx.tableIds[0]!, destination: dest, eniId: bed.fx.hosts[0]!.eniId }));
    assert.ok(err instanceof FencedError);
    assert.equal(providerCalls(bed).length, 0);
  });
});

describe('AWS routes on multi-NIC hosts (fault layer: AWS refuses InstanceId targets there)', function () {
  const bed = useAwsTestbed({ hosts: 1, tables: 1, extraNics: 1 });

  it('the ENI target works where an InstanceId target is refused', async () => {
    const [h] = bed.fx.hosts;
    const tableId = bed.fx.tableIds[0]!;
    const refused = await rejection(bed.viaProxy.send(new CreateRouteCommand({ RouteTableId: tableId, DestinationCidrBlock: '100.64.9.0/24', InstanceId: h!.instanceId })));
    assert.equal((refused as Error).name, 'InvalidInstanceID');
    await createRoute(bed.client, bed.fence, { tableId, destination: '100.64.1.0/24', eniId: h!.eniId });
    assert.equal((await routesOf(bed, tableId)).get('100.64.1.0/24'), h!.eniId);
  });
});
