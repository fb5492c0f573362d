// The agent's identity from the metadata services, over real HTTP against small servers on
// loopback that answer like the clouds' (paths and IMDSv2 token rules from their docs; the
// 401 for a GET without a token is IMDSv2's documented behaviour when v1 is disabled).
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import { resolveIdentity } from '../../agent/identity.js';

function serve(handler: Parameters<typeof createServer>[1]): Promise<{ url: string; server: Server }> {
  const server = createServer(handler);
  return new Promise((resolve) => server.listen(0, '127.0.0.1', () => resolve({ url: `http://127.0.0.1:${(server.address() as { port: number }).port}`, server })));
}

describe('agent identity from the metadata service', () => {
  const servers: Server[] = [];
  after(() => servers.forEach((s) => s.close()));

  it('openstack (Huawei Cloud, OTC): uuid of meta_data.json and local-ipv4; cross-checked with the flags', async () => {
    const { url, server } = await serve((req, res) => {
      if (req.url === '/openstack/latest/meta_data.json') res.writeHead(200, { 'Content-Type': 'application/json' }).end(JSON.stringify({ uuid: 'a2f5a1b4-0000-4d4d-9e2f-7e7bd2f6a001', name: 'ecs-1' }));
      else if (req.url === '/latest/meta-data/local-ipv4') res.writeHead(200).end('192.168.0.2');
      else res.writeHead(404).end();
    });
    servers.push(server);
    assert.deepEqual(await resolveIdentity({}, 'openstack', url), { instanceId: 'a2f5a1b4-0000-4d4d-9e2f-7e7bd2f6a001', hostIp: '192.168.0.2', source: 'metadata' });
    assert.equal((await resolveIdentity({ instanceId: 'a2f5a1b4-0000-4d4d-9e2f-7e7bd2f6a001' }, 'openstack', url)).source, 'flags+metadata');
    await assert.rejects(resolveIdentity({ instanceId: 'a2f5a1b4-0000-4d4d-9e2f-7e7bd2f6a002' }, 'openstack', url), /--instance-id=a2f5a1b4-0000-4d4d-9e2f-7e7bd2f6a002 is not this server: the openstack metadata service says a2f5a1b4-0000-4d4d-9e2f-7e7bd2f6a001/);
    await assert.rejects(resolveIdentity({ hostIp: '192.168.0.3' }, 'openstack', url), /--host-ip=192\.168\.0\.3 is not this server's address/);
  });

  it('aws: IMDSv2 token first, instance-id with it; a GET without the token is refused', async () => {
    const token = 'tok-123';
    const { url, server } = await serve((req, res) => {
      if (req.url === '/latest/api/token') {
        if (req.method !== 'PUT' || !req.headers['x-aws-ec2-metadata-token-ttl-seconds']) return void res.writeHead(400).end();
        return void res.writeHead(200).end(token);
      }
      if (req.headers['x-aws-ec2-metadata-token'] !== token) return void res.writeHead(401).end();
      if (req.url === '/latest/meta-data/instance-id') res.writeHead(200).end('i-0abc123def4567890');
      else if (req.url === '/latest/meta-data/local-ipv4') res.writeHead(200).end('10.1.2.3');
      else res.writeHead(404).end();
    });
    servers.push(server);
    assert.deepEqual(await resolveIdentity({}, 'aws', url), { instanceId: 'i-0abc123def4567890', hostIp: '10.1.2.3', source: 'metadata' });
    assert.equal((await fetch(`${url}/latest/meta-data/instance-id`)).status, 401, 'the test server is as strict as IMDSv2');
  });

  it('flags only; no id at all; an unreachable metadata service', async () => {
    assert.deepEqual(await resolveIdentity({ instanceId: 'x' }, 'none'), { instanceId: 'x', source: 'flags' });
    await assert.rejects(resolveIdentity({}, 'none'), /give --instance-id or --metadata/);
    const { url, server } = await serve(() => undefined);
    server.close();
    await assert.rejects(resolveIdentity({}, 'openstack', url), /not reachable/);
  });
});
