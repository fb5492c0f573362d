// Command line front end of the emulator, for the demo and for running it by hand:
//   npx tsx test/emulator/main.ts --port 18080 --seed
//   npx tsx test/emulator/main.ts --config state.yaml --writes-per-second 10
// Prints exactly one line "emulator listening on http://127.0.0.1:PORT" once ready (scripts wait
// for it), then serves until SIGINT/SIGTERM.

import { pathToFileURL } from 'node:url';
import { loadStateFile } from './config.js';
import { startEmulator, type Emulator, type EmulatorOptions } from './server.js';

export const USAGE = `Usage: tsx test/emulator/main.ts [options]

Local Huawei Cloud VPC API emulator (route tables, ports, security-group rules).

Options:
  --port N                 TCP port on 127.0.0.1 (default 18080; 0 = random)
  --seed                   use the seed topology (default when --config is absent)
  --config FILE            load the state from FILE (.json, .yaml or .yml)
  --latency-ms N           delay added to every API call (default 0)
  --jitter-ms N            extra random delay in [0, N) (default 0)
  --writes-per-second N    per-AK write rate limit, 0 = unlimited (default 0)
  --reads-per-second N     per-AK read rate limit, 0 = unlimited (default 0)
  --route-quota N          non-local routes per route table (default 200)
  --log                    print one line per API call
  --help                   show this help
`;

export interface CliOptions {
  help: boolean;
  port: number;
  seed: boolean;
  config?: string;
  latencyMs: number;
  jitterMs: number;
  writesPerSecond: number;
  readsPerSecond: number;
  routeQuota?: number;
  log: boolean;
}

/** Parses argv (without node and script). Throws Error with a message fit for the user. */
export function parseArgs(argv: readonly string[]): CliOptions {
  const out: CliOptions = { help: false, port: 18080, seed: false, latencyMs: 0, jitterMs: 0, writesPerSecond: 0, readsPerSecond: 0, log: false };
  const numeric: Record<string, (n: number) => void> = {
    '--port': (n) => (out.port = n),
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

/** Turns CLI options into emulator options (loading the state file, if any). */
export async function toEmulatorOptions(cli: CliOptions): Promise<EmulatorOptions> {
  return {
    port: cli.port,
    latencyMs: cli.latencyMs,
    jitterMs: cli.jitterMs,
    writesPerSecond: cli.writesPerSecond,
    readsPerSecond: cli.readsPerSecond,
    log: cli.log,
    ...(cli.routeQuota !== undefined ? { routeQuota: cli.routeQuota } : {}),
    ...(cli.config !== undefined ? { state: await loadStateFile(cli.config) } : {}),
  };
}

export async function main(argv: readonly string[]): Promise<number> {
  let cli: CliOptions;
  try {
    cli = parseArgs(argv);
  } catch (e) {
    console.error(`emulator: ${(e as Error).message}\n\n${USAGE}`);
    return 2;
  }
  if (cli.help) {
    console.log(USAGE);
    return 0;
  }
  let emulator: Emulator;
  try {
    emulator = await startEmulator(await toEmulatorOptions(cli));
  } catch (e) {
    console.error(`emulator: ${(e as Error).message}`);
    return 1;
  }
  console.log(`emulator listening on ${emulator.url}`);
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
