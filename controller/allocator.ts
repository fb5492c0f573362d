// The pool of container blocks: a pool CIDR cut into equal blocks, one bit per block. Pure and
// in memory; the allocation ledger (ledger.ts) makes its decisions durable and exclusive.
//
// Like Kubernetes' node IPAM, the allocator is always rebuilt from the durable records before
// it hands anything out (rebuild()), so a restart can never forget a block that is in use.
import { type Cidr, containsCidr, formatCidr, overlaps, parseCidr, size } from './cidr.js';

export type ClaimProblem =
  | { rule: 'NotInPool'; message: string }
  | { rule: 'WrongBlockSize'; message: string }
  | { rule: 'OverlapsReserved'; message: string; with: string }
  | { rule: 'InUse'; message: string; with: string };

export class BlockAllocator {
  readonly pool: Cidr;
  readonly blockPrefix: number;
  readonly blockCount: number;
  private readonly used: Uint8Array;
  /** Blocks that overlap a VPC subnet or another reserved range: never handed out. */
  private readonly reserved: Uint8Array;
  private readonly reservedBy = new Map<number, string>();
  /** Who holds each used block (block index → owner key). */
  private readonly owners = new Map<number, string>();
  private usedCount = 0;
  private reservedCount = 0;
  /** Round-robin cursor: a released block is not handed out again right away. */
  private cursor = 0;

  constructor(pool: string, blockPrefix: number, reservedRanges: string[] = []) {
    const p = parseCidr(pool);
    if (!p) throw new Error(`pool ${pool} is not a CIDR network address`);
    if (!Number.isInteger(blockPrefix) || blockPrefix < p.prefix || blockPrefix > 32) {
      throw new Error(`block size /${blockPrefix} does not fit the pool ${pool}`);
    }
    if (blockPrefix - p.prefix > 24) throw new Error(`pool ${pool} cut into /${blockPrefix} gives more than 2^24 blocks`);
    this.pool = p;
    this.blockPrefix = blockPrefix;
    this.blockCount = 2 ** (blockPrefix - p.prefix);
    this.used = new Uint8Array(this.blockCount);
    this.reserved = new Uint8Array(this.blockCount);
    for (const r of reservedRanges) this.reserve(r);
  }

  /** Marks every block overlapping the range as never allocatable. */
  reserve(range: string): void {
    const r = parseCidr(range, false);
    if (!r || !overlaps(r, this.pool)) return;
    const first = r.prefix >= this.blockPrefix ? this.indexOf(r.base) : this.indexOf(Math.max(r.base, this.pool.base));
    const count = r.prefix >= this.blockPrefix ? 1 : Math.min(size(r), size(this.pool)) / this.blockSize;
    for (let i = first; i < first + count && i < this.blockCount; i++) {
      if (!this.reserved[i]) {
        this.reserved[i] = 1;
        this.reservedCount++;
        this.reservedBy.set(i, range);
      }
    }
  }

  get blockSize(): number {
    return 2 ** (32 - this.blockPrefix);
  }

  get usedBlocks(): number {
    return this.usedCount;
  }

  get freeBlocks(): number {
    let reservedAndUsed = 0;
    for (const i of this.reservedBy.keys()) if (this.used[i]) reservedAndUsed++;
    return this.blockCount - this.reservedCount - this.usedCount + reservedAndUsed;
  }

  private indexOf(base: number): number {
    return Math.floor((base - this.pool.base) / this.blockSize);
  }

  private blockAt(i: number): string {
    return formatCidr({ base: this.pool.base + i * this.blockSize, prefix: this.blockPrefix });
  }

