// Configuration from flags and HOSTNET_* environment variables (a flag wins over its variable).
// Every value is checked here, at start-up, so a bad one fails with one line naming the flag
// instead of surfacing later as a confusing reconcile error.
import { parseArgs } from 'node:util';
import { formatCidr, normalizeCidr, parseCidr } from './cidr.js';
import { leaseName } from './installation.js';
import { checkAwsFlags } from './provider/aws/config.js';

export type ProviderName = 'huaweicloud' | 'otc' | 'aws' | 'alibaba' | 'memory' | 'none';

export interface Config {
  kubeconfig?: string;
  poolCidr: string;
  blockSize: number;
  vpcSubnets: string[];
  /**
   * Empty until start-up resolved it (controller/installation.ts): without the flag it is derived
   * from the cluster, so parseConfig cannot know it. withInstallationId() fills it in.
   */
  installationId: string;
  /** True when --installation-id (or its variable) was given. */
  installationIdExplicit: boolean;
  cloudProvider: ProviderName;
  cloudRegion?: string;
  cloudEndpoint?: string;
  /** Alibaba: the ECS API endpoint (security group); default that of --cloud-endpoint, else the region's. */
  alibabaEcsEndpoint?: string;
  cloudProjectId?: string;
  cloudVpcId?: string;
  routeTableIds: string[];
  /** AWS: the tag (key, optionally key=value) that selects the VPC's route tables when no ids are given. */
  routeTableTag?: { key: string; value?: string };
  cloudCredentialsDir?: string;
  cloudTimeoutMs: number;
  cloudQps: number;
  cloudBurst: number;
  cloudReadQps: number;
  sourceDestCheck: 'disable' | 'block' | 'off';
  securityGroupId?: string;
  securityGroupProtocols: ('icmp' | 'udp' | 'tcp' | 'all')[];
  routeTableCapacity: number;
  routeBatchWindowMs: number;
  resyncPeriodMs: number;
  portRecheckMs: number;
  watchIdleTimeoutMs: number;
  workers: number;
  metricsBindAddress: string;
  healthBindAddress: string;
  leaderElect: boolean;
  leaderElectionNamespace: string;
  /** Empty until the installation id is known, unless --leader-election-id was given. */
  leaderElectionId: string;
  leaderElectionIdExplicit: boolean;
  leaseDurationMs: number;
  renewDeadlineMs: number;
  retryPeriodMs: number;
  shutdownGraceMs: number;
  eventNamespace: string;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  logFormat: 'auto' | 'json' | 'text';
}

interface FlagDef {
  type: 'string' | 'boolean';
  default?: string;
  help: string;
}

