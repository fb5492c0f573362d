// Command line front end of the emulator, for the demo and for running it by hand:
//   npx tsx test/emulator/main.ts --port 18080 --seed
//   npx tsx test/emulator/main.ts --config state.yaml --writes-per-second 10
// Prints exactly one line "emulator listening on http://127.0.0.1:PORT" once ready (scripts wait
// for it), then serves until SIGINT/SIGTERM. The parsing and the process are the emulators'
// shared ones (common/cli.ts).

import { commonEmulatorOptions, parseEmulatorArgs, runEmulatorCli, runIfMain, type CommonCliOptions } from './common/cli.js';
import { loadStateFile } from './config.js';
import { startEmulator, type EmulatorOptions } from './server.js';

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

export type CliOptions = CommonCliOptions;

/** Parses argv (without node and script). Throws Error with a message fit for the user. */
export function parseArgs(argv: readonly string[]): CliOptions {
  return parseEmulatorArgs(argv, { help: false, port: 18080, seed: false, latencyMs: 0, jitterMs: 0, writesPerSecond: 0, readsPerSecond: 0, log: false });
}

/** Turns CLI options into emulator options (loading the state file, if any). */
export async function toEmulatorOptions(cli: CliOptions): Promise<EmulatorOptions> {
  return {
    ...commonEmulatorOptions(cli),
    ...(cli.config !== undefined ? { state: await loadStateFile(cli.config) } : {}),
  };
}

export function main(argv: readonly string[]): Promise<number> {
  return runEmulatorCli(argv, { name: 'emulator', usage: USAGE, parse: parseArgs, start: async (cli) => startEmulator(await toEmulatorOptions(cli)) });
}

runIfMain(import.meta.url, main);
