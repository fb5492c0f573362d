// hostnet-agent's flags and HOSTNET_AGENT_* variables (a flag wins), checked at start-up so a
// bad value stops the agent with one line naming the flag.
import { hostname } from 'node:os';
import { parseArgs } from 'node:util';
import { normalizeCidr, parseIPv4 } from '../controller/cidr.js';
import { parseDuration } from '../controller/config.js';

export interface AgentConfig {
  kubeconfig?: string;
  /** Empty when it comes from the metadata service (resolved at start-up: identity.ts). */
  instanceId: string;
  metadata: 'none' | 'openstack' | 'aws';
  metadataEndpoint: string;
  hostIp?: string;
  poolCidr: string;
  dockerHost: string;
  networkName: string;
  bridgeName: string;
  checkPeriodMs: number;
  forwardAccept: boolean;
  routing: 'cloud' | 'direct';
  register: boolean;
  registerName: string;
  watchIdleTimeoutMs: number;
  metricsBindAddress: string;
  healthBindAddress: string;
  logLevel: 'error' | 'warn' | 'info' | 'debug';
  logFormat: 'auto' | 'json' | 'text';
}

interface FlagDef {
  default?: string;
  help: string;
}

export const AGENT_FLAGS: Record<string, FlagDef> = {
  kubeconfig: { help: "Path to the host's kubeconfig (hostnet-agent-kubeconfig makes one per host). Default: in-cluster config, then $KUBECONFIG, then ~/.kube/config." },
  'instance-id': { help: "This host's server id (the HostNetworks with this spec.instanceID are served here). Required unless --metadata is set; with it, both must agree." },
  metadata: { default: 'none', help: 'Read the server id and address from the metadata service: openstack (Huawei Cloud, OTC: meta_data.json uuid), aws (IMDSv2 instance-id), or none.' },
  'metadata-endpoint': { default: 'http://169.254.169.254', help: 'Address of the metadata service.' },
  'host-ip': { help: "This host's address in the VPC subnet (optional; logged at start-up)." },
  'pool-cidr': { default: '10.0.0.0/16', help: "The controller's --pool-cidr: forwarding between a block and the pool is accepted and not masqueraded." },
  'docker-host': { default: 'unix:///var/run/docker.sock', help: 'The Docker Engine API socket.' },
  'network-name': { default: 'hostnet', help: 'Name of the Docker network of the block (`docker run --net hostnet`). A second block served at once (during a migration) gets <name>-<HostNetwork>.' },
  'bridge-name': { default: 'hn-br0', help: 'Linux bridge of that network (at most 15 characters).' },
  'check-period': { default: '10s', help: 'How often the Docker network, ip_forward and the iptables chains are checked and repaired.' },
  'forward-accept': { default: 'false', help: "Also set the FORWARD policy to ACCEPT (the seed's `iptables -P FORWARD ACCEPT`). Not needed: the agent's chain accepts the pool's traffic and Docker's DROP stays for everything else." },
  routing: {
    default: 'cloud',
    help: "cloud (the VPC's route table carries the blocks: the controller's job) or direct (no cloud router, seed 004's Direct Routing: this agent adds `ip route replace <peer block> via <peer host IP> proto 91` for every other HostNetwork whose host is on one of this host's subnets, and sweeps its stale ones; run the controller with a provider that only allocates).",
  },
  register: { default: 'false', help: 'Create a HostNetwork for this server when none serves it (spec.instanceID, spec.hostIP from --host-ip or the metadata service); the controller then allocates its block.' },
  'register-name': { help: 'Name of that HostNetwork. Default: the host name (lowercase).' },
  'watch-idle-timeout': { default: '5m', help: 'Restart the watch when it has been silent this long.' },
  'metrics-bind-address': { default: ':9110', help: 'Address of /metrics. "0" disables.' },
  'health-bind-address': { default: ':9111', help: 'Address of /healthz and /readyz. "0" disables.' },
  'log-level': { default: 'info', help: 'error, warn, info or debug.' },
  'log-format': { default: 'auto', help: 'json, text, or auto (text on a terminal, json otherwise).' },
};

export class AgentConfigError extends Error {}

function registerName(name: string, bad: (flag: string, why: string) => never): string {
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(name)) bad('register-name', `${JSON.stringify(name)} is not a valid object name (lowercase letters, digits, '-', '.')`);
  return name;
}

export function agentEnvName(flag: string): string {
  return `HOSTNET_AGENT_${flag.toUpperCase().replace(/-/g, '_')}`;
}

export function agentUsage(): string {
  const lines = [
    'Usage: hostnet-agent --instance-id=<server id> [flags]',
    '',
    'Runs on each host: for every HostNetwork whose spec.instanceID is this server and whose',
    'block (status.podCIDR) is allocated, it creates the Docker network of the block, turns on',
    "ip_forward and keeps its own iptables chains (accept the pool's traffic, masquerade only what",
    'leaves the pool), and reports the condition HostConfigured. Every flag can also be set as',
    'HOSTNET_AGENT_<FLAG> (e.g. HOSTNET_AGENT_INSTANCE_ID).',
    '',
    'Flags:',
  ];
  for (const [name, def] of Object.entries(AGENT_FLAGS)) {
    const dflt = def.default !== undefined && def.default !== '' ? ` (default ${JSON.stringify(def.default)})` : '';
    lines.push(`  --${name}`, `      ${def.help}${dflt}`);
  }
  lines.push('  --help', '      Show this help.');
  return lines.join('\n');
}

