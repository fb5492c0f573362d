import assert from 'node:assert/strict';
import { createRequire } from 'node:module';
import { CloudError, type CloudErrorKind } from '../../controller/provider/errors.js';
import {
  classifyHttpError,
  HUAWEI_ERROR_CODE_KINDS,
  parseErrorBody,
  toCloudError,
} from '../../controller/provider/huawei/errors.js';

const require = createRequire(import.meta.url);
type ExcCtor = new (status: number | undefined, msg: string, code?: string, requestId?: string) => object;
const exc = (name: string): ExcCtor =>
  (require(`@huaweicloud/huaweicloud-sdk-core/exception/${name}`) as Record<string, ExcCtor>)[name]!;
// The SDK's own exception classes (not exported from the package root).
const core = {
  ClientRequestException: exc('ClientRequestException'),
  ServerResponseException: exc('ServerResponseException'),
  ServiceResponseException: exc('ServiceResponseException'),
};
const { ExceptionUtil } = require('@huaweicloud/huaweicloud-sdk-core/exception/ExceptionUtil') as {
  ExceptionUtil: { generalException(e: object): { errorCode?: string; errorMsg?: string; httpStatusCode?: number } };
};

describe('huawei errors: classification table', () => {
  const cases: [number, string | undefined, string | undefined, CloudErrorKind][] = [
    // throttling
    [429, 'APIG.0308', 'The throttling threshold has been reached: policy user over ratelimit,limit:10,time:1 second', 'throttled'],
    [429, 'APIGW.0308', undefined, 'throttled'],
    [429, undefined, undefined, 'throttled'],
    [400, 'APIG.0308', undefined, 'throttled'],
    // auth
    [401, 'APIGW.0301', 'Incorrect IAM authentication information: verify aksk signature fail', 'auth'],
    [401, undefined, undefined, 'auth'],
    [403, 'VPC.0010', 'Rules on xx disallowed by policy', 'auth'],
    [403, 'VPC.2201', undefined, 'auth'],
    [401, 'VPC.0008', undefined, 'auth'],
    // transient
    [500, 'VPC.0106', 'Internal server error.', 'transient'],
    [502, undefined, undefined, 'transient'],
    [503, 'APIG.0201', undefined, 'transient'],
    [504, undefined, undefined, 'transient'],
    [408, undefined, undefined, 'transient'],
    [400, 'VPC.0004', 'VPC is not active, please try later.', 'transient'],
    // quota
    [400, 'VPC.2801', 'Route quota exceeded: ...', 'quota'],
    [400, 'VPC.2810', 'The vpc cannot support more customized routetables', 'quota'],
    [409, 'VPC.0114', "Quota exceeded for resources: ['router'].", 'quota'],
    [400, 'VPC.9999', 'Quota exceeded for routes', 'quota'],
    // conflict
    [400, 'VPC.2812', 'Route destination 10.0.2.0/24 is duplicated', 'conflict'],
    [400, 'VPC.2809', 'Route destination overlaps with system route', 'conflict'],
    [400, 'VPC.2805', undefined, 'conflict'],
    [409, 'VPC.0602', 'Security group rule already exists.', 'conflict'],
    [409, 'SecurityGroupRuleExists', 'Security group rule already exists.', 'conflict'],
    [409, undefined, undefined, 'conflict'],
    [400, 'VPC.9998', 'destination overlaps subnet 192.168.0.0/24', 'conflict'],
    // notFound
    [404, 'VPC.0003', 'VPC does not exist.', 'notFound'],
    [404, 'VPC.2808', 'RouteTable x is not exist.', 'notFound'],
    [400, 'VPC.2803', 'Invalid nexthop "x" for route type ecs: no such server.', 'notFound'],
    [400, 'VPC.2804', 'Route 10.9.0.0/24 does not exist', 'notFound'],
    [404, undefined, undefined, 'notFound'],
    [404, 'APIGW.0101', 'The API does not exist or has not been published', 'notFound'],
    // invalid
    [400, 'VPC.0002', 'Param is invalid.', 'invalid'],
    [400, 'VPC.2800', 'The num of routes to update is more than 5.', 'invalid'],
    [400, 'VPC.2802', 'Invalid destination', 'invalid'],
    [400, undefined, undefined, 'invalid'],
    [422, undefined, 'unprocessable', 'invalid'],
  ];
  for (const [status, code, message, kind] of cases) {
    it(`${status} ${code ?? '-'} → ${kind}`, () => {
      assert.equal(classifyHttpError(status, code, message), kind);
    });
  }

  it('every table entry is a valid kind', () => {
    const kinds = new Set(['throttled', 'transient', 'quota', 'conflict', 'auth', 'notFound', 'invalid']);
    for (const [code, kind] of Object.entries(HUAWEI_ERROR_CODE_KINDS)) assert.ok(kinds.has(kind), code);
  });
});

