// Alibaba credentials rotate without a restart (issue 14; issue 11 point 4's promise for every
// provider): the provider built the way the controller builds it (flags → createProvider) reads
// its AccessKey from a directory laid out the way kubelet mounts a Secret, the old key is
// disabled in the emulator's RAM (its admin API), new files are swapped in through `..data`, and
// the VPC and ECS calls succeed without a new provider; nothing secret is logged, at debug level.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { parseConfig } from '../../controller/config.js';
import { createLogger } from '../../controller/logger.js';
import { AlibabaCloudProvider } from '../../controller/provider/alibaba/provider.js';
import { createProvider } from '../../controller/provider/factory.js';
import { WriteFence } from '../../controller/provider/fence.js';
import type { CloudProvider } from '../../controller/provider/provider.js';
import { ALI_SEED, aliSeedState, startAliEmulator, type AliEmulator } from '../emulator/alibaba/server.js';
import { waitFor } from '../helpers/kube.js';
import { writeKubeletSecret } from '../helpers/kubelet-secret.js';

const RT = ALI_SEED.routeTableId;
const I1 = ALI_SEED.instances[0].id;
const KEY1 = { id: ALI_SEED.accessKeyId, secret: ALI_SEED.accessKeySecret };
/** The seed's second AccessKey of the account: created disabled, enabled for the rotation. */
const KEY2 = { id: ALI_SEED.disabledAccessKeyId, secret: ALI_SEED.disabledAccessKeySecret };
/** Temporary (STS) credentials: the third file, security-token, comes with them. */
const STS = { id: 'STS.NTESTROTATEDTOKEN0003', secret: 'STSSECRETrotated0token0secret003', token: 'CAIS-test-security-token-of-the-rotated-sts-credentials-0003' };
const FORBIDDEN = [KEY1.id, KEY1.secret, KEY2.id, KEY2.secret, STS.id, STS.secret, STS.token];

function files(k: { id: string; secret: string; token?: string }): Record<string, string> {
  return { 'access-key-id': k.id, 'access-key-secret': k.secret, ...(k.token ? { 'security-token': k.token } : {}) };
}

async function admin(em: AliEmulator, accessKeyId: string, disabled: boolean): Promise<void> {
  const res = await fetch(`${em.url}/_admin/accounts/${encodeURIComponent(accessKeyId)}`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ disabled }) });
  assert.equal(res.status, 200, await res.text());
}

describe('alibaba provider: credentials re-read from a mounted Secret (rotation without a restart)', function () {
  this.timeout(30_000);
  let em: AliEmulator;
  let dir: string;
  let logText: string;
  let log: ReturnType<typeof createLogger>;

  before(async () => {
    const state = aliSeedState();
    state.accounts.push({ accessKeyId: STS.id, accessKeySecret: STS.secret, securityToken: STS.token });
    em = await startAliEmulator({ state, entryDelayMs: 20 });
  });
  after(async () => em.close());
  beforeEach(() => {
    em.reset();
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostnet-ali-reread-'));
    writeKubeletSecret(dir, files(KEY1));
    logText = '';
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => (logText += chunk.toString()));
    log = createLogger('debug', 'json', sink);
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  function assertNoSecretLogged(): void {
    for (const s of FORBIDDEN) assert.ok(!logText.includes(s), `the log contains ${s}:\n${logText.split('\n').filter((l) => l.includes(s)).slice(0, 3).join('\n')}`);
  }

  /** Every kind of call the controller makes: tables, entries, a route write, the ECS security group. */
  async function everyCall(p: CloudProvider, n: number): Promise<void> {
    assert.deepEqual((await p.listRouteTables()).map((t) => t.id), [RT]);
    assert.ok((await p.listRoutes(RT)).some((r) => r.kind === 'system'));
    const r = await p.applyRoutes!(RT, { add: [{ destination: `10.9.${n}.0/24`, nexthop: I1, description: `hostnet:reread:${n}` }], mod: [], del: [] });
    assert.deepEqual((r ?? { failed: [] }).failed.map((f) => f.error.message), []);
    await p.ensureIngressRule({ securityGroupId: ALI_SEED.securityGroupId, remoteIpPrefix: `10.${n}.0.0/16`, protocols: ['all'] });
  }

  it('the controller\'s provider (flags, createProvider): old key disabled, new files swapped in; the refused call is sent again with the new key, every call succeeds, nothing secret logged', async () => {
    const parsed = parseConfig(
      ['--cloud-provider=alibaba', `--cloud-region=${ALI_SEED.regionId}`, `--cloud-endpoint=${em.url}`, `--cloud-vpc-id=${ALI_SEED.vpcId}`, `--cloud-credentials-dir=${dir}`, '--cloud-qps=1000', '--cloud-read-qps=1000', '--cloud-burst=1000'],
      {},
    );
    assert.equal(parsed.kind, 'config');
    if (parsed.kind !== 'config') return;
    const p = await createProvider(parsed.config, log, new WriteFence());
    await everyCall(p, 1);
    assert.ok(em.callsSince(0).every((c) => c.ak === KEY1.id && c.status === 200), 'key 1 before the rotation');

    // The rotation as an operator does it: a new key in RAM, the Secret updated, the old key disabled.
    await admin(em, KEY2.id, false);
    writeKubeletSecret(dir, files(KEY2));
    await admin(em, KEY1.id, true);
    const seq = em.lastSeq;
    await everyCall(p, 2);
    const after = em.callsSince(seq);
    const refused = after.filter((c) => c.status !== 200);
    // The 10 s poll may have seen the new files first; else exactly the first call was refused.
    assert.ok(refused.length <= 1 && refused.every((c) => c.ak === KEY1.id && c.code === 'InvalidAccessKeyId.Inactive'), JSON.stringify(refused));
    assert.ok(after.filter((c) => c.status === 200).every((c) => c.ak === KEY2.id), 'every call after the rotation signed with key 2');
    for (const op of ['DescribeRouteTableList', 'DescribeRouteEntryList', 'CreateRouteEntries', 'DescribeSecurityGroupAttribute', 'AuthorizeSecurityGroup']) {
      assert.ok(after.some((c) => c.operation === op && c.status === 200 && c.ak === KEY2.id), `${op} succeeded with key 2`);
    }
    assert.ok(!/refused the credentials; no cloud call/.test(logText), 'no auth backoff for the key no longer in use');
    assert.equal(logText.split('\n').filter((l) => l.includes('cloud credentials changed; using the new key')).length, 1);
    assertNoSecretLogged();
  });

  it('the periodic re-read picks up STS credentials (id, secret and security-token) before the old key is disabled: no call is ever refused', async () => {
    const cfg = { regionId: ALI_SEED.regionId, vpcEndpoint: em.endpoint, ecsEndpoint: em.endpoint, protocol: 'http' as const, credentialsDir: dir, timeoutMs: 5000, vpcId: ALI_SEED.vpcId };
    const p = new AlibabaCloudProvider(cfg, log, { credentialsCheckMs: 25 });
    await everyCall(p, 3);
    writeKubeletSecret(dir, files(STS));
    await waitFor('the provider to log the new key', async () => logText.includes('cloud credentials changed; using the new key'));
    await admin(em, KEY1.id, true);
    const seq = em.lastSeq;
    await everyCall(p, 4);
    const after = em.callsSince(seq);
    assert.deepEqual(after.filter((c) => c.status !== 200 || c.ak !== STS.id).map((c) => `${c.operation} ${c.status} ${c.code ?? ''}`), [], 'every call signed with the STS key (its token checked by the emulator)');
    assertNoSecretLogged();
  });
});
