// Sends one table's changes the way the provider writes (capabilities.routeWrites) and says
// what became of each: applied, refused for good, or to be retried (after a backoff that holds
// every table of the account). Bisection only where a batch is atomic: there one refused change
// fails the whole call, so halving the batch finds it; elsewhere the cloud names it.
import type { CloudError } from '../provider/errors.js';
import { isCloudError } from '../provider/errors.js';
import { isFencedError } from '../provider/fence.js';
import type { CloudProvider, RouteBatch, RouteChange } from '../provider/provider.js';
import { batchOf, batchSize, changesOf, chunkBatch, destinationOf, destinationsOf, splitBatch } from './diff.js';
import type { WriteBackoff } from './gate.js';

/** What the table does with each result (see table.ts). */
export interface WriteSink {
  /** Takes out of the batch the adds that no longer fit (the quota may have been learned a moment ago). */
  fit(batch: RouteBatch): void;
  /** The batch is about to go out. */
  sending(batch: RouteBatch): void;
  /** The cloud took these changes. */
  applied(batch: RouteBatch): void;
  /** A retryable failure: the changes wait for the next flush. */
  retryable(batch: RouteBatch, err: CloudError): void;
  /** The cloud refuses this one change (a quota refusal, or for good until its spec changes). */
  refused(destination: string, batch: RouteBatch, err: CloudError): void;
}

export interface WriterHooks {
  /** Changes carried by one call. */
  onBatch?(size: number): void;
  /** A call that follows a retryable failure. */
  onRetry?(): void;
}

export interface RouteWriter {
  /**
   * Sends the batch. Resolves false when a retryable failure stopped it (what was not sent waits
   * for the next flush), true otherwise. Throws the write fence's refusal and non-cloud errors.
   */
  send(batch: RouteBatch, sink: WriteSink): Promise<boolean>;
  /** Write calls made (each counts, failed or not). */
  readonly writes: number;
}

export function createRouteWriter(provider: CloudProvider, tableId: string, backoff: WriteBackoff, hooks: WriterHooks): RouteWriter {
  const w = provider.capabilities.routeWrites;
  if (w.kind === 'per-route') return new PerRouteWriter(provider, tableId, backoff, hooks, w.concurrency);
  return new BatchWriter(provider, tableId, backoff, hooks, w.maxBatch, w.kind === 'atomic-batch');
}

/** Atomic or partial batches of at most maxBatch changes, one call each; calls to a table never overlap. */
class BatchWriter implements RouteWriter {
  writes = 0;

  constructor(
    private readonly provider: CloudProvider,
    private readonly tableId: string,
    private readonly backoff: WriteBackoff,
    private readonly hooks: WriterHooks,
    private readonly maxBatch: number,
    private readonly atomic: boolean,
  ) {}

  async send(batch: RouteBatch, sink: WriteSink): Promise<boolean> {
    sink.fit(batch);
    const chunks = chunkBatch(batch, Math.max(1, this.maxBatch));
    for (let i = 0; i < chunks.length; i++) {
      const stopped = await this.sendOne(chunks[i]!, sink);
      if (stopped !== true) {
        for (const rest of chunks.slice(i + 1)) sink.retryable(rest, stopped);
        return false;
      }
    }
    return true;
  }

