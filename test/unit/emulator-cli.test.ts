// The emulator's command line and state files: argument parsing, JSON/YAML loading, and the
// process itself (prints its URL, serves, stops cleanly on SIGTERM).

import assert from 'node:assert/strict';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { startTsCli, type CliProcess } from '../helpers/cli-process.js';
import { loadStateFile, normalizeStateInit } from '../emulator/config.js';
import { parseArgs, toEmulatorOptions } from '../emulator/main.js';
import { SEED, seedState } from '../emulator/seed.js';
import { startEmulator } from '../emulator/server.js';

const MAIN = fileURLToPath(new URL('../emulator/main.ts', import.meta.url));

const YAML_STATE = `
project_id: p-yaml
credentials:
  - { ak: AK1, sk: SK1 }
vpcs:
  - { id: vpc-a, name: a, cidr: 10.10.0.0/16 }
subnets:
  - { id: sn-1, name: one, vpc_id: vpc-a, cidr: 10.10.1.0/24, gateway_ip: 10.10.1.1 }
  - { id: sn-2, name: two, vpc_id: vpc-a, cidr: 10.10.2.0/24, gateway_ip: 10.10.2.1 }
servers:
  - { id: srv-1, name: host-1, subnet_id: sn-1, ip: 10.10.1.10 }
  - { id: srv-2, name: host-2, subnet_id: sn-2, ip: 10.10.2.10 }
route_tables:
  - id: rt-default
    name: default
    vpc_id: vpc-a
    default: true
  - id: rt-custom
    name: custom
    vpc_id: vpc-a
    subnets: [sn-2]
    routes:
      - { type: ecs, destination: 172.30.0.0/24, nexthop: srv-1, description: preexisting }
security_groups:
  - { id: sg-1, name: default }
`;

describe('emulator command line', () => {
  describe('parseArgs', () => {
    it('has defaults', () => {
      assert.deepEqual(parseArgs([]), { help: false, port: 18080, seed: false, latencyMs: 0, jitterMs: 0, writesPerSecond: 0, readsPerSecond: 0, log: false });
    });

    it('reads every option, spaced or with =', () => {
      const cli = parseArgs([
        '--port',
        '0',
        '--config=state.yaml',
        '--latency-ms',
        '20',
        '--jitter-ms=5',
        '--writes-per-second',
        '10',
        '--reads-per-second',
        '50',
        '--route-quota',
        '50',
        '--log',
      ]);
      assert.deepEqual(cli, {
        help: false,
        port: 0,
        seed: false,
        config: 'state.yaml',
        latencyMs: 20,
        jitterMs: 5,
        writesPerSecond: 10,
        readsPerSecond: 50,
        routeQuota: 50,
        log: true,
      });
      assert.equal(parseArgs(['--help']).help, true);
      assert.equal(parseArgs(['--seed']).seed, true);
    });

    it('rejects bad input', () => {
      assert.throws(() => parseArgs(['--port']), /needs a value/);
      assert.throws(() => parseArgs(['--port', 'x']), /non-negative number/);
      assert.throws(() => parseArgs(['--port', '70000']), /65535/);
      assert.throws(() => parseArgs(['--latency-ms', '-1']), /non-negative/);
      assert.throws(() => parseArgs(['--route-quota', '1.5']), /integer/);
      assert.throws(() => parseArgs(['--seed', '--config', 'x.json']), /exclude/);
      assert.throws(() => parseArgs(['--frobnicate']), /unknown option/);
    });
  });

  describe('state files', () => {
    let dir: string;
    before(async () => {
      dir = await mkdtemp(join(tmpdir(), 'emulator-cli-'));
    });
    after(async () => {
      await rm(dir, { recursive: true, force: true });
    });

    it('loads YAML with several subnets and route tables', async () => {
      const path = join(dir, 'state.yaml');
      await writeFile(path, YAML_STATE);
      const init = await loadStateFile(path);
      const em = await startEmulator({ state: init });
      try {
        const tables = em.state.listRouteTables({ vpc_id: 'vpc-a' });
        assert.deepEqual(
          tables.map((t) => [t.id, t.subnets]),
          [
            ['rt-default', ['sn-1']],
            ['rt-custom', ['sn-2']],
          ],
        );
        const custom = em.state.showRouteTable('rt-custom');
        assert.deepEqual(
          custom.routes.map((r) => [r.type, r.destination]),
          [
            ['local', '10.10.0.0/16'],
            ['ecs', '172.30.0.0/24'],
          ],
        );
        assert.equal(em.state.listRouteTables({ subnet_id: 'sn-2' })[0]?.id, 'rt-custom');
        assert.equal(em.state.credentials.get('AK1'), 'SK1');
      } finally {
        await em.close();
      }
    });

    it('loads JSON (a snapshot round-trips) and reports broken files', async () => {
      const path = join(dir, 'state.json');
      await writeFile(path, JSON.stringify(seedState()));
      const opts = await toEmulatorOptions(parseArgs(['--config', path, '--route-quota', '7']));
      assert.equal(opts.state?.project_id, SEED.projectId);
      assert.equal(opts.routeQuota, 7);
      assert.throws(() => normalizeStateInit({ credentials: [] }), /project_id/);
      assert.throws(() => normalizeStateInit({ project_id: 'p', credentials: [] }), /at least one/);
      assert.throws(() => normalizeStateInit({ project_id: 'p', credentials: [{ ak: 'a', sk: 's' }], subnets: [{ id: 's', vpc_id: 'none', cidr: '10.0.0.0/24' }] }), /unknown vpc none/);
      const broken = join(dir, 'broken.json');
      await writeFile(broken, '{');
      await assert.rejects(loadStateFile(broken));
    });
  });

  describe('process', function () {
    this.timeout(30000);

    const run = (args: string[]): CliProcess => startTsCli(MAIN, args, 20_000);

    it('prints its URL, serves, and exits 0 on SIGTERM', async () => {
      const proc = run(['--port', '0', '--seed']);
      const line = await proc.waitLine(/^emulator listening on /);
      const url = /^emulator listening on (http:\/\/127\.0\.0\.1:\d+)$/.exec(line)?.[1];
      assert.ok(url, line);
      const health = await fetch(`${url}/_admin/health`);
      assert.equal(health.status, 200);
      proc.kill();
      assert.equal(await proc.exit, 0);
      assert.deepEqual(proc.lines(), [line], 'exactly one line of output');
    });

    it('--help prints usage and exits 0; a bad option exits 2', async () => {
      const help = run(['--help']);
      assert.equal(await help.exit, 0);
      assert.match(help.lines().join('\n'), /--writes-per-second/);
      const bad = run(['--nope']);
      assert.equal(await bad.exit, 2);
      assert.match(bad.lines().join('\n'), /unknown option --nope/);
    });
  });
});
