// The auth backoff alone (a fake clock): how long it waits, that one probe goes out, and that
// calls in flight together count as one refusal.
import assert from 'node:assert/strict';
import { AuthBackoff } from '../../controller/provider/auth-backoff.js';
import { CloudError } from '../../controller/provider/errors.js';

const refused = (): CloudError => new CloudError({ kind: 'auth', operation: 'routes.list', httpStatus: 401, code: 'AuthFailure', cloudMessage: 'Incorrect IAM authentication information' });

describe('auth backoff', () => {
  it('sends freely until a refusal, then waits 1, 2, 4 … minutes, at most 30', () => {
    let now = 0;
    const b = new AuthBackoff(() => now);
    assert.equal(b.admit('x').send, true);
    const waits: number[] = [];
    for (let i = 0; i < 8; i++) {
      const w = b.failed(refused());
      waits.push(w / 60_000);
      now += w - 1;
      assert.equal(b.admit('x').send, false, 'still waiting 1 ms before the end');
      now += 1;
      assert.equal(b.admit('x').send, true, 'the probe');
    }
    assert.deepEqual(waits, [1, 2, 4, 8, 16, 30, 30, 30]);
  });

  it('one probe at a time; refusals of calls that were in flight together count once', () => {
    let now = 0;
    const b = new AuthBackoff(() => now);
    assert.equal(b.failed(refused()), 60_000);
    assert.equal(b.failed(refused()), 0, 'a second call of the same moment: no new wait, no second log line');
    assert.equal(b.consecutiveFailures, 1);
    now = 60_000;
    assert.equal(b.admit('x').send, true);
    const other = b.admit('routes.apply');
    assert.equal(other.send, false, 'a second call while the probe is out');
    assert.ok(!other.send && other.error.kind === 'auth' && other.error.operation === 'routes.apply');
    assert.ok(!other.send && /refused the credentials 1 time\(s\) in a row \(AuthFailure: Incorrect IAM authentication information\); no new attempt before 1970-01-01T00:01:00\.000Z/.test(other.error.message), !other.send ? other.error.message : '');
    b.settled(); // the probe timed out: somebody else may probe
    assert.equal(b.admit('x').send, true);
    b.succeeded();
    assert.equal(b.admit('x').send, true);
    assert.equal(b.admit('y').send, true, 'no backoff after a success');
    assert.equal(b.consecutiveFailures, 0);
  });

  it('new credentials end the wait at once: the next call is sent, and a refusal of the new key starts again at 1 minute', () => {
    let now = 0;
    const b = new AuthBackoff(() => now);
    b.failed(refused());
    now += 5 * 60_000;
    b.admit('probe');
    b.failed(refused()); // second refusal: 2 minutes
    assert.equal(b.admit('x').send, false);
    b.reset();
    assert.equal(b.admit('x').send, true);
    assert.equal(b.admit('y').send, true, 'not a single probe: the wait is over');
    assert.equal(b.failed(refused()), 60_000);
  });
});
