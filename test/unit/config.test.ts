// Flags and HOSTNET_* variables: defaults, every validation naming its flag, env vs flags, usage.
import assert from 'node:assert/strict';
import { ConfigError, FLAGS, envName, parseConfig, parseDuration, usage, withInstallationId, type Config } from '../../controller/config.js';

const MEMORY = ['--cloud-provider=memory'];

function config(argv: string[], env: NodeJS.ProcessEnv = {}): Config {
  const r = parseConfig(argv, env);
  assert.equal(r.kind, 'config');
  return r.config;
}

describe('config', () => {
  it('defaults (memory provider needs nothing else)', () => {
    const c = config(MEMORY);
    assert.equal(c.poolCidr, '10.0.0.0/16');
    assert.equal(c.blockSize, 24);
    assert.deepEqual(c.vpcSubnets, []);
    // Without the flag the id is decided at start-up (controller/installation.ts).
    assert.equal(c.installationId, '');
    assert.equal(c.installationIdExplicit, false);
    assert.equal(c.cloudProvider, 'memory');
    assert.deepEqual(c.routeTableIds, []);
    assert.equal(c.cloudTimeoutMs, 10_000);
    assert.equal(c.cloudQps, 10);
    assert.equal(c.cloudBurst, 10);
    assert.equal(c.sourceDestCheck, 'disable');
    assert.deepEqual(c.securityGroupProtocols, ['all']);
    assert.equal(c.routeTableCapacity, 200);
    assert.equal(c.routeBatchWindowMs, 50);
    assert.equal(c.resyncPeriodMs, 300_000);
    assert.equal(c.watchIdleTimeoutMs, 300_000);
    assert.equal(c.workers, 32);
    assert.equal(c.metricsBindAddress, ':8080');
    assert.equal(c.healthBindAddress, ':8081');
    assert.equal(c.leaderElect, true);
    assert.equal(c.leaderElectionNamespace, 'default');
    assert.equal(c.leaderElectionId, '');
    assert.equal(c.leaderElectionIdExplicit, false);
    assert.equal(withInstallationId(c, 'cluster-0a1b2c3d-9f00').leaderElectionId, 'hostnet-controller-cluster-0a1b2c3d-9f00');
    assert.equal(c.leaseDurationMs, 15_000);
    assert.equal(c.renewDeadlineMs, 10_000);
    assert.equal(c.retryPeriodMs, 2000);
    assert.equal(c.eventNamespace, 'default');
    assert.equal(c.logLevel, 'info');
    assert.equal(c.logFormat, 'auto');
    assert.equal(c.kubeconfig, undefined);
    assert.equal(c.cloudProjectId, undefined);
  });

  it('help and version', () => {
    assert.deepEqual(parseConfig(['--help'], {}), { kind: 'help' });
    assert.deepEqual(parseConfig(['--version'], {}), { kind: 'version' });
  });

  it('parses a full huaweicloud configuration', () => {
    const c = config([
      '--cloud-provider=huaweicloud',
      '--cloud-region=cn-north-4',
      '--cloud-project-id=p1',
      '--route-table-ids= rtb-1 , rtb-2,',
      '--vpc-subnets=192.168.0.0/24, 192.168.1.0/24',
      '--pool-cidr=172.16.0.0/12',
      '--block-size=26',
      '--installation-id=prod-1',
      '--workers=3',
      '--lease-duration=30s',
      '--renew-deadline=20s',
      '--retry-period=1500ms',
      '--route-batch-window=0ms',
      '--leader-elect=false',
      '--security-group-protocols=icmp,udp',
      '--cloud-qps=0.5',
      '--metrics-bind-address=127.0.0.1:9090',
      '--health-bind-address=0',
      '--resync-period=1h',
    ]);
    assert.deepEqual(c.routeTableIds, ['rtb-1', 'rtb-2']);
    assert.deepEqual(c.vpcSubnets, ['192.168.0.0/24', '192.168.1.0/24']);
    assert.equal(c.poolCidr, '172.16.0.0/12');
    assert.equal(c.blockSize, 26);
    assert.equal(c.leaderElectionId, 'hostnet-controller-prod-1');
    assert.equal(c.workers, 3);
    assert.equal(c.leaseDurationMs, 30_000);
    assert.equal(c.retryPeriodMs, 1500);
    assert.equal(c.routeBatchWindowMs, 0);
    assert.equal(c.leaderElect, false);
    assert.deepEqual(c.securityGroupProtocols, ['icmp', 'udp']);
    assert.equal(c.cloudQps, 0.5);
    assert.equal(c.healthBindAddress, '0');
    assert.equal(c.resyncPeriodMs, 3_600_000);
  });

  it('otc with an endpoint and a VPC id is valid', () => {
    const c = config(['--cloud-provider=otc', '--cloud-endpoint=https://vpc.eu-de.otc.t-systems.com', '--cloud-project-id=p', '--cloud-vpc-id=v']);
    assert.equal(c.cloudProvider, 'otc');
    assert.equal(c.cloudVpcId, 'v');
  });

  const bad: [string, string[], RegExp?][] = [
    ['pool-cidr', ['--pool-cidr=10.0.0.1/16'], /no host bits/],
    ['pool-cidr', ['--pool-cidr=10.0.0.0']],
    ['pool-cidr', ['--pool-cidr=010.0.0.0/16']],
    ['pool-cidr', ['--pool-cidr=10.0.0.0/33']],
    ['block-size', ['--pool-cidr=10.0.0.0/16', '--block-size=8'], /does not fit/],
    ['block-size', ['--block-size=33']],
    ['block-size', ['--block-size=24.5']],
    ['block-size', ['--block-size=abc']],
    ['block-size', ['--pool-cidr=0.0.0.0/0', '--block-size=30'], /more than/],
    ['vpc-subnets', ['--vpc-subnets=192.168.0.0/24,192.168.1.5/24'], /192\.168\.1\.5\/24/],
    ['installation-id', ['--installation-id=Prod']],
    ['installation-id', ['--installation-id=-x']],
    ['installation-id', ['--installation-id=x-']],
    ['installation-id', ['--installation-id=a_b']],
    ['installation-id', ['--installation-id=' + 'a'.repeat(41)]],
    ['installation-id', ['--installation-id=']],
    ['cloud-provider', ['--cloud-provider=aws']],
    ['cloud-endpoint', ['--cloud-endpoint=vpc.example.com'], /URL/],
    ['lease-duration', ['--lease-duration=15']],
    ['lease-duration', ['--lease-duration=500ms'], /at least 1000/],
    ['renew-deadline', ['--renew-deadline=-1s']],
    ['renew-deadline', ['--lease-duration=10s', '--renew-deadline=10s'], /shorter than --lease-duration/],
    ['renew-deadline', ['--lease-duration=10s', '--renew-deadline=11s'], /shorter than --lease-duration/],
    ['retry-period', ['--retry-period=10s'], /shorter than --renew-deadline/],
    ['resync-period', ['--resync-period=5 minutes']],
    ['resync-period', ['--resync-period=999ms']],
    ['route-batch-window', ['--route-batch-window=fast']],
    ['cloud-timeout', ['--cloud-timeout=10sec']],
    ['watch-idle-timeout', ['--watch-idle-timeout=1d']],
    ['workers', ['--workers=0']],
    ['workers', ['--workers=257']],
    ['workers', ['--workers=1.5']],
    ['cloud-qps', ['--cloud-qps=0']],
    ['cloud-qps', ['--cloud-qps=lots']],
    ['cloud-burst', ['--cloud-burst=0']],
    ['route-table-capacity', ['--route-table-capacity=0']],
    ['source-dest-check', ['--source-dest-check=on']],
    ['security-group-protocols', ['--security-group-protocols=icmp,sctp'], /sctp/],
    ['security-group-protocols', ['--security-group-protocols=,']],
    ['leader-elect', ['--leader-elect=maybe'], /true or false/],
    ['metrics-bind-address', ['--metrics-bind-address=8080']],
    ['health-bind-address', ['--health-bind-address=localhost']],
    ['log-level', ['--log-level=trace']],
    ['log-format', ['--log-format=xml']],
  ];
  for (const [flag, argv, detail] of bad) {
    it(`rejects ${argv.join(' ')} naming --${flag}`, () => {
      assert.throws(
        () => parseConfig([...MEMORY, ...argv], {}),
        (err: Error) => {
          assert.ok(err instanceof ConfigError, `a ConfigError, got ${err.constructor.name}: ${err.message}`);
          assert.ok(err.message.includes(`--${flag}`), `"${err.message}" should name --${flag}`);
          if (detail) assert.match(err.message, detail);
          return true;
        },
      );
    });
  }

  const cloud: [string, string[], string][] = [
    ['a cloud provider without a project id', ['--cloud-provider=huaweicloud', '--cloud-region=r', '--route-table-ids=t'], 'cloud-project-id'],
    ['otc without an endpoint', ['--cloud-provider=otc', '--cloud-project-id=p', '--route-table-ids=t'], 'cloud-endpoint'],
    ['huaweicloud without region or endpoint', ['--cloud-provider=huaweicloud', '--cloud-project-id=p', '--route-table-ids=t'], 'cloud-region'],
    ['a cloud provider without tables or VPC', ['--cloud-provider=huaweicloud', '--cloud-region=r', '--cloud-project-id=p'], 'route-table-ids'],
  ];
  for (const [what, argv, flag] of cloud) {
    it(`rejects ${what} naming --${flag}`, () => {
      assert.throws(
        () => parseConfig(argv, {}),
        (err: Error) => err instanceof ConfigError && err.message.includes(`--${flag}`),
      );
    });
  }

  it('the default provider (huaweicloud) needs cloud settings', () => {
    assert.throws(() => parseConfig([], {}), ConfigError);
  });

  it('an unknown flag is a ConfigError naming it', () => {
    assert.throws(
      () => parseConfig(['--pool-cdr=10.0.0.0/16'], {}),
      (err: Error) => err instanceof ConfigError && err.message.includes('--pool-cdr') && err.message.includes('--help'),
    );
    assert.throws(() => parseConfig(['positional'], {}), ConfigError);
  });

  it('HOSTNET_* variables are used, and a flag overrides its variable', () => {
    const env = {
      HOSTNET_POOL_CIDR: '10.8.0.0/14',
      HOSTNET_BLOCK_SIZE: '26',
      HOSTNET_CLOUD_PROVIDER: 'memory',
      HOSTNET_INSTALLATION_ID: 'from-env',
      HOSTNET_LEADER_ELECT: 'no',
      HOSTNET_WORKERS: '2',
      POD_NAMESPACE: 'kube-system',
    };
    const c = config([], env);
    assert.equal(c.poolCidr, '10.8.0.0/14');
    assert.equal(c.blockSize, 26);
    assert.equal(c.installationId, 'from-env');
    assert.equal(c.leaderElect, false);
    assert.equal(c.workers, 2);
    assert.equal(c.leaderElectionNamespace, 'kube-system');
    const o = config(['--workers=5', '--installation-id=from-flag', '--leader-election-namespace=hn'], env);
    assert.equal(o.workers, 5);
    assert.equal(o.installationId, 'from-flag');
    assert.equal(o.leaderElectionNamespace, 'hn');
    assert.equal(o.leaderElectionId, 'hostnet-controller-from-flag');
    assert.equal(o.poolCidr, '10.8.0.0/14', 'the variable still applies to flags not given');
  });

  it('a bad value from a variable names the flag too', () => {
    assert.throws(
      () => parseConfig(MEMORY, { HOSTNET_BLOCK_SIZE: 'x' }),
      (err: Error) => err instanceof ConfigError && err.message.includes('--block-size') && err.message.includes('"x"'),
    );
  });

  it('the pool CIDR is kept in canonical form (it goes into the security-group rule)', () => {
    assert.equal(config([...MEMORY, '--pool-cidr= 10.0.0.0/16 ']).poolCidr, '10.0.0.0/16');
    assert.equal(config([...MEMORY], { HOSTNET_POOL_CIDR: '10.0.0.0/16\n' }).poolCidr, '10.0.0.0/16');
  });

  it('envName', () => {
    assert.equal(envName('pool-cidr'), 'HOSTNET_POOL_CIDR');
    assert.equal(envName('workers'), 'HOSTNET_WORKERS');
  });

  it('parseDuration', () => {
    assert.equal(parseDuration('250ms'), 250);
    assert.equal(parseDuration('1.5s'), 1500);
    assert.equal(parseDuration('5m'), 300_000);
    assert.equal(parseDuration('2h'), 7_200_000);
    assert.equal(parseDuration(' 10s '), 10_000);
    for (const b of ['10', 's', '-1s', '1d', '1 s', '', '1.s', '1e3ms']) assert.equal(parseDuration(b), undefined, b);
  });

  it('usage() lists every flag with its default and the env convention', () => {
    const text = usage();
    for (const [name, def] of Object.entries(FLAGS)) {
      assert.ok(text.includes(`  --${name}\n`), `--${name} missing from usage`);
      assert.ok(text.includes(def.help), `help of --${name} missing`);
      if (def.default) assert.ok(text.includes(`(default ${JSON.stringify(def.default)})`), `default of --${name} missing`);
    }
    assert.match(text, /--help/);
    assert.match(text, /HOSTNET_POOL_CIDR/);
  });
});
