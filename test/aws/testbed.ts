// Mocha wiring for the AWS provider's integration and e2e suites: the run's one moto (test/helpers/moto.ts),
// a fault proxy of this suite in front of it (test/aws/fault-proxy.ts), both reset before every
// test, and a fresh fixture built through the SDK directly against moto (set-up calls never show
// in the proxy's call log; only the provider's calls, which go through the proxy, do).
import { DescribeRouteTablesCommand, EC2Client, type Route } from '@aws-sdk/client-ec2';
import type { KubeConfig } from '@kubernetes/client-node';
import { createEc2Client } from '../../controller/provider/aws/client.js';
import { WriteFence } from '../../controller/provider/fence.js';
import { buildAwsFixture, MOTO_CREDENTIALS, MOTO_REGION, sharedMoto, type AwsFixture, type AwsFixtureOptions, type Moto } from '../helpers/moto.js';
import { freshCluster, startController, type ControllerProcess } from '../helpers/controller.js';
import { waitFor } from '../helpers/kube.js';
import { deleteHn, listHn } from '../helpers/invariants.js';
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

/**
 * The e2e side of the testbed: the shared control plane (CRD in, emptied), a controller process
 * started per test against the proxy (--cloud-provider=aws and the testbed's table, VPC and pool),
 * and after each test the HostNetworks deleted, their finalizers waited for and the controller
 * stopped (its log printed when the test failed).
 */
export interface AwsE2e {
  /** The admin kubeconfig (set by the suite's before hook). */
  readonly kc: KubeConfig;
  /** The running controller, if a test started one. */
  readonly ctl: ControllerProcess | undefined;
  /** Starts the controller: the common flags, the suite's, then the test's `extra`. */
  start(extra?: string[]): Promise<ControllerProcess>;
  /** Stops the running controller (a test that restarts it). */
  stopController(): Promise<void>;
  /** The table's routes other than the VPC's local one, as moto holds them. */
  routes(): Promise<Route[]>;
  /** The table's routes to ENIs, next hop as the instance (for checkInvariant's poolRoutes). */
  poolRoutes(): Promise<{ destination: string; nexthop: string }[]>;
}

export interface AwsE2eOptions {
  /** The suite's own controller flags (after the common ones, before a test's). */
  args?: (bed: AwsTestbed) => string[];
  /** How long teardown waits for the HostNetworks' finalizers. */
  cleanupTimeoutMs?: number;
}

export function useAwsE2e(bed: AwsTestbed, opts: AwsE2eOptions = {}): AwsE2e {
  let kc: KubeConfig | undefined;
  let ctl: ControllerProcess | undefined;

  before(async () => {
    ({ kc } = await freshCluster());
  });

  afterEach(async function () {
    const k = e2e.kc;
    await Promise.all((await listHn(k)).map((h) => deleteHn(k, h.metadata.name).catch(() => undefined)));
    if (ctl) {
      await waitFor('hostnetworks gone', async () => (await listHn(k)).length === 0, opts.cleanupTimeoutMs ?? 30_000).catch(() => undefined);
      await ctl.stop();
      if (this.currentTest?.state === 'failed') console.log(ctl.logs().slice(-6000));
    }
    ctl = undefined;
  });

  async function routes(): Promise<Route[]> {
    const out = await bed.fx.ec2.send(new DescribeRouteTablesCommand({ RouteTableIds: [bed.fx.tableIds[0]!] }));
    return (out.RouteTables?.[0]?.Routes ?? []).filter((r) => r.GatewayId !== 'local');
  }

  const e2e: AwsE2e = {
    get kc(): KubeConfig {
      if (!kc) throw new Error('useAwsE2e: kc is set in the before hook');
      return kc;
    },
    get ctl() {
      return ctl;
    },
    async start(extra = []) {
      const { cp } = await freshCluster();
      ctl = await startController({
        kubeconfig: cp.kubeconfig,
        args: [
          '--cloud-provider=aws',
          `--cloud-region=${MOTO_REGION}`,
          `--cloud-endpoint=${bed.proxy.endpoint}`,
          `--route-table-ids=${bed.fx.tableIds[0]}`,
          `--vpc-subnets=${bed.fx.vpcCidr}`,
          '--pool-cidr=100.64.0.0/16',
          '--leader-elect=false',
          ...(opts.args?.(bed) ?? []),
          ...extra,
        ],
        env: { AWS_ACCESS_KEY_ID: MOTO_CREDENTIALS.accessKeyId, AWS_SECRET_ACCESS_KEY: MOTO_CREDENTIALS.secretAccessKey, AWS_EC2_METADATA_DISABLED: 'true' },
        waitLeader: true,
      });
      return ctl;
    },
    async stopController() {
      await ctl?.stop();
      ctl = undefined;
    },
    routes,
    async poolRoutes() {
      const instanceOf = new Map(bed.fx.hosts.map((h) => [h.eniId, h.instanceId]));
      return (await routes()).filter((r) => r.NetworkInterfaceId).map((r) => ({ destination: r.DestinationCidrBlock!, nexthop: instanceOf.get(r.NetworkInterfaceId!) ?? r.NetworkInterfaceId! }));
    },
  };
  return e2e;
}
