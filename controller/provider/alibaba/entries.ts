// Route entries of VRouter route tables through @alicloud/vpc20160428: reading every page,
// creating and deleting in batches of at most 50 with one batch in flight per VPC, moving a
// next hop in place, and waiting (bounded) until written entries show Available. Refused calls
// (TaskConflict, Throttling, 5xx...) are retried with backoff and jitter; per-entry failures of
// a batch come back entry by entry so one bad host does not hold up the others. A duplicate met
// after an ambiguous failure is resolved by reading the table, never by deleting.

import * as $Vpc from '@alicloud/vpc20160428';
import type { CloudError } from '../errors.js';
import { isFencedError } from '../fence.js';
import { AVAILABLE_POLL, pollUntil, retry, WRITE_RETRY, type BackoffPolicy } from './backoff.js';
import { batches, PerVpcSerializer } from './batch.js';
import type { AlibabaVpcClient } from './client.js';
import { failedEntryError, toCloudError } from './errors.js';

/** A custom entry as read back. */
export interface RouteEntryView {
  id: string;
  /** RouteEntryType: System (the VPC's own), Custom, BGP. */
  type: string;
  routeTableId: string;
  destination: string;
  status: string;
  nextHopType: string;
  nextHopId: string;
  name: string;
  description: string;
}

export interface WantedEntry {
  routeTableId: string;
  destination: string;
  instanceId: string;
  /** RouteEntryName and Description carry the installation's mark (ownership). */
  name: string;
  description: string;
}

export type EntryOutcome = { destination: string; routeTableId: string; ok: true; id?: string } | { destination: string; routeTableId: string; ok: false; error: CloudError };

export interface RouteEntriesOptions {
  regionId: string;
  /** Shared by every writer of this process: one batch in flight per VPC. */
  serializer?: PerVpcSerializer;
  writeRetry?: BackoffPolicy;
  availablePoll?: BackoffPolicy;
  /** Called before every write attempt (the lease fence: throws once leadership is lost). */
  fence?: () => void | Promise<void>;
  /**
   * Wraps every write attempt's request (the provider passes WriteFence.run: refused once the
   * lease is lost, counted as in flight until answered so a graceful stop can wait for it).
   */
  gate?: { run<T>(operation: string, send: () => Promise<T>): Promise<T> };
  /**
   * Awaited before every request (the client-side rate limit: writes take a token of the write
   * bucket, --cloud-qps; reads one of the read bucket, --cloud-read-qps).
   */
  throttle?: (kind: 'read' | 'write') => Promise<void>;
  secrets?: string[];
  sleep?: (ms: number) => Promise<void>;
  random?: () => number;
}

const DUPLICATE_CODES = new Set(['InvalidCIDRBlock.Duplicate', 'VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE']);

export class AlibabaRouteEntries {
  private readonly serializer: PerVpcSerializer;

  /** `client` may be a getter: the provider builds a new client when the credentials rotate. */
  constructor(
    private readonly vpc: AlibabaVpcClient | (() => AlibabaVpcClient),
    private readonly opts: RouteEntriesOptions,
  ) {
    this.serializer = opts.serializer ?? new PerVpcSerializer();
  }

  /** The client of this attempt (a retry after a rotation signs with the new key). */
  private get client(): AlibabaVpcClient {
    return typeof this.vpc === 'function' ? this.vpc() : this.vpc;
  }

  private retryable = (err: unknown): boolean => (err as CloudError).retryable === true;