  /** true, or the retryable error that stopped it. */
  private async sendOne(batch: RouteBatch, sink: WriteSink): Promise<true | CloudError> {
    sink.fit(batch);
    if (batchSize(batch) === 0) return true;
    sink.sending(batch);
    await this.backoff.wait();
    if (this.backoff.failures > 0) this.hooks.onRetry?.();
    let result: void | { failed: { destination: string; error: CloudError }[] };
    try {
      result = await this.provider.applyRoutes!(this.tableId, batch);
      this.writes++;
    } catch (err) {
      // Refused by the write fence (this replica is stopping or lost its lease): never sent.
      if (isFencedError(err)) throw err;
      this.writes++;
      if (!isCloudError(err)) throw err;
      if (err.retryable) {
        this.retryLater(batch, err, sink);
        return err;
      }
      const dests = destinationsOf(batch);
      if (this.atomic && dests.length > 1) {
        const [a, b] = splitBatch(batch);
        const first = await this.sendOne(a, sink);
        if (first !== true) {
          this.retryLater(b, first, sink);
          return first;
        }
        return this.sendOne(b, sink);
      }
      for (const d of dests) sink.refused(d, batch, err);
      return true;
    }
    const failed = new Map((result?.failed ?? []).map((f) => [f.destination, f.error]));
    this.hooks.onBatch?.(batchSize(batch) - failed.size);
    if (failed.size === 0) {
      this.backoff.succeeded();
      sink.applied(batch);
      return true;
    }
    // A partial batch: what the cloud took is applied, each refusal is handled on its own.
    const keep = <T extends { destination: string }>(xs: T[], ok: boolean): T[] => xs.filter((x) => failed.has(x.destination) !== ok);
    sink.applied({ add: keep(batch.add, true), mod: keep(batch.mod, true), del: keep(batch.del, true) });
    let stop: CloudError | undefined;
    for (const [dest, err] of failed) {
      const one: RouteBatch = { add: batch.add.filter((x) => x.destination === dest), mod: batch.mod.filter((x) => x.destination === dest), del: batch.del.filter((x) => x.destination === dest) };
      if (err.retryable) {
        if (!stop) this.backoff.failed(err);
        stop ??= err;
        sink.retryable(one, err);
      } else sink.refused(dest, one, err);
    }
    if (!stop) this.backoff.succeeded();
    return stop ?? true;
  }

  /** A retryable failure: hold further calls, and report the batch's changes as failed. */
  private retryLater(batch: RouteBatch, err: CloudError, sink: WriteSink): void {
    this.backoff.failed(err);
    sink.retryable(batch, err);
  }
}

/** One call per route, up to `concurrency` at once; the first retryable failure stops new calls. */
class PerRouteWriter implements RouteWriter {
  writes = 0;

  constructor(
    private readonly provider: CloudProvider,
    private readonly tableId: string,
    private readonly backoff: WriteBackoff,
    private readonly hooks: WriterHooks,
    private readonly concurrency: number,
  ) {}

  async send(batch: RouteBatch, sink: WriteSink): Promise<boolean> {
    sink.fit(batch);
    if (batchSize(batch) === 0) return true;
    sink.sending(batch);
    const queue = changesOf(batch);
    let stop: CloudError | undefined;
    let thrown: unknown;
    const worker = async (): Promise<void> => {
      for (let c = queue.shift(); c !== undefined; c = queue.shift()) {
        if (stop || thrown !== undefined) {
          queue.unshift(c);
          return;
        }
        try {
          await this.writeOne(c, sink);
        } catch (err) {
          if (isCloudError(err) && err.retryable) {
            if (!stop) this.backoff.failed(err);
            stop ??= err;
            sink.retryable(batchOf(c), err);
          } else thrown ??= err;
        }
      }
    };
    await Promise.all(Array.from({ length: Math.max(1, Math.min(this.concurrency, queue.length)) }, worker));
    if (thrown !== undefined) throw thrown;
    if (stop) {
      // Not sent: waits for the next flush with the failure that stopped it.
      for (const c of queue) sink.retryable(batchOf(c), stop);
      return false;
    }
    return true;
  }

  /** One change; throws a retryable CloudError, the fence's refusal or a non-cloud error. */
  private async writeOne(c: RouteChange, sink: WriteSink): Promise<void> {
    const one = batchOf(c);
    await this.backoff.wait();
    if (this.backoff.failures > 0) this.hooks.onRetry?.();
    try {
      await this.provider.writeRoute!(this.tableId, c);
      this.writes++;
    } catch (err) {
      if (isFencedError(err)) throw err;
      this.writes++;
      if (!isCloudError(err) || err.retryable) throw err;
      sink.refused(destinationOf(c), one, err);
      return;
    }
    this.backoff.succeeded();
    this.hooks.onBatch?.(1);
    sink.applied(one);
  }
}