// The one list of flags: parsing, --help and the docs are generated from it.
export const FLAGS: Record<string, FlagDef> = {
  kubeconfig: { type: 'string', help: 'Path to a kubeconfig. Default: in-cluster config, then $KUBECONFIG, then ~/.kube/config.' },
  'pool-cidr': { type: 'string', default: '10.0.0.0/16', help: 'The pool the container blocks are cut from. Must not be a VPC subnet.' },
  'block-size': { type: 'string', default: '24', help: 'Prefix length of each host block (e.g. 24 for 10.0.2.0/24).' },
  'vpc-subnets': { type: 'string', default: '', help: 'Comma-separated CIDRs never to allocate (the VPC subnets). The local routes of the managed route tables are added automatically.' },
  'installation-id': {
    type: 'string',
    help: 'Names this installation in route descriptions ("hostnet:<id>:<host>"), the lease and the allocation ledger; routes of other ids are never modified or deleted. Default: "default" when this namespace already holds that installation\'s ledger or lease (an installation from before ids were derived), else derived from the kube-system namespace UID (cluster-<8 hex>-<4 hex>), so two clusters never share one.',
  },
  'cloud-provider': { type: 'string', default: 'huaweicloud', help: 'huaweicloud, otc (Open Telekom Cloud), aws (Amazon EC2), alibaba (Alibaba Cloud VPC), memory (an in-process fake for trying the controller without a cloud), or none (direct routing: blocks are only allocated and recorded, each host\'s hostnet-agent routes the peers; no cloud flag may be set).' },
  'cloud-region': { type: 'string', help: 'Region: Huawei Cloud, e.g. cn-north-4 (gives the endpoint https://vpc.<region>.myhuaweicloud.com); aws (required), e.g. eu-central-1; Alibaba Cloud (required), e.g. eu-central-1 (gives https://vpc.<region>.aliyuncs.com).' },
  'cloud-endpoint': { type: 'string', help: 'VPC API endpoint URL; required for otc (e.g. https://vpc.eu-de.otc.t-systems.com); aws: an EC2 endpoint instead of the region\'s public one (e.g. a VPC endpoint); Alibaba: e.g. https://vpc-vpc.eu-central-1.aliyuncs.com (the VPC-internal endpoint).' },
  'alibaba-ecs-endpoint': { type: 'string', help: 'Alibaba: ECS API endpoint URL (security group). Default: the host of --cloud-endpoint when set, else https://ecs.<region>.aliyuncs.com.' },
  'cloud-project-id': { type: 'string', help: 'Project ID of the region (Huawei Cloud, OTC).' },
  'cloud-vpc-id': { type: 'string', help: 'The VPC whose route tables are managed when --route-table-ids is empty (aws: the tables of the VPC carrying --route-table-tag).' },
  'route-table-ids': { type: 'string', default: '', help: 'Comma-separated route table IDs to program. Empty: every table of --cloud-vpc-id.' },
  'route-table-tag': { type: 'string', default: 'hostnet.io/routes', help: 'aws: with --cloud-vpc-id and no --route-table-ids, the tables of the VPC carrying this tag key (key=value: exactly that value) are programmed.' },
  'cloud-credentials-dir': { type: 'string', help: 'Directory with the credentials, e.g. a mounted Secret. Huawei/OTC: files access-key, secret-key (and optional security-token); default $HUAWEICLOUD_SDK_AK / $HUAWEICLOUD_SDK_SK. Alibaba: files access-key-id, access-key-secret (and optional security-token); default the SDK credential chain (environment, profile, ECS RAM role, RRSA/OIDC role). Not used with aws: the AWS SDK\'s default chain (environment, shared files, IRSA / EKS pod identity, instance metadata).' },
  'cloud-timeout': { type: 'string', default: '10s', help: 'Timeout of one cloud API request.' },
  'cloud-qps': { type: 'string', default: '10', help: 'Client-side limit of cloud API writes per second (route tables, NIC ports, security group rules).' },
  'cloud-burst': { type: 'string', default: '10', help: 'Burst allowed above --cloud-qps (and, in its own bucket, above --cloud-read-qps).' },
  'cloud-read-qps': { type: 'string', default: '20', help: 'Client-side limit of cloud API reads per second; a budget of its own, so reads never delay writes.' },
  'source-dest-check': { type: 'string', default: 'disable', help: "disable (the host NIC's source/destination check off for every address), block (only the host's block let through), or off (not managed). Ignored on clouds without such a check." },
  'security-group-id': { type: 'string', help: "Security group that gets an ingress rule for the pool's traffic (optional)." },
  'security-group-protocols': { type: 'string', default: 'all', help: 'all, or a comma list of icmp, udp, tcp.' },
  'route-table-capacity': { type: 'string', default: '200', help: 'Routes a table holds (the cloud quota) until the cloud says otherwise. Default 50 with aws (its default quota per table).' },
  'route-batch-window': { type: 'string', default: '50ms', help: 'How long route changes gather before they are sent (one call per batch where the cloud takes batches).' },
  'resync-period': { type: 'string', default: '5m', help: 'Full resync: every object re-queued and every route table re-read and repaired.' },
  'port-recheck-period': { type: 'string', default: '30m', help: 'How often each host NIC is checked again for its address pair (repairs a source/destination check switched back on). One read per host per period.' },
  'watch-idle-timeout': { type: 'string', default: '5m', help: 'Restart the watch when it has been silent this long (client-node has no watch timeout).' },
  workers: { type: 'string', default: '32', help: 'Objects reconciled concurrently (each mostly waits on the API server; more workers mean larger route batches).' },
  'metrics-bind-address': { type: 'string', default: ':8080', help: 'Address of /metrics. "0" disables.' },
  'health-bind-address': { type: 'string', default: ':8081', help: 'Address of /healthz and /readyz. "0" disables.' },
  'leader-elect': { type: 'string', default: 'true', help: 'Elect a leader on a Lease so that several replicas can run; only the leader reconciles.' },
  'leader-election-namespace': { type: 'string', help: 'Namespace of the Lease and the allocation ledger. Default: $POD_NAMESPACE, else "default".' },
  'leader-election-id': { type: 'string', help: 'Name of the Lease. Default: hostnet-controller-<installation-id>.' },
  'lease-duration': { type: 'string', default: '15s', help: 'How long a lease holds without renewal.' },
  'renew-deadline': { type: 'string', default: '10s', help: 'The leader gives up (and stops reconciling) when it could not renew for this long.' },
  'retry-period': { type: 'string', default: '2s', help: 'How often candidates try to acquire and the leader renews.' },
  'shutdown-grace-period': {
    type: 'string',
    default: '15s',
    help: "On SIGTERM: how long cloud writes and reconciles already under way may take to finish before the lease is handed back. Keep it, plus --renew-deadline, below the pod's terminationGracePeriodSeconds.",
  },
  'event-namespace': { type: 'string', default: 'default', help: 'Namespace of Events about HostNetworks (they are cluster-scoped).' },
  'log-level': { type: 'string', default: 'info', help: 'error, warn, info or debug.' },
  'log-format': { type: 'string', default: 'auto', help: 'json, text, or auto (text on a terminal, json otherwise).' },
};

