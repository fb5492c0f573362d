// IPv4 and CIDR arithmetic. Pure functions, no I/O. Addresses are unsigned 32-bit numbers.

export interface Cidr {
  /** Network address as an unsigned 32-bit integer. */
  base: number;
  prefix: number;
}

const IPV4 = /^(\d{1,3})\.(\d{1,3})\.(\d{1,3})\.(\d{1,3})$/;

export function parseIPv4(text: string): number | undefined {
  const m = IPV4.exec(text.trim());
  if (!m) return undefined;
  let n = 0;
  for (let i = 1; i <= 4; i++) {
    const part = m[i]!;
    if (part.length > 1 && part.startsWith('0')) return undefined; // no octal-looking octets
    const v = Number(part);
    if (v > 255) return undefined;
    n = n * 256 + v;
  }
  return n;
}

export function formatIPv4(n: number): string {
  return [n >>> 24, (n >>> 16) & 255, (n >>> 8) & 255, n & 255].join('.');
}

export function maskOf(prefix: number): number {
  return prefix === 0 ? 0 : (0xffffffff << (32 - prefix)) >>> 0;
}

export function size(c: Cidr): number {
  return 2 ** (32 - c.prefix);
}

/** Parses "a.b.c.d/n". With strict (the default) host bits must be zero. */
export function parseCidr(text: string, strict = true): Cidr | undefined {
  const [addr, len, ...rest] = text.trim().split('/');
  if (addr === undefined || len === undefined || rest.length > 0 || !/^\d{1,2}$/.test(len)) return undefined;
  const prefix = Number(len);
  const ip = parseIPv4(addr);
  if (ip === undefined || prefix > 32) return undefined;
  const base = (ip & maskOf(prefix)) >>> 0;
  if (strict && base !== ip) return undefined;
  return { base, prefix };
}

export function formatCidr(c: Cidr): string {
  return `${formatIPv4(c.base)}/${c.prefix}`;
}

/** Canonical text of a CIDR string, or undefined when it is not a valid network address. */
export function normalizeCidr(text: string): string | undefined {
  const c = parseCidr(text);
  return c ? formatCidr(c) : undefined;
}

export function containsIp(c: Cidr, ip: number): boolean {
  return ((ip & maskOf(c.prefix)) >>> 0) === c.base;
}

/** True when inner lies entirely inside outer. */
export function containsCidr(outer: Cidr, inner: Cidr): boolean {
  return inner.prefix >= outer.prefix && containsIp(outer, inner.base);
}

export function overlaps(a: Cidr, b: Cidr): boolean {
  return containsCidr(a, b) || containsCidr(b, a);
}

/** "a.b.c.d/n" (host bits allowed) or a bare address (= /32); undefined for anything else. */
export function parseAddressOrCidr(text: string): Cidr | undefined {
  const t = text.trim();
  if (!t.includes('/')) {
    const ip = parseIPv4(t);
    return ip === undefined ? undefined : { base: ip, prefix: 32 };
  }
  return parseCidr(t, false);
}

/**
 * True when every address of `inner` lies inside `outer` (a /0 covers everything), for
 * address strings as clouds write them; anything unparsable covers only its identical self.
 */
export function covers(outer: string, inner: string): boolean {
  const o = parseAddressOrCidr(outer);
  const i = parseAddressOrCidr(inner);
  if (!o || !i) return outer.trim() === inner.trim();
  return containsCidr(o, i);
}
