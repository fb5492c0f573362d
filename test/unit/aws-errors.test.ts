// controller/provider/aws/errors.ts: the SDK's own exception type in, CloudError kinds out.
import assert from 'node:assert/strict';
import { EC2ServiceException } from '@aws-sdk/client-ec2';
import { classifyAwsError, isMissingRoute } from '../../controller/provider/aws/errors.js';
import { CloudError } from '../../controller/provider/errors.js';

function sdkError(code: string, status: number, message = 'm'): EC2ServiceException {
  return new EC2ServiceException({ name: code, $fault: status >= 500 ? 'server' : 'client', $metadata: { httpStatusCode: status, requestId: 'req-1' }, message });
}

describe('AWS error mapping', () => {
  const cases: [string, number, string, CloudError['kind']][] = [
    ['CreateRoute', 400, 'RouteAlreadyExists', 'conflict'],
    ['CreateRoute', 400, 'RouteLimitExceeded', 'quota'],
    ['CreateRoute', 503, 'RequestLimitExceeded', 'throttled'],
    ['CreateRoute', 500, 'InternalError', 'transient'],
    ['CreateRoute', 503, 'Unavailable', 'transient'],
    ['DescribeInstances', 400, 'InvalidInstanceID.NotFound', 'notFound'],
    ['CreateRoute', 400, 'InvalidNetworkInterfaceID.NotFound', 'notFound'],
    ['DeleteRoute', 400, 'InvalidRoute.NotFound', 'notFound'],
    ['CreateRoute', 401, 'AuthFailure', 'auth'],
    ['CreateRoute', 403, 'UnauthorizedOperation', 'auth'],
    ['AuthorizeSecurityGroupIngress', 400, 'InvalidPermission.Duplicate', 'conflict'],
    ['CreateRoute', 400, 'InvalidInstanceID', 'invalid'],
    ['CreateRoute', 400, 'InvalidParameterValue', 'invalid'],
  ];
  for (const [op, status, code, kind] of cases) {
    it(`${op} ${status} ${code} → ${kind}`, () => {
      const e = classifyAwsError(sdkError(code, status), op);
      assert.deepEqual([e.kind, e.code, e.httpStatus, e.requestId], [kind, code, status, 'req-1']);
    });
  }

  it('ReplaceRoute of a missing route (InvalidParameterValue "Use CreateRoute instead") is notFound and a missing route', () => {
    const e = classifyAwsError(sdkError('InvalidParameterValue', 400, "There is no route defined for '10.0.0.0/24' in the route table. Use CreateRoute instead."), 'ReplaceRoute');
    assert.equal(e.kind, 'notFound');
    assert.equal(isMissingRoute(e), true);
    assert.equal(isMissingRoute(classifyAwsError(sdkError('InvalidParameterValue', 400, 'Value x is invalid for parameter.'), 'ReplaceRoute')), false);
  });

  it('names the ids the call was about', () => {
    assert.match(classifyAwsError(sdkError('RouteLimitExceeded', 400), 'CreateRoute', { tableId: 'rtb-1', destination: '10.1.0.0/24' }).message, /route table rtb-1/);
    assert.match(classifyAwsError(sdkError('InvalidInstanceID.NotFound', 400), 'DescribeInstances', { instanceId: 'i-1' }).message, /instance i-1/);
    assert.match(classifyAwsError(sdkError('InvalidNetworkInterfaceID.NotFound', 400), 'CreateRoute', { eniId: 'eni-1' }).message, /network interface eni-1/);
    assert.match(classifyAwsError(sdkError('RouteAlreadyExists', 400), 'CreateRoute', { tableId: 'rtb-1', destination: '10.1.0.0/24' }).message, /route 10\.1\.0\.0\/24 in rtb-1/);
  });

  it('timeouts and broken connections (no HTTP status) are transient', () => {
    const timeout = Object.assign(new Error('Connection timed out after 400 ms'), { name: 'TimeoutError' });
    const reset = Object.assign(new Error('socket hang up'), { code: 'ECONNRESET' });
    assert.deepEqual(
      [classifyAwsError(timeout, 'CreateRoute').kind, classifyAwsError(reset, 'CreateRoute').kind],
      ['transient', 'transient'],
    );
  });

  it('a CloudError passes through unchanged', () => {
    const e = new CloudError({ kind: 'quota', operation: 'CreateRoute' });
    assert.equal(classifyAwsError(e, 'Other'), e);
  });
});
