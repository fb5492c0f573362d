// Where a server's NIC ports are looked up before a change of their address pairs. One server
// alone costs one ListPorts (device_id=server). When many servers are looked up at once — a cold
// start or a migration wave: minBatch or more within maxAgeMs — one paged listing of the project's
// ports answers all of them for a few seconds instead of one read each, so the reads of a NIC cold
// start stay far below the read budget (--cloud-read-qps) and never hold up the writes.
//
// A lookup only decides whether a change is needed and computes it: the write itself is always
// computed again from a read of that one server made right before it (provider.ts
// changePortPairs), so an answer up to maxAgeMs old can cost a spare read, never a lost update.

/** One NIC port as the provider needs it. */
export interface PortView {
  id: string;
  /** device_id: the server the port is attached to. */
  deviceId: string;
  pairs: { ip_address: string; mac_address?: string }[];
  /** fixed_ips[].ip_address: the server's own addresses on this port. */
  addresses: string[];
}

export interface PortDirectoryOptions {
  /** How long one listing answers lookups (default 3 s). */
  maxAgeMs?: number;
  /** Lookups within maxAgeMs from which one listing is cheaper than a read each (default 8). */
  minBatch?: number;
  /** Ports per page of the listing (default 2000). */
  pageSize?: number;
  /**
   * Pages one listing may take (default 10). A project with more ports is looked up server by
   * server: a listing would no longer be cheaper than the reads it saves.
   */
  maxPages?: number;
  now?: () => number;
}

interface Listing {
  at: number;
  byDevice: Map<string, PortView[]>;
}

export class PortDirectory {
  private readonly maxAgeMs: number;
  private readonly minBatch: number;
  private readonly pageSize: number;
  private readonly maxPages: number;
  private readonly now: () => number;
  private listing?: { startedAt: number; done: Promise<Listing | undefined> };
  private last?: Listing;
  /** When the latest lookups came (at most minBatch of them). */
  private readonly recent: number[] = [];
  /** Until when listings are not tried (the project had more than maxPages pages). */
  private tooLargeUntil = 0;
  /** Listings made (for tests and the debug dump). */
  listings = 0;

  constructor(
    /** One page of the project's ports, after `marker` (a port id). */
    private readonly listPage: (limit: number, marker: string | undefined) => Promise<PortView[]>,
    /** The ports of one server. */
    private readonly readServer: (instanceId: string) => Promise<PortView[]>,
    opts: PortDirectoryOptions = {},
  ) {
    this.maxAgeMs = opts.maxAgeMs ?? 3000;
    this.minBatch = opts.minBatch ?? 8;
    this.pageSize = opts.pageSize ?? 2000;
    this.maxPages = opts.maxPages ?? 10;
    this.now = opts.now ?? Date.now;
  }

  /** The server's ports as seen at most maxAgeMs ago (a server the listing lacks is read). */
  async lookup(instanceId: string): Promise<PortView[]> {
    const shared = await this.sharedListing();
    const found = shared?.byDevice.get(instanceId);
    // Absent: a server newer than the listing, or one whose ports are not listed yet.
    if (found) return found.map(clonePort);
    return this.readServer(instanceId);
  }

  /** Our own write changed these ports: the next lookup reads them again. */
  forget(instanceId: string): void {
    this.last?.byDevice.delete(instanceId);
  }

  private fresh(at: number): boolean {
    return this.now() - at < this.maxAgeMs;
  }

  private async sharedListing(): Promise<Listing | undefined> {
    const now = this.now();
    this.recent.push(now);
    if (this.recent.length > this.minBatch) this.recent.shift();
    if (this.last && this.fresh(this.last.at)) return this.last;
    if (this.listing && this.fresh(this.listing.startedAt)) return this.listing.done;
    // Few lookups lately: a read each is cheaper than a listing of the whole project.
    const busy = this.recent.length >= this.minBatch && this.fresh(this.recent[0]!);
    if (!busy || now < this.tooLargeUntil) return undefined;
    const startedAt = this.now();
    const done = this.listAll(startedAt).finally(() => {
      if (this.listing?.done === done) this.listing = undefined;
    });
    this.listing = { startedAt, done };
    return done;
  }

  private async listAll(startedAt: number): Promise<Listing | undefined> {
    this.listings++;
    const byDevice = new Map<string, PortView[]>();
    let marker: string | undefined;
    for (let page = 0; page < this.maxPages; page++) {
      const ports = await this.listPage(this.pageSize, marker);
      for (const p of ports) {
        if (!p.deviceId) continue;
        const list = byDevice.get(p.deviceId);
        if (list) list.push(p);
        else byDevice.set(p.deviceId, [p]);
      }
      if (ports.length < this.pageSize) {
        const listing = { at: startedAt, byDevice };
        this.last = listing;
        return listing;
      }
      marker = ports[ports.length - 1]!.id;
    }
    // More than maxPages pages: a server's ports may be on a page not read. Server by server for
    // a while (the project is large; listing it again soon would not pay either).
    this.tooLargeUntil = this.now() + 10 * this.maxAgeMs;
    return undefined;
  }
}

function clonePort(p: PortView): PortView {
  return { id: p.id, deviceId: p.deviceId, pairs: p.pairs.map((a) => ({ ...a })), addresses: [...p.addresses] };
}
