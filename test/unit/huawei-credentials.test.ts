import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { akHint, CredentialsError, loadCredentials, redact, sameCredentials } from '../../controller/provider/huawei/credentials.js';

describe('huawei: credentials', () => {
  let dir: string;
  beforeEach(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'hostnet-cred-'));
  });
  afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('reads a mounted Secret directory, trimming whitespace', () => {
    fs.writeFileSync(path.join(dir, 'access-key'), '  AKFROMFILE123\n');
    fs.writeFileSync(path.join(dir, 'secret-key'), 'SKFROMFILE456\r\n');
    const c = loadCredentials({ dir });
    assert.equal(c.ak, 'AKFROMFILE123');
    assert.equal(c.sk, 'SKFROMFILE456');
    assert.equal(c.securityToken, undefined);
    assert.equal(c.source, `dir:${dir}`);
  });

  it('reads the optional security token', () => {
    fs.writeFileSync(path.join(dir, 'access-key'), 'AK1234');
    fs.writeFileSync(path.join(dir, 'secret-key'), 'SK1234');
    fs.writeFileSync(path.join(dir, 'security-token'), 'TOKEN-XYZ\n');
    assert.equal(loadCredentials({ dir }).securityToken, 'TOKEN-XYZ');
  });

  it('names the missing files, never the values', () => {
    fs.writeFileSync(path.join(dir, 'access-key'), 'AKSHOULDNOTAPPEAR');
    fs.writeFileSync(path.join(dir, 'secret-key'), '   \n');
    assert.throws(
      () => loadCredentials({ dir }),
      (err: unknown) => {
        assert.ok(err instanceof CredentialsError);
        assert.match(err.message, /secret-key/);
        assert.doesNotMatch(err.message, /access-key/);
        assert.doesNotMatch(err.message, /AKSHOULDNOTAPPEAR/);
        return true;
      },
    );
    assert.throws(() => loadCredentials({ dir: path.join(dir, 'nope') }), /does not exist/);
  });

  it('falls back to HUAWEICLOUD_SDK_AK / HUAWEICLOUD_SDK_SK', () => {
    const c = loadCredentials({ env: { HUAWEICLOUD_SDK_AK: ' AKENV1 ', HUAWEICLOUD_SDK_SK: 'SKENV1', HUAWEICLOUD_SDK_SECURITY_TOKEN: 'T1' } });
    assert.deepEqual(c, { ak: 'AKENV1', sk: 'SKENV1', securityToken: 'T1', source: 'env:HUAWEICLOUD_SDK_AK' });
  });

  it('accepts the OS_ACCESS_KEY / OS_SECRET_KEY aliases', () => {
    const c = loadCredentials({ env: { OS_ACCESS_KEY: 'AKOS', OS_SECRET_KEY: 'SKOS' } });
    assert.equal(c.ak, 'AKOS');
    assert.equal(c.sk, 'SKOS');
    assert.equal(c.source, 'env:OS_ACCESS_KEY');
  });

  it('names the missing variables', () => {
    assert.throws(() => loadCredentials({ env: { HUAWEICLOUD_SDK_AK: 'AKONLY1234' } }), (err: unknown) => {
      assert.ok(err instanceof CredentialsError);
      assert.match(err.message, /HUAWEICLOUD_SDK_SK/);
      assert.doesNotMatch(err.message, /HUAWEICLOUD_SDK_AK or/);
      assert.doesNotMatch(err.message, /AKONLY1234/);
      return true;
    });
  });

  it('redact() removes secrets and signatures', () => {
    const text =
      'Authorization: SDK-HMAC-SHA256 Access=AKREDACT1, SignedHeaders=content-type;host, Signature=0123abcd sk=SKREDACT2 again AKREDACT1';
    const out = redact(text, ['AKREDACT1', 'SKREDACT2', undefined, 'ab']);
    assert.doesNotMatch(out, /AKREDACT1|SKREDACT2|Signature=/);
    assert.match(out, /\*\*\*/);
  });

  it('re-read comparison: the same key only when AK, SK and token are equal', () => {
    assert.ok(sameCredentials({ ak: 'AK1', sk: 'SK1' }, { ak: 'AK1', sk: 'SK1' }));
    assert.ok(!sameCredentials({ ak: 'AK1', sk: 'SK1' }, { ak: 'AK1', sk: 'SK2' }), 'a new SK for the same AK');
    assert.ok(!sameCredentials({ ak: 'AK1', sk: 'SK1' }, { ak: 'AK1', sk: 'SK1', securityToken: 'T' }));
  });

  it('a log shows an AK by its last 4 characters at most, and nothing of a short one', () => {
    assert.equal(akHint('ROTATEDAK0000555566667777'), '…7777');
    assert.equal(akHint('AK123456'), '…');
  });
});
