#!/usr/bin/env node
// Entry point: configuration, logging, metrics and health endpoints, the cloud provider, and the
// controller; graceful shutdown on SIGTERM/SIGINT.
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError, parseConfig, usage, withInstallationId, type Config } from './config.js';
import { resolveInstallationId } from './installation.js';
import { HostNetworkController } from './controller.js';
import { serveHealth, serveMetrics } from './health.js';
import { createLogger } from './logger.js';
import { Metrics, VERSION } from './metrics.js';
import { createProvider } from './provider/factory.js';
import { instrument } from './provider/instrumented.js';

function loadKubeConfig(config: Config): KubeConfig {
  const kc = new KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromDefault();
  return kc;
}

async function main(): Promise<number> {
  let config: Config;
  try {
    const parsed = parseConfig(process.argv.slice(2));
    if (parsed.kind === 'help') {
      console.log(usage());
      return 0;
    }
    if (parsed.kind === 'version') {
      console.log(`hostnet-controller ${VERSION}`);
      return 0;
    }
    config = parsed.config;
  } catch (err) {
    if (err instanceof ConfigError) {
      console.error(`hostnet-controller: ${err.message}`);
      return 2;
    }
    throw err;
  }

  const log = createLogger(config.logLevel, config.logFormat);
  const metrics = new Metrics();
  let provider;
  let kc;
  let installationSource;
  try {
    kc = loadKubeConfig(config);
    // Before anything is built: the id names the routes, the Lease and the ledger.
    const installation = await resolveInstallationId(kc, {
      explicit: config.installationIdExplicit ? config.installationId : undefined,
      namespace: config.leaderElectionNamespace,
      leaseChecked: config.leaderElect && !config.leaderElectionIdExplicit,
    });
    config = withInstallationId(config, installation.id);
    installationSource = installation.source;
    if (installation.source === 'legacy') {
      log.warn(`keeping the installation id "${installation.id}": this namespace holds its ledger or Lease; set --installation-id=${installation.id} explicitly to make that permanent`);
    }
    metrics.installationInfo.set({ installation_id: config.installationId, source: installation.source }, 1);
    provider = instrument(createProvider(config, log), metrics, log);
  } catch (err) {
    log.error(`start-up failed: ${(err as Error).message}`);
    return 2;
  }

  let exiting = false;
  const exit = async (code: number, why: string): Promise<void> => {
    if (exiting) return;
    exiting = true;
    log.info('shutting down', { reason: why });
    await controller.stop().catch(() => undefined);
    metricsServer?.close();
    healthServer?.close();
    log.end();
    // Give winston a moment to write the last lines.
    process.exitCode = code;
    setTimeout(() => process.exit(code), 100);
  };

  const controller = new HostNetworkController({
    kc,
    config,
    provider,
    log,
    metrics,
    onLostLeadership: () => void exit(1, 'lost leadership'),
  });
  const metricsServer = await serveMetrics(config.metricsBindAddress, metrics.registry);
  const healthServer = await serveHealth(config.healthBindAddress, { live: () => !exiting, ready: () => controller.ready });
  process.on('SIGTERM', () => void exit(0, 'SIGTERM'));
  process.on('SIGINT', () => void exit(0, 'SIGINT'));
  process.on('SIGUSR2', () => log.info('state', controller.debugState()));
  log.info('hostnet-controller starting', {
    version: VERSION,
    identity: controller.identity,
    pool: config.poolCidr,
    blockSize: config.blockSize,
    provider: config.cloudProvider,
    installation: config.installationId,
    installationSource,
    leaderElection: config.leaderElect ? `${config.leaderElectionNamespace}/${config.leaderElectionId}` : 'off',
    metrics: config.metricsBindAddress,
    health: config.healthBindAddress,
  });
  controller.start();
  return -1; // keep running
}

main().then(
  (code) => {
    if (code >= 0) process.exit(code);
  },
  (err: unknown) => {
    console.error(`hostnet-controller: ${(err as Error).stack ?? String(err)}`);
    process.exit(1);
  },
);
