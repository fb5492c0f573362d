// moto (getmoto/moto 5.2.5), the AWS emulator nobody here wrote, as the AWS provider's test peer:
// one moto_server per mocha run on 127.0.0.1 and a free port, installed by hack/moto.sh into the
// tool cache (never the moto_server some machines carry on PATH), reset between tests with
// POST /moto-api/reset, stopped and reaped by the global teardown (hooks.ts) or stopMoto().
//
// buildAwsFixture() then creates what a test needs — VPC, subnet, instances with their primary
// ENIs, route tables, a security group — through @aws-sdk/client-ec2 itself, as a user would.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createWriteStream, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import {
  AuthorizeSecurityGroupIngressCommand,
  CreateRouteTableCommand,
  CreateSecurityGroupCommand,
  CreateSubnetCommand,
  CreateVpcCommand,
  EC2Client,
  RunInstancesCommand,
  type Instance,
} from '@aws-sdk/client-ec2';
import { freePort } from '../../hack/controlplane.js';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..', '..');

/** Fixed fake credentials: moto accepts any, and tests must never read a real ~/.aws. */
export const MOTO_CREDENTIALS = { accessKeyId: 'AKIAMOTOTESTKEY00001', secretAccessKey: 'moto-test-secret-not-a-real-one' } as const;
export const MOTO_REGION = 'eu-central-1';

export interface Moto {
  /** http://127.0.0.1:PORT */
  endpoint: string;
  port: number;
  /** Clears every resource moto holds (POST /moto-api/reset). */
  reset(): Promise<void>;
  stop(): Promise<void>;
}

