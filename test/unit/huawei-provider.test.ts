// The provider against a small recording HTTP stub (the wire format, not the cloud's logic:
// that is what test/integration/huawei-provider.test.ts checks against the emulator).

import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { createHuaweiProvider, type HuaweiProviderConfig, type ProviderLogger } from '../../controller/provider/huawei/provider.js';
import { CloudError } from '../../controller/provider/errors.js';

interface Rec {
  method: string;
  path: string;
  query: URLSearchParams;
  headers: http.IncomingHttpHeaders;
  body: unknown;
}
interface Reply {
  status?: number;
  body?: unknown;
  headers?: Record<string, string>;
}
type Handler = (r: Rec) => Reply | Promise<Reply>;

interface Stub {
  url: string;
  reqs: Rec[];
  close(): Promise<void>;
}

async function startStub(handler: Handler): Promise<Stub> {
  const reqs: Rec[] = [];
  const server = http.createServer((req, res) => {
    const chunks: Buffer[] = [];
    req.on('data', (c: Buffer) => chunks.push(c));
    req.on('end', () => {
      const u = new URL(req.url ?? '/', 'http://stub');
      const text = Buffer.concat(chunks).toString('utf8');
      const rec: Rec = { method: req.method ?? '', path: u.pathname, query: u.searchParams, headers: req.headers, body: text ? JSON.parse(text) : undefined };
      reqs.push(rec);
      void Promise.resolve(handler(rec)).then((reply) => {
        const status = reply.status ?? 200;
        res.writeHead(status, { 'content-type': 'application/json', 'x-request-id': `req-${reqs.length}`, ...reply.headers });
        res.end(reply.body === undefined ? '' : JSON.stringify(reply.body));
      });
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    reqs,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

const PROJECT = 'proj0123456789';
const AK = 'UNITAK0000000001';
const SK = 'UNITSKsecretsecretsecret0001';

interface LogLine {
  level: string;
  msg: string;
  meta?: object;
}
function recordingLogger(): ProviderLogger & { lines: LogLine[] } {
  const lines: LogLine[] = [];
  const at = (level: string) => (msg: string, meta?: object) => void lines.push({ level, msg, meta });
  return { lines, debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error') };
}

function cfg(url: string, extra: Partial<HuaweiProviderConfig> = {}): HuaweiProviderConfig {
  return {
    flavor: 'huaweicloud',
    endpoint: url,
    projectId: PROJECT,
    vpcId: 'vpc-1',
    credentials: { ak: AK, sk: SK },
    timeoutMs: 2000,
    qps: 1000,
    burst: 1000,
    ...extra,
  };
}

describe('huawei provider (wire format, stub server)', () => {
  let stub: Stub | undefined;
  afterEach(async () => {
    await stub?.close();
    stub = undefined;
  });

  it('sends the project id in the path and header, a custom User-Agent and a signature', async () => {
    stub = await startStub(() => ({ body: { routetable: { id: 'rt-1', name: 'rtb', routes: [] } } }));
    const p = createHuaweiProvider(cfg(stub.url, { userAgent: 'hostnet-test/9', credentials: { ak: AK, sk: SK, securityToken: 'STSTOKEN123' } }), recordingLogger());
    await p.listRoutes('rt-1');
    const r = stub.reqs[0]!;
    assert.equal(r.method, 'GET');
    assert.equal(r.path, `/v1/${PROJECT}/routetables/rt-1`);
    assert.equal(r.headers['x-project-id'], PROJECT);
    assert.match(String(r.headers['user-agent']), /hostnet-test\/9/);
    assert.match(String(r.headers.authorization), new RegExp(`^SDK-HMAC-SHA256 Access=${AK}, SignedHeaders=`));
    assert.equal(r.headers['x-security-token'], 'STSTOKEN123');
  });

  it('listRoutes returns every route, local ones included (ecs → host, local → system), with empty descriptions as ""', async () => {
    stub = await startStub(() => ({
      body: {
        routetable: {
          id: 'rt-1',
          routes: [
            { type: 'local', destination: '192.168.0.0/16', nexthop: null, description: null },
            { type: 'ecs', destination: '10.0.2.0/24', nexthop: 'srv-1', description: 'hostnet:node-1' },
          ],
        },
      },
    }));
    const p = createHuaweiProvider(cfg(stub.url), recordingLogger());
    assert.deepEqual(await p.listRoutes('rt-1'), [
      { kind: 'system', cloudType: 'local', destination: '192.168.0.0/16', nexthop: '', description: '' },
      { kind: 'host', cloudType: 'ecs', destination: '10.0.2.0/24', nexthop: 'srv-1', description: 'hostnet:node-1' },
    ]);
  });

  it('applyRoutes: one PUT carrying add, mod and del (type ecs)', async () => {
    stub = await startStub(() => ({ body: { routetable: { id: 'rt-1', routes: [] } } }));
    const p = createHuaweiProvider(cfg(stub.url), recordingLogger());
    await p.applyRoutes('rt-1', {
      add: [{ destination: '10.0.2.0/24', nexthop: 'srv-1', description: 'hostnet:a' }],
      mod: [{ destination: '10.0.3.0/24', nexthop: 'srv-2', description: 'hostnet:b' }],
      del: [{ destination: '10.0.4.0/24' }],
    });
    assert.equal(stub.reqs.length, 1);
    const r = stub.reqs[0]!;
    assert.equal(r.method, 'PUT');
    assert.equal(r.path, `/v1/${PROJECT}/routetables/rt-1`);
    assert.deepEqual(r.body, {
      routetable: {
        routes: {
          add: [{ type: 'ecs', destination: '10.0.2.0/24', nexthop: 'srv-1', description: 'hostnet:a' }],
          mod: [{ type: 'ecs', destination: '10.0.3.0/24', nexthop: 'srv-2', description: 'hostnet:b' }],
          del: [{ destination: '10.0.4.0/24' }],
        },
      },
    });
  });

  it('applyRoutes omits empty arrays and sends nothing for an empty batch', async () => {
    stub = await startStub(() => ({ body: { routetable: { id: 'rt-1', routes: [] } } }));
    const p = createHuaweiProvider(cfg(stub.url), recordingLogger());
    await p.applyRoutes('rt-1', { add: [], mod: [], del: [] });
    assert.equal(stub.reqs.length, 0);
    await p.applyRoutes('rt-1', { add: [], mod: [], del: [{ destination: '10.0.4.0/24' }] });
    assert.deepEqual(stub.reqs[0]!.body, { routetable: { routes: { del: [{ destination: '10.0.4.0/24' }] } } });
  });

  it('applyRoutes on one table are serialized', async () => {
    let inFlight = 0;
    let maxInFlight = 0;
    stub = await startStub(async () => {
      inFlight++;
      maxInFlight = Math.max(maxInFlight, inFlight);
      await new Promise((r) => setTimeout(r, 30));
      inFlight--;
      // The documented answer of UpdateRouteTable: the table (an empty {} is not believed).
      return { body: { routetable: { id: 'rt-1', routes: [] } } };
    });
    const p = createHuaweiProvider(cfg(stub.url), recordingLogger());
    const batch = (d: string) => ({ add: [{ destination: d, nexthop: 's', description: '' }], mod: [], del: [] });
    await Promise.all([p.applyRoutes('rt-1', batch('10.0.1.0/24')), p.applyRoutes('rt-1', batch('10.0.2.0/24')), p.applyRoutes('rt-1', batch('10.0.3.0/24'))]);
    assert.equal(stub.reqs.length, 3);
    assert.equal(maxInFlight, 1);
  });

  it('listRouteTables pages through the VPC by marker', async () => {
    const all = ['rt-1', 'rt-2', 'rt-3', 'rt-4', 'rt-5'].map((id) => ({ id, name: `name-${id}`, vpc_id: 'vpc-1' }));
    stub = await startStub((r) => {
      const limit = Number(r.query.get('limit'));
      const marker = r.query.get('marker');
      const start = marker ? all.findIndex((t) => t.id === marker) + 1 : 0;
      return { body: { routetables: all.slice(start, start + limit) } };
    });
    const p = createHuaweiProvider(cfg(stub.url, { pageSize: 2 }), recordingLogger());
    const tables = await p.listRouteTables();
    assert.deepEqual(
      tables.map((t) => t.id),
      ['rt-1', 'rt-2', 'rt-3', 'rt-4', 'rt-5'],
    );
    assert.equal(tables[0]!.name, 'name-rt-1');
    assert.deepEqual(
      stub.reqs.map((r) => [r.query.get('vpc_id'), r.query.get('marker')]),
      [
        ['vpc-1', null],
        ['vpc-1', 'rt-2'],
        ['vpc-1', 'rt-4'],
      ],
    );
  });

  it('listRouteTables stops when a server ignores the marker', async () => {
    stub = await startStub(() => ({ body: { routetables: [{ id: 'rt-1' }, { id: 'rt-2' }] } }));
    const p = createHuaweiProvider(cfg(stub.url, { pageSize: 2 }), recordingLogger());
    assert.equal((await p.listRouteTables()).length, 2);
    assert.equal(stub.reqs.length, 2);
  });

  it('listRouteTables with configured ids shows each table', async () => {
    stub = await startStub((r) => ({ body: { routetable: { id: r.path.split('/').pop(), name: 'n', vpc_id: 'vpc-1', routes: [] } } }));
    const p = createHuaweiProvider(cfg(stub.url, { routeTableIds: ['rt-a', 'rt-b'] }), recordingLogger());
    assert.deepEqual(await p.listRouteTables(), [
      { id: 'rt-a', name: 'n' },
      { id: 'rt-b', name: 'n' },
    ]);
    assert.deepEqual(
      stub.reqs.map((r) => r.path),
      [`/v1/${PROJECT}/routetables/rt-a`, `/v1/${PROJECT}/routetables/rt-b`],
    );
  });

  describe('ensureSourceDestCheck', () => {
    const portsReply = (pairs: object[], fixedIps: object[] = []) => ({ body: { ports: [{ id: 'port-1', device_id: 'srv-1', fixed_ips: fixedIps, allowed_address_pairs: pairs }] } });
    /** A port that keeps what a PUT wrote: the provider re-reads it to see its write was not lost. */
    const livePort = (pairs: object[], fixedIps: object[] = []) => {
      let current = pairs;
      return (r: { method: string; body?: unknown }) => {
        if (r.method === 'GET') return portsReply(current, fixedIps);
        current = (r.body as { port: { allowed_address_pairs: object[] } }).port.allowed_address_pairs;
        return { body: { port: {} } };
      };
    };
    const writes = () => stub!.reqs.filter((r) => r.method === 'PUT');

    it('Huawei: v1 ports by device_id, keeps existing pairs, adds 1.1.1.1/0', async () => {
      const fixed = [{ subnet_id: 'sub-1', ip_address: '192.168.0.7' }];
      stub = await startStub(livePort([{ ip_address: '192.168.0.50', mac_address: 'fa:16:3e:aa:bb:cc' }], fixed));
      const p = createHuaweiProvider(cfg(stub.url), recordingLogger());
      // The server's own address comes from fixed_ips (an allowed pair is not the server's).
      assert.deepEqual(await p.ensureSourceDestCheck('srv-1', 'disable', '10.0.2.0/24'), { portId: 'port-1', changed: true, addresses: ['192.168.0.7'] });
      assert.equal(stub.reqs[0]!.path, `/v1/${PROJECT}/ports`);
      assert.equal(stub.reqs[0]!.query.get('device_id'), 'srv-1');
      // Read, read again just before the write, write, read to see the write stuck.
      assert.deepEqual(stub.reqs.map((r) => r.method), ['GET', 'GET', 'PUT', 'GET']);
      assert.equal(writes()[0]!.path, `/v1/${PROJECT}/ports/port-1`);
      assert.deepEqual(writes()[0]!.body, {
        port: { allowed_address_pairs: [{ ip_address: '192.168.0.50', mac_address: 'fa:16:3e:aa:bb:cc' }, { ip_address: '1.1.1.1/0' }] },
      });
    });

    it('OTC: Neutron ports', async () => {
      stub = await startStub(livePort([]));
      const p = createHuaweiProvider(cfg(stub.url, { flavor: 'otc' }), recordingLogger());
      assert.deepEqual(await p.ensureSourceDestCheck('srv-1', 'block', '10.0.2.0/24'), { portId: 'port-1', changed: true, addresses: [] });
      assert.equal(stub.reqs[0]!.path, '/v2.0/ports');
      assert.equal(stub.reqs[0]!.query.get('device_id'), 'srv-1');
      assert.equal(writes()[0]!.path, '/v2.0/ports/port-1');
      assert.deepEqual(writes()[0]!.body, { port: { allowed_address_pairs: [{ ip_address: '10.0.2.0/24' }] } });
    });

    it('no update when the pair is there', async () => {
      stub = await startStub(() => portsReply([{ ip_address: '1.1.1.1/0' }]));
      const p = createHuaweiProvider(cfg(stub.url), recordingLogger());
      assert.deepEqual(await p.ensureSourceDestCheck('srv-1', 'disable', '10.0.2.0/24'), { portId: 'port-1', changed: false, addresses: [] });
      assert.equal(stub.reqs.length, 1);
    });

    it('no port → notFound naming the server', async () => {
      stub = await startStub(() => ({ body: { ports: [] } }));
      const p = createHuaweiProvider(cfg(stub.url), recordingLogger());
      await assert.rejects(p.ensureSourceDestCheck('srv-gone', 'disable', '10.0.2.0/24'), (err: unknown) => {
        assert.ok(err instanceof CloudError);
        assert.equal(err.kind, 'notFound');
        assert.match(err.message, /srv-gone/);
        return true;
      });
    });

    it('rejects a bad block without calling the cloud', async () => {
      stub = await startStub(() => ({ body: {} }));
      const p = createHuaweiProvider(cfg(stub.url), recordingLogger());
      await assert.rejects(p.ensureSourceDestCheck('srv-1', 'block', 'not-a-cidr'), (err: unknown) => err instanceof CloudError && err.kind === 'invalid');
      assert.equal(stub.reqs.length, 0);
    });
  });

  describe('ensureIngressRule', () => {
    it('Huawei: one v1 rule per protocol; a duplicate (409 VPC.0602) is success', async () => {
      stub = await startStub((r) => {
        if (r.method === 'GET') return { status: 200, body: { security_group_rules: [] } };
        const rule = (r.body as { security_group_rule: { protocol?: string } }).security_group_rule;
        if (rule.protocol === 'udp') return { status: 409, body: { code: 'VPC.0602', message: 'Security group rule already exists.' } };
        return { status: 200, body: { security_group_rule: { id: 'x' } } };
      });
      const p = createHuaweiProvider(cfg(stub.url), recordingLogger());
      assert.deepEqual(await p.ensureIngressRule({ securityGroupId: 'sg-1', remoteIpPrefix: '10.0.0.0/16', protocols: ['icmp', 'udp'] }), { created: 1 });
      assert.equal(stub.reqs.length, 3);
      assert.equal(stub.reqs[0]!.method, 'GET', 'the rules are read first');
      assert.equal(stub.reqs[1]!.path, `/v1/${PROJECT}/security-group-rules`);
      assert.deepEqual(stub.reqs[1]!.body, {
        security_group_rule: { security_group_id: 'sg-1', direction: 'ingress', ethertype: 'IPv4', remote_ip_prefix: '10.0.0.0/16', protocol: 'icmp' },
      });
    });

    it('"all" is one rule without a protocol; OTC uses Neutron', async () => {
      stub = await startStub((r) => (r.method === 'GET' ? { status: 200, body: { security_group_rules: [] } } : { status: 201, body: { security_group_rule: { id: 'x' } } }));
      const p = createHuaweiProvider(cfg(stub.url, { flavor: 'otc' }), recordingLogger());
      assert.deepEqual(await p.ensureIngressRule({ securityGroupId: 'sg-1', remoteIpPrefix: '10.0.0.0/16', protocols: ['all', 'icmp'] }), { created: 1 });
      assert.equal(stub.reqs.length, 2);
      assert.equal(stub.reqs[1]!.path, '/v2.0/security-group-rules');
      assert.deepEqual(stub.reqs[1]!.body, {
        security_group_rule: { security_group_id: 'sg-1', direction: 'ingress', ethertype: 'IPv4', remote_ip_prefix: '10.0.0.0/16' },
      });
    });

    it('other errors propagate', async () => {
      stub = await startStub(() => ({ status: 404, body: { code: 'VPC.0003', message: 'security group sg-x could not be found.' } }));
      const p = createHuaweiProvider(cfg(stub.url), recordingLogger());
      await assert.rejects(p.ensureIngressRule({ securityGroupId: 'sg-x', remoteIpPrefix: '10.0.0.0/16', protocols: ['icmp'] }), (err: unknown) => {
        assert.ok(err instanceof CloudError);
        assert.equal(err.kind, 'notFound');
        assert.equal(err.code, 'VPC.0003');
        assert.equal(err.operation, 'CreateSecurityGroupRule');
        return true;
      });
    });
  });

  describe('errors', () => {
    it('recovers code, message and request id of concurrent failures without mixing them', async () => {
      const codes: Record<string, [number, object]> = {
        'rt-dup': [400, { code: 'VPC.2812', message: 'duplicate destination' }],
        'rt-quota': [400, { code: 'VPC.2801', message: 'Route quota exceeded' }],
        'rt-throttle': [429, { error_code: 'APIG.0308', error_msg: 'The throttling threshold has been reached', request_id: 'gw-1' }],
        'rt-500': [500, { code: 'VPC.0106', message: 'Internal server error.' }],
      };
      stub = await startStub(async (r) => {
        const id = r.path.split('/').pop()!;
        await new Promise((res) => setTimeout(res, Math.random() * 20));
        const [status, body] = codes[id]!;
        return { status, body, headers: { 'x-request-id': `rid-${id}` } };
      });
      const p = createHuaweiProvider(cfg(stub.url), recordingLogger());
      const results = await Promise.all(
        Object.keys(codes).map((id) =>
          p.applyRoutes(id, { add: [{ destination: '10.0.9.0/24', nexthop: 's', description: '' }], mod: [], del: [] }).then(
            () => assert.fail('expected failure'),
            (e: unknown) => e as CloudError,
          ),
        ),
      );
      assert.deepEqual(
        results.map((e) => [e.kind, e.code, e.httpStatus, e.requestId, e.operation]),
        [
          ['conflict', 'VPC.2812', 400, 'rid-rt-dup', 'UpdateRouteTable'],
          ['quota', 'VPC.2801', 400, 'rid-rt-quota', 'UpdateRouteTable'],
          ['throttled', 'APIG.0308', 429, 'rid-rt-throttle', 'UpdateRouteTable'],
          ['transient', 'VPC.0106', 500, 'rid-rt-500', 'UpdateRouteTable'],
        ],
      );
      assert.equal(results[0]!.cloudMessage, 'duplicate destination');
    });

    it('a refused connection is transient', async () => {
      const s = await startStub(() => ({}));
      const url = s.url;
      await s.close();
      const p = createHuaweiProvider(cfg(url), recordingLogger());
      await assert.rejects(p.listRoutes('rt-1'), (err: unknown) => err instanceof CloudError && err.kind === 'transient');
    });
  });

  it('reads have a bucket of their own: a read is not held behind a write waiting for its token', async () => {
    stub = await startStub(() => ({ body: { routetable: { id: 'rt-1', routes: [] } } }));
    // One write token, the next one 2 s away; reads are plentiful.
    const p = createHuaweiProvider(cfg(stub.url, { qps: 0.5, burst: 1, readQps: 1000 }), recordingLogger());
    const batch = (d: string) => ({ add: [{ destination: d, nexthop: 's', description: '' }], mod: [], del: [] });
    await p.applyRoutes('rt-1', batch('10.0.1.0/24'));
    let secondWriteDone = false;
    const second = p.applyRoutes('rt-1', batch('10.0.2.0/24')).then(() => (secondWriteDone = true));
    // Let the write reach the token wait (its table lock is a promise chain) before the read.
    await new Promise((r) => setImmediate(r));
    const routes = await p.listRoutes('rt-1');
    assert.deepEqual(routes, []);
    assert.equal(secondWriteDone, false, 'the read went out while the write still waited for its token');
    assert.equal(stub.reqs.filter((r) => r.method === 'PUT').length, 1);
    await second;
    assert.equal(stub.reqs.filter((r) => r.method === 'PUT').length, 2);
  });

  it('all reads share one rate limiter', async () => {
    stub = await startStub(() => ({ body: { routetable: { id: 'x', routes: [] } } }));
    const p = createHuaweiProvider(cfg(stub.url, { qps: 20, burst: 1 }), recordingLogger());
    const started = Date.now();
    await Promise.all([p.listRoutes('a'), p.listRoutes('b'), p.listRoutes('c'), p.listRoutes('d'), p.listRoutes('e')]);
    // burst 1, then 50 ms apart: at least 4 × 50 ms
    assert.ok(Date.now() - started >= 190, `took ${Date.now() - started} ms`);
  });
});
