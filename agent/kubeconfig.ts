#!/usr/bin/env node
// hostnet-agent-kubeconfig: gives one host its own credentials (docs/agent.md). With an admin's
// kubeconfig it creates (or reuses) the ServiceAccount hostnet-agent-<server id> in the
// release namespace, binds it to the agents' ClusterRole, asks the TokenRequest API for a token
// and prints a kubeconfig for that host. The chart's ValidatingAdmissionPolicy then limits the
// identity to the HostNetworks whose spec.instanceID is that server.
//
//   hostnet-agent-kubeconfig --instance-id=<server id> [--namespace=hostnet-system]
//     [--cluster-role=hostnet-controller-agent] [--duration=8760h] [--server=https://...]
//     [--kubeconfig=admin.kubeconfig] > /etc/hostnet-agent/kubeconfig
//
// Exit status: 0 done, 1 the API server refused, 2 bad flags. The token is written only to
// stdout (or --output, mode 0600), never logged.
import { writeFileSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { CoreV1Api, KubeConfig, RbacAuthorizationV1Api } from '@kubernetes/client-node';
import { parseDuration } from '../controller/config.js';

export const SA_PREFIX = 'hostnet-agent-';

/** The ServiceAccount of a server: hostnet-agent-<id>; the id must fit a DNS-1123 subdomain. */
export function serviceAccountName(instanceId: string): string {
  const name = `${SA_PREFIX}${instanceId}`;
  if (!/^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$/.test(name)) {
    throw new Error(`server id ${JSON.stringify(instanceId)} cannot name a ServiceAccount (lowercase letters, digits, '-' and '.' only)`);
  }
  return name;
}

export interface AgentCredentialsOptions {
  instanceId: string;
  namespace: string;
  clusterRole: string;
  durationSeconds: number;
  /** API server address written into the kubeconfig; default: the admin kubeconfig's. */
  server?: string;
}

/** Creates SA + binding (idempotent) and returns the host's kubeconfig as YAML text. */
export async function agentKubeconfig(admin: KubeConfig, o: AgentCredentialsOptions): Promise<string> {
  const name = serviceAccountName(o.instanceId);
  const core = admin.makeApiClient(CoreV1Api);
  const rbac = admin.makeApiClient(RbacAuthorizationV1Api);
  const labels = { 'app.kubernetes.io/name': 'hostnet-agent', 'hostnet.io/instance-id': o.instanceId.slice(0, 63) };
  const exists = (err: unknown): boolean => (err as { code?: number }).code === 409;
  await core.createNamespacedServiceAccount({ namespace: o.namespace, body: { metadata: { name, namespace: o.namespace, labels } } }).catch((err: unknown) => {
    if (!exists(err)) throw err;
  });
  await rbac
    .createClusterRoleBinding({
      body: {
        metadata: { name, labels },
        roleRef: { apiGroup: 'rbac.authorization.k8s.io', kind: 'ClusterRole', name: o.clusterRole },
        subjects: [{ kind: 'ServiceAccount', name, namespace: o.namespace }],
      },
    })
    .catch((err: unknown) => {
      if (!exists(err)) throw err;
    });
  // TokenRequest, a subresource of the ServiceAccount: no token Secret is stored in the cluster.
  const tr = await core.createNamespacedServiceAccountToken({ name, namespace: o.namespace, body: { spec: { audiences: [], expirationSeconds: o.durationSeconds } } });
  const token = tr.status?.token;
  if (!token) throw new Error('the API server returned no token');
  const cluster = admin.getCurrentCluster();
  if (!cluster) throw new Error('the admin kubeconfig has no current cluster');
  const server = o.server ?? cluster.server;
  const lines = [
    'apiVersion: v1',
    'kind: Config',
    'clusters:',
    '- name: hostnet',
    '  cluster:',
    `    server: ${JSON.stringify(server)}`,
    ...(cluster.caData ? [`    certificate-authority-data: ${cluster.caData}`] : []),
    ...(cluster.skipTLSVerify ? ['    insecure-skip-tls-verify: true'] : []),
    'users:',
    `- name: ${name}`,
    '  user:',
    `    token: ${token}`,
    'contexts:',
    `- name: ${name}`,
    `  context: {cluster: hostnet, user: ${name}}`,
    `current-context: ${name}`,
    '',
  ];
  return lines.join('\n');
}

const USAGE = `Usage: hostnet-agent-kubeconfig --instance-id=<server id> [flags] > kubeconfig

Creates (or reuses) the ServiceAccount hostnet-agent-<server id>, binds it to the agents'
ClusterRole and prints a kubeconfig with a token for it (TokenRequest API). Install the chart
with agent.enabled=true first: its admission policy limits this identity to the HostNetworks of
that server. Uses the admin's kubeconfig ($KUBECONFIG or --kubeconfig).

Flags:
  --instance-id     the host's server id (spec.instanceID of its HostNetworks). Required.
  --namespace       the chart's release namespace (default "hostnet-system")
  --cluster-role    the agents' ClusterRole (default "hostnet-controller-agent")
  --duration        token lifetime (default "8760h"; run again to renew)
  --server          API server URL written into the kubeconfig (default: the admin kubeconfig's)
  --kubeconfig      the admin's kubeconfig
  --output          write to this file (mode 0600) instead of stdout
  --help            show this help`;

async function main(argv: string[]): Promise<number> {
  let v: Record<string, string | boolean | undefined>;
  try {
    const options: Record<string, { type: 'string' | 'boolean' }> = { help: { type: 'boolean' } };
    for (const k of ['instance-id', 'namespace', 'cluster-role', 'duration', 'server', 'kubeconfig', 'output']) options[k] = { type: 'string' };
    v = parseArgs({ args: argv, options, strict: true }).values as typeof v;
  } catch (err) {
    console.error(`hostnet-agent-kubeconfig: ${(err as Error).message.split('\n')[0]} (see --help)`);
    return 2;
  }
  if (v.help) {
    console.log(USAGE);
    return 0;
  }
  const id = typeof v['instance-id'] === 'string' ? v['instance-id'] : '';
  const duration = parseDuration(typeof v.duration === 'string' ? v.duration : '8760h');
  if (!id || duration === undefined || duration < 600_000) {
    console.error(`hostnet-agent-kubeconfig: ${!id ? '--instance-id is required' : '--duration wants a duration of at least 10m, e.g. 8760h'} (see --help)`);
    return 2;
  }
  try {
    serviceAccountName(id);
  } catch (err) {
    console.error(`hostnet-agent-kubeconfig: invalid --instance-id: ${(err as Error).message}`);
    return 2;
  }
  const admin = new KubeConfig();
  if (typeof v.kubeconfig === 'string') admin.loadFromFile(v.kubeconfig);
  else admin.loadFromDefault();
  try {
    const text = await agentKubeconfig(admin, {
      instanceId: id,
      namespace: typeof v.namespace === 'string' ? v.namespace : 'hostnet-system',
      clusterRole: typeof v['cluster-role'] === 'string' ? v['cluster-role'] : 'hostnet-controller-agent',
      durationSeconds: Math.round(duration / 1000),
      ...(typeof v.server === 'string' ? { server: v.server } : {}),
    });
    if (typeof v.output === 'string') writeFileSync(v.output, text, { mode: 0o600 });
    else process.stdout.write(text);
    return 0;
  } catch (err) {
    const e = err as { code?: number; body?: string; message?: string };
    console.error(`hostnet-agent-kubeconfig: ${e.code ? `API server answered ${e.code}: ${e.body ?? ''}` : (e.message ?? String(err))}`);
    return 1;
  }
}

if (process.argv[1] && /kubeconfig(\.(ts|js))?$/.test(process.argv[1])) {
  void main(process.argv.slice(2)).then((code) => process.exit(code));
}
