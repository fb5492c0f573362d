// The chaos soak's short version (issue 11, point 7): the same code as `make soak`
// (test/soak/soak.ts), two minutes of chaos on fewer hosts. Plus the control-plane restart the
// soak relies on: kill -9 of kube-apiserver and a restart on the same etcd, port and certs.
import assert from 'node:assert/strict';
import type { KubeConfig } from '@kubernetes/client-node';
import { freshCluster } from '../helpers/controller.js';
import { resetCluster } from '../helpers/kube.js';
import { createHn, ECS1, getHn, hostNetwork, listHn } from '../helpers/invariants.js';
import { CHAOS_KINDS, CLOUD_FAULT_HITS, DEFAULTS, runSoak, summary } from '../soak/soak.js';

describe('e2e: chaos soak (2 minutes; `make soak` runs it for 10)', function () {
  describe('kube-apiserver killed -9 and restarted on the same etcd', function () {
    this.timeout(120_000);
    let kc: KubeConfig | undefined;
    after(async () => kc && resetCluster(kc));

    it('keeps every object, the URL, the serving certificate and the token', async () => {
      const { cp, kc: admin } = await freshCluster();
      kc = admin;
      const made = await createHn(kc, hostNetwork('restart-probe', { instanceID: ECS1 }));
      const certBefore = await servingCert(cp.url);
      await cp.killApiServer();
      assert.equal(cp.apiServerRunning(), false);
      await assert.rejects(listHn(kc), 'nothing answers while it is down');
      await cp.startApiServer();
      assert.equal(cp.apiServerRunning(), true);
      const got = await getHn(kc, 'restart-probe');
      assert.equal(got?.metadata.uid, made.metadata.uid, 'the object is still in etcd, same uid');
      assert.equal(await servingCert(cp.url), certBefore, 'the same serving certificate');
    });
  });

  describe('two minutes of chaos', function () {
    // Set-up (60 hosts Ready) about a minute on a loaded machine, 2 min of chaos, at most
    // 2 resync periods (40 s) of convergence.
    this.timeout(8 * 60_000);
    let kc: KubeConfig | undefined;
    after(async () => kc && resetCluster(kc));

    it('finds no violation, injected every kind of chaos, and every live host is Ready within 2 resync periods', async () => {
      const shared = await freshCluster();
      kc = shared.kc;
      const report = await runSoak({
        controlPlane: shared.cp,
        ...DEFAULTS,
        minutes: 2,
        hosts: 60,
        seed: 20261202,
        resyncSeconds: 20,
        progressEverySeconds: 30,
        leaderKillEverySeconds: 40,
        apiServerKillEverySeconds: 50,
        log: (line) => console.log(`      ${line}`),
      });
      console.log(summary(report).replace(/^/gm, '      '));
      assert.deepEqual(report.violations.map((v) => v.problem), [], 'no violation');
      assert.ok(report.convergence.converged, 'converged after the chaos');
      for (const k of CHAOS_KINDS) assert.ok(report.injected[k] >= 1, `at least one ${k} injected: ${JSON.stringify(report.injected)}`);
      for (const k of CLOUD_FAULT_HITS) assert.ok(report.cloudFaultsHit[k] >= 1, `at least one cloud ${k} hit a call: ${JSON.stringify(report.cloudFaultsHit)}`);
      assert.ok(report.checks.run >= 10, `invariant checks ran during the chaos: ${JSON.stringify(report.checks)}`);
      assert.equal(report.checks.failed, 0);
    });
  });
});

/** The DER of the certificate the API server presents, base64. */
async function servingCert(url: string): Promise<string> {
  const { connect } = await import('node:tls');
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const s = connect({ host: u.hostname, port: Number(u.port), rejectUnauthorized: false }, () => {
      const der = s.getPeerCertificate().raw.toString('base64');
      s.end();
      resolve(der);
    });
    s.on('error', reject);
  });
}
