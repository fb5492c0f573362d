// Command line front end of the Alibaba Cloud emulator:
//   npx tsx test/emulator/alibaba/main.ts --seed
//   npx tsx test/emulator/alibaba/main.ts --config state.json --entry-delay-ms 1000
// Prints exactly one line "alibaba emulator listening on http://127.0.0.1:PORT" once ready,
// then serves until SIGINT/SIGTERM.

import { readFile } from 'node:fs/promises';
import { pathToFileURL } from 'node:url';
import { startAliEmulator, type AliEmulator, type AliEmulatorOptions } from './server.js';
import type { AliStateInit } from './types.js';

export const ALI_USAGE = `Usage: tsx test/emulator/alibaba/main.ts [options]

Local Alibaba Cloud VPC (2016-04-28) and ECS (2014-05-26) API emulator: route entries of VRouter
route tables, vSwitches, instances, security-group ingress. Point @alicloud/vpc20160428 at it with
endpoint 127.0.0.1:PORT and protocol http.

Options:
  --port N                 TCP port on 127.0.0.1 (default 18181; 0 = random)
  --seed                   use the seed-003 topology (default when --config is absent)
  --config FILE            load the state from a JSON file (shape: AliStateInit, types.ts)
  --entry-delay-ms N       how long route entries stay Pending and the VPC busy (default 200)
  --latency-ms N           delay added to every API call (default 0)
  --jitter-ms N            extra random delay in [0, N) (default 0)
  --writes-per-second N    per-AccessKey rate limit of writes, 0 = unlimited (default 0)
  --reads-per-second N     per-AccessKey rate limit of Describe* calls, 0 = unlimited (default 0)
  --route-quota N          custom entries per route table (default 200)
  --log                    print one line per API call
  --help                   show this help
`;

export interface AliCliOptions {
  help: boolean;
  port: number;
  seed: boolean;
  config?: string;
  entryDelayMs: number;
  latencyMs: number;
  jitterMs: number;
  writesPerSecond: number;
  readsPerSecond: number;
  routeQuota?: number;
  log: boolean;
}

export function parseAliArgs(argv: readonly string[]): AliCliOptions {
  const out: AliCliOptions = { help: false, port: 18181, seed: false, entryDelayMs: 200, latencyMs: 0, jitterMs: 0, writesPerSecond: 0, readsPerSecond: 0, log: false };
  const numeric: Record<string, (n: number) => void> = {
    '--port': (n) => (out.port = n),
    '--entry-delay-ms': (n) => (out.entryDelayMs = n),
    '--latency-ms': (n) => (out.latencyMs = n),
    '--jitter-ms': (n) => (out.jitterMs = n),
    '--writes-per-second': (n) => (out.writesPerSecond = n),
    '--reads-per-second': (n) => (out.readsPerSecond = n),
    '--route-quota': (n) => (out.routeQuota = n),
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined) throw new Error(`${name} needs a value`);
      return next;
    };
    const setter = numeric[name];
    if (setter) {
      const text = value();
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n) || n < 0) throw new Error(`${name} needs a non-negative number, got ${JSON.stringify(text)}`);
      if ((name === '--port' || name === '--route-quota') && !Number.isInteger(n)) throw new Error(`${name} needs an integer`);
      if (name === '--port' && n > 65535) throw new Error('--port must be at most 65535');
      setter(n);
      continue;
    }
    switch (name) {
      case '--help':
      case '-h':
        out.help = true;
        break;
      case '--seed':
        out.seed = true;
        break;
      case '--log':
        out.log = true;
        break;
      case '--config':
        out.config = value();
        break;
      default:
        throw new Error(`unknown option ${arg}`);
    }
  }
  if (out.seed && out.config !== undefined) throw new Error('--seed and --config exclude each other');
  return out;
}

export async function toAliEmulatorOptions(cli: AliCliOptions): Promise<AliEmulatorOptions> {
  return {
    port: cli.port,
    entryDelayMs: cli.entryDelayMs,
    latencyMs: cli.latencyMs,
    jitterMs: cli.jitterMs,
    writesPerSecond: cli.writesPerSecond,
    readsPerSecond: cli.readsPerSecond,
    log: cli.log,
    ...(cli.routeQuota !== undefined ? { routeQuota: cli.routeQuota } : {}),
    ...(cli.config !== undefined ? { state: JSON.parse(await readFile(cli.config, 'utf8')) as AliStateInit } : {}),
  };
}

export async function main(argv: readonly string[]): Promise<number> {
  let cli: AliCliOptions;
  try {
    cli = parseAliArgs(argv);
  } catch (e) {
    console.error(`alibaba emulator: ${(e as Error).message}\n\n${ALI_USAGE}`);
    return 2;
  }
  if (cli.help) {
    console.log(ALI_USAGE);
    return 0;
  }
  let emulator: AliEmulator;
  try {
    emulator = await startAliEmulator(await toAliEmulatorOptions(cli));
  } catch (e) {
    console.error(`alibaba emulator: ${(e as Error).message}`);
    return 1;
  }
  console.log(`alibaba emulator listening on ${emulator.url}`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await emulator.close();
  return 0;
}

const invokedDirectly = process.argv[1] !== undefined && import.meta.url === pathToFileURL(process.argv[1]).href;
if (invokedDirectly) {
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
