// The record of every API call the emulator answered (admin calls excluded): what tests and the
// benchmark assert on (how many UpdateRouteTable calls, how big their deltas, how many throttled).

export interface CallRecord {
  /** Increases by one per call for the emulator's lifetime; clearing the log does not reset it. */
  seq: number;
  /** ISO time the call arrived (emulator clock). */
  time: string;
  /** The SDK's operation name, e.g. UpdateRouteTable; "Unknown" for a path no API serves. */
  operation: string;
  method: string;
  /** Path without the query. */
  path: string;
  /** HTTP status sent; 0 when no response was sent (timeout or reset fault). */
  status: number;
  /** Error code of an error response (VPC.xxxx, APIGW.xxxx, APIG.0308, or a Neutron type). */
  code?: string;
  /** Time from arrival to response, latency injection included. */
  latencyMs: number;
  /** The AK of the Authorization header, when one could be parsed. */
  ak?: string;
  /** The client's address (which pod of a Deployment made the call: they share one AK). */
  remote?: string;
  throttled: boolean;
  requestId: string;
  /** For UpdateRouteTable: the size of the delta as sent. */
  delta?: { add: number; mod: number; del: number };
  /** The injected fault that shaped this call, if any. */
  fault?: 'failNext' | 'errorRate' | 'timeout' | 'reset' | `badBody:${string}`;
}

/** The call log; an emulator with its own record fields (the Alibaba one) passes its record type. */
export class CallLog<R extends CallRecord = CallRecord> {
  /** Live list; cleared in place so references held by tests stay valid. */
  readonly records: R[] = [];
  private nextSeq = 1;

  add(entry: Omit<R, 'seq'>): R {
    const record = { seq: this.nextSeq++, ...entry } as R;
    this.records.push(record);
    return record;
  }

  /** Records with seq > `seq`, optionally of one operation. */
  since(seq = 0, operation?: string): R[] {
    return this.records.filter((r) => r.seq > seq && (operation === undefined || r.operation === operation));
  }

  get lastSeq(): number {
    return this.nextSeq - 1;
  }

  clear(): void {
    this.records.length = 0;
  }
}
