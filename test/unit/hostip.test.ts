// spec.hostIP against the addresses the cloud reports (pure).
import assert from 'node:assert/strict';
import type { Config } from '../../controller/config.js';
import { verifyHostIP } from '../../controller/hostip.js';
import { silentLogger } from '../../controller/logger.js';
import { createProvider } from '../../controller/provider/factory.js';

describe('verifyHostIP', () => {
  it('a match among several addresses (two NICs) is shown as the server address', () => {
    const v = verifyHostIP('192.168.1.7', ['192.168.0.2', '192.168.1.7'], 'srv-1');
    assert.deepEqual([v.status, v.reason, v.address], ['True', 'HostIPMatches', '192.168.1.7']);
  });

  it('a mismatch names spec.hostIP, every address of the server and what to do; shows the first address', () => {
    const v = verifyHostIP('172.16.5.5', ['192.168.0.2', '192.168.1.7'], 'srv-1');
    assert.deepEqual([v.status, v.reason, v.address], ['False', 'HostIPMismatch', '192.168.0.2']);
    for (const part of ['172.16.5.5', '192.168.0.2, 192.168.1.7', 'srv-1', 'Set spec.hostIP to 192.168.0.2']) assert.ok(v.message.includes(part), `${part} in: ${v.message}`);
  });

  it('IPv6 fixed IPs of a dual-stack port are not candidates (hostIP is IPv4)', () => {
    const v = verifyHostIP('192.168.0.2', ['fd00::2', '192.168.0.2'], 'srv-1');
    assert.deepEqual([v.status, v.address], ['True', '192.168.0.2']);
    const none = verifyHostIP('192.168.0.2', ['fd00::2'], 'srv-1');
    assert.deepEqual([none.status, none.reason, none.address], ['Unknown', 'NotChecked', undefined]);
  });

  it('no spec.hostIP: nothing to judge, the server address is still shown', () => {
    const v = verifyHostIP(undefined, ['192.168.0.3'], 'srv-2');
    assert.deepEqual([v.status, v.reason, v.address], ['Unknown', 'NotSpecified', '192.168.0.3']);
    assert.match(v.message, /192\.168\.0\.3/);
  });
});

describe('--cloud-provider=memory', () => {
  it("reports the seed servers' addresses, so the examples' spec.hostIP checks out", async () => {
    const config = { cloudProvider: 'memory', routeTableIds: [], routeTableCapacity: 200 } as unknown as Config;
    const p = await createProvider(config, silentLogger());
    const r = await p.ensureSourceDestCheck('a2f5a1b4-0000-4d4d-9e2f-7e7bd2f6a002', 'disable', '10.0.3.0/24');
    assert.deepEqual(r.addresses, ['192.168.0.3']);
  });
});
