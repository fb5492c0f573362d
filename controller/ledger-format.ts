// The ledger's stored format, as pure code (no I/O): how records are cut into shards, how a
// shard describes itself, and how it is encoded into / decoded from a ConfigMap.
//
// Format 2 (this one): one ConfigMap per /16 of the address space that holds records
// ("hostnet-allocations-<installation-id>-<a>-<b>" for a.b.0.0/16), so a /8 pool cut into /24s
// (65,536 records) spreads over 256 objects of ~12 KiB instead of one object past the API
// server's 1 MiB limit. Each shard is written with its own compare-and-swap. Data keys are the
// blocks ("10.0.2.0_24", "/" is not allowed in a key), values the HostNetwork names, exactly as
// in format 1. Annotations make each shard self-describing: the format version, and the pool and
// block size the records were written under (for the message when new flags cannot honour them).
//
// Format 1 (before sharding): one ConfigMap "hostnet-allocations-<installation-id>", same data,
// no format annotation. It is read and merged, then migrated into shards (see Ledger.load).
import { formatCidr, parseCidr } from './cidr.js';

export const LEDGER_FORMAT = 2;
/** The API server refuses a ConfigMap whose data (keys plus values) exceeds 1 MiB. */
export const SHARD_LIMIT_BYTES = 1024 * 1024;

export const Annotation = {
  format: 'hostnet.io/ledger-format',
  pool: 'hostnet.io/ledger-pool',
  blockSize: 'hostnet.io/ledger-block-size',
  shard: 'hostnet.io/ledger-shard',
  migrated: 'hostnet.io/ledger-migrated-to-format',
  purpose: 'hostnet.io/purpose',
} as const;
export const Label = { name: 'app.kubernetes.io/name', installation: 'hostnet.io/installation', role: 'hostnet.io/ledger' } as const;

/** Under which flags the records of a shard were written; '' when not known (migrated from format 1). */
export interface LedgerMeta {
  format: number;
  pool: string;
  blockSize: number | undefined;
}

/** The shard a block's record lives in: the /16 holding the block's first address ("10.0"). */
export function shardKeyOf(block: string): string {
  const c = parseCidr(block, false);
  // A record that is not even a CIDR (hand-edited) stays in a shard of its own name, so that it is
  // kept and reported instead of dropped.
  if (!c) return 'invalid';
  return `${c.base >>> 24}-${(c.base >>> 16) & 0xff}`;
}

export function shardRange(key: string): string {
  const m = /^(\d+)-(\d+)$/.exec(key);
  return m ? formatCidr({ base: ((Number(m[1]) << 24) | (Number(m[2]) << 16)) >>> 0, prefix: 16 }) : key;
}

export function legacyName(installationId: string): string {
  return `hostnet-allocations-${installationId}`;
}

export function shardName(installationId: string, key: string): string {
  return `${legacyName(installationId)}-${key}`;
}

export function labelsFor(installationId: string): Record<string, string> {
  return { [Label.name]: 'hostnet-controller', [Label.installation]: installationId, [Label.role]: 'shard' };
}

/** Selects the shards of one installation (a list needs no name, so RBAC does not need one per shard). */
export function shardSelector(installationId: string): string {
  return `${Label.installation}=${installationId},${Label.role}=shard`;
}

export function encodeKey(block: string): string {
  return block.replace('/', '_');
}

export function decodeKey(key: string): string {
  return key.replace('_', '/');
}

export interface EncodedShard {
  data: Record<string, string>;
  annotations: Record<string, string>;
}

export function encodeShard(key: string, records: Map<string, string>, meta: LedgerMeta): EncodedShard {
  const data: Record<string, string> = {};
  // No sorting: the API server stores map keys in order anyway, and at thousands of records a
  // locale-aware sort per write was a large share of the controller's CPU.
  for (const [block, owner] of records) data[encodeKey(block)] = owner;
  const annotations: Record<string, string> = {
    [Annotation.format]: String(LEDGER_FORMAT),
    [Annotation.shard]: shardRange(key),
    [Annotation.purpose]: 'Container block allocations of hostnet-controller. Do not edit.',
  };
  if (meta.pool) annotations[Annotation.pool] = meta.pool;
  if (meta.blockSize !== undefined) annotations[Annotation.blockSize] = String(meta.blockSize);
  return { data, annotations };
}

export interface DecodedShard {
  records: Map<string, string>;
  meta: LedgerMeta;
}

export class LedgerFormatError extends Error {}

/** Decodes one stored object; a format newer than this build is refused, never misread. */
export function decodeShard(name: string, data: Record<string, string> | undefined, annotations: Record<string, string> | undefined): DecodedShard {
  const a = annotations ?? {};
  const format = a[Annotation.format] === undefined ? 1 : Number(a[Annotation.format]);
  if (!Number.isInteger(format) || format < 1 || format > LEDGER_FORMAT) {
    throw new LedgerFormatError(
      `allocation ledger ${name} has format ${a[Annotation.format]}, this controller reads formats 1 to ${LEDGER_FORMAT}: run a controller version that knows it (records are kept untouched)`,
    );
  }
  const blockSize = a[Annotation.blockSize] === undefined ? undefined : Number(a[Annotation.blockSize]);
  const records = new Map<string, string>();
  for (const [k, owner] of Object.entries(data ?? {})) records.set(decodeKey(k), owner);
  return { records, meta: { format, pool: a[Annotation.pool] ?? '', blockSize: Number.isInteger(blockSize) ? blockSize : undefined } };
}

/** Bytes the API server counts for a shard's data (keys and values), for the fill metric. */
export function shardBytes(records: Map<string, string>): number {
  let n = 0;
  for (const [block, owner] of records) n += block.length + owner.length;
  return n;
}

/** "--pool-cidr=10.0.0.0/16 --block-size=24", or the parts known. */
export function describeMeta(meta: Pick<LedgerMeta, 'pool' | 'blockSize'>): string {
  const parts = [meta.pool ? `--pool-cidr=${meta.pool}` : '', meta.blockSize !== undefined ? `--block-size=${meta.blockSize}` : ''].filter(Boolean);
  return parts.length > 0 ? parts.join(' ') : 'unknown flags (a format 1 ledger)';
}