describe('huawei errors: parseErrorBody', () => {
  it('reads the VPC v1 body', () => {
    assert.deepEqual(parseErrorBody({ code: 'VPC.2812', message: 'dup' }), { code: 'VPC.2812', message: 'dup', requestId: undefined });
  });
  it('reads the API gateway body with its request id', () => {
    assert.deepEqual(parseErrorBody({ error_code: 'APIG.0308', error_msg: 'slow down', request_id: 'r1' }), {
      code: 'APIG.0308',
      message: 'slow down',
      requestId: 'r1',
    });
  });
  it('reads {"error":{code,message}}', () => {
    assert.deepEqual(parseErrorBody({ error: { code: 'X.1', message: 'm' } }), { code: 'X.1', message: 'm', requestId: undefined });
  });
  it('reads a Neutron body (type as code)', () => {
    assert.deepEqual(parseErrorBody({ NeutronError: { type: 'SecurityGroupRuleExists', message: 'exists', detail: '' } }), {
      code: 'SecurityGroupRuleExists',
      message: 'exists',
      requestId: undefined,
    });
  });
  it('reads an OpenStack one-key body', () => {
    assert.deepEqual(parseErrorBody({ itemNotFound: { message: 'gone', code: 404 } }), { message: 'gone', requestId: undefined });
  });
  it('parses JSON text and keeps plain text as the message', () => {
    assert.equal(parseErrorBody('{"code":"VPC.0003","message":"m"}').code, 'VPC.0003');
    assert.deepEqual(parseErrorBody('<html>Bad Gateway</html>'), { message: '<html>Bad Gateway</html>' });
    assert.deepEqual(parseErrorBody(undefined), {});
    assert.deepEqual(parseErrorBody(''), {});
  });
});

describe('huawei errors: toCloudError', () => {
  it('the SDK itself loses the VPC v1 code (the pitfall this module works around)', () => {
    const e = ExceptionUtil.generalException({
      data: { code: 'VPC.2812', message: 'dup' },
      status: 400,
      message: 'Request failed with status code 400',
      requestId: 'req-1',
    });
    assert.equal(e.httpStatusCode, 400);
    assert.equal(e.errorCode, undefined);
    assert.equal(e.errorMsg, 'Request failed with status code 400');
  });

  it('recovers the VPC code the SDK lost, from the raw capture', () => {
    // What the SDK throws for {"code":"VPC.2812",...}: no code, a generic message.
    const sdkErr = ExceptionUtil.generalException({
      data: { code: 'VPC.2812', message: 'Route destination 10.0.2.0/24 is duplicated.' },
      status: 400,
      message: 'Request failed with status code 400',
      requestId: 'req-1',
    });
    const ce = toCloudError('UpdateRouteTable', sdkErr, {
      status: 400,
      requestId: 'req-1',
      data: { code: 'VPC.2812', message: 'Route destination 10.0.2.0/24 is duplicated.' },
    });
    assert.ok(ce instanceof CloudError);
    assert.equal(ce.kind, 'conflict');
    assert.equal(ce.code, 'VPC.2812');
    assert.equal(ce.httpStatus, 400);
    assert.equal(ce.requestId, 'req-1');
    assert.equal(ce.cloudMessage, 'Route destination 10.0.2.0/24 is duplicated.');
    assert.equal(ce.message, 'UpdateRouteTable: HTTP 400 VPC.2812 Route destination 10.0.2.0/24 is duplicated. (request req-1)');
  });

  it('falls back to the SDK exception when nothing was captured', () => {
    const sdkErr = new core.ClientRequestException(429, 'throttled', 'APIG.0308', 'r9');
    const ce = toCloudError('ShowRouteTable', sdkErr, {});
    assert.equal(ce.kind, 'throttled');
    assert.equal(ce.code, 'APIG.0308');
    assert.equal(ce.requestId, 'r9');
    assert.equal(ce.minRetryDelayMs, 2000);
  });

  it('does not use the SDK generic "Request failed" text as the cloud message', () => {
    const sdkErr = new core.ServerResponseException(503, 'Request failed with status code 503');
    const ce = toCloudError('ShowRouteTable', sdkErr, { status: 503, data: '' });
    assert.equal(ce.kind, 'transient');
    assert.equal(ce.cloudMessage, undefined);
    assert.equal(ce.message, 'ShowRouteTable: HTTP 503 transient');
  });

  it('no response (timeout / refused / reset) is transient', () => {
    for (const msg of ['timeout of 300ms exceeded', 'connect ECONNREFUSED 127.0.0.1:1', 'socket hang up', 'read ECONNRESET']) {
      const ce = toCloudError('ListPorts', new core.ServiceResponseException(undefined, msg), {});
      assert.equal(ce.kind, 'transient', msg);
      assert.equal(ce.httpStatus, undefined);
      assert.equal(ce.retryable, true);
    }
    const raw = Object.assign(new Error('boom'), { code: 'ECONNRESET' });
    assert.equal(toCloudError('ListPorts', raw).kind, 'transient');
  });

  it('a local failure before any request is invalid (not retried)', () => {
    const ce = toCloudError('UpdateRouteTable', new TypeError('Required parameter body was null'));
    assert.equal(ce.kind, 'invalid');
    assert.equal(ce.retryable, false);
  });

  it('keeps an existing CloudError', () => {
    const orig = new CloudError({ kind: 'quota', operation: 'X' });
    assert.equal(toCloudError('Y', orig), orig);
  });

  it('redacts secrets from the cloud message', () => {
    const ce = toCloudError(
      'ShowRouteTable',
      new core.ClientRequestException(401, 'x'),
      { status: 401, data: { error_code: 'APIGW.0301', error_msg: 'ak AKSECRET123 not exist; SDK-HMAC-SHA256 Access=AKSECRET123, SignedHeaders=host, Signature=abcdef' } },
      ['AKSECRET123', 'SKSECRET456'],
    );
    assert.equal(ce.kind, 'auth');
    assert.ok(!ce.message.includes('AKSECRET123'), ce.message);
    assert.ok(!ce.message.includes('Signature='), ce.message);
  });
});