/** hack/moto.sh installs moto into the cache when missing (a no-op when warm) and prints moto_server's path. */
export function motoServerPath(): string {
  const script = join(repoRoot, 'hack', 'moto.sh');
  return execFileSync(script, ['path'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
}

async function waitAnswering(endpoint: string, child: ChildProcess, logFile: string, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) throw new Error(`moto_server exited with code ${child.exitCode}; see ${logFile}`);
    try {
      // moto's own dashboard API: answers once the server serves requests.
      const res = await fetch(`${endpoint}/moto-api/data.json`, { signal: AbortSignal.timeout(2000) });
      if (res.ok) return;
    } catch {
      /* not listening yet */
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  throw new Error(`moto_server did not answer within ${timeoutMs} ms; see ${logFile}`);
}

export async function startMoto(opts: { readyTimeoutMs?: number } = {}): Promise<Moto> {
  const server = motoServerPath();
  const port = await freePort();
  const dir = mkdtempSync(join(tmpdir(), 'hostnet-moto-'));
  const logFile = join(dir, 'moto.log');
  const out = createWriteStream(logFile);
  const child = spawn(server, ['-H', '127.0.0.1', '-p', String(port)], { stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout?.pipe(out);
  child.stderr?.pipe(out);
  const onExit = (): void => {
    if (child.exitCode === null) child.kill('SIGKILL');
  };
  process.on('exit', onExit);
  const endpoint = `http://127.0.0.1:${port}`;
  const stop = async (): Promise<void> => {
    process.off('exit', onExit);
    if (child.exitCode === null && child.signalCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(timer);
    }
    out.end();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitAnswering(endpoint, child, logFile, opts.readyTimeoutMs ?? 60_000);
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    endpoint,
    port,
    stop,
    async reset() {
      const res = await fetch(`${endpoint}/moto-api/reset`, { method: 'POST' });
      if (!res.ok) throw new Error(`moto reset: HTTP ${res.status}`);
      await res.body?.cancel();
    },
  };
}

let shared: Promise<Moto> | undefined;

/** The one moto of this mocha run, started on first use. */
export function sharedMoto(): Promise<Moto> {
  shared ??= startMoto();
  return shared;
}

export async function stopSharedMoto(): Promise<void> {
  if (!shared) return;
  const m = await shared.catch(() => undefined);
  shared = undefined;
  await m?.stop();
}

/** An EC2 client for test set-up (not the provider's): fixed fake credentials, no retries. */
export function testEc2Client(endpoint: string): EC2Client {
  return new EC2Client({ region: MOTO_REGION, endpoint, credentials: MOTO_CREDENTIALS, maxAttempts: 1 });
}

export interface AwsHost {
  instanceId: string;
  /** The primary ENI (device index 0). */
  eniId: string;
  privateIp: string;
}

export interface AwsFixture {
  ec2: EC2Client;
  vpcId: string;
  vpcCidr: string;
  subnetId: string;
  hosts: AwsHost[];
  /** Route tables created for the test (besides the VPC's main table), tagged as asked. */
  tableIds: string[];
  securityGroupId: string;
}

export interface AwsFixtureOptions {
  hosts?: number;
  tables?: number;
  /** Tags every created route table carries (e.g. the discovery tag). */
  tableTags?: Record<string, string>;
  vpcCidr?: string;
  /** The hosts' subnet; default the VPC's x.y.1.0/24 (about 250 addresses: pass a larger one for more hosts). */
  subnetCidr?: string;
  /** Extra secondary ENIs per instance (multi-NIC hosts). */
  extraNics?: number;
}

function primaryEni(inst: Instance): AwsHost {
  const nic = inst.NetworkInterfaces?.find((n) => n.Attachment?.DeviceIndex === 0);
  if (!inst.InstanceId || !nic?.NetworkInterfaceId) throw new Error(`moto returned an instance without a primary ENI: ${JSON.stringify(inst)}`);
  return { instanceId: inst.InstanceId, eniId: nic.NetworkInterfaceId, privateIp: nic.PrivateIpAddress ?? inst.PrivateIpAddress ?? '' };
}

/** Builds a VPC with a subnet, instances, route tables and a security group through the SDK. */
export async function buildAwsFixture(endpoint: string, opts: AwsFixtureOptions = {}): Promise<AwsFixture> {
  const ec2 = testEc2Client(endpoint);
  const vpcCidr = opts.vpcCidr ?? '10.0.0.0/16';
  const vpc = await ec2.send(new CreateVpcCommand({ CidrBlock: vpcCidr }));
  const vpcId = vpc.Vpc!.VpcId!;
  const subnet = await ec2.send(new CreateSubnetCommand({ VpcId: vpcId, CidrBlock: opts.subnetCidr ?? vpcCidr.replace(/\.0\.0\/16$/, '.1.0/24') }));
  const subnetId = subnet.Subnet!.SubnetId!;
  const hosts: AwsHost[] = [];
  const count = opts.hosts ?? 2;
  if (count > 0) {
    const networkInterfaces = opts.extraNics
      ? [{ DeviceIndex: 0, SubnetId: subnetId }, ...Array.from({ length: opts.extraNics }, (_, i) => ({ DeviceIndex: i + 1, SubnetId: subnetId }))]
      : undefined;
    const run = await ec2.send(
      new RunInstancesCommand({
        ImageId: 'ami-12c6146b', // moto accepts any AMI id
        InstanceType: 't3.micro',
        MinCount: count,
        MaxCount: count,
        ...(networkInterfaces ? { NetworkInterfaces: networkInterfaces } : { SubnetId: subnetId }),
      }),
    );
    for (const inst of run.Instances ?? []) hosts.push(primaryEni(inst));
  }
  const tagSpec = opts.tableTags
    ? [{ ResourceType: 'route-table' as const, Tags: Object.entries(opts.tableTags).map(([Key, Value]) => ({ Key, Value })) }]
    : undefined;
  const tableIds: string[] = [];
  for (let i = 0; i < (opts.tables ?? 1); i++) {
    const t = await ec2.send(new CreateRouteTableCommand({ VpcId: vpcId, ...(tagSpec ? { TagSpecifications: tagSpec } : {}) }));
    tableIds.push(t.RouteTable!.RouteTableId!);
  }
  const sg = await ec2.send(new CreateSecurityGroupCommand({ GroupName: `hostnet-${vpcId}`, Description: 'hosts of the test', VpcId: vpcId }));
  const securityGroupId = sg.GroupId!;
  // A rule of someone else's, so tests see ours added beside it and nothing else touched.
  await ec2.send(
    new AuthorizeSecurityGroupIngressCommand({
      GroupId: securityGroupId,
      IpPermissions: [{ IpProtocol: 'tcp', FromPort: 22, ToPort: 22, IpRanges: [{ CidrIp: '192.0.2.0/24' }] }],
    }),
  );
  return { ec2, vpcId, vpcCidr, subnetId, hosts, tableIds, securityGroupId };
}