export type AgentParseResult = { kind: 'help' } | { kind: 'config'; config: AgentConfig };

export function parseAgentConfig(argv: string[], env: NodeJS.ProcessEnv = process.env): AgentParseResult {
  const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
  for (const name of Object.keys(AGENT_FLAGS)) options[name] = { type: 'string' };
  let values: Record<string, string | boolean | undefined>;
  try {
    values = parseArgs({ args: argv, options, strict: true, allowPositionals: false }).values as typeof values;
  } catch (err) {
    throw new AgentConfigError(`${(err as Error).message.split('\n')[0]} (see --help)`);
  }
  if (values.help) return { kind: 'help' };
  const raw = (flag: string): string | undefined => {
    const v = values[flag];
    if (typeof v === 'string') return v;
    const e = env[agentEnvName(flag)];
    return e !== undefined && e !== '' ? e : AGENT_FLAGS[flag]?.default;
  };
  const bad = (flag: string, why: string): never => {
    throw new AgentConfigError(`invalid --${flag}=${JSON.stringify(raw(flag) ?? '')}: ${why}`);
  };
  const str = (flag: string): string | undefined => {
    const v = raw(flag)?.trim();
    return v === '' ? undefined : v;
  };
  const duration = (flag: string, minMs: number): number => {
    const v = parseDuration(raw(flag) ?? '');
    if (v === undefined) return bad(flag, 'want a duration such as 500ms, 30s, 5m or 1h');
    if (v < minMs) bad(flag, `must be at least ${minMs} ms`);
    return v;
  };
  const oneOf = <T extends string>(flag: string, allowed: readonly T[]): T => {
    const v = raw(flag) as T;
    if (!allowed.includes(v)) bad(flag, `want one of ${allowed.join(', ')}`);
    return v;
  };
  const address = (flag: string): string => {
    const v = raw(flag) ?? '';
    if (v !== '0' && !/^(\[[0-9a-fA-F:]+\]|[\w.-]*):\d{1,5}$/.test(v)) bad(flag, 'want [host]:port, e.g. :9110 or 127.0.0.1:9110, or 0 to disable');
    return v;
  };

  const metadata = oneOf('metadata', ['none', 'openstack', 'aws'] as const);
  const metadataEndpoint = str('metadata-endpoint') ?? bad('metadata-endpoint', 'required');
  if (!/^https?:\/\/[^\s/]+$/.test(metadataEndpoint)) bad('metadata-endpoint', 'want http://host[:port]');
  const instanceId = str('instance-id') ?? (metadata === 'none' ? bad('instance-id', "required: this host's server id (the HostNetworks' spec.instanceID), or --metadata=openstack|aws") : '');
  if (instanceId && !/^[A-Za-z0-9][A-Za-z0-9._-]{0,127}$/.test(instanceId)) bad('instance-id', 'want the server id (letters, digits, dots, dashes, underscores)');
  const hostIp = str('host-ip');
  if (hostIp !== undefined && parseIPv4(hostIp) === undefined) bad('host-ip', 'want an IPv4 address');
  const poolCidr = normalizeCidr(raw('pool-cidr') ?? '') ?? bad('pool-cidr', 'want an IPv4 network address such as 10.0.0.0/16');
  const dockerHost = str('docker-host') ?? bad('docker-host', 'required');
  if (!dockerHost.startsWith('unix:///') && !dockerHost.startsWith('/')) bad('docker-host', 'want a unix socket, e.g. unix:///var/run/docker.sock');
  const networkName = str('network-name') ?? bad('network-name', 'required');
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,62}$/.test(networkName)) bad('network-name', 'want a Docker network name ([a-zA-Z0-9][a-zA-Z0-9_.-]*)');
  const bridgeName = str('bridge-name') ?? bad('bridge-name', 'required');
  if (!/^[a-zA-Z0-9][a-zA-Z0-9_.-]{0,14}$/.test(bridgeName)) bad('bridge-name', 'want an interface name of at most 15 characters');
  const forward = (raw('forward-accept') ?? '').toLowerCase();
  if (!['true', 'false', '1', '0', 'yes', 'no'].includes(forward)) bad('forward-accept', 'want true or false');
  return {
    kind: 'config',
    config: {
      ...(str('kubeconfig') !== undefined ? { kubeconfig: str('kubeconfig') } : {}),
      instanceId,
      metadata,
      metadataEndpoint,
      ...(hostIp !== undefined ? { hostIp } : {}),
      poolCidr,
      dockerHost,
      networkName,
      bridgeName,
      checkPeriodMs: duration('check-period', 500),
      forwardAccept: ['true', '1', 'yes'].includes(forward),
      routing: oneOf('routing', ['cloud', 'direct'] as const),
      register: ['true', '1', 'yes'].includes((raw('register') ?? '').toLowerCase()),
      registerName: registerName(str('register-name') ?? hostname().toLowerCase().split('.')[0]!, bad),
      watchIdleTimeoutMs: duration('watch-idle-timeout', 1000),
      metricsBindAddress: address('metrics-bind-address'),
      healthBindAddress: address('health-bind-address'),
      logLevel: oneOf('log-level', ['error', 'warn', 'info', 'debug'] as const),
      logFormat: oneOf('log-format', ['auto', 'json', 'text'] as const),
    },
  };
}
