#!/usr/bin/env node
// hostnet-agent: the host half of the procedure (docs/agent.md). Configuration, JSON logs,
// /metrics, /healthz and /readyz, the agent loop; graceful stop on SIGTERM/SIGINT.
//
// Exit status: 0 after SIGTERM/SIGINT or --help, 1 after a failed start-up, 2 for bad flags.
import { KubeConfig } from '@kubernetes/client-node';
import { serveHealth, serveMetrics } from '../controller/health.js';
import { createLogger } from '../controller/logger.js';
import { HostAgent } from './agent.js';
import { AgentConfigError, agentUsage, parseAgentConfig, type AgentConfig } from './config.js';
import { DockerClient } from './docker.js';
import { hostExec } from './exec.js';
import { IdentityError, resolveIdentity } from './identity.js';
import { AgentMetrics } from './metrics.js';

async function main(): Promise<number> {
  let config: AgentConfig;
  try {
    const parsed = parseAgentConfig(process.argv.slice(2));
    if (parsed.kind === 'help') {
      console.log(agentUsage());
      return 0;
    }
    config = parsed.config;
  } catch (err) {
    if (err instanceof AgentConfigError) {
      console.error(`hostnet-agent: ${err.message}`);
      return 2;
    }
    throw err;
  }
  const log = createLogger(config.logLevel, config.logFormat);
  const kc = new KubeConfig();
  try {
    if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
    else kc.loadFromDefault();
  } catch (err) {
    log.error(`start-up failed: cannot load the kubeconfig: ${(err as Error).message}`);
    return 2;
  }
  try {
    const id = await resolveIdentity({ ...(config.instanceId ? { instanceId: config.instanceId } : {}), ...(config.hostIp ? { hostIp: config.hostIp } : {}) }, config.metadata, config.metadataEndpoint);
    config = { ...config, instanceId: id.instanceId, ...(id.hostIp ? { hostIp: id.hostIp } : {}) };
    log.info('identity', { instanceId: id.instanceId, hostIP: id.hostIp, source: id.source });
  } catch (err) {
    log.error(`start-up failed: ${(err as Error).message}`);
    return err instanceof IdentityError && /is not this server/.test(err.message) ? 2 : 1;
  }
  const metrics = new AgentMetrics();
  const agent = new HostAgent(kc, log, DockerClient.fromHost(config.dockerHost), hostExec, metrics, config);
  const health = {
    ready: () => agent.synced,
    // Alive while checks keep finishing: three periods without one means the loop is stuck.
    live: () => agent.lastSuccess === 0 || Date.now() - agent.lastSuccess < 3 * config.checkPeriodMs + 30_000,
  };
  const servers = [await serveMetrics(config.metricsBindAddress, metrics.registry), await serveHealth(config.healthBindAddress, health)];
  log.info('hostnet-agent starting', { instanceId: config.instanceId, hostIP: config.hostIp, pool: config.poolCidr, docker: config.dockerHost, network: config.networkName, bridge: config.bridgeName });

  let stopping = false;
  const done = new Promise<number>((resolve) => {
    const stop = (sig: string): void => {
      if (stopping) return;
      stopping = true;
      log.info(`${sig}: stopping (the Docker networks and iptables rules stay, so the containers keep working)`);
      void agent
        .stop()
        .catch(() => undefined)
        .then(() => {
          for (const s of servers) s?.close();
          resolve(0);
        });
    };
    process.on('SIGTERM', () => stop('SIGTERM'));
    process.on('SIGINT', () => stop('SIGINT'));
  });
  try {
    await agent.start();
  } catch (err) {
    log.error(`start-up failed: ${(err as Error).message}`);
    for (const s of servers) s?.close();
    return 1;
  }
  log.info('hostnet-agent running', { served: agent.served().map((h) => h.metadata.name) });
  return done;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(err);
    process.exit(1);
  },
);