  private async write<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return retry(
      this.opts.writeRetry ?? WRITE_RETRY,
      async () => {
        await this.opts.throttle?.('write');
        await this.opts.fence?.();
        try {
          return await (this.opts.gate ? this.opts.gate.run(operation, call) : call());
        } catch (err) {
          if (isFencedError(err)) throw err;
          throw toCloudError(err, operation, this.opts.secrets);
        }
      },
      this.retryable,
      { ...(this.opts.sleep ? { sleep: this.opts.sleep } : {}), ...(this.opts.random ? { random: this.opts.random } : {}), minDelayMs: (err) => (err as CloudError).minRetryDelayMs ?? 0 },
    );
  }

  /** A read, retried with backoff while the cloud answers with a retryable error. */
  async read<T>(operation: string, call: () => Promise<T>): Promise<T> {
    return retry(
      this.opts.writeRetry ?? WRITE_RETRY,
      async () => {
        await this.opts.throttle?.('read');
        try {
          return await call();
        } catch (err) {
          throw toCloudError(err, operation, this.opts.secrets);
        }
      },
      this.retryable,
      { ...(this.opts.sleep ? { sleep: this.opts.sleep } : {}), ...(this.opts.random ? { random: this.opts.random } : {}), minDelayMs: (err) => (err as CloudError).minRetryDelayMs ?? 0 },
    );
  }

  /** Every custom entry of a table (all pages of 100); `type: 'all'` lists system entries too. */
  async list(routeTableId: string, opts: { type?: 'Custom' | 'all' } = {}): Promise<RouteEntryView[]> {
    const routeEntryType = opts.type === 'all' ? undefined : 'Custom';
    const out: RouteEntryView[] = [];
    let nextToken: string | undefined;
    do {
      const token = nextToken;
      // A read refused with Throttling / 5xx is retried like a write (it changes nothing).
      const res = await this.read('DescribeRouteEntryList', () =>
        this.client.describeRouteEntryList(new $Vpc.DescribeRouteEntryListRequest({ regionId: this.opts.regionId, routeTableId, ...(routeEntryType ? { routeEntryType } : {}), maxResult: 100, ...(token ? { nextToken: token } : {}) })),
      );
      for (const e of res.body?.routeEntrys?.routeEntry ?? []) {
        const hop = e.nextHops?.nextHop?.[0];
        out.push({
          id: e.routeEntryId ?? '',
          type: e.type ?? '',
          routeTableId: e.routeTableId ?? routeTableId,
          destination: e.destinationCidrBlock ?? '',
          status: e.status ?? '',
          nextHopType: hop?.nextHopType ?? '',
          nextHopId: hop?.nextHopId ?? '',
          name: e.routeEntryName ?? '',
          description: e.description ?? '',
        });
      }
      nextToken = res.body?.nextToken || undefined;
    } while (nextToken);
    return out;
  }

  /** Creates `wanted` (entries of one VPC) in batches of ≤ 50, serialized per VPC. */
  async create(vpcId: string, wanted: readonly WantedEntry[]): Promise<EntryOutcome[]> {
    const outcomes: EntryOutcome[] = [];
    for (const batch of batches(wanted)) {
      // The VPC's route task lasts until the batch's entries are Available: the batch holds the
      // VPC's turn until then, so the next batch is not refused with TaskConflict.
      const res = await this.serializer.run(vpcId, async () => {
        const r = await this.write('CreateRouteEntries', () =>
          this.client.createRouteEntries(
            new $Vpc.CreateRouteEntriesRequest({
              regionId: this.opts.regionId,
              routeEntries: batch.map((w) => new $Vpc.CreateRouteEntriesRequestRouteEntries({ routeTableId: w.routeTableId, dstCidrBlock: w.destination, nextHop: w.instanceId, nextHopType: 'Instance', name: w.name, description: w.description })),
            }),
          ),
        );
        const refused = new Set((r.body?.failedRouteEntries ?? []).map((f) => `${f.dstCidrBlock ?? ''}|${f.nextHop ?? ''}`));
        const created = batch.filter((w) => !refused.has(`${w.destination}|${w.instanceId}`));
        for (const tableId of new Set(created.map((w) => w.routeTableId))) await this.waitAvailable(tableId, created.filter((w) => w.routeTableId === tableId));
        return r;
      });
      const failed = new Map((res.body?.failedRouteEntries ?? []).map((f) => [`${f.dstCidrBlock ?? ''}|${f.nextHop ?? ''}`, f]));
      const duplicates: WantedEntry[] = [];
      for (const w of batch) {
        const f = failed.get(`${w.destination}|${w.instanceId}`);
        if (!f) outcomes.push({ destination: w.destination, routeTableId: w.routeTableId, ok: true });
        else if (DUPLICATE_CODES.has(f.failedCode ?? '')) duplicates.push(w);
        else outcomes.push({ destination: w.destination, routeTableId: w.routeTableId, ok: false, error: failedEntryError('CreateRouteEntries', f) });
      }
      // A duplicate is ours when the table already holds exactly what we asked for (an earlier
      // attempt that timed out did land); anything else there is someone else's: a conflict.
      for (const tableId of new Set(duplicates.map((d) => d.routeTableId))) {
        const present = new Map((await this.list(tableId)).map((e) => [e.destination, e]));
        for (const w of duplicates.filter((d) => d.routeTableId === tableId)) {
          const e = present.get(w.destination);
          const f = failed.get(`${w.destination}|${w.instanceId}`)!;
          if (e && e.nextHopId === w.instanceId && e.name === w.name && e.description === w.description) outcomes.push({ destination: w.destination, routeTableId: tableId, ok: true, id: e.id });
          else outcomes.push({ destination: w.destination, routeTableId: tableId, ok: false, error: failedEntryError('CreateRouteEntries', f) });
        }
      }
    }
    return outcomes;
  }

  /** Deletes entries (by id) of one VPC in batches of ≤ 50; an entry already gone counts as deleted. */
  async remove(vpcId: string, entries: readonly { id: string; routeTableId: string; destination: string }[]): Promise<EntryOutcome[]> {
    const outcomes: EntryOutcome[] = [];
    for (const batch of batches(entries)) {
      const res = await this.serializer.run(vpcId, async () => {
        const r = await this.write('DeleteRouteEntries', () =>
          this.client.deleteRouteEntries(new $Vpc.DeleteRouteEntriesRequest({ regionId: this.opts.regionId, routeEntries: batch.map((e) => new $Vpc.DeleteRouteEntriesRequestRouteEntries({ routeEntryId: e.id, routeTableId: e.routeTableId })) })),
        );
        for (const tableId of new Set(batch.map((e) => e.routeTableId))) await this.waitGone(tableId, batch.filter((e) => e.routeTableId === tableId).map((e) => e.id));
        return r;
      });
      const failed = new Map((res.body?.failedRouteEntries ?? []).map((f) => [f.routeEntryId ?? '', f]));
      for (const e of batch) {
        const f = failed.get(e.id);
        const gone = f && ['InvalidRouteEntry.NotFound', 'VPC_ROUTER_ENTRY_NOT_EXIST'].includes(f.failedCode ?? '');
        outcomes.push(!f || gone ? { destination: e.destination, routeTableId: e.routeTableId, ok: true, id: e.id } : { destination: e.destination, routeTableId: e.routeTableId, ok: false, error: failedEntryError('DeleteRouteEntries', f) });
      }
    }
    return outcomes;
  }

  /**
   * Migration: the entry's next hop changed in place (one ModifyRouteEntry), serialized per
   * VPC; the VPC's turn is held until the entry shows Available with the new next hop.
   */
  async moveNextHop(vpcId: string, entry: { id: string; routeTableId: string; destination: string }, instanceId: string, mark?: { name: string; description: string }): Promise<{ available: boolean }> {
    return this.serializer.run(vpcId, async () => {
      // The new mark rides in the same call (name and description change with the next hop).
      const marks = mark ? { routeEntryName: mark.name, description: mark.description } : {};
      await this.write('ModifyRouteEntry', () => this.client.modifyRouteEntry(new $Vpc.ModifyRouteEntryRequest({ regionId: this.opts.regionId, routeEntryId: entry.id, newNextHopId: instanceId, newNextHopType: 'Instance', ...marks })));
      const r = await this.waitAvailable(entry.routeTableId, [{ destination: entry.destination, instanceId }]);
      return { available: r.notYet.length === 0 };
    });
  }

  /** Polls (bounded) until none of `ids` is in the table any more; true when they are gone. */
  async waitGone(routeTableId: string, ids: readonly string[]): Promise<boolean> {
    const r = await pollUntil(
      this.opts.availablePoll ?? AVAILABLE_POLL,
      async () => {
        const present = new Set((await this.list(routeTableId)).map((e) => e.id));
        return ids.every((id) => !present.has(id)) ? { done: true, value: true } : { done: false };
      },
      this.pollOpts(),
    );
    return r.done;
  }

  private pollOpts(): { sleep?: (ms: number) => Promise<void>; random?: () => number } {
    return { ...(this.opts.sleep ? { sleep: this.opts.sleep } : {}), ...(this.opts.random ? { random: this.opts.random } : {}) };
  }

  /**
   * Polls the table (backoff, bounded) until every destination shows Available with its
   * wanted next hop; returns which are and which are still not (the caller keeps those
   * unprogrammed and looks again at its next pass).
   */
  async waitAvailable(routeTableId: string, wanted: readonly { destination: string; instanceId: string }[]): Promise<{ available: string[]; notYet: string[] }> {
    let last = { available: [] as string[], notYet: wanted.map((w) => w.destination) };
    await pollUntil(
      this.opts.availablePoll ?? AVAILABLE_POLL,
      async () => {
        const entries = new Map((await this.list(routeTableId)).map((e) => [e.destination, e]));
        const ready = (w: { destination: string; instanceId: string }): boolean => {
          const e = entries.get(w.destination);
          return e !== undefined && e.status === 'Available' && e.nextHopId === w.instanceId;
        };
        last = { available: wanted.filter(ready).map((w) => w.destination), notYet: wanted.filter((w) => !ready(w)).map((w) => w.destination) };
        return last.notYet.length === 0 ? { done: true, value: last } : { done: false };
      },
      this.pollOpts(),
    );
    return last;
  }
}
