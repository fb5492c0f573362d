// controller/provider/aws/client.ts: the SDK's default credential chain (here: the environment),
// flags validated with clear errors, and nothing of the SDK's on the console — not even when AWS
// refuses the credentials or a request times out.
import assert from 'node:assert/strict';
import { DescribeRouteTablesCommand } from '@aws-sdk/client-ec2';
import { createEc2Client, validateAwsClientOptions, type Ec2CallRecord } from '../../controller/provider/aws/client.js';
import { describeTables } from '../../controller/provider/aws/tables.js';
import { CloudError } from '../../controller/provider/errors.js';
import { MOTO_REGION } from '../helpers/moto.js';
import { useAwsTestbed } from '../aws/testbed.js';

const ENV_KEYS = ['AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_SESSION_TOKEN', 'AWS_PROFILE', 'AWS_SHARED_CREDENTIALS_FILE', 'AWS_CONFIG_FILE'];
const ENV_AK = 'AKIAENVCHAINTEST0003';
const ENV_SK = 'env-chain-secret-must-never-be-printed';

/** Runs `fn` with everything written to the console and to stdout/stderr captured. */
async function capturingOutput(fn: () => Promise<void>): Promise<string> {
  const seen: string[] = [];
  const orig = { log: console.log, info: console.info, warn: console.warn, error: console.error, debug: console.debug };
  const out = process.stdout.write.bind(process.stdout);
  const err = process.stderr.write.bind(process.stderr);
  const grab = (...args: unknown[]): void => void seen.push(args.map(String).join(' '));
  Object.assign(console, { log: grab, info: grab, warn: grab, error: grab, debug: grab });
  process.stdout.write = ((chunk: unknown) => (seen.push(String(chunk)), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: unknown) => (seen.push(String(chunk)), true)) as typeof process.stderr.write;
  try {
    await fn();
  } finally {
    Object.assign(console, orig);
    process.stdout.write = out;
    process.stderr.write = err;
  }
  return seen.join('\n');
}

describe('AWS client', function () {
  const bed = useAwsTestbed({ hosts: 0, tables: 1 });
  const saved: Record<string, string | undefined> = {};

  beforeEach(() => {
    for (const k of ENV_KEYS) saved[k] = process.env[k];
    for (const k of ENV_KEYS) delete process.env[k];
    process.env.AWS_SHARED_CREDENTIALS_FILE = '/nonexistent/hostnet-test-credentials';
    process.env.AWS_CONFIG_FILE = '/nonexistent/hostnet-test-config';
    process.env.AWS_ACCESS_KEY_ID = ENV_AK;
    process.env.AWS_SECRET_ACCESS_KEY = ENV_SK;
  });
  afterEach(() => {
    for (const k of ENV_KEYS) {
      if (saved[k] === undefined) delete process.env[k];
      else process.env[k] = saved[k];
    }
  });

  it('signs with the default chain (environment) and prints nothing, also on errors', async () => {
    const client = createEc2Client({ region: MOTO_REGION, endpoint: bed.proxy.endpoint, requestTimeoutMs: 400 });
    try {
      const output = await capturingOutput(async () => {
        await describeTables(client, { kind: 'ids', tableIds: [bed.fx.tableIds[0]!] });
        bed.proxy.faults.set({ failNext: { status: 401, code: 'AuthFailure', message: 'AWS was not able to validate the provided access credentials' } });
        await assert.rejects(describeTables(client, { kind: 'ids', tableIds: [bed.fx.tableIds[0]!] }), (e: unknown) => e instanceof CloudError && e.kind === 'auth');
        bed.proxy.faults.set({ timeoutNext: {} });
        await assert.rejects(client.send(new DescribeRouteTablesCommand({})), (e: unknown) => (e as Error).name === 'TimeoutError');
      });
      assert.deepEqual(
        bed.proxy.calls().map((c) => c.ak),
        [ENV_AK, ENV_AK, ENV_AK],
      );
      assert.equal(output, '');
      assert.ok(!output.includes(ENV_SK));
    } finally {
      client.destroy();
    }
  });

  it('counts every request once, by action and outcome, as the EC2 peer saw it', async () => {
    const seen: Ec2CallRecord[] = [];
    const client = createEc2Client({ region: MOTO_REGION, endpoint: bed.proxy.endpoint, onCall: (c) => seen.push(c) });
    try {
      bed.proxy.faults.set({ failNext: [{ status: 503, code: 'RequestLimitExceeded', operation: 'DescribeRouteTables' }, { status: 500, code: 'InternalError', operation: 'DescribeRouteTables' }] });
      for (let i = 0; i < 3; i++) await describeTables(client, { kind: 'ids', tableIds: [bed.fx.tableIds[0]!] }).catch(() => undefined);
      assert.deepEqual(
        seen.map((c) => [c.action, c.outcome, c.code, c.throttled]),
        bed.proxy.calls().map((c) => [c.operation, c.status === 200 ? 'success' : 'error', c.code, c.code === 'RequestLimitExceeded']),
      );
      assert.deepEqual(
        seen.map((c) => c.code ?? 'ok'),
        ['RequestLimitExceeded', 'InternalError', 'ok'],
      );
    } finally {
      client.destroy();
    }
  });

  it('refuses bad flags with a message naming the value', () => {
    assert.throws(() => validateAwsClientOptions({ region: '' }), /region "" is not a region name/);
    assert.throws(() => validateAwsClientOptions({ region: 'eu-central-1', endpoint: 'ec2 local' }), /endpoint "ec2 local" is not a URL/);
    assert.throws(() => validateAwsClientOptions({ region: 'eu-central-1', endpoint: 'ftp://x' }), /must be http\(s\)/);
    assert.throws(() => validateAwsClientOptions({ region: 'eu-central-1', endpoint: 'https://ak:sk@x' }), /must not carry credentials/);
    assert.throws(() => validateAwsClientOptions({ region: 'eu-central-1', requestTimeoutMs: 0 }), /request timeout must be a positive/);
  });
});