  /** Why the block could not be claimed by owner, or undefined when it can. */
  check(block: string, owner: string): ClaimProblem | undefined {
    const c = parseCidr(block);
    if (!c) {
      const loose = parseCidr(block, false);
      const hint = loose ? ` (did you mean ${formatCidr(loose)}?)` : '';
      return { rule: 'NotInPool', message: `${block} is not a CIDR network address${hint}; blocks come from the pool ${formatCidr(this.pool)}` };
    }
    if (!containsCidr(this.pool, c)) {
      return { rule: 'NotInPool', message: `${block} is not inside the pool ${formatCidr(this.pool)}` };
    }
    if (c.prefix !== this.blockPrefix) {
      return { rule: 'WrongBlockSize', message: `${block} is a /${c.prefix}; blocks of this pool are /${this.blockPrefix}` };
    }
    const i = this.indexOf(c.base);
    if (this.reserved[i]) {
      const range = this.reservedBy.get(i) ?? 'a reserved range';
      return { rule: 'OverlapsReserved', message: `${block} overlaps the VPC subnet ${range}`, with: range };
    }
    const holder = this.owners.get(i);
    if (holder !== undefined && holder !== owner) {
      return { rule: 'InUse', message: `${block} is already held by ${holder}`, with: holder };
    }
    return undefined;
  }

  /** Claims a specific block. Throws with the ClaimProblem's message when it cannot. */
  claim(block: string, owner: string): void {
    const problem = this.check(block, owner);
    if (problem) throw Object.assign(new Error(problem.message), { problem });
    const i = this.indexOf(parseCidr(block)!.base);
    if (!this.used[i]) {
      this.used[i] = 1;
      this.usedCount++;
    }
    this.owners.set(i, owner);
  }

  /** The next free block after the cursor, claimed for owner; undefined when the pool is full. */
  allocate(owner: string): string | undefined {
    for (let n = 0; n < this.blockCount; n++) {
      const i = (this.cursor + n) % this.blockCount;
      if (!this.used[i] && !this.reserved[i]) {
        this.used[i] = 1;
        this.usedCount++;
        this.owners.set(i, owner);
        this.cursor = (i + 1) % this.blockCount;
        return this.blockAt(i);
      }
    }
    return undefined;
  }

  /** Frees a block if owner holds it (or any holder when owner is omitted). */
  release(block: string, owner?: string): boolean {
    const c = parseCidr(block);
    if (!c || !containsCidr(this.pool, c) || c.prefix !== this.blockPrefix) return false;
    const i = this.indexOf(c.base);
    if (!this.used[i] || (owner !== undefined && this.owners.get(i) !== owner)) return false;
    this.used[i] = 0;
    this.usedCount--;
    this.owners.delete(i);
    return true;
  }

  /** Whether a block is one of this pool's blocks (inside it, at its size), whoever holds it. */
  fits(block: string): boolean {
    const c = parseCidr(block);
    return c !== undefined && containsCidr(this.pool, c) && c.prefix === this.blockPrefix;
  }

  ownerOf(block: string): string | undefined {
    const c = parseCidr(block);
    if (!c || !containsCidr(this.pool, c) || c.prefix !== this.blockPrefix) return undefined;
    return this.owners.get(this.indexOf(c.base));
  }

  /**
   * Replaces the in-memory state with the durable records (block → owner). Records that cannot be
   * honoured (outside the pool, wrong size) are returned, not silently dropped: the ledger then
   * refuses to allocate (a block of the new size could overlap them).
   */
  rebuild(records: Iterable<[string, string]>): { block: string; owner: string; problem: string }[] {
    this.used.fill(0);
    this.owners.clear();
    this.usedCount = 0;
    const rejected: { block: string; owner: string; problem: string }[] = [];
    for (const [block, owner] of records) {
      const c = parseCidr(block);
      if (!c || !containsCidr(this.pool, c) || c.prefix !== this.blockPrefix) {
        rejected.push({ block, owner, problem: `not a /${this.blockPrefix} block of ${formatCidr(this.pool)}` });
        continue;
      }
      const i = this.indexOf(c.base);
      if (!this.used[i]) {
        this.used[i] = 1;
        this.usedCount++;
      }
      this.owners.set(i, owner);
    }
    return rejected;
  }
}
