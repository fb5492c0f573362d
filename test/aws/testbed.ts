// Mocha wiring for the AWS provider's integration suites: the run's one moto (test/helpers/moto.ts),
// a fault proxy of this suite in front of it (test/aws/fault-proxy.ts), both reset before every
// test, and a fresh fixture built through the SDK directly against moto (set-up calls never show
// in the proxy's call log; only the provider's calls, which go through the proxy, do).
import { EC2Client } from '@aws-sdk/client-ec2';
import { createEc2Client } from '../../controller/provider/aws/client.js';
import { WriteFence } from '../../controller/provider/fence.js';
import { buildAwsFixture, MOTO_CREDENTIALS, MOTO_REGION, sharedMoto, type AwsFixture, type AwsFixtureOptions, type Moto } from '../helpers/moto.js';
import { startAwsFaultProxy, type AwsFaultProxy } from './fault-proxy.js';

/** A second fake key: test-side calls that must pass the proxy (e.g. TerminateInstances) carry it. */
export const SETUP_CREDENTIALS = { accessKeyId: 'AKIAMOTOSETUPKEY0002', secretAccessKey: 'moto-setup-secret-not-a-real-one' } as const;

export interface AwsTestbed {
  moto: Moto;
  proxy: AwsFaultProxy;
  fx: AwsFixture;
  /** The provider's client: the proxy as endpoint, retries off, as the controller builds it. */
  client: EC2Client;
  fence: WriteFence;
  /** A set-up client through the proxy (the proxy sees, e.g., terminations). */
  viaProxy: EC2Client;
}

export function useAwsTestbed(fixture: AwsFixtureOptions | (() => AwsFixtureOptions) = {}): AwsTestbed {
  const bed = {} as AwsTestbed;
  before(async function () {
    this.timeout(180_000); // first run installs moto into the cache
    bed.moto = await sharedMoto();
    bed.proxy = await startAwsFaultProxy(bed.moto.endpoint);
  });
  beforeEach(async () => {
    await bed.moto.reset();
    bed.proxy.reset();
    bed.fx = await buildAwsFixture(bed.moto.endpoint, typeof fixture === 'function' ? fixture() : fixture);
    bed.client = createEc2Client({ region: MOTO_REGION, endpoint: bed.proxy.endpoint, credentials: MOTO_CREDENTIALS, requestTimeoutMs: 3000 });
    bed.viaProxy = new EC2Client({ region: MOTO_REGION, endpoint: bed.proxy.endpoint, credentials: SETUP_CREDENTIALS, maxAttempts: 1 });
    bed.fence = new WriteFence();
  });
  afterEach(() => {
    bed.client?.destroy();
    bed.viaProxy?.destroy();
  });
  after(async () => {
    await bed.proxy?.stop();
  });
  return bed;
}

/** The provider's calls only (set-up calls through the proxy carry SETUP_CREDENTIALS). */
export function providerCalls(bed: AwsTestbed, action?: string): ReturnType<AwsFaultProxy['calls']> {
  return bed.proxy.calls(0, action).filter((c) => c.ak !== SETUP_CREDENTIALS.accessKeyId);
}
