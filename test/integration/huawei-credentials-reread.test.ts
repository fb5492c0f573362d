// The provider re-reads a mounted credentials Secret (issue 11, point 4): through the real SDK
// against the emulator's IAM. The whole rotation with the controller process is in
// test/e2e/credentials-rotation.test.ts; here the two edges: a refused call sent again with the
// key that replaced it, and a Secret that cannot be read.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { startEmulator, SEED, type Emulator } from '../emulator/server.js';
import { createHuaweiProvider, type HuaweiCloudProvider, type ProviderLogger } from '../../controller/provider/huawei/provider.js';
import { loadCredentials } from '../../controller/provider/huawei/credentials.js';
import { waitFor } from '../helpers/kube.js';

const TABLE = SEED.routeTableId;
const KEY2 = { ak: 'ROTATEDAK0000555566667777', sk: 'rotated-secret-key-of-the-second-pair-4d2c9e' };

interface Logged {
  level: string;
  msg: string;
  meta?: Record<string, unknown>;
}

describe('huawei provider: credentials re-read from a mounted Secret', () => {
  let emu: Emulator;
  let dir: string;
  let logged: Logged[];
  let reads: number;

  before(async () => {
    emu = await startEmulator({});
  });
  after(async () => emu.close());
  beforeEach(() => {
    emu.reset();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostnet-reread-'));
    fs.writeFileSync(path.join(dir, 'access-key'), SEED.ak);
    fs.writeFileSync(path.join(dir, 'secret-key'), SEED.sk);
    logged = [];
    reads = 0;
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function provider(checkMs: number): HuaweiCloudProvider {
    const sink = (level: string) => (msg: string, meta?: object) => logged.push({ level, msg, meta: meta as Record<string, unknown> });
    const log: ProviderLogger = { debug: sink('debug'), info: sink('info'), warn: sink('warn'), error: sink('error') };
    return createHuaweiProvider(
      { flavor: 'huaweicloud', endpoint: emu.url, projectId: SEED.projectId, routeTableIds: [TABLE], credentials: loadCredentials({ dir }), timeoutMs: 10_000, qps: 1000, burst: 1000 },
      log,
      {
        rereadCredentials: () => {
          reads++;
          return loadCredentials({ dir });
        },
        credentialsCheckMs: checkMs,
      },
    );
  }

  it('a call refused with the old key re-reads the Secret and is sent once more with the new key; no backoff opened', async () => {
    const p = provider(3_600_000); // the periodic re-read never comes: only the refusal re-reads
    const seq = emu.lastSeq;
    emu.state.credentials.set(KEY2.ak, KEY2.sk);
    fs.writeFileSync(path.join(dir, 'access-key'), KEY2.ak);
    fs.writeFileSync(path.join(dir, 'secret-key'), KEY2.sk);
    emu.state.credentials.delete(SEED.ak);
    assert.ok((await p.listRoutes(TABLE)).length > 0, 'the local route at least');
    assert.deepEqual(
      emu.callsSince(seq).map((c) => `${c.operation} ${c.ak} ${c.status}`),
      [`ShowRouteTable ${SEED.ak} 401`, `ShowRouteTable ${KEY2.ak} 200`],
    );
    assert.equal(logged.filter((l) => l.msg === 'cloud credentials changed; using the new key').length, 1);
    assert.ok(!logged.some((l) => /refused the credentials; no cloud call/.test(l.msg)), 'no backoff for the key no longer in use');
    assert.ok((await p.listRoutes(TABLE)).length > 0, 'the next call goes out at once with key 2');
    assert.equal(emu.callsSince(seq).at(-1)!.ak, KEY2.ak);
  });

  it('a Secret that cannot be read (secret-key gone) keeps the current key and is logged once, naming the file, not the values', async () => {
    const p = provider(20);
    fs.rmSync(path.join(dir, 'secret-key'));
    await waitFor('five re-reads of the broken Secret', async () => reads >= 5);
    const seq = emu.lastSeq;
    assert.ok((await p.listRoutes(TABLE)).length > 0);
    assert.deepEqual(emu.callsSince(seq).map((c) => `${c.ak} ${c.status}`), [`${SEED.ak} 200`], 'still signed with the key in use');
    const warns = logged.filter((l) => l.msg === 'cannot re-read the cloud credentials; still using the previous key');
    assert.equal(warns.length, 1, 'once, not at every re-read');
    assert.match(String(warns[0]!.meta?.error), /lacks secret-key/);
    const text = JSON.stringify(logged);
    for (const s of [SEED.ak, SEED.sk]) assert.ok(!text.includes(s), `the log contains ${s}`);
    assert.ok(!logged.some((l) => l.msg === 'cloud credentials changed; using the new key'));
  });
});
