// The Alibaba emulator's command line: argument parsing and the process itself (prints its URL,
// answers the real SDK with the seed topology, stops cleanly on SIGTERM).

import assert from 'node:assert/strict';
import { fileURLToPath } from 'node:url';
import * as $Vpc from '@alicloud/vpc20160428';
import { startTsCli, type CliProcess } from '../helpers/cli-process.js';
import { parseAliArgs } from '../emulator/alibaba/main.js';
import { aliVpcClient } from '../emulator/alibaba/sdk.js';
import { ALI_SEED } from '../emulator/alibaba/seed.js';

const MAIN = fileURLToPath(new URL('../emulator/alibaba/main.ts', import.meta.url));

describe('alibaba emulator command line', () => {
  it('has defaults and reads every option, spaced or with =', () => {
    assert.deepEqual(parseAliArgs([]), { help: false, port: 18181, seed: false, entryDelayMs: 200, latencyMs: 0, jitterMs: 0, writesPerSecond: 0, readsPerSecond: 0, log: false });
    const cli = parseAliArgs(['--port=0', '--entry-delay-ms', '1000', '--writes-per-second', '5', '--reads-per-second=7', '--route-quota', '3', '--latency-ms', '2', '--jitter-ms', '1', '--log', '--seed']);
    assert.deepEqual(cli, { help: false, port: 0, seed: true, entryDelayMs: 1000, latencyMs: 2, jitterMs: 1, writesPerSecond: 5, readsPerSecond: 7, routeQuota: 3, log: true });
  });

  it('refuses bad options with a message that names them', () => {
    assert.throws(() => parseAliArgs(['--nope']), /unknown option --nope/);
    assert.throws(() => parseAliArgs(['--port', '70000']), /at most 65535/);
    assert.throws(() => parseAliArgs(['--entry-delay-ms', '-1']), /non-negative number/);
    assert.throws(() => parseAliArgs(['--seed', '--config', 'x.json']), /exclude each other/);
  });

  describe('process', function () {
    this.timeout(30000);

    const run = (args: string[]): CliProcess => startTsCli(MAIN, args, 25_000);

    it('--seed: prints its URL, serves the seed table to the SDK, exits 0 on SIGTERM', async () => {
      const proc = run(['--port', '0', '--seed']);
      const line = await proc.waitLine(/^alibaba emulator listening on /);
      const port = /^alibaba emulator listening on http:\/\/127\.0\.0\.1:(\d+)$/.exec(line)?.[1];
      assert.ok(port, line);
      const res = await aliVpcClient(`127.0.0.1:${port}`).describeRouteEntryList(new $Vpc.DescribeRouteEntryListRequest({ regionId: ALI_SEED.regionId, routeTableId: ALI_SEED.routeTableId }));
      assert.ok(res.body?.routeEntrys?.routeEntry?.some((e) => e.destinationCidrBlock === ALI_SEED.vswitchCidr && e.type === 'System'));
      proc.kill();
      assert.equal(await proc.exit, 0);
      assert.deepEqual(proc.out().trim().split('\n'), [line], 'exactly one line of output');
    });

    it('--help prints usage and exits 0; a bad option exits 2', async () => {
      const help = run(['--help']);
      assert.equal(await help.exit, 0);
      assert.match(help.out(), /--entry-delay-ms/);
      const bad = run(['--nope']);
      assert.equal(await bad.exit, 2);
      assert.match(bad.out(), /unknown option --nope/);
    });
  });
});