export class ConfigError extends Error {}

/** The flags that only mean something to a cloud: refused with --cloud-provider=none. */
const NO_CLOUD_FLAGS = [
  'cloud-region',
  'route-table-tag',
  'alibaba-ecs-endpoint',
  'cloud-endpoint',
  'cloud-project-id',
  'cloud-vpc-id',
  'route-table-ids',
  'cloud-credentials-dir',
  'security-group-id',
] as const;

/** What --installation-id accepts (it goes into route descriptions and object names). */
export const INSTALLATION_ID = /^[a-z0-9]([a-z0-9-]{0,38}[a-z0-9])?$/;

/** The configuration with the installation id resolved at start-up (and the Lease named after it). */
export function withInstallationId(config: Config, installationId: string): Config {
  if (!INSTALLATION_ID.test(installationId)) throw new ConfigError(`installation id ${JSON.stringify(installationId)} is not valid`);
  return { ...config, installationId, leaderElectionId: config.leaderElectionIdExplicit ? config.leaderElectionId : leaseName(installationId) };
}

export function usage(): string {
  const lines = [
    'Usage: hostnet-controller [flags]',
    '',
    'Gives each HostNetwork (one per cloud host) a container CIDR block and programs the VPC',
    'route tables, NIC source/destination check and security group so containers on different',
    'hosts reach each other. Every flag can also be set as HOSTNET_<FLAG> (e.g. HOSTNET_POOL_CIDR).',
    '',
    'Flags:',
  ];
  for (const [name, def] of Object.entries(FLAGS)) {
    const dflt = def.default !== undefined && def.default !== '' ? ` (default ${JSON.stringify(def.default)})` : '';
    lines.push(`  --${name}`, `      ${def.help}${dflt}`);
  }
  lines.push('  --help', '      Show this help.', '  --version', '      Print the version.');
  return lines.join('\n');
}

export function envName(flag: string): string {
  return `HOSTNET_${flag.toUpperCase().replace(/-/g, '_')}`;
}

/** "250ms", "10s", "5m", "1h" → milliseconds. */
export function parseDuration(text: string): number | undefined {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)$/.exec(text.trim());
  if (!m) return undefined;
  const unit = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 }[m[2] as 'ms' | 's' | 'm' | 'h'];
  return Math.round(Number(m[1]) * unit);
}

export type ParseResult = { kind: 'help' } | { kind: 'version' } | { kind: 'config'; config: Config };

