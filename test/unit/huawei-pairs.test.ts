import assert from 'node:assert/strict';
import { DISABLE_CHECK_PAIR, mergeAddressPairs } from '../../controller/provider/huawei/provider.js';
import { covers as cidrCovers, parseAddressOrCidr } from '../../controller/cidr.js';

const parseCidr4 = (s: string) => {
  const c = parseAddressOrCidr(s);
  return c && { addr: c.base, prefix: c.prefix };
};

describe('huawei: CIDR helpers', () => {
  it('parses IPv4 CIDRs and bare addresses', () => {
    assert.deepEqual(parseCidr4('10.0.2.0/24'), { addr: 0x0a000200, prefix: 24 });
    assert.deepEqual(parseCidr4('192.168.0.3'), { addr: 0xc0a80003, prefix: 32 });
    assert.deepEqual(parseCidr4('1.1.1.1/0'), { addr: 0, prefix: 0 }); // the network of 1.1.1.1/0: everything
    assert.equal(parseCidr4('256.0.0.0/8'), undefined);
    assert.equal(parseCidr4('10.0.0.0/33'), undefined);
    assert.equal(parseCidr4('fd00::/64'), undefined);
    assert.equal(parseCidr4('nonsense'), undefined);
  });

  it('containment', () => {
    assert.ok(cidrCovers('1.1.1.1/0', '10.0.2.0/24'));
    assert.ok(cidrCovers('10.0.0.0/8', '10.0.2.0/24'));
    assert.ok(cidrCovers('10.0.2.0/24', '10.0.2.0/24'));
    assert.ok(!cidrCovers('10.0.2.0/24', '10.0.0.0/8'));
    assert.ok(!cidrCovers('10.0.3.0/24', '10.0.2.0/24'));
    assert.ok(!cidrCovers('10.0.2.0/24', '1.1.1.1/0'));
    assert.ok(cidrCovers('192.168.0.10', '192.168.0.10/32'));
    // non-IPv4 values compare literally
    assert.ok(cidrCovers('fd00::/64', 'fd00::/64'));
    assert.ok(!cidrCovers('fd00::/64', '10.0.0.0/8'));
  });
});

describe('huawei: allowed_address_pairs merging', () => {
  it('disable: adds 1.1.1.1/0 and keeps existing pairs (with their MAC)', () => {
    const existing = [{ ip_address: '192.168.0.100', mac_address: 'fa:16:3e:00:00:99' }];
    const { pairs, changed } = mergeAddressPairs(existing, DISABLE_CHECK_PAIR);
    assert.equal(changed, true);
    assert.deepEqual(pairs, [{ ip_address: '192.168.0.100', mac_address: 'fa:16:3e:00:00:99' }, { ip_address: '1.1.1.1/0' }]);
    // the input is not mutated
    assert.equal(existing.length, 1);
  });

  it('disable: unchanged when 1.1.1.1/0 is already there', () => {
    const { pairs, changed } = mergeAddressPairs([{ ip_address: '1.1.1.1/0' }, { ip_address: '192.168.0.100' }], DISABLE_CHECK_PAIR);
    assert.equal(changed, false);
    assert.equal(pairs.length, 2);
  });

  it('disable: a narrower pair does not count', () => {
    const { changed } = mergeAddressPairs([{ ip_address: '10.0.0.0/8' }], DISABLE_CHECK_PAIR);
    assert.equal(changed, true);
  });

  it('block: adds the block', () => {
    const { pairs, changed } = mergeAddressPairs([], '10.0.2.0/24');
    assert.equal(changed, true);
    assert.deepEqual(pairs, [{ ip_address: '10.0.2.0/24' }]);
  });

  it('block: unchanged when the block or a wider pair (or 1.1.1.1/0) is there', () => {
    assert.equal(mergeAddressPairs([{ ip_address: '10.0.2.0/24' }], '10.0.2.0/24').changed, false);
    assert.equal(mergeAddressPairs([{ ip_address: '10.0.0.0/16' }], '10.0.2.0/24').changed, false);
    assert.equal(mergeAddressPairs([{ ip_address: '1.1.1.1/0' }], '10.0.2.0/24').changed, false);
  });

  it('block: keeps another host block that is there (no removals)', () => {
    const { pairs, changed } = mergeAddressPairs([{ ip_address: '10.0.3.0/24' }], '10.0.2.0/24');
    assert.equal(changed, true);
    assert.deepEqual(
      pairs.map((p) => p.ip_address),
      ['10.0.3.0/24', '10.0.2.0/24'],
    );
  });
});
