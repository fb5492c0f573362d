// The emulator over HTTP, driven mostly by the real @huaweicloud/huaweicloud-sdk-vpc client so it
// is proven to speak what the SDK sends; raw signed fetches where the VPC error body matters
// (the SDK drops `{"code","message"}`), and the admin API.

import assert from 'node:assert/strict';
import { request as httpRequest } from 'node:http';
import {
  AddRouteTableRoute,
  AllowedAddressPair,
  CreateRouteTableReq,
  CreateRouteTableRequest,
  CreateRoutetableReqBody,
  CreateSecurityGroupRuleOption,
  CreateSecurityGroupRuleRequest,
  CreateSecurityGroupRuleRequestBody,
  DelRouteTableRoute,
  ListPortsRequest,
  ListRouteTablesRequest,
  ListSecurityGroupRulesRequest,
  ModRouteTableRoute,
  NeutronCreateSecurityGroupRuleOption,
  NeutronCreateSecurityGroupRuleRequest,
  NeutronCreateSecurityGroupRuleRequestBody,
  NeutronListPortsRequest,
  NeutronUpdatePortOption,
  NeutronUpdatePortRequest,
  NeutronUpdatePortRequestBody,
  RouteTableRoute,
  RouteTableRouteAction,
  ShowRouteTableRequest,
  UpdatePortOption,
  UpdatePortRequest,
  UpdatePortRequestBody,
  UpdateRouteTableReq,
  UpdateRouteTableRequest,
  UpdateRoutetableReqBody,
  v3,
  type VpcClient,
} from '@huaweicloud/huaweicloud-sdk-vpc';
import { silenceSdkLogs, vpcClient, vpcClientV3 } from '../emulator/sdk.js';
import { SEED, startEmulator, type Emulator, type EmulatorOptions } from '../emulator/server.js';
import { formatSdkDate, signedFetch } from '../emulator/signer.js';

const ECS1 = SEED.servers['ecs-1'];
const ECS2 = SEED.servers['ecs-2'];
const RT = SEED.routeTableId;
const P = SEED.projectId;

/** The error an SDK call threw (ClientRequestException / ServerResponseException / ServiceResponseException). */
interface SdkError {
  httpStatusCode?: number;
  errorCode?: string;
  errorMsg?: string;
  requestId?: string;
}

async function sdkError(promise: Promise<unknown>): Promise<SdkError> {
  try {
    await promise;
  } catch (e) {
    return e as SdkError;
  }
  assert.fail('expected the SDK call to fail');
}

async function waitFor<T>(probe: () => T | undefined, what: string, ms = 5000): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) assert.fail(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 10));
  }
}

function routeDelta(action: { add?: [string, string, string?][]; mod?: [string, string, string?][]; del?: string[] }): UpdateRouteTableRequest {
  const routes = new RouteTableRouteAction();
  if (action.add) {
    routes.withAdd(action.add.map(([d, n, desc]) => new AddRouteTableRoute().withType('ecs').withDestination(d).withNexthop(n).withDescription(desc ?? 'hostnet')));
  }
  if (action.mod) {
    routes.withMod(action.mod.map(([d, n, desc]) => {
      const r = new ModRouteTableRoute().withType('ecs').withDestination(d).withNexthop(n);
      return desc === undefined ? r : r.withDescription(desc);
    }));
  }
  if (action.del) routes.withDel(action.del.map((d) => new DelRouteTableRoute().withDestination(d)));
  return new UpdateRouteTableRequest().withRoutetableId(RT).withBody(new UpdateRoutetableReqBody().withRoutetable(new UpdateRouteTableReq().withRoutes(routes)));
}

function raw(em: Emulator, method: string, path: string, body?: unknown, opts: { ak?: string; sk?: string; projectId?: string; date?: Date } = {}): Promise<Response> {
  return signedFetch(em.url + path, {
    method,
    ak: opts.ak ?? SEED.ak,
    sk: opts.sk ?? SEED.sk,
    projectId: opts.projectId ?? P,
    ...(body !== undefined ? { body } : {}),
    ...(opts.date ? { date: opts.date } : {}),
  });
}

async function admin(em: Emulator, method: string, path: string, body?: unknown): Promise<{ status: number; body: Record<string, unknown> }> {
  const res = await fetch(em.url + path, {
    method,
    ...(body !== undefined ? { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } } : {}),
  });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}

/** A clock the test moves by hand (throttling and lockouts without sleeping). */
function manualClock(start = Date.now()): { now: () => Date; advance: (ms: number) => void } {
  let t = start;
  return { now: () => new Date(t), advance: (ms) => (t += ms) };
}