export function parseConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): ParseResult {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' }, version: { type: 'boolean' } };
  for (const [name, def] of Object.entries(FLAGS)) options[name] = { type: def.type };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as typeof values;
  } catch (err) {
    throw new ConfigError(`${(err as Error).message.split('\n')[0]} (see --help)`);
  }
  if (values.help) return { kind: 'help' };
  if (values.version) return { kind: 'version' };

  const raw = (flag: string): string | undefined => {
    const v = values[flag];
    if (typeof v === 'string') return v;
    // An empty variable (Kubernetes `value: ""`) counts as unset.
    const e = env[envName(flag)];
    return e !== undefined && e !== '' ? e : FLAGS[flag]?.default;
  };
  const bad = (flag: string, why: string): never => {
    throw new ConfigError(`invalid --${flag}=${JSON.stringify(raw(flag) ?? '')}: ${why}`);
  };
  const str = (flag: string): string | undefined => {
    const v = raw(flag)?.trim();
    return v === '' ? undefined : v;
  };
  const list = (flag: string): string[] => (raw(flag) ?? '').split(',').map((s) => s.trim()).filter(Boolean);
  const int = (flag: string, min: number, max: number): number => {
    const v = Number(raw(flag));
    if (!Number.isInteger(v) || v < min || v > max) bad(flag, `want an integer from ${min} to ${max}`);
    return v;
  };
  const num = (flag: string, min: number): number => {
    const v = Number(raw(flag));
    if (!Number.isFinite(v) || v < min) bad(flag, `want a number of at least ${min}`);
    return v;
  };
  const duration = (flag: string, minMs: number): number => {
    const v = parseDuration(raw(flag) ?? '');
    if (v === undefined) bad(flag, 'want a duration such as 500ms, 30s, 5m or 1h');
    if (v! < minMs) bad(flag, `must be at least ${minMs} ms`);
    return v!;
  };
  const oneOf = <T extends string>(flag: string, allowed: readonly T[]): T => {
    const v = raw(flag) as T;
    if (!allowed.includes(v)) bad(flag, `want one of ${allowed.join(', ')}`);
    return v;
  };
  const bool = (flag: string): boolean => {
    const v = (raw(flag) ?? '').toLowerCase();
    if (['true', '1', 'yes'].includes(v)) return true;
    if (['false', '0', 'no'].includes(v)) return false;
    return bad(flag, 'want true or false');
  };
  const address = (flag: string): string => {
    const v = raw(flag) ?? '';
    if (v !== '0' && !/^(\[[0-9a-fA-F:]+\]|[\w.-]*):\d{1,5}$/.test(v)) bad(flag, 'want [host]:port, e.g. :8080 or 127.0.0.1:8080, or 0 to disable');
    return v;
  };

  const pool = parseCidr(raw('pool-cidr') ?? '');
  if (!pool) bad('pool-cidr', 'want an IPv4 network address such as 10.0.0.0/16 (no host bits set)');
  const poolCidr = formatCidr(pool!);
  const blockSize = int('block-size', 1, 32);
  if (blockSize < pool!.prefix) bad('block-size', `a /${blockSize} block does not fit in the pool ${poolCidr}`);
  if (blockSize - pool!.prefix > 24) bad('block-size', `the pool ${poolCidr} would have more than 16,777,216 blocks`);

  const vpcSubnets = list('vpc-subnets').map((s) => normalizeCidr(s) ?? bad('vpc-subnets', `${s} is not an IPv4 network address`));
  const installationId = raw('installation-id') ?? '';
  const installationIdExplicit = values['installation-id'] !== undefined || (env[envName('installation-id')] ?? '') !== '';
  if (installationIdExplicit && !INSTALLATION_ID.test(installationId)) {
    bad('installation-id', 'want 1-40 lowercase letters, digits and dashes (it goes into route descriptions and object names)');
  }
  const cloudProvider = oneOf('cloud-provider', ['huaweicloud', 'otc', 'aws', 'alibaba', 'memory', 'none'] as const);
  const cloudEndpoint = str('cloud-endpoint');
  if (cloudEndpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(cloudEndpoint)) bad('cloud-endpoint', 'want a URL such as https://vpc.eu-de.otc.t-systems.com');
  const cloudRegion = str('cloud-region');
  const cloudProjectId = str('cloud-project-id');
  const cloudVpcId = str('cloud-vpc-id');
  const routeTableIds = list('route-table-ids');
  const alibabaEcsEndpoint = str('alibaba-ecs-endpoint');
  if (alibabaEcsEndpoint !== undefined && !/^https?:\/\/[^\s/]+/.test(alibabaEcsEndpoint)) bad('alibaba-ecs-endpoint', 'want a URL such as https://ecs.eu-central-1.aliyuncs.com');
  const given = (flag: string): boolean => values[flag] !== undefined || (env[envName(flag)] ?? '') !== '';
  let routeTableTag: Config['routeTableTag'];
  if (cloudProvider === 'none') {
    // No cloud is called at all: a cloud flag set anyway means the operator expects something
    // (a route table, a security group) that would silently not happen. Refuse it, naming it.
    for (const flag of NO_CLOUD_FLAGS) {
      if (values[flag] !== undefined || (env[envName(flag)] ?? '') !== '') bad(flag, 'has no effect with --cloud-provider=none (no cloud is called: each host\'s hostnet-agent routes the peers); remove it');
    }
  } else if (cloudProvider === 'alibaba') {
    if (!cloudRegion) bad('cloud-region', 'is required with --cloud-provider=alibaba (e.g. eu-central-1)');
    if (!/^[a-z]{2,}-[a-z0-9-]+$/.test(cloudRegion!)) bad('cloud-region', 'want an Alibaba Cloud region id such as eu-central-1');
    if (!cloudVpcId && routeTableIds.length === 0) bad('route-table-ids', 'set --route-table-ids or --cloud-vpc-id (then every route table of the VPC is used)');
  } else if (cloudProvider === 'aws') {
    if (cloudProjectId) bad('cloud-project-id', 'is not used with --cloud-provider=aws');
    if (str('cloud-credentials-dir')) bad('cloud-credentials-dir', "is not used with --cloud-provider=aws: credentials come from the AWS SDK's default chain (AWS_* variables, shared files, IRSA / EKS pod identity, instance metadata)");
    const checked = checkAwsFlags({ region: cloudRegion, vpcId: cloudVpcId, routeTableIds, routeTableTag: str('route-table-tag') });
    if ('problem' in checked) bad(...checked.problem);
    else routeTableTag = checked.tag;
  } else if (cloudProvider !== 'memory') {
    if (cloudProvider === 'otc' && !cloudEndpoint) bad('cloud-endpoint', 'is required with --cloud-provider=otc (the SDK knows no OTC regions)');
    if (cloudProvider === 'huaweicloud' && !cloudEndpoint && !cloudRegion) bad('cloud-region', 'set --cloud-region or --cloud-endpoint');
    if (!cloudProjectId) bad('cloud-project-id', 'is required (without it the SDK would ask IAM, or send a literal {project_id})');
    if (!cloudVpcId && routeTableIds.length === 0) bad('route-table-ids', 'set --route-table-ids or --cloud-vpc-id (then every table of the VPC is used)');
  }
  const protocols = list('security-group-protocols');
  for (const p of protocols) if (!['icmp', 'udp', 'tcp', 'all'].includes(p)) bad('security-group-protocols', `unknown protocol ${p}; want all or icmp, udp, tcp`);
  if (protocols.length === 0) bad('security-group-protocols', 'want all or a list of icmp, udp, tcp');

  const leaseDurationMs = duration('lease-duration', 1000);
  const renewDeadlineMs = duration('renew-deadline', 500);
  const retryPeriodMs = duration('retry-period', 100);
  if (renewDeadlineMs >= leaseDurationMs) bad('renew-deadline', 'must be shorter than --lease-duration, or two leaders could overlap');
  if (retryPeriodMs >= renewDeadlineMs) bad('retry-period', 'must be shorter than --renew-deadline');

  const logFormat = oneOf('log-format', ['auto', 'json', 'text'] as const);
  return {
    kind: 'config',
    config: {
      kubeconfig: str('kubeconfig'),
      poolCidr,
      blockSize,
      vpcSubnets,
      installationId,
      installationIdExplicit,
      cloudProvider,
      cloudRegion,
      cloudEndpoint,
      alibabaEcsEndpoint,
      cloudProjectId,
      cloudVpcId,
      routeTableIds,
      ...(routeTableTag ? { routeTableTag } : {}),
      cloudCredentialsDir: str('cloud-credentials-dir'),
      cloudTimeoutMs: duration('cloud-timeout', 100),
      cloudQps: num('cloud-qps', 0.1),
      cloudBurst: int('cloud-burst', 1, 1000),
      cloudReadQps: num('cloud-read-qps', 0.1),
      sourceDestCheck: oneOf('source-dest-check', ['disable', 'block', 'off'] as const),
      securityGroupId: str('security-group-id'),
      securityGroupProtocols: protocols as Config['securityGroupProtocols'],
      routeTableCapacity: cloudProvider === 'aws' && !given('route-table-capacity') ? 50 : int('route-table-capacity', 1, 100_000),
      routeBatchWindowMs: duration('route-batch-window', 0),
      resyncPeriodMs: duration('resync-period', 1000),
      portRecheckMs: duration('port-recheck-period', 1000),
      watchIdleTimeoutMs: duration('watch-idle-timeout', 1000),
      workers: int('workers', 1, 256),
      metricsBindAddress: address('metrics-bind-address'),
      healthBindAddress: address('health-bind-address'),
      leaderElect: bool('leader-elect'),
      leaderElectionNamespace: str('leader-election-namespace') ?? env.POD_NAMESPACE ?? 'default',
      leaderElectionId: str('leader-election-id') ?? (installationId ? leaseName(installationId) : ''),
      leaderElectionIdExplicit: str('leader-election-id') !== undefined,
      leaseDurationMs,
      renewDeadlineMs,
      retryPeriodMs,
      shutdownGraceMs: duration('shutdown-grace-period', 0),
      eventNamespace: str('event-namespace') ?? 'default',
      logLevel: oneOf('log-level', ['error', 'warn', 'info', 'debug'] as const),
      logFormat,
    },
  };
}
