// IPv4/CIDR arithmetic: parsing, strictness, canonical text, containment and overlap.
import assert from 'node:assert/strict';
import {
  containsCidr,
  containsIp,
  formatCidr,
  formatIPv4,
  maskOf,
  normalizeCidr,
  overlaps,
  parseCidr,
  parseIPv4,
  size,
} from '../../controller/cidr.js';

const c = (text: string) => {
  const v = parseCidr(text);
  assert.ok(v, `${text} should parse`);
  return v;
};

describe('cidr', () => {
  describe('parseIPv4 / formatIPv4', () => {
    it('parses dotted quads to unsigned 32-bit numbers and formats them back', () => {
      assert.equal(parseIPv4('0.0.0.0'), 0);
      assert.equal(parseIPv4('10.0.2.1'), 0x0a000201);
      assert.equal(parseIPv4('255.255.255.255'), 0xffffffff);
      assert.equal(parseIPv4('192.168.1.2'), 3232235778);
      for (const ip of ['0.0.0.0', '10.0.2.1', '128.0.0.1', '255.255.255.255', '172.16.0.254']) {
        assert.equal(formatIPv4(parseIPv4(ip)!), ip);
      }
    });

    it('rejects out-of-range octets, wrong shapes and leading zeros', () => {
      for (const bad of ['256.0.0.0', '1.2.3', '1.2.3.4.5', 'a.b.c.d', '', '1..2.3', '1.2.3.4/8', '01.2.3.4', '1.02.3.4', '1.2.3.00', '1.2.3.-1', '1.2.3.1234']) {
        assert.equal(parseIPv4(bad), undefined, bad);
      }
    });
  });

  describe('maskOf / size', () => {
    it('computes masks at the edges /0 and /32', () => {
      assert.equal(maskOf(0), 0);
      assert.equal(maskOf(1), 0x80000000);
      assert.equal(maskOf(24), 0xffffff00);
      assert.equal(maskOf(32), 0xffffffff);
      assert.equal(size({ base: 0, prefix: 0 }), 2 ** 32);
      assert.equal(size({ base: 0, prefix: 32 }), 1);
      assert.equal(size(c('10.0.0.0/24')), 256);
    });
  });

  describe('parseCidr / formatCidr / normalizeCidr', () => {
    it('parses network addresses and formats them back', () => {
      assert.deepEqual(parseCidr('10.0.0.0/16'), { base: 0x0a000000, prefix: 16 });
      assert.deepEqual(parseCidr('0.0.0.0/0'), { base: 0, prefix: 0 });
      assert.deepEqual(parseCidr('255.255.255.255/32'), { base: 0xffffffff, prefix: 32 });
      assert.equal(formatCidr(c('192.168.128.0/17')), '192.168.128.0/17');
    });

    it('is strict about host bits by default, and masks them when not strict', () => {
      assert.equal(parseCidr('10.0.0.1/24'), undefined);
      assert.equal(parseCidr('10.0.1.0/23'), undefined);
      assert.equal(parseCidr('0.0.0.1/0'), undefined);
      assert.deepEqual(parseCidr('10.0.0.1/24', false), { base: 0x0a000000, prefix: 24 });
      assert.deepEqual(parseCidr('10.0.1.0/23', false), { base: 0x0a000000, prefix: 23 });
      assert.deepEqual(parseCidr('255.255.255.255/0', false), { base: 0, prefix: 0 });
      assert.deepEqual(parseCidr('10.0.0.1/32'), { base: 0x0a000001, prefix: 32 });
    });

    it('rejects malformed text', () => {
      for (const bad of ['10.0.0.0', '10.0.0.0/', '10.0.0.0/33', '10.0.0.0/100', '10.0.0.0/-1', '10.0.0.0/8/8', '10.0.0/8', '/8', 'x/8', '10.0.0.0/a', '010.0.0.0/8', '10.00.0.0/16']) {
        assert.equal(parseCidr(bad), undefined, bad);
        assert.equal(normalizeCidr(bad), undefined, bad);
      }
    });

    it('normalizes to canonical text (trims surrounding space) and rejects host bits', () => {
      assert.equal(normalizeCidr(' 10.0.2.0/24 '), '10.0.2.0/24');
      assert.equal(normalizeCidr('10.0.2.0/24'), '10.0.2.0/24');
      assert.equal(normalizeCidr('10.0.2.5/24'), undefined);
      assert.equal(normalizeCidr('0.0.0.0/0'), '0.0.0.0/0');
      // A leading zero in the prefix length is not ambiguous; it is accepted and canonicalized.
      assert.equal(normalizeCidr('10.0.0.0/08'), '10.0.0.0/8');
    });
  });

  describe('containsIp / containsCidr / overlaps', () => {
    it('containsIp at both ends of a block and just outside', () => {
      const b = c('10.0.2.0/24');
      assert.equal(containsIp(b, parseIPv4('10.0.2.0')!), true);
      assert.equal(containsIp(b, parseIPv4('10.0.2.255')!), true);
      assert.equal(containsIp(b, parseIPv4('10.0.1.255')!), false);
      assert.equal(containsIp(b, parseIPv4('10.0.3.0')!), false);
    });

    it('/0 contains everything; /32 contains only itself', () => {
      const all = c('0.0.0.0/0');
      assert.equal(containsIp(all, 0xffffffff), true);
      assert.equal(containsIp(all, 0), true);
      assert.equal(containsCidr(all, c('255.255.255.255/32')), true);
      assert.equal(containsCidr(all, all), true);
      const one = c('10.0.0.7/32');
      assert.equal(containsIp(one, parseIPv4('10.0.0.7')!), true);
      assert.equal(containsIp(one, parseIPv4('10.0.0.6')!), false);
      assert.equal(containsCidr(one, one), true);
      assert.equal(containsCidr(one, all), false);
      assert.equal(containsCidr(c('10.0.0.0/24'), one), true);
    });

    it('containsCidr needs the inner prefix to be at least as long', () => {
      assert.equal(containsCidr(c('10.0.0.0/16'), c('10.0.2.0/24')), true);
      assert.equal(containsCidr(c('10.0.0.0/16'), c('10.0.0.0/16')), true);
      assert.equal(containsCidr(c('10.0.2.0/24'), c('10.0.0.0/16')), false);
      assert.equal(containsCidr(c('10.0.0.0/16'), c('10.1.0.0/24')), false);
      assert.equal(containsCidr(c('128.0.0.0/1'), c('255.255.255.0/24')), true);
      assert.equal(containsCidr(c('0.0.0.0/1'), c('128.0.0.0/24')), false);
    });

    it('overlaps is symmetric and false for adjacent blocks', () => {
      const pairs: [string, string, boolean][] = [
        ['10.0.0.0/16', '10.0.2.0/24', true],
        ['10.0.0.0/24', '10.0.1.0/24', false],
        ['10.0.0.0/23', '10.0.1.0/24', true],
        ['0.0.0.0/0', '192.168.0.0/16', true],
        ['10.0.0.0/8', '11.0.0.0/8', false],
        ['10.0.0.5/32', '10.0.0.5/32', true],
        ['10.0.0.5/32', '10.0.0.4/32', false],
        ['255.255.255.255/32', '255.0.0.0/8', true],
      ];
      for (const [a, b, want] of pairs) {
        assert.equal(overlaps(c(a), c(b)), want, `${a} vs ${b}`);
        assert.equal(overlaps(c(b), c(a)), want, `${b} vs ${a}`);
      }
    });
  });
});
