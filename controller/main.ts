#!/usr/bin/env node
// Entry point: configuration, logging, metrics and health endpoints, the cloud provider, and the
// controller; graceful shutdown on SIGTERM/SIGINT.
//
// Exit status: 0 after SIGTERM/SIGINT (or --help/--version), 1 after a failed start-up sync or
// lost leadership (the pod's restart retries), 2 for bad configuration.
import { KubeConfig } from '@kubernetes/client-node';
import { ConfigError, parseConfig, usage, withInstallationId, type Config } from './config.js';
import { resolveInstallationId } from './installation.js';
import { HostNetworkController } from './controller.js';
import { serveHealth, serveMetrics } from './health.js';
import { shareConnections } from './kube/connections.js';
import { createLogger } from './logger.js';
import { Metrics, VERSION } from './metrics.js';
import { createProvider } from './provider/factory.js';
import { WriteFence } from './provider/fence.js';
import { fenceHooks, instrument } from './provider/instrumented.js';
import { limitHeapGrowth } from './heap.js';

function loadKubeConfig(config: Config): KubeConfig {
  const kc = new KubeConfig();
  if (config.kubeconfig) kc.loadFromFile(config.kubeconfig);
  else kc.loadFromDefault();
  // API requests reuse keep-alive connections instead of a TLS handshake each (kube/connections.ts).
  return shareConnections(kc).kc;
}

async function main(): Promise<number> {
  // Before the work starts: keeps the peak RSS near the live heap (heap.ts).
  limitHeapGrowth();
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
  // Every cloud write passes it (see provider/fence.ts); refusals are logged once per episode.
  const fence = new WriteFence(fenceHooks(metrics, log, config.cloudProvider));
  let provider;
  let kc;
  let installationSource;
  try {
    kc = loadKubeConfig(config);
  } catch (err) {
    log.error(`start-up failed: ${(err as Error).message}`);
    return 2;
  }
  try {
    // Before anything is built: the id names the routes, the Lease and the ledger. It needs the
    // API server, so a failure here is a failed start-up (1), not bad configuration.
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
  } catch (err) {
    log.error(`start-up failed: ${(err as Error).message}`);
    return 1;
  }
  try {
    provider = instrument(await createProvider(config, log, fence), metrics, log);
  } catch (err) {
    log.error(`start-up failed: ${(err as Error).message}`);
    return 2;
  }

  let exiting = false;
  // The first reason wins: a SIGTERM during the stop after lost leadership keeps status 1.
  const exit = async (code: number, why: string): Promise<void> => {
    if (exiting) return;
    exiting = true;
    // Set first: should the process end by itself while stopping (nothing left to wait for),
    // it still ends with this status rather than 0.
    process.exitCode = code;
    log.info('shutting down', { reason: why, exitCode: code, gracePeriodMs: config.shutdownGraceMs });
    try {
      await controller.stop(config.shutdownGraceMs, why);
    } catch (err) {
      log.error('error while stopping', { error: (err as Error).message });
    }
    await Promise.all(
      [metricsServer, healthServer].map((s) => {
        if (!s) return undefined;
        const closed = new Promise((r) => s.close(r));
        s.closeAllConnections(); // a keep-alive scrape must not hold the exit
        return closed;
      }),
    );
    log.info('exiting', { exitCode: code });
    await endLog(log);
    process.exit(code);
  };

  const controller = new HostNetworkController({
    kc,
    config,
    provider,
    log,
    metrics,
    fence,
    onLostLeadership: (why) => void exit(1, why),
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

/** Ends the logger and waits (briefly) until its last line is written. */
function endLog(log: ReturnType<typeof createLogger>): Promise<void> {
  return new Promise((resolve) => {
    const timer = setTimeout(resolve, 1000);
    log.on('finish', () => {
      clearTimeout(timer);
      resolve();
    });
    log.end();
  });
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
