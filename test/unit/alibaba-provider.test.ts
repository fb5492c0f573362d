// The Alibaba provider's SDK-side pieces without a network: error classification (the SDK's
// ClientError shape and per-entry FailedCodes), batching, the per-VPC serializer, backoff,
// credential files.

import assert from 'node:assert/strict';
import { backoffDelayMs, pollUntil, retry, WRITE_RETRY } from '../../controller/provider/alibaba/backoff.js';
import { batches, PerVpcSerializer } from '../../controller/provider/alibaba/batch.js';
import { createAlibabaClients, loadStaticCredentials } from '../../controller/provider/alibaba/client.js';
import { failedEntryError, kindOfCode, toCloudError } from '../../controller/provider/alibaba/errors.js';
import { useTempDir, writeAliCredentials } from '../helpers/alibaba.js';

describe('alibaba provider: errors', () => {
  it('classifies the SDK error by its code, then its status', () => {
    const sdk = (code: string, statusCode: number): unknown => ({ name: 'ClientError', code, statusCode, data: { RequestId: 'R-1', HostId: 'vpc.x', Code: code, Message: `m ${code}`, Recommend: 'u' } });
    const cases: [string, number, string][] = [
      ['TaskConflict', 400, 'transient'],
      ['OperationConflict', 400, 'transient'],
      ['IncorrectRouteEntryStatus', 400, 'transient'],
      ['Throttling.User', 400, 'throttled'],
      ['Throttling', 400, 'throttled'],
      ['ServiceUnavailable', 503, 'transient'],
      ['SignatureDoesNotMatch', 400, 'auth'],
      ['InvalidAccessKeyId.NotFound', 404, 'auth'],
      ['Forbidden.RAM', 403, 'auth'],
      ['QuotaExceeded.RouteEntry', 400, 'quota'],
      ['InvalidCIDRBlock.Duplicate', 400, 'conflict'],
      ['InvalidNextHop.NotFound', 400, 'notFound'],
      ['Some.New.Thing', 400, 'invalid'],
      ['Some.New.Thing', 502, 'transient'],
    ];
    for (const [code, status, kind] of cases) {
      const e = toCloudError(sdk(code, status), 'CreateRouteEntries');
      assert.deepEqual([e.kind, e.code, e.httpStatus, e.requestId, e.cloudMessage], [kind, code, status, 'R-1', `m ${code}`], code);
    }
  });

  it('treats network errors as transient and cuts secrets out of messages', () => {
    const e = toCloudError(Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:1 secret=S3cr3tValue'), { code: 'ECONNREFUSED' }), 'DescribeRouteEntryList', ['S3cr3tValue']);
    assert.equal(e.kind, 'transient');
    assert.equal(e.code, undefined);
    assert.doesNotMatch(e.message, /S3cr3tValue/);
  });

  it('turns a FailedRouteEntries item into the host\'s error (code and message kept)', () => {
    const e = failedEntryError('CreateRouteEntries', { failedCode: 'QuotaExceeded.RouteEntry', failedMessage: 'full' });
    assert.deepEqual([e.kind, e.code, e.cloudMessage], ['quota', 'QuotaExceeded.RouteEntry', 'full']);
    assert.equal(kindOfCode('QuotaExceeded.Whatever'), 'quota');
    assert.equal(kindOfCode(undefined), undefined);
  });
});

describe('alibaba provider: batching and backoff', () => {
  it('splits into ceil(n/50) batches of at most 50, order kept', () => {
    const items = Array.from({ length: 120 }, (_, i) => i);
    const b = batches(items);
    assert.deepEqual(b.map((x) => x.length), [50, 50, 20]);
    assert.deepEqual(b.flat(), items);
    assert.deepEqual(batches([]), []);
    assert.throws(() => batches(items, 0), RangeError);
  });

  it('runs one task per VPC at a time, other VPCs in parallel, and goes on after a failure', async () => {
    const s = new PerVpcSerializer();
    let maxA = 0;
    const order: string[] = [];
    const gates: (() => void)[] = [];
    const task = (name: string, fail = false) => () =>
      new Promise<string>((resolve, reject) => {
        maxA = Math.max(maxA, s.inFlight('vpc-a'));
        order.push(`start ${name}`);
        gates.push(() => (fail ? reject(new Error(name)) : resolve(name)));
      });
    const a1 = s.run('vpc-a', task('a1', true));
    const a2 = s.run('vpc-a', task('a2'));
    const b1 = s.run('vpc-b', task('b1'));
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ['start a1', 'start b1'], 'a2 waits for a1; b1 does not');
    gates.shift()!(); // a1 fails
    await assert.rejects(a1, /a1/);
    await new Promise((r) => setImmediate(r));
    assert.deepEqual(order, ['start a1', 'start b1', 'start a2']);
    gates.forEach((g) => g());
    assert.deepEqual(await Promise.all([a2, b1]), ['a2', 'b1']);
    assert.equal(maxA, 1);
  });

  it('backs off exponentially with half jitter, capped, and gives up after maxAttempts', async () => {
    assert.equal(backoffDelayMs(WRITE_RETRY, 1, () => 0), 250);
    assert.equal(backoffDelayMs(WRITE_RETRY, 1, () => 1), 500);
    assert.equal(backoffDelayMs(WRITE_RETRY, 3, () => 1), 2000);
    assert.equal(backoffDelayMs(WRITE_RETRY, 20, () => 1), 8000);
    const slept: number[] = [];
    let calls = 0;
    await assert.rejects(
      retry({ initialMs: 10, maxMs: 40, maxAttempts: 4 }, async () => {
        calls++;
        throw new Error('busy');
      }, () => true, { sleep: async (ms) => void slept.push(ms), random: () => 1 }),
      /busy/,
    );
    assert.equal(calls, 4);
    assert.deepEqual(slept, [10, 20, 40]);
    calls = 0;
    await assert.rejects(retry(WRITE_RETRY, async () => {
      calls++;
      throw new Error('final');
    }, () => false, { sleep: async () => undefined }));
    assert.equal(calls, 1, 'a final error is not retried');
    const polled = await pollUntil({ initialMs: 1, maxMs: 1, maxAttempts: 3 }, async () => ({ done: false }), { sleep: async () => undefined });
    assert.deepEqual(polled, { done: false });
  });
});

describe('alibaba provider: credentials', () => {
  const tmp = useTempDir('hostnet-ali-');
  let dir: string;
  before(() => (dir = tmp.path));

  it('reads the Secret files, names a missing one, and describes them without the secret', async () => {
    assert.throws(() => loadStaticCredentials(dir), /lacks access-key-id and access-key-secret/);
    await writeAliCredentials(dir, 'LTAI5tTESTACCESSKEYID01\n', 'TESTSECRETabcdefghijklmnopqrstu\n');
    assert.deepEqual(loadStaticCredentials(dir), { accessKeyId: 'LTAI5tTESTACCESSKEYID01', accessKeySecret: 'TESTSECRETabcdefghijklmnopqrstu' });
    const clients = createAlibabaClients({ regionId: 'eu-central-1', credentialsDir: dir, vpcEndpoint: '127.0.0.1:1', protocol: 'http' });
    assert.equal(clients.credentialsSource, `AccessKey LTAI****01 from ${dir}`);
    assert.deepEqual(clients.secrets, ['TESTSECRETabcdefghijklmnopqrstu']);
    assert.equal(createAlibabaClients({ regionId: 'eu-central-1' }).credentialsSource, "the SDK's default credential chain");
    assert.throws(() => createAlibabaClients({ regionId: 'Frankfurt' }), /not an Alibaba Cloud region id/);
  });
});
