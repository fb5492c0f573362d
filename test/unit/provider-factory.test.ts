// The provider factory loads a cloud's SDK only when that cloud is chosen (issue 16: memory).
// Checked in a fresh node process: this one may have loaded every SDK for other tests.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';

const run = promisify(execFile);
const factory = fileURLToPath(new URL('../../controller/provider/factory.ts', import.meta.url));

/** The @huaweicloud modules a fresh process holds after createProvider(config). */
async function sdkModulesAfter(config: Record<string, unknown>, env: Record<string, string> = {}): Promise<string[]> {
  const script = `
    import { createRequire } from 'node:module';
    const { createProvider } = await import(${JSON.stringify(factory)});
    const log = { debug() {}, info() {}, warn() {}, error() {}, child() { return log; } };
    await createProvider(${JSON.stringify(config)}, log);
    const cache = createRequire(import.meta.url).cache;
    console.log(JSON.stringify(Object.keys(cache).filter((k) => k.includes('@huaweicloud'))));
  `;
  const { stdout } = await run(process.execPath, ['--import', 'tsx', '--input-type=module', '-e', script], { timeout: 60_000, env: { ...process.env, ...env } });
  return JSON.parse(stdout.trim().split('\n').pop()!) as string[];
}

describe('provider factory', function () {
  this.timeout(90_000);

  it('--cloud-provider=memory loads no Huawei SDK module; huaweicloud does', async () => {
    assert.deepEqual(await sdkModulesAfter({ cloudProvider: 'memory', routeTableIds: [], routeTableCapacity: 200 }), []);
    const huawei = await sdkModulesAfter({
      cloudProvider: 'huaweicloud',
      cloudEndpoint: 'http://127.0.0.1:9',
      cloudRegion: 'cn-north-4',
      cloudProjectId: 'proj0123456789',
      cloudVpcId: 'vpc-1',
      routeTableIds: [],
      cloudTimeoutMs: 1000,
      cloudQps: 10,
      cloudBurst: 10,
      cloudReadQps: 20,
    }, { HUAWEICLOUD_SDK_AK: 'UNITAK0000000001', HUAWEICLOUD_SDK_SK: 'UNITSKsecretsecretsecret0001' });
    assert.ok(huawei.some((k) => k.includes('huaweicloud-sdk-vpc')), `loaded: ${huawei.length} modules`);
  });
});
