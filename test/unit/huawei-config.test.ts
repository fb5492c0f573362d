import assert from 'node:assert/strict';
import {
  HUAWEI_DEFAULTS,
  HuaweiConfigError,
  huaweiVpcEndpoint,
  resolveHuaweiConfig,
  type HuaweiProviderConfig,
} from '../../controller/provider/huawei/config.js';

const base: HuaweiProviderConfig = {
  flavor: 'huaweicloud',
  region: 'ap-southeast-1',
  projectId: '0605767b3c00d3e42f9cc01b0e2e2b1a',
  vpcId: '7f2b9c1e-3d4a-4b5c-8e6f-1a2b3c4d5e01',
  credentials: { ak: 'AKVALUE12345', sk: 'SKVALUE67890' },
};

function problems(cfg: HuaweiProviderConfig): string[] {
  try {
    resolveHuaweiConfig(cfg);
  } catch (err) {
    assert.ok(err instanceof HuaweiConfigError);
    return err.problems;
  }
  assert.fail('expected a HuaweiConfigError');
}

describe('huawei config', () => {
  it('derives the Huawei endpoint from the region and fills defaults', () => {
    const r = resolveHuaweiConfig(base);
    assert.equal(r.endpoint, 'https://vpc.ap-southeast-1.myhuaweicloud.com');
    assert.equal(r.endpoint, huaweiVpcEndpoint('ap-southeast-1'));
    assert.equal(r.timeoutMs, HUAWEI_DEFAULTS.timeoutMs);
    assert.equal(r.timeoutMs, 10000);
    assert.equal(r.qps, HUAWEI_DEFAULTS.qps);
    assert.equal(r.burst, HUAWEI_DEFAULTS.burst);
    assert.equal(r.userAgent, 'hostnet-controller');
    assert.equal(r.routeTableIds, undefined);
  });

  it('an explicit endpoint wins and loses its trailing slash', () => {
    const r = resolveHuaweiConfig({ ...base, endpoint: 'http://127.0.0.1:8080/' });
    assert.equal(r.endpoint, 'http://127.0.0.1:8080');
  });

  it('OTC requires an explicit endpoint', () => {
    const p = problems({ ...base, flavor: 'otc', region: 'eu-de' });
    assert.ok(p.some((x) => /endpoint is required for OTC/.test(x)), p.join());
    const r = resolveHuaweiConfig({ ...base, flavor: 'otc', region: undefined, endpoint: 'https://vpc.eu-de.otc.t-systems.com' });
    assert.equal(r.endpoint, 'https://vpc.eu-de.otc.t-systems.com');
    assert.equal(r.flavor, 'otc');
  });

  it('Huawei needs an endpoint or a region', () => {
    assert.ok(problems({ ...base, region: undefined }).some((x) => /endpoint or region/.test(x)));
    assert.ok(problems({ ...base, region: 'Not A Region' }).some((x) => /region/.test(x)));
  });

  it('projectId is required', () => {
    assert.ok(problems({ ...base, projectId: '' }).some((x) => /projectId is required/.test(x)));
    assert.ok(problems({ ...base, projectId: '../x' }).some((x) => /projectId/.test(x)));
  });

  it('needs vpcId or routeTableIds; route table ids are trimmed and deduplicated', () => {
    assert.ok(problems({ ...base, vpcId: undefined }).some((x) => /vpcId or routeTableIds/.test(x)));
    assert.ok(problems({ ...base, vpcId: undefined, routeTableIds: [' '] }).some((x) => /vpcId or routeTableIds/.test(x)));
    const r = resolveHuaweiConfig({ ...base, vpcId: undefined, routeTableIds: ['rt-1 ', 'rt-1', 'rt-2'] });
    assert.deepEqual(r.routeTableIds, ['rt-1', 'rt-2']);
  });

  it('validates credentials without printing them', () => {
    const p = problems({ ...base, credentials: { ak: '', sk: '' } });
    assert.ok(p.some((x) => /access key/.test(x)));
    assert.ok(p.some((x) => /secret key/.test(x)));
    const p2 = problems({ ...base, credentials: { ak: 'AKVALUE12345', sk: 'SKVALUE67890' }, timeoutMs: -1 });
    assert.ok(!p2.join().includes('AKVALUE12345') && !p2.join().includes('SKVALUE67890'));
  });

  it('validates timeout, rate limit and user agent', () => {
    assert.ok(problems({ ...base, timeoutMs: 0 }).some((x) => /timeoutMs/.test(x)));
    assert.ok(problems({ ...base, timeoutMs: Number.POSITIVE_INFINITY }).some((x) => /timeoutMs/.test(x)));
    assert.equal(resolveHuaweiConfig({ ...base, timeoutMs: 1500.4 }).timeoutMs, 1500);
    assert.ok(problems({ ...base, qps: 0 }).some((x) => /qps/.test(x)));
    assert.ok(problems({ ...base, burst: 0 }).some((x) => /burst/.test(x)));
    assert.ok(problems({ ...base, userAgent: ' ' }).some((x) => /userAgent/.test(x)));
    const r = resolveHuaweiConfig({ ...base, timeoutMs: 2500, qps: 0.5, burst: 3, userAgent: 'ua/1' });
    assert.deepEqual([r.timeoutMs, r.qps, r.burst, r.userAgent], [2500, 0.5, 3, 'ua/1']);
  });

  it('rejects bad endpoints and flavors, listing every problem at once', () => {
    const p = problems({ ...base, flavor: 'aws' as never, endpoint: 'ftp://x', projectId: '' });
    assert.ok(p.length >= 3, p.join('; '));
    assert.ok(problems({ ...base, endpoint: 'not a url' }).some((x) => /not a URL/.test(x)));
    assert.ok(problems({ ...base, endpoint: 'https://x/?a=b' }).some((x) => /query/.test(x)));
  });
});
