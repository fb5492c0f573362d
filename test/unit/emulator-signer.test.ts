// SDK-HMAC-SHA256 as the emulator verifies it, checked against a request the real SDK sent
// (docs: shared/notes/huaweicloud-vpc-api.md) and against the SDK's own signer.

import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import {
  canonicalQuery,
  canonicalUri,
  expectedSignature,
  formatSdkDate,
  parseAuthorization,
  parseSdkDate,
  sdkUrlEncode,
  signRequest,
  verifySignature,
  type WireRequest,
} from '../emulator/signer.js';

// The request captured on the wire from @huaweicloud/huaweicloud-sdk-vpc 3.1.173.
const VECTOR = {
  sk: 'TESTSKabcdefghijklmnopqrstuvwxyz',
  request: {
    method: 'PUT',
    target: '/v1/0605767b3c00d3e42f9cc01b0e2e2b1a/routetables/3d42a0d4-a980-4613-ae76-a2cddecff054',
    headers: {
      'content-type': 'application/json',
      'x-project-id': '0605767b3c00d3e42f9cc01b0e2e2b1a',
      'x-sdk-date': '20261122T013828Z',
      host: '127.0.0.1:18080',
      authorization:
        'SDK-HMAC-SHA256 Access=TESTAK1234567890, SignedHeaders=content-type;host;x-project-id;x-sdk-date, Signature=8342120a3547f33656ce23e985e851b7fdbf5c627a17d2dbbf9141d04f28b6aa',
    },
    body:
      '{"routetable":{"routes":{"add":[{"type":"ecs","destination":"10.0.2.0/24","nexthop":"a2f5a1b4-0000-4d4d-9e2f-7e7bd2f6a001","description":"node-2"}],"del":[{"destination":"10.0.3.0/24"}]}}}',
  } satisfies WireRequest,
};

describe('emulator signer (SDK-HMAC-SHA256)', () => {
  it('verifies the request captured from the SDK', () => {
    const auth = parseAuthorization(VECTOR.request.headers.authorization);
    assert.ok(auth);
    assert.equal(auth.ak, 'TESTAK1234567890');
    assert.deepEqual(auth.signedHeaders, ['content-type', 'host', 'x-project-id', 'x-sdk-date']);
    assert.equal(expectedSignature(VECTOR.request, auth, VECTOR.sk), '8342120a3547f33656ce23e985e851b7fdbf5c627a17d2dbbf9141d04f28b6aa');
    assert.ok(verifySignature(VECTOR.request, auth, VECTOR.sk));
  });

  it('rejects the vector with any byte changed', () => {
    const auth = parseAuthorization(VECTOR.request.headers.authorization)!;
    assert.ok(!verifySignature({ ...VECTOR.request, body: VECTOR.request.body.replace('10.0.2.0', '10.0.4.0') }, auth, VECTOR.sk));
    assert.ok(!verifySignature({ ...VECTOR.request, target: VECTOR.request.target + '?x=1' }, auth, VECTOR.sk));
    assert.ok(!verifySignature({ ...VECTOR.request, headers: { ...VECTOR.request.headers, host: '127.0.0.1:18081' } }, auth, VECTOR.sk));
    assert.ok(!verifySignature(VECTOR.request, auth, VECTOR.sk.toUpperCase()));
  });

  it('signRequest reproduces the vector', () => {
    const headers = signRequest({
      method: 'PUT',
      url: `http://127.0.0.1:18080${VECTOR.request.target}`,
      ak: 'TESTAK1234567890',
      sk: VECTOR.sk,
      projectId: '0605767b3c00d3e42f9cc01b0e2e2b1a',
      body: VECTOR.request.body,
      date: new Date('2026-11-22T01:38:28Z'),
    });
    assert.equal(headers['authorization'], VECTOR.request.headers.authorization);
  });

  it('agrees with the SDK signer on paths and queries that need encoding', () => {
    const require = createRequire(import.meta.url);
    const { AKSKSigner } = require('@huaweicloud/huaweicloud-sdk-core/auth/AKSKSigner') as {
      AKSKSigner: { sign(req: unknown, cred: { getAk(): string; getSk(): string }): Record<string, string> };
    };
    const queryParams = { vpc_id: 'a b', marker: "x!'()*~", limit: 5, fixed_ips: ['ip_address=192.168.0.3', 'ip_address=192.168.0.2'] };
    const sdkHeaders = AKSKSigner.sign(
      {
        endpoint: 'http://127.0.0.1:18080/v1/p/route tables',
        method: 'GET',
        headers: { 'content-type': 'application/json', 'X-Project-Id': 'p', 'X-Sdk-Date': '20261122T013828Z' },
        queryParams,
      },
      { getAk: () => 'AK', getSk: () => 'SK' },
    );
    // What arrives on the wire: the path as url.parse escaped it, the query as querystring.stringify wrote it.
    const wireQuery = new URLSearchParams();
    for (const [k, v] of Object.entries(queryParams)) for (const x of [v].flat()) wireQuery.append(k, String(x));
    const wire: WireRequest = {
      method: 'GET',
      target: `/v1/p/route%20tables?${wireQuery.toString().replace(/\+/g, '%20')}`,
      headers: { 'content-type': 'application/json', 'x-project-id': 'p', 'x-sdk-date': '20261122T013828Z', host: '127.0.0.1:18080' },
      body: '',
    };
    const auth = parseAuthorization(sdkHeaders['Authorization'])!;
    assert.ok(verifySignature(wire, auth, 'SK'));
  });

  it('encodes like the SDK', () => {
    assert.equal(sdkUrlEncode("a b!'()*~-._/"), '%20b%21%27%28%29%2A~-._%2F'.replace(/^/, 'a'));
    assert.equal(canonicalUri('/v1/p/routetables'), '/v1/p/routetables/');
    assert.equal(canonicalUri('/v1/%7Bproject_id%7D/x/'), '/v1/%257Bproject_id%257D/x/');
    assert.equal(canonicalQuery('b=2&a=z&a=y&c'), 'a=y&a=z&b=2&c=');
    assert.equal(canonicalQuery('vpc_id=a%20b'), 'vpc_id=a%20b');
  });

  it('formats and parses X-Sdk-Date strictly', () => {
    assert.equal(formatSdkDate(new Date('2026-11-22T01:38:28.123Z')), '20261122T013828Z');
    assert.equal(parseSdkDate('20261122T013828Z')?.toISOString(), '2026-11-22T01:38:28.000Z');
    for (const bad of ['20261322T013828Z', '20261122T013828', '2026-11-22T01:38:28Z', '20261122T016028Z', '']) {
      assert.equal(parseSdkDate(bad), undefined, bad);
    }
  });

  it('parses only well-formed Authorization headers', () => {
    assert.equal(parseAuthorization(undefined), undefined);
    assert.equal(parseAuthorization('Bearer abc'), undefined);
    assert.equal(parseAuthorization('SDK-HMAC-SHA256 Access=AK, SignedHeaders=host, Signature=xyz'), undefined);
    assert.equal(parseAuthorization('SDK-HMAC-SHA256 Access=AK, Signature=' + 'a'.repeat(64)), undefined);
  });
});
