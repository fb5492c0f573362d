// A cloud that answers badly is never believed (issue 10, point 7): the provider, through the
// real SDK, against the emulator's bad-answer faults and its AK lockout.
import assert from 'node:assert/strict';
import { startEmulator, SEED, type Emulator } from '../emulator/server.js';
import { createHuaweiProvider, type HuaweiCloudProvider, type ProviderLogger } from '../../controller/provider/huawei/provider.js';
import { AuthBackoff } from '../../controller/provider/auth-backoff.js';
import { CloudError } from '../../controller/provider/errors.js';
import { MAX_RESPONSE_BYTES } from '../../controller/provider/huawei/sdk.js';
import type { BadBodyKind } from '../emulator/faults.js';

const TABLE = SEED.routeTableId;
const ECS1 = SEED.servers['ecs-1'].id;

interface Logged {
  level: string;
  msg: string;
  meta?: object;
}

function provider(emu: Emulator, opts: { sk?: string; authBackoff?: AuthBackoff; log?: Logged[] } = {}): HuaweiCloudProvider {
  const sink = (level: string) => (msg: string, meta?: object) => opts.log?.push({ level, msg, meta });
  const log: ProviderLogger = { debug: sink('debug'), info: sink('info'), warn: sink('warn'), error: sink('error') };
  return createHuaweiProvider(
    { flavor: 'huaweicloud', endpoint: emu.url, projectId: SEED.projectId, routeTableIds: [TABLE], credentials: { ak: SEED.ak, sk: opts.sk ?? SEED.sk }, timeoutMs: 10_000, qps: 1000, burst: 1000 },
    log,
    opts.authBackoff ? { authBackoff: opts.authBackoff } : {},
  );
}

async function caught(p: Promise<unknown>): Promise<CloudError> {
  try {
    await p;
  } catch (err) {
    assert.ok(err instanceof CloudError, `a CloudError, got ${String(err)}`);
    return err;
  }
  assert.fail('the call succeeded');
}

const route = { destination: '10.0.9.0/24', nexthop: ECS1, description: 'hostnet:test:h9' };

