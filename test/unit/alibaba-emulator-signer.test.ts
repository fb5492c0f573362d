// ACS3-HMAC-SHA256 as the Alibaba emulator verifies it, checked against a request the real SDK
// sent (shared/notes/alibaba-vpc-api.md) and against requests the SDK signs here and now.

import assert from 'node:assert/strict';
import { createServer, type IncomingHttpHeaders } from 'node:http';
import type { AddressInfo } from 'node:net';
import * as $Vpc from '@alicloud/vpc20160428';
import { CAPTURED } from '../emulator/alibaba/captured.js';
import { aliVpcClient } from '../emulator/alibaba/sdk.js';
import {
  acsEncode,
  canonicalQuery,
  parseAcsDate,
  parseAuthorization,
  signRpc,
  verifySignature,
  type WireRequest,
} from '../emulator/alibaba/signer.js';

const SECRET = 'TESTSECRETabcdefghijklmnopqrstu';

function verifies(req: WireRequest, secret = SECRET): boolean {
  const auth = parseAuthorization(req.headers.authorization as string);
  assert.ok(auth, 'Authorization parses');
  return verifySignature(req, auth, secret);
}

describe('alibaba emulator signer (ACS3-HMAC-SHA256)', () => {
  it('verifies the request captured from the SDK', () => {
    assert.equal(parseAuthorization(CAPTURED.headers.authorization as string)?.accessKeyId, 'LTAI5tTESTACCESSKEYID01');
    assert.equal(verifies(CAPTURED), true);
  });

  it('refuses the captured request with another secret, query, signed header value or body', () => {
    assert.equal(verifies(CAPTURED, SECRET + 'x'), false);
    assert.equal(verifies({ ...CAPTURED, rawQuery: CAPTURED.rawQuery.replace('MaxResult=50', 'MaxResult=51') }), false);
    assert.equal(verifies({ ...CAPTURED, headers: { ...CAPTURED.headers, 'x-acs-action': 'DeleteRouteEntries' } }), false);
    assert.equal(verifies({ ...CAPTURED, headers: { ...CAPTURED.headers, host: '127.0.0.1:18182' } }), false);
    // A body the declared x-acs-content-sha256 does not describe.
    assert.equal(verifies({ ...CAPTURED, body: Buffer.from('{}') }), false);
  });

  it('ignores the order of the query and headers that are not signed', () => {
    const reordered = { ...CAPTURED, rawQuery: 'RouteTableId=vtb-gw8note0vector0table01&RegionId=eu-central-1&MaxResult=50', headers: { ...CAPTURED.headers, 'user-agent': 'other' } };
    assert.equal(verifies(reordered), true);
  });

  it('canonicalises the query per RFC 3986 whatever the client left raw', () => {
    assert.equal(acsEncode('a b+c*d~e/f'), 'a%20b%2Bc%2Ad~e%2Ff');
    // The SDK leaves * raw; %2A and * sign alike, as do %20 and a space-encoding +.
    assert.equal(canonicalQuery('Name=hostnet%20a*b&A=1'), 'A=1&Name=hostnet%20a%2Ab');
    assert.equal(canonicalQuery('Name=hostnet+a%2Ab&A=1'), 'A=1&Name=hostnet%20a%2Ab');
  });

  it('parses x-acs-date strictly', () => {
    assert.equal(parseAcsDate('2026-12-01T21:48:22Z')?.toISOString(), '2026-12-01T21:48:22.000Z');
    for (const bad of ['2026-12-01T21:48:22.000Z', '20261201T214822Z', '2026-13-01T21:48:22Z', '2026-02-30T21:48:22Z']) assert.equal(parseAcsDate(bad), undefined, bad);
  });

  it('verifies what the SDK signs now (lists, spaces, * and +), and what signRpc signs', async () => {
    const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
    const server = createServer((req, res) => {
      seen.push({ url: req.url ?? '', headers: req.headers });
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end('{"RequestId":"R"}');
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    try {
      const endpoint = `127.0.0.1:${(server.address() as AddressInfo).port}`;
      const client = aliVpcClient(endpoint, { accessKeyId: 'AK-probe', accessKeySecret: SECRET });
      await client.createRouteEntries(
        new $Vpc.CreateRouteEntriesRequest({
          regionId: 'eu-central-1',
          routeEntries: [
            new $Vpc.CreateRouteEntriesRequestRouteEntries({ routeTableId: 'vtb-1', dstCidrBlock: '172.16.0.0/24', nextHop: 'i-1', nextHopType: 'Instance', name: 'hostnet a*b', description: 'x y+z é' }),
            new $Vpc.CreateRouteEntriesRequestRouteEntries({ routeTableId: 'vtb-1', dstCidrBlock: '172.16.1.0/24', nextHop: 'i-2', nextHopType: 'Instance' }),
          ],
        }),
      );
      const { target, headers } = signRpc({ url: `http://${endpoint}`, action: 'DescribeVSwitches', version: '2016-04-28', params: { RegionId: 'eu-central-1', VpcId: 'vpc-1 *' }, accessKeyId: 'AK', accessKeySecret: SECRET });
      const sdk = seen[0]!;
      assert.match(sdk.url, /RouteEntries\.2\.NextHop=i-2/);
      const toWire = (url: string, h: IncomingHttpHeaders): WireRequest => ({ method: 'POST', rawPath: '/', rawQuery: url.slice(url.indexOf('?') + 1), headers: h, body: Buffer.alloc(0) });
      assert.equal(verifies(toWire(sdk.url, sdk.headers)), true);
      assert.equal(verifies(toWire(target, headers)), true);
    } finally {
      await new Promise<void>((resolve) => server.close(() => resolve()));
    }
  });
});
