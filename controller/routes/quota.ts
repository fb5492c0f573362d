// How many routes a table takes, as far as we know: the configured capacity until the cloud's
// refusal teaches us a lower one; and the destinations that wait for room meanwhile.
import type { RouteBatch } from '../provider/provider.js';

export class QuotaPolicy {
  capacity: number;
  /** Wanted destinations that do not fit: added as soon as there is room. */
  readonly waiting = new Set<string>();

  constructor(configured: number) {
    this.capacity = configured;
  }

  /** Keeps the adds beyond the room left (`used` routes now, the batch's deletes freeing some) waiting. */
  fit(batch: RouteBatch, used: number): void {
    const room = Math.max(0, this.capacity - used + batch.del.length);
    if (batch.add.length > room) for (const a of batch.add.splice(room)) this.waiting.add(a.destination);
  }

  /** The cloud refused one add for its quota: the table is full at `used`. */
  learnFull(destination: string, used: number): void {
    this.capacity = used;
    this.waiting.add(destination);
  }

  /**
   * A fresh read: let the waiting be tried once more (if the quota was raised the cloud takes
   * them; if not, its refusal teaches us the quota again).
   */
  reopen(used: number): void {
    if (this.waiting.size > 0) this.capacity = Math.max(this.capacity, used + this.waiting.size);
  }
}