describe('emulator over HTTP', function () {
  this.timeout(20000);
  let em: Emulator;
  let client: VpcClient;

  before(() => silenceSdkLogs());

  async function start(opts: EmulatorOptions = {}): Promise<void> {
    em = await startEmulator(opts);
    client = vpcClient(em.url);
  }

  afterEach(async () => {
    await em?.close();
  });

  describe('route tables through the SDK', () => {
    beforeEach(() => start());

    it('lists tables without routes, filtered by vpc_id and subnet_id', async () => {
      const all = await client.listRouteTables(new ListRouteTablesRequest());
      assert.equal(all.routetables?.length, 1);
      const entry = all.routetables![0]! as unknown as Record<string, unknown>;
      assert.equal(entry.id, RT);
      assert.equal(entry.vpc_id, SEED.vpcId);
      assert.equal(entry.default, true);
      assert.ok(!('routes' in entry), 'list entries carry no routes');
      assert.equal((await client.listRouteTables(new ListRouteTablesRequest().withVpcId(SEED.vpcId))).routetables?.length, 1);
      assert.equal((await client.listRouteTables(new ListRouteTablesRequest().withVpcId('other'))).routetables?.length, 0);
      assert.equal((await client.listRouteTables(new ListRouteTablesRequest().withSubnetId(SEED.subnetId).withLimit(10))).routetables?.length, 1);
    });

    it('shows a table with its local route and subnets', async () => {
      const res = await client.showRouteTable(new ShowRouteTableRequest().withRoutetableId(RT));
      const t = res.routetable as unknown as Record<string, unknown>;
      assert.deepEqual(t.routes, [{ type: 'local', destination: '192.168.0.0/16', nexthop: null, description: null }]);
      assert.deepEqual(t.subnets, [{ id: SEED.subnetId }]);
      assert.equal(t.tenant_id, P);
      assert.equal(res.httpStatusCode, 200);
    });

    it('applies add, mod and del deltas and answers with the table', async () => {
      await client.updateRouteTable(routeDelta({ add: [['10.0.2.0/24', ECS1.id, 'node-1'], ['10.0.3.0/24', ECS2.id, 'node-2']] }));
      const res = await client.updateRouteTable(routeDelta({ mod: [['10.0.2.0/24', ECS2.id]], del: ['10.0.3.0/24'], add: [['10.0.4.0/24', ECS1.id]] }));
      const routes = (res.routetable?.routes ?? []).filter((r) => r.type !== 'local');
      assert.deepEqual(
        routes.map((r) => [r.destination, r.nexthop, r.description]),
        [
          ['10.0.2.0/24', ECS2.id, 'node-1'],
          ['10.0.4.0/24', ECS1.id, 'hostnet'],
        ],
      );
      const last = em.calls.at(-1)!;
      assert.equal(last.operation, 'UpdateRouteTable');
      assert.deepEqual(last.delta, { add: 1, mod: 1, del: 1 });
    });

    it('rejects invalid deltas atomically; the call log keeps the VPC code', async () => {
      await client.updateRouteTable(routeDelta({ add: [['10.0.2.0/24', ECS1.id]] }));
      const err = await sdkError(client.updateRouteTable(routeDelta({ del: ['10.0.2.0/24'], add: [['10.0.3.0/24', ECS1.id], ['10.0.2.0/24', ECS2.id]] })));
      assert.equal(err.httpStatusCode, 400);
      assert.equal(err.errorCode, undefined, 'the SDK loses the v1 {code,message} body');
      assert.equal(em.calls.at(-1)!.code, 'VPC.2812');
      assert.equal(em.calls.at(-1)!.requestId, err.requestId, 'X-Request-Id reaches the SDK exception');
      const routes = em.state.showRouteTable(RT).routes.map((r) => r.destination);
      assert.deepEqual(routes, ['192.168.0.0/16', '10.0.2.0/24']);
    });

    it('returns the real v1 error body', async () => {
      await client.updateRouteTable(routeDelta({ add: [['10.0.2.0/24', ECS1.id]] }));
      const dup = await raw(em, 'PUT', `/v1/${P}/routetables/${RT}`, { routetable: { routes: { add: [{ type: 'ecs', destination: '10.0.2.0/24', nexthop: ECS2.id }] } } });
      assert.equal(dup.status, 400);
      assert.match(dup.headers.get('x-request-id') ?? '', /^[0-9a-f]{32}$/);
      const body = (await dup.json()) as Record<string, unknown>;
      assert.deepEqual(Object.keys(body).sort(), ['code', 'message']);
      assert.equal(body.code, 'VPC.2812');
      const cases: [unknown, string][] = [
        [{ routetable: { routes: { add: [{ type: 'ecs', destination: '192.168.3.0/24', nexthop: ECS1.id }] } } }, 'VPC.2809'],
        [{ routetable: { routes: { add: [{ type: 'ecs', destination: '10.0.9.0/24', nexthop: '192.168.0.2' }] } } }, 'VPC.2803'],
        [{ routetable: { routes: { del: [{ destination: '10.0.9.0/24' }] } } }, 'VPC.2804'],
        [{ routetable: { routes: { del: [{ destination: '192.168.0.0/16' }] } } }, 'VPC.2805'],
        [{ routetable: { routes: { add: [{ type: 'ecs', destination: '10.0.9.1/24', nexthop: ECS1.id }] } } }, 'VPC.2802'],
        [{ routetable: { routes: { add: 'nope' } } }, 'VPC.0002'],
        ['{not json', 'VPC.0002'],
      ];
      for (const [payload, code] of cases) {
        const res = await raw(em, 'PUT', `/v1/${P}/routetables/${RT}`, payload);
        assert.equal(res.status, 400, code);
        assert.equal(((await res.json()) as { code: string }).code, code);
      }
      const missing = await raw(em, 'GET', `/v1/${P}/routetables/nope`);
      assert.equal(missing.status, 404);
      assert.equal(((await missing.json()) as { code: string }).code, 'VPC.2808');
    });

    it('enforces the route quota with a message naming the limit', async () => {
      em.setQuota({ routesPerTable: 2 });
      await client.updateRouteTable(routeDelta({ add: [['10.0.1.0/24', ECS1.id], ['10.0.2.0/24', ECS2.id]] }));
      const res = await raw(em, 'PUT', `/v1/${P}/routetables/${RT}`, { routetable: { routes: { add: [{ type: 'ecs', destination: '10.0.3.0/24', nexthop: ECS1.id }] } } });
      assert.equal(res.status, 400);
      const body = (await res.json()) as { code: string; message: string };
      assert.equal(body.code, 'VPC.2801');
      assert.match(body.message, /limit is 2 routes per route table/);
    });

    it('creates a table with at most 5 routes', async () => {
      const routes = (n: number): RouteTableRoute[] =>
        Array.from({ length: n }, (_, i) => new RouteTableRoute().withType('ecs').withDestination(`10.1.${i}.0/24`).withNexthop(ECS1.id));
      const req = (n: number): CreateRouteTableRequest =>
        new CreateRouteTableRequest().withBody(new CreateRoutetableReqBody().withRoutetable(new CreateRouteTableReq().withName('rt-2').withVpcId(SEED.vpcId).withRoutes(routes(n))));
      const err = await sdkError(client.createRouteTable(req(6)));
      assert.equal(err.httpStatusCode, 400);
      assert.equal(em.calls.at(-1)!.code, 'VPC.2800');
      const created = await client.createRouteTable(req(5));
      assert.equal(created.routetable?.routes?.length, 6);
      assert.equal(em.calls.at(-1)!.operation, 'CreateRouteTable');
      assert.equal((await client.listRouteTables(new ListRouteTablesRequest().withVpcId(SEED.vpcId))).routetables?.length, 2);
    });
  });

  describe('ports through the SDK', () => {
    beforeEach(() => start());

    it('v1: finds the port by device_id and replaces allowed_address_pairs', async () => {
      const list = await client.listPorts(new ListPortsRequest().withDeviceId(ECS1.id));
      assert.equal(list.ports?.length, 1);
      const port = list.ports![0]! as unknown as Record<string, unknown>;
      assert.equal(port.id, ECS1.portId);
      assert.deepEqual(port.fixed_ips, [{ subnet_id: SEED.neutronSubnetId, ip_address: ECS1.ip }]);
      const update = (ips: string[]): UpdatePortRequest =>
        new UpdatePortRequest()
          .withPortId(ECS1.portId)
          .withBody(new UpdatePortRequestBody().withPort(new UpdatePortOption().withAllowedAddressPairs(ips.map((ip) => new AllowedAddressPair().withIpAddress(ip)))));
      await client.updatePort(update(['192.168.0.200']));
      const res = await client.updatePort(update(['1.1.1.1/0']));
      const pairs = (res.port as unknown as { allowed_address_pairs: { ip_address: string }[] }).allowed_address_pairs;
      assert.deepEqual(
        pairs.map((p) => p.ip_address),
        ['1.1.1.1/0'],
        'the list replaces, it does not merge',
      );
      const err = await sdkError(client.updatePort(update(['0.0.0.0/0'])));
      assert.equal(err.httpStatusCode, 400);
      assert.equal(em.calls.at(-1)!.code, 'VPC.0002');
      assert.deepEqual(em.snapshot().ports.find((p) => p.id === ECS1.portId)?.allowed_address_pairs.map((p) => p.ip_address), ['1.1.1.1/0']);
    });

    it('Neutron: lists by device_id, updates, and answers NeutronError', async () => {
      const list = await client.neutronListPorts(new NeutronListPortsRequest().withDeviceId(ECS2.id));
      assert.equal(list.ports?.[0]?.id, ECS2.portId);
      const update = (ip: string): NeutronUpdatePortRequest =>
        new NeutronUpdatePortRequest()
          .withPortId(ECS2.portId)
          .withBody(new NeutronUpdatePortRequestBody().withPort(new NeutronUpdatePortOption().withAllowedAddressPairs([new AllowedAddressPair().withIpAddress(ip)])));
      await client.neutronUpdatePort(update('10.0.3.0/24'));
      assert.deepEqual(em.state.getPort(ECS2.portId).allowed_address_pairs.map((p) => p.ip_address), ['10.0.3.0/24']);
      const bad = await raw(em, 'PUT', `/v2.0/ports/${ECS2.portId}`, { port: { allowed_address_pairs: [{ ip_address: '0.0.0.0/0' }] } });
      assert.equal(bad.status, 400);
      const body = (await bad.json()) as { NeutronError: { type: string; message: string; detail: string } };
      assert.equal(body.NeutronError.type, 'InvalidInput');
      const missing = await raw(em, 'PUT', '/v2.0/ports/nope', { port: { allowed_address_pairs: [] } });
      assert.equal(missing.status, 404);
      assert.equal(((await missing.json()) as { NeutronError: { type: string } }).NeutronError.type, 'PortNotFound');
    });
  });

  describe('security-group rules', () => {
    beforeEach(() => start());

    it('v1: creates, lists, and refuses a duplicate with 409 VPC.0602', async () => {
      const create = (): CreateSecurityGroupRuleRequest =>
        new CreateSecurityGroupRuleRequest().withBody(
          new CreateSecurityGroupRuleRequestBody().withSecurityGroupRule(
            new CreateSecurityGroupRuleOption().withSecurityGroupId(SEED.securityGroupId).withDirection('ingress').withProtocol('icmp').withRemoteIpPrefix('10.0.0.0/16'),
          ),
        );
      const res = await client.createSecurityGroupRule(create());
      assert.equal(res.httpStatusCode, 200);
      const err = await sdkError(client.createSecurityGroupRule(create()));
      assert.equal(err.httpStatusCode, 409);
      assert.equal(em.calls.at(-1)!.code, 'VPC.0602');
      const list = await client.listSecurityGroupRules(new ListSecurityGroupRulesRequest().withSecurityGroupId(SEED.securityGroupId));
      const rules = (list as unknown as { security_group_rules: { direction: string; protocol: string | null }[] }).security_group_rules;
      assert.deepEqual(
        rules.filter((r) => r.direction === 'ingress').map((r) => r.protocol),
        ['icmp'],
      );
      const dup = await raw(em, 'POST', `/v1/${P}/security-group-rules`, {
        security_group_rule: { security_group_id: SEED.securityGroupId, direction: 'ingress', protocol: 'icmp', remote_ip_prefix: '10.0.0.0/16' },
      });
      assert.equal(dup.status, 409);
      assert.equal(((await dup.json()) as { code: string }).code, 'VPC.0602');
    });

    it('v3: creates with 201 and answers duplicates in the v3 format', async () => {
      const v3client = vpcClientV3(em.url);
      const req = (): v3.CreateSecurityGroupRuleRequest =>
        new v3.CreateSecurityGroupRuleRequest().withBody(
          new v3.CreateSecurityGroupRuleRequestBody().withSecurityGroupRule(
            new v3.CreateSecurityGroupRuleOption().withSecurityGroupId(SEED.securityGroupId).withDirection('ingress').withProtocol('udp').withRemoteIpPrefix('10.0.0.0/16'),
          ),
        );
      const res = await v3client.createSecurityGroupRule(req());
      assert.equal(res.httpStatusCode, 201);
      const err = await sdkError(v3client.createSecurityGroupRule(req()));
      assert.equal(err.httpStatusCode, 409);
      assert.equal(err.errorCode, 'VPC.0602', 'the v3 body has error_code, which the SDK reads');
      assert.equal(em.calls.at(-1)!.operation, 'CreateSecurityGroupRuleV3');
    });

    it('Neutron: creates with 201 and answers SecurityGroupRuleExists', async () => {
      const req = (): NeutronCreateSecurityGroupRuleRequest =>
        new NeutronCreateSecurityGroupRuleRequest().withBody(
          new NeutronCreateSecurityGroupRuleRequestBody().withSecurityGroupRule(
            new NeutronCreateSecurityGroupRuleOption().withSecurityGroupId(SEED.securityGroupId).withDirection('ingress').withEthertype('IPv4').withProtocol('tcp').withRemoteIpPrefix('10.0.0.0/16'),
          ),
        );
      const res = await client.neutronCreateSecurityGroupRule(req());
      assert.equal(res.httpStatusCode, 201);
      const err = await sdkError(client.neutronCreateSecurityGroupRule(req()));
      assert.equal(err.httpStatusCode, 409);
      assert.equal(em.calls.at(-1)!.code, 'SecurityGroupRuleExists');
    });
  });

  describe('authentication', () => {
    it('accepts the request captured from the SDK with the clock pinned to its date', async () => {
      await start({ clock: () => new Date('2026-11-22T01:38:28Z') });
      em.addRoute(RT, { destination: '10.0.3.0/24', nexthop: ECS2.id });
      const body =
        '{"routetable":{"routes":{"add":[{"type":"ecs","destination":"10.0.2.0/24","nexthop":"a2f5a1b4-0000-4d4d-9e2f-7e7bd2f6a001","description":"node-2"}],"del":[{"destination":"10.0.3.0/24"}]}}}';
      const send = (): Promise<{ status: number; body: string }> =>
        new Promise((resolve, reject) => {
          const req = httpRequest(
            {
              host: '127.0.0.1',
              port: em.port,
              method: 'PUT',
              path: `/v1/${P}/routetables/${RT}`,
              headers: {
                'Content-Type': 'application/json',
                'X-Project-Id': P,
                'X-Sdk-Date': '20261122T013828Z',
                host: '127.0.0.1:18080', // as signed: the capture was made on port 18080
                Authorization:
                  'SDK-HMAC-SHA256 Access=TESTAK1234567890, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature=8342120a3547f33656ce23e985e851b7fdbf5c627a17d2dbbf9141d04f28b6aa',
              },
            },
            (res) => {
              let text = '';
              res.on('data', (c: Buffer) => (text += c.toString()));
              res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
            },
          );
          req.on('error', reject);
          req.end(body);
        });
      const res = await send();
      assert.equal(res.status, 200, res.body);
      assert.deepEqual(
        em.state.showRouteTable(RT).routes.map((r) => r.destination),
        ['192.168.0.0/16', '10.0.2.0/24'],
      );
      await em.close();
      // The same request 16 minutes later is outside the gateway's window.
      await start({ clock: () => new Date('2026-11-22T01:54:29Z') });
      const late = await send();
      assert.equal(late.status, 401);
      assert.match(JSON.parse(late.body).error_msg as string, /15 minutes/);
    });

    it('rejects missing, garbled, unknown and badly signed credentials with APIGW.0301', async () => {
      await start();
      const expect401 = async (res: Response, pattern: RegExp): Promise<void> => {
        assert.equal(res.status, 401);
        const body = (await res.json()) as Record<string, string>;
        assert.deepEqual(Object.keys(body).sort(), ['error_code', 'error_msg', 'request_id']);
        assert.equal(body.error_code, 'APIGW.0301');
        assert.equal(body.request_id, res.headers.get('x-request-id'));
        assert.match(body.error_msg!, pattern);
      };
      await expect401(await fetch(`${em.url}/v1/${P}/routetables`), /Authorization/);
      await expect401(await fetch(`${em.url}/v1/${P}/routetables`, { headers: { authorization: 'SDK-HMAC-SHA256 garbage' } }), /Authorization/);
      await expect401(await raw(em, 'GET', `/v1/${P}/routetables`, undefined, { ak: 'NOSUCHAK', sk: 'x' }), /ak NOSUCHAK not exist/);
      await expect401(await raw(em, 'GET', `/v1/${P}/routetables`, undefined, { sk: 'wrong' }), /verify aksk signature fail/);
      await expect401(await raw(em, 'GET', `/v1/${P}/routetables`, undefined, { date: new Date(Date.now() - 16 * 60_000) }), /15 minutes/);
      await expect401(await raw(em, 'GET', `/v1/${P}/routetables`, undefined, { date: new Date(Date.now() + 16 * 60_000) }), /15 minutes/);
      // Through the SDK: the gateway body has error_code, so the SDK keeps it.
      const err = await sdkError(vpcClient(em.url, { sk: 'wrong' }).listRouteTables(new ListRouteTablesRequest()));
      assert.equal(err.httpStatusCode, 401);
      assert.equal(err.errorCode, 'APIGW.0301');
      assert.deepEqual(
        em.calls.map((c) => [c.operation, c.status, c.code]),
        Array.from({ length: 7 }, () => ['ListRouteTables', 401, 'APIGW.0301']),
      );
    });

    it('checks the project: unknown project 401, URL/header mismatch 403 VPC.0010', async () => {
      await start();
      const unknown = await raw(em, 'GET', '/v1/otherproject/routetables', undefined, { projectId: 'otherproject' });
      assert.equal(unknown.status, 401);
      assert.equal(((await unknown.json()) as { error_code: string }).error_code, 'APIGW.0301');
      const mismatch = await raw(em, 'GET', '/v1/otherproject/routetables', undefined, { projectId: P });
      assert.equal(mismatch.status, 403);
      assert.equal(((await mismatch.json()) as { code: string }).code, 'VPC.0010');
      // The SDK without a project ID sends a literal {project_id} in the path.
      const noProject = await signedFetch(`${em.url}/v1/%7Bproject_id%7D/routetables`, { ak: SEED.ak, sk: SEED.sk });
      assert.equal(noProject.status, 401);
    });

    it('locks an AK for the configured time after 5 bad signatures in a row', async () => {
      const clock = manualClock();
      await start({ clock: clock.now, authLockMs: 60_000 });
      const list = (sk: string): Promise<Response> => raw(em, 'GET', `/v1/${P}/routetables`, undefined, { sk, date: clock.now() });
      for (let i = 0; i < 4; i++) assert.equal((await list('wrong')).status, 401);
      assert.equal((await list(SEED.sk)).status, 200, 'a good signature resets the count');
      for (let i = 0; i < 5; i++) assert.equal((await list('wrong')).status, 401);
      const locked = await list(SEED.sk);
      assert.equal(locked.status, 401);
      assert.match(((await locked.json()) as { error_msg: string }).error_msg, /reach the limit/);
      assert.equal((await raw(em, 'GET', `/v1/${P}/routetables`, undefined, { ak: SEED.altAk, sk: SEED.altSk, date: clock.now() })).status, 200, 'other AKs unaffected');
      clock.advance(60_001);
      assert.equal((await list(SEED.sk)).status, 200);
    });

    it('answers an unknown API with APIGW.0101', async () => {
      await start();
      const res = await raw(em, 'DELETE', `/v1/${P}/routetables/${RT}`);
      assert.equal(res.status, 404);
      assert.equal(((await res.json()) as { error_code: string }).error_code, 'APIGW.0101');
      assert.equal(em.calls.at(-1)!.operation, 'Unknown');
    });
  });

  describe('throttling', () => {
    it('limits writes per AK with 429 APIG.0308 and recovers as the bucket refills', async () => {
      const clock = manualClock();
      await start({ clock: clock.now, writesPerSecond: 2 });
      const put = (destination: string, ak: string = SEED.ak, sk: string = SEED.sk): Promise<Response> =>
        raw(em, 'PUT', `/v1/${P}/routetables/${RT}`, { routetable: { routes: { add: [{ type: 'ecs', destination, nexthop: ECS1.id }] } } }, { ak, sk, date: clock.now() });
      assert.equal((await put('10.0.1.0/24')).status, 200);
      assert.equal((await put('10.0.2.0/24')).status, 200);
      const throttled = await put('10.0.3.0/24');
      assert.equal(throttled.status, 429);
      const body = (await throttled.json()) as Record<string, string>;
      assert.equal(body.error_code, 'APIG.0308');
      assert.match(body.error_msg!, /policy user over ratelimit,limit:2,time:1 second/);
      assert.equal(body.request_id, throttled.headers.get('x-request-id'));
      assert.ok(!em.state.showRouteTable(RT).routes.some((r) => r.destination === '10.0.3.0/24'), 'a throttled call changes nothing');
      assert.equal(em.calls.at(-1)!.throttled, true);
      // Reads and other AKs are not affected.
      assert.equal((await raw(em, 'GET', `/v1/${P}/routetables`, undefined, { date: clock.now() })).status, 200);
      assert.equal((await put('10.0.4.0/24', SEED.altAk, SEED.altSk)).status, 200);
      // The SDK sees the gateway code.
      const err = await sdkError(client.updateRouteTable(routeDelta({ add: [['10.0.5.0/24', ECS1.id]] })));
      assert.equal(err.httpStatusCode, 429);
      assert.equal(err.errorCode, 'APIG.0308');
      clock.advance(1000);
      assert.equal((await put('10.0.3.0/24')).status, 200);
    });

    it('limits reads when asked, and can be changed at run time', async () => {
      const clock = manualClock();
      await start({ clock: clock.now, readsPerSecond: 1 });
      const get = (): Promise<Response> => raw(em, 'GET', `/v1/${P}/routetables`, undefined, { date: clock.now() });
      assert.equal((await get()).status, 200);
      assert.equal((await get()).status, 429);
      em.setThrottle({ readsPerSecond: 0 });
      assert.equal((await get()).status, 200);
    });
  });

  describe('faults', () => {
    beforeEach(() => start());

    it('failNext fails the next matching calls only', async () => {
      em.faults.set({ failNext: { count: 2, status: 503, operation: 'UpdateRouteTable' } });
      assert.equal((await client.listRouteTables(new ListRouteTablesRequest())).httpStatusCode, 200);
      for (let i = 0; i < 2; i++) {
        const err = await sdkError(client.updateRouteTable(routeDelta({ add: [['10.0.2.0/24', ECS1.id]] })));
        assert.equal(err.httpStatusCode, 503);
        assert.equal(em.calls.at(-1)!.fault, 'failNext');
      }
      assert.equal(em.state.showRouteTable(RT).routes.length, 1, 'failed calls change nothing');
      await client.updateRouteTable(routeDelta({ add: [['10.0.2.0/24', ECS1.id]] }));
      assert.equal(em.state.showRouteTable(RT).routes.length, 2);
    });

    it('failNext with a custom code renders it in the API format', async () => {
      em.faults.set({ failNext: { status: 500, code: 'VPC.0106', message: 'boom' } });
      const res = await raw(em, 'GET', `/v1/${P}/routetables/${RT}`);
      assert.equal(res.status, 500);
      assert.deepEqual(await res.json(), { code: 'VPC.0106', message: 'boom' });
      em.faults.set({ failNext: { status: 429 } });
      const throttled = await raw(em, 'GET', `/v1/${P}/routetables/${RT}`);
      assert.equal(throttled.status, 429);
      assert.equal(((await throttled.json()) as { error_code: string }).error_code, 'APIG.0308');
    });

    it('errorRate fails per operation with the given probability', async () => {
      em.faults.set({ errorRate: { ListRouteTables: 1, status: 503 } });
      const err = await sdkError(client.listRouteTables(new ListRouteTablesRequest()));
      assert.equal(err.httpStatusCode, 503);
      assert.equal(em.calls.at(-1)!.fault, 'errorRate');
      assert.equal((await client.showRouteTable(new ShowRouteTableRequest().withRoutetableId(RT))).httpStatusCode, 200);
      em.faults.set({ errorRate: { '*': 0 } });
      assert.equal((await client.listRouteTables(new ListRouteTablesRequest())).httpStatusCode, 200);
    });

    it('timeoutNext holds the request until the client gives up', async () => {
      em.faults.set({ timeoutNext: { operation: 'UpdateRouteTable' } });
      const impatient = vpcClient(em.url, { timeoutMs: 300 });
      const err = await sdkError(impatient.updateRouteTable(routeDelta({ add: [['10.0.2.0/24', ECS1.id]] })));
      assert.equal(err.httpStatusCode, undefined);
      assert.match(String(err.errorMsg), /timeout/);
      const record = await waitFor(() => em.calls.find((c) => c.fault === 'timeout'), 'the held call to be logged');
      assert.equal(record.status, 0);
      assert.equal(em.state.showRouteTable(RT).routes.length, 1, 'not applied');
    });

    it('timeoutNext with apply: the write happens, the answer never comes', async () => {
      em.faults.set({ timeoutNext: { operation: 'UpdateRouteTable', apply: true } });
      const err = await sdkError(vpcClient(em.url, { timeoutMs: 300 }).updateRouteTable(routeDelta({ add: [['10.0.2.0/24', ECS1.id]] })));
      assert.match(String(err.errorMsg), /timeout/);
      assert.equal(em.state.showRouteTable(RT).routes.length, 2);
    });

    it('timeoutNext with ms answers late but normally', async () => {
      em.faults.set({ timeoutNext: { ms: 100 } });
      assert.equal((await client.listRouteTables(new ListRouteTablesRequest())).httpStatusCode, 200);
      assert.ok(em.calls.at(-1)!.latencyMs >= 90, `latency ${em.calls.at(-1)!.latencyMs}`);
    });

    it('resetNext destroys the connection (optionally after applying)', async () => {
      em.faults.set({ resetNext: { operation: 'UpdateRouteTable', apply: true } });
      const err = await sdkError(client.updateRouteTable(routeDelta({ add: [['10.0.2.0/24', ECS1.id]] })));
      assert.equal(err.httpStatusCode, undefined);
      assert.match(String(err.errorMsg), /socket hang up|ECONNRESET/);
      assert.equal(em.state.showRouteTable(RT).routes.length, 2, 'applied before the reset');
      assert.equal(em.calls.at(-1)!.fault, 'reset');
      assert.equal((await client.listRouteTables(new ListRouteTablesRequest())).httpStatusCode, 200, 'one-shot');
    });

    it('latency is added to API calls, not to admin calls', async () => {
      em.faults.set({ latencyMs: 60 });
      await client.listRouteTables(new ListRouteTablesRequest());
      assert.ok(em.calls.at(-1)!.latencyMs >= 50, `latency ${em.calls.at(-1)!.latencyMs}`);
      em.faults.clear();
      assert.equal(em.faults.current().latencyMs, 0);
    });
  });

  describe('admin API', () => {
    beforeEach(() => start());

    it('serves the whole state', async () => {
      const { status, body } = await admin(em, 'GET', '/_admin/state');
      assert.equal(status, 200);
      const servers = body.servers as { name: string; ip: string; port_id: string }[];
      assert.deepEqual(
        servers.map((s) => [s.name, s.ip, s.port_id]),
        Object.entries(SEED.servers).map(([name, s]) => [name, s.ip, s.portId]),
      );
      assert.equal((body.ports as unknown[]).length, 3);
      assert.deepEqual(body.quota, { routes_per_table: 200, route_tables_per_vpc: 5 });
      assert.equal((body.route_tables as { routes: unknown[] }[])[0]!.routes.length, 1);
      assert.equal((body.security_groups as { rules: unknown[] }[])[0]!.rules.length, 2);
    });

    it('edits routes out of band: add (foreign), patch, delete', async () => {
      let res = await admin(em, 'POST', `/_admin/routetables/${RT}/routes`, { destination: '10.8.0.0/16', type: 'vpn', nexthop: 'vpn-gateway-1', description: 'set by hand' });
      assert.equal(res.status, 201);
      res = await admin(em, 'POST', `/_admin/routetables/${RT}/routes`, { destination: '10.0.2.0/24', nexthop: 'not-a-server' });
      assert.equal(res.status, 400, 'validated as the console validates');
      assert.equal((res.body.error as { code: string }).code, 'VPC.2803');
      res = await admin(em, 'POST', `/_admin/routetables/${RT}/routes`, { destination: '10.0.2.0/24', nexthop: ECS1.id });
      assert.equal(res.status, 201, 'type defaults to ecs');
      res = await admin(em, 'PATCH', `/_admin/routetables/${RT}/routes`, { destination: '10.0.2.0/24', nexthop: ECS2.id });
      assert.equal(res.status, 200);
      const shown = await client.showRouteTable(new ShowRouteTableRequest().withRoutetableId(RT));
      assert.deepEqual(
        shown.routetable?.routes?.map((r) => [r.type, r.destination, r.nexthop]),
        [
          ['local', '192.168.0.0/16', null],
          ['vpn', '10.8.0.0/16', 'vpn-gateway-1'],
          ['ecs', '10.0.2.0/24', ECS2.id],
        ],
      );
      res = await admin(em, 'DELETE', `/_admin/routetables/${RT}/routes?destination=${encodeURIComponent('10.8.0.0/16')}`);
      assert.equal(res.status, 200);
      res = await admin(em, 'DELETE', `/_admin/routetables/${RT}/routes?destination=10.8.0.0/16`);
      assert.equal(res.status, 400);
      assert.deepEqual(res.body.error, { code: 'VPC.2804', message: `Route 10.8.0.0/16 does not exist in route table ${RT}.` });
      // force plants what the API would refuse: a route to a server that does not exist.
      res = await admin(em, 'POST', `/_admin/routetables/${RT}/routes`, { destination: '10.0.9.0/24', type: 'ecs', nexthop: 'gone', force: true });
      assert.equal(res.status, 201);
      assert.equal(em.calls.length, 1, 'admin calls are not in the call log');
    });

    it('sets quota and throttle, resets ports, adds and removes servers', async () => {
      assert.deepEqual((await admin(em, 'POST', '/_admin/quota', { routesPerTable: 1 })).body, { routes_per_table: 1, route_tables_per_vpc: 5 });
      await client.updateRouteTable(routeDelta({ add: [['10.0.1.0/24', ECS1.id]] }));
      await sdkError(client.updateRouteTable(routeDelta({ add: [['10.0.2.0/24', ECS1.id]] })));
      assert.equal(em.calls.at(-1)!.code, 'VPC.2801');
      assert.deepEqual((await admin(em, 'POST', '/_admin/throttle', { writesPerSecond: 5 })).body, { writesPerSecond: 5, readsPerSecond: 0 });
      em.state.setAllowedAddressPairs(ECS1.portId, [{ ip_address: '1.1.1.1/0' }]);
      const port = await admin(em, 'PUT', `/_admin/ports/${ECS1.portId}`, { allowed_address_pairs: [] });
      assert.deepEqual(port.body.allowed_address_pairs, []);
      const server = await admin(em, 'POST', '/_admin/servers', { name: 'ecs-4', ip: '192.168.0.5' });
      assert.equal(server.status, 201);
      const id = server.body.id as string;
      assert.equal((await client.listPorts(new ListPortsRequest().withDeviceId(id))).ports?.length, 1);
      await client.updateRouteTable(routeDelta({ del: ['10.0.1.0/24'], add: [['10.0.4.0/24', id]] }));
      assert.equal((await admin(em, 'DELETE', `/_admin/servers/${id}`)).status, 200);
      assert.equal((await admin(em, 'POST', '/_admin/servers', { name: 'bad', ip: '10.0.0.1' })).status, 400);
    });

    it('reports calls since a sequence number and clears them', async () => {
      await client.listRouteTables(new ListRouteTablesRequest());
      await client.showRouteTable(new ShowRouteTableRequest().withRoutetableId(RT));
      await client.listPorts(new ListPortsRequest().withDeviceId(ECS1.id));
      const all = await admin(em, 'GET', '/_admin/calls');
      const calls = all.body.calls as { seq: number; operation: string; ak: string; status: number; throttled: boolean; latencyMs: number; time: string }[];
      assert.deepEqual(
        calls.map((c) => c.operation),
        ['ListRouteTables', 'ShowRouteTable', 'ListPorts'],
      );
      for (const c of calls) {
        assert.equal(c.ak, SEED.ak);
        assert.equal(c.status, 200);
        assert.equal(c.throttled, false);
        assert.equal(typeof c.latencyMs, 'number');
        assert.ok(!Number.isNaN(Date.parse(c.time)));
      }
      const since = await admin(em, 'GET', `/_admin/calls?since=${calls[0]!.seq}`);
      assert.equal((since.body.calls as unknown[]).length, 2);
      const filtered = await admin(em, 'GET', '/_admin/calls?operation=ListPorts');
      assert.equal((filtered.body.calls as unknown[]).length, 1);
      await admin(em, 'DELETE', '/_admin/calls');
      assert.equal(((await admin(em, 'GET', '/_admin/calls')).body.calls as unknown[]).length, 0);
      await client.listRouteTables(new ListRouteTablesRequest());
      assert.equal(em.calls[0]!.seq, 4, 'seq keeps counting after a clear');
    });

    it('sets, shows and clears faults', async () => {
      let res = await admin(em, 'POST', '/_admin/faults', { failNext: { count: 1, status: 500, operation: 'ListPorts' }, latencyMs: 5 });
      assert.equal(res.status, 200);
      assert.equal(res.body.latencyMs, 5);
      assert.equal((res.body.failNext as unknown[]).length, 1);
      res = await admin(em, 'POST', '/_admin/faults', { errorRate: { '*': 2 } });
      assert.equal(res.status, 400);
      res = await admin(em, 'DELETE', '/_admin/faults');
      assert.deepEqual(res.body, { latencyMs: 0, jitterMs: 0, failNext: [], timeoutNext: [], resetNext: [], badBodyNext: [] });
    });

    it('resets to the initial state', async () => {
      await client.updateRouteTable(routeDelta({ add: [['10.0.2.0/24', ECS1.id]] }));
      em.faults.set({ failNext: { status: 500 } });
      em.setQuota({ routesPerTable: 3 });
      assert.equal((await admin(em, 'POST', '/_admin/reset')).status, 200);
      assert.equal(em.state.showRouteTable(RT).routes.length, 1);
      assert.equal(em.state.quota.routes_per_table, 200);
      assert.equal(em.calls.length, 0);
      assert.equal((await client.listRouteTables(new ListRouteTablesRequest())).httpStatusCode, 200, 'faults cleared');
    });

    it('answers unknown admin paths with 404 and bad bodies with 400', async () => {
      assert.equal((await admin(em, 'GET', '/_admin/nope')).status, 404);
      const bad = await fetch(`${em.url}/_admin/quota`, { method: 'POST', body: '{', headers: { 'content-type': 'application/json' } });
      assert.equal(bad.status, 400);
      assert.equal((await admin(em, 'POST', '/_admin/quota', { routesPerTable: 'many' })).status, 400);
      assert.equal((await admin(em, 'GET', '/_admin/health')).body.ok, true);
    });
  });

  it('stamps X-Sdk-Date the way the signer formats it', () => {
    assert.equal(formatSdkDate(new Date('2026-01-02T03:04:05.678Z')), '20260102T030405Z');
  });
});
