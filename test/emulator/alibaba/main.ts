// Command line front end of the Alibaba Cloud emulator:
//   npx tsx test/emulator/alibaba/main.ts --seed
//   npx tsx test/emulator/alibaba/main.ts --config state.json --entry-delay-ms 1000
// Prints exactly one line "alibaba emulator listening on http://127.0.0.1:PORT" once ready,
// then serves until SIGINT/SIGTERM. The parsing and the process are the emulators' shared ones
// (../common/cli.ts); --entry-delay-ms is Alibaba's own.

import { readFile } from 'node:fs/promises';
import { commonEmulatorOptions, parseEmulatorArgs, runEmulatorCli, runIfMain, type CommonCliOptions } from '../common/cli.js';
import { startAliEmulator, type AliEmulatorOptions } from './server.js';
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

export interface AliCliOptions extends CommonCliOptions {
  entryDelayMs: number;
}

export function parseAliArgs(argv: readonly string[]): AliCliOptions {
  return parseEmulatorArgs(
    argv,
    { help: false, port: 18181, seed: false, entryDelayMs: 200, latencyMs: 0, jitterMs: 0, writesPerSecond: 0, readsPerSecond: 0, log: false },
    { '--entry-delay-ms': 'entryDelayMs' },
  );
}

export async function toAliEmulatorOptions(cli: AliCliOptions): Promise<AliEmulatorOptions> {
  return {
    ...commonEmulatorOptions(cli),
    entryDelayMs: cli.entryDelayMs,
    ...(cli.config !== undefined ? { state: JSON.parse(await readFile(cli.config, 'utf8')) as AliStateInit } : {}),
  };
}

export function main(argv: readonly string[]): Promise<number> {
  return runEmulatorCli(argv, { name: 'alibaba emulator', usage: ALI_USAGE, parse: parseAliArgs, start: async (cli) => startAliEmulator(await toAliEmulatorOptions(cli)) });
}

runIfMain(import.meta.url, main);