describe('huawei provider: answers that cannot be believed', function () {
  this.timeout(30_000);
  let emu: Emulator;
  beforeEach(async () => {
    emu = await startEmulator({});
    emu.addRoute(TABLE, { destination: '10.0.2.0/24', nexthop: ECS1, description: 'hostnet:test:h2' });
  });
  afterEach(async () => {
    await emu.close();
  });

  for (const body of ['invalidJson', 'empty', 'wrongShape', 'truncated'] as BadBodyKind[]) {
    it(`a table read answered 200 with ${body} is an ambiguous (transient) error, not a table`, async () => {
      emu.faults.set({ badBodyNext: { operation: 'ShowRouteTable', body } });
      const err = await caught(provider(emu).listRoutes(TABLE));
      assert.equal(err.kind, 'transient', err.message);
      assert.equal(err.retryable, true);
      assert.equal(err.httpStatus, 200);
      assert.match(err.message, /ShowRouteTable: HTTP 200 .*not believed/);
      assert.ok(err.requestId, 'names the request id');
      // The table itself was fine: the next read shows it.
      assert.deepEqual((await provider(emu).listRoutes(TABLE)).map((r) => r.destination).sort(), ['10.0.2.0/24', '192.168.0.0/16']);
    });

    it(`a route write answered 200 with ${body} is ambiguous: an error, never success`, async () => {
      emu.faults.set({ badBodyNext: { operation: 'UpdateRouteTable', body, apply: false } });
      const err = await caught(provider(emu).applyRoutes(TABLE, { add: [route], mod: [], del: [] }));
      assert.equal(err.kind, 'transient', err.message);
      assert.equal(err.operation, 'UpdateRouteTable');
      assert.ok(!emu.snapshot().route_tables[0]!.routes.some((r) => r.destination === route.destination), 'indeed not written');
    });
  }

  it('an answer larger than the cap is not read: a clear error naming the cap', async () => {
    emu.faults.set({ badBodyNext: { operation: 'ShowRouteTable', body: 'oversized', bytes: MAX_RESPONSE_BYTES + 1_000_000 } });
    const err = await caught(provider(emu).listRoutes(TABLE));
    assert.equal(err.kind, 'transient', err.message);
    assert.match(err.message, /larger than the 8 MiB response cap/);
    // Just under the cap is a (large) answer like any other.
    emu.faults.set({ badBodyNext: { operation: 'ShowRouteTable', body: 'oversized', bytes: MAX_RESPONSE_BYTES - 100_000 } });
    const routes = await provider(emu).listRoutes(TABLE);
    assert.ok(routes.length > 30_000, `${routes.length} routes read`);
  });

  describe('refused credentials', () => {
    it('a wrong key: one signed request, then nothing is sent during the backoff; the AK is never locked', async () => {
      const log: Logged[] = [];
      const p = provider(emu, { sk: 'not-the-secret-key-0000000000000000000000', log });
      const first = await caught(p.listRoutes(TABLE));
      assert.equal(first.kind, 'auth');
      assert.equal(first.code, 'APIGW.0301');
      // Twenty more attempts (a reconcile loop, a full sync, a restart of the start-up sync, ...).
      for (let i = 0; i < 20; i++) {
        const err = await caught(i % 2 ? p.listRoutes(TABLE) : p.applyRoutes(TABLE, { add: [route], mod: [], del: [] }));
        assert.equal(err.kind, 'auth');
        assert.match(err.message, /not sent: the cloud refused the credentials 1 time\(s\) in a row \(APIGW\.0301.*no new attempt before \d{4}-\d\d-\d\dT/);
        assert.ok(err.retryAfterMs! > 55_000 && err.retryAfterMs! <= 60_000, String(err.retryAfterMs));
      }
      const signed = emu.calls.filter((c) => c.status === 401);
      assert.equal(signed.length, 1, 'one request reached the gateway');
      assert.equal(emu.calls.length, 1);
      const errors = log.filter((l) => l.level === 'error');
      assert.equal(errors.length, 1, 'one log line for the backoff');
      assert.match(errors[0]!.msg, /refused the credentials/);
      assert.deepEqual({ ...(errors[0]!.meta as object), requestId: undefined }, { provider: 'huaweicloud', operation: 'ShowRouteTable', status: 401, code: 'APIGW.0301', requestId: undefined, consecutiveFailures: 1, backoffSeconds: 60 });
      // A call with the good key works: the gateway never locked the AK.
      assert.equal((await provider(emu).listRoutes(TABLE)).length, 2);
    });

    it('after the wait exactly one probe goes out; the wait doubles while the key stays wrong, and ends when it works', async () => {
      let now = 1_000_000;
      const backoff = new AuthBackoff(() => now);
      const wrong = 'not-the-secret-key-0000000000000000000000';
      const p = provider(emu, { sk: wrong, authBackoff: backoff });
      await caught(p.listRoutes(TABLE));
      for (const wait of [60_000, 120_000, 240_000]) {
        now += wait - 1;
        assert.match((await caught(p.listRoutes(TABLE))).message, /not sent/);
        now += 1;
        const probes = await Promise.allSettled([p.listRoutes(TABLE), p.listRoutes(TABLE), p.listRoutes(TABLE)]);
        const reasons = probes.map((r) => (r.status === 'rejected' ? (r.reason as CloudError).message : 'ok'));
        assert.equal(reasons.filter((m) => /not sent/.test(m)).length, 2, reasons.join('\n'));
      }
      assert.equal(emu.calls.filter((c) => c.status === 401).length, 4, 'the first call and three probes: below the lockout of 5');
      // The key is fixed in IAM (the emulator now expects the wrong one): the next probe succeeds.
      emu.state.credentials.set(SEED.ak, wrong);
      now += 480_000;
      assert.equal((await p.listRoutes(TABLE)).length, 2);
      assert.equal((await p.listRoutes(TABLE)).length, 2, 'no backoff any more');
    });
  });
});
