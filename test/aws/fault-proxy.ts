// A thin HTTP proxy of our own between the AWS SDK and moto. moto (unpatched) is the EC2 API; this
// layer adds only what moto lacks and the controller relies on, each marked below with what real
// AWS does, plus a call log tests assert on ("exactly one ReplaceRoute").
//
// Added here, not by moto:
//  - route quota per table: CreateRoute beyond `routeLimit` (default 50, AWS's default quota of
//    non-propagated routes per table) → 400 RouteLimitExceeded. Counting only Origin=CreateRoute
//    routes (not the table's local route) is our guess at AWS's accounting;
//  - duplicates when the target is an ENI: moto checks RouteAlreadyExists only for other targets
//    and silently overwrites an ENI route; AWS answers 400 RouteAlreadyExists for any target;
//  - InstanceId targets on multi-NIC instances: AWS refuses them (400 InvalidInstanceID, "There are
//    multiple interfaces attached to instance …"), moto accepts them;
//  - blackholes: AWS shows State=blackhole for a route whose target instance was terminated (its
//    ENI is gone); moto keeps "active". The proxy remembers instances terminated through it (and
//    their ENIs, read from moto just before) and rewrites DescribeRouteTables answers;
//  - pagination: AWS pages DescribeRouteTables when the request carries MaxResults (NextToken);
//    moto returns everything. With `pageSize` set, the proxy pages moto's answer (MaxResults and
//    NextToken are not passed on to moto);
//  - throttling: AWS throttles per account and region with 503 RequestLimitExceeded; here a token
//    bucket (`throttle`) or one-shot faults;
//  - 5xx, timeouts, connection resets, garbled bodies: the emulator's FaultControl
//    (test/emulator/faults.ts), decided per EC2 Action.
import { createServer, request as httpRequest, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { randomUUID } from 'node:crypto';
import { CallLog, type CallRecord } from '../emulator/calllog.js';
import { FaultControl, type FaultAction } from '../emulator/faults.js';
import { ec2ErrorXml, setItems, tagText } from './xml.js';

export interface AwsCallRecord extends CallRecord {
  /** The EC2 query parameters as sent, minus Action and Version. */
  params: Record<string, string>;
}

export interface ThrottleSpec {
  /** Calls admitted per second once the burst is spent. */
  ratePerSec: number;
  burst: number;
}

export interface FaultProxyOptions {
  /** Route quota per table (default 50); undefined in set() keeps the current one. */
  routeLimit?: number;
  throttle?: ThrottleSpec;
  pageSize?: number;
}

interface Forwarded {
  status: number;
  headers: Record<string, string>;
  body: string;
}

export class AwsFaultProxy {
  readonly faults = new FaultControl({ latencyMs: 0, jitterMs: 0 });
  readonly log = new CallLog();
  routeLimit = 50;
  throttle?: ThrottleSpec;
  pageSize?: number;
  private tokens = 0;
  private lastRefill = Date.now();
  /** Instance and ENI ids whose instance was terminated through the proxy. */
  private readonly gone = new Set<string>();
  private readonly sockets = new Set<Socket>();
  private readonly tableLocks = new Map<string, Promise<void>>();
  private readonly held = new Set<ServerResponse>();
  private server?: Server;
  private target!: URL;

  get endpoint(): string {
    const addr = this.server?.address() as AddressInfo | undefined;
    if (!addr) throw new Error('fault proxy not started');
    return `http://127.0.0.1:${addr.port}`;
  }

  /** Records of calls after `seq` (see CallLog.since), with their parameters. */
  calls(seq = 0, action?: string): AwsCallRecord[] {
    return this.log.since(seq, action) as AwsCallRecord[];
  }

  /** Distinct actions seen, e.g. for the IAM policy check. */
  actions(): Set<string> {
    return new Set(this.log.records.map((r) => r.operation));
  }

  set(opts: FaultProxyOptions): void {
    if (opts.routeLimit !== undefined) this.routeLimit = opts.routeLimit;
    if (opts.throttle !== undefined) {
      this.throttle = opts.throttle;
      this.tokens = opts.throttle.burst;
      this.lastRefill = Date.now();
    }
    if (opts.pageSize !== undefined) this.pageSize = opts.pageSize;
  }

  /** Back to a plain pass-through with the default quota (call between tests with moto's reset). */
  reset(): void {
    this.faults.clear();
    this.log.clear();
    this.routeLimit = 50;
    this.throttle = undefined;
    this.pageSize = undefined;
    this.gone.clear();
  }

  async start(motoEndpoint: string): Promise<this> {
    this.target = new URL(motoEndpoint);
    this.server = createServer((req, res) => void this.handle(req, res));
    this.server.on('connection', (s) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    return this;
  }

  async stop(): Promise<void> {
    for (const r of this.held) r.destroy();
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => (this.server ? this.server.close(() => resolve()) : resolve()));
  }

  private takeToken(): boolean {
    if (!this.throttle) return true;
    const now = Date.now();
    this.tokens = Math.min(this.throttle.burst, this.tokens + ((now - this.lastRefill) / 1000) * this.throttle.ratePerSec);
    this.lastRefill = now;
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const started = Date.now();
    const chunks: Buffer[] = [];
    for await (const c of req) chunks.push(c as Buffer);
    const body = Buffer.concat(chunks).toString('utf8');
    const form = new URLSearchParams(body);
    const action = form.get('Action') ?? 'Unknown';
    const params: Record<string, string> = {};
    for (const [k, v] of form) if (k !== 'Action' && k !== 'Version') params[k] = v;
    const auth = req.headers.authorization;
    const ak = /Credential=([^/,\s]+)\//.exec(auth ?? '')?.[1];
    const requestId = randomUUID();
    const record = (status: number, extra: Partial<AwsCallRecord> = {}): void => {
      const rec: Omit<AwsCallRecord, 'seq'> = {
        time: new Date(started).toISOString(),
        operation: action,
        method: req.method ?? 'POST',
        path: (req.url ?? '/').split('?')[0]!,
        status,
        latencyMs: Date.now() - started,
        throttled: false,
        requestId,
        params,
        ...(ak ? { ak } : {}),
        ...extra,
      };
      this.log.add(rec);
    };
    const sendError = (status: number, code: string, message: string, extra: Partial<AwsCallRecord> = {}): void => {
      record(status, { code, ...extra });
      res.writeHead(status, { 'Content-Type': 'text/xml;charset=UTF-8' });
      res.end(ec2ErrorXml(code, message, requestId));
    };

    try {
      if (!this.takeToken()) {
        sendError(503, 'RequestLimitExceeded', 'Request limit exceeded.', { throttled: true });
        return;
      }
      const fault = this.faults.decide(action);
      if (fault.kind === 'fail') {
        sendError(fault.status, fault.code ?? (fault.status === 503 ? 'Unavailable' : 'InternalError'), fault.message ?? 'An internal error has occurred', {
          fault: fault.source,
          throttled: fault.code === 'RequestLimitExceeded',
        });
        return;
      }
      if ((fault.kind === 'timeout' || fault.kind === 'reset') && !fault.apply) {
        this.dropOrHold(res, fault, record);
        return;
      }

      // Check and write under one per-table lock, so concurrent CreateRoutes cannot all pass the
      // quota check before any of them lands (AWS enforces the quota atomically).
      const tableId = action === 'CreateRoute' || action === 'ReplaceRoute' ? form.get('RouteTableId') : null;
      const outcome = await this.underTableLock(tableId, async (): Promise<Forwarded | { code: string; message: string }> => {
        const refusal = await this.awsChecks(action, form, auth);
        if (refusal) return refusal;
        if (action === 'TerminateInstances') await this.rememberTerminated(form, auth);
        if (action === 'DescribeRouteTables') return this.describeRouteTables(form, auth);
        return this.forward(body, auth);
      });
      if ('code' in outcome) {
        sendError(400, outcome.code, outcome.message);
        return;
      }
      const upstream = outcome;

      if (fault.kind === 'timeout' || fault.kind === 'reset') {
        this.dropOrHold(res, fault, record, upstream);
        return;
      }
      let out = upstream.body;
      let faultName: AwsCallRecord['fault'];
      if (fault.kind === 'badBody') {
        faultName = `badBody:${fault.body}`;
        out = garble(out, fault.body, fault.bytes);
      }
      const code = upstream.status >= 400 ? tagText(upstream.body, 'Code') : undefined;
      record(upstream.status, { ...(code ? { code } : {}), ...(faultName ? { fault: faultName } : {}) });
      res.writeHead(upstream.status, { 'Content-Type': upstream.headers['content-type'] ?? 'text/xml' });
      res.end(out);
    } catch (err) {
      sendError(500, 'InternalError', `fault proxy: ${(err as Error).message}`);
    }
  }

  private async underTableLock<T>(tableId: string | null, fn: () => Promise<T>): Promise<T> {
    if (!tableId) return fn();
    const before = this.tableLocks.get(tableId) ?? Promise.resolve();
    const run = before.then(fn, fn);
    const settled = run.then(
      () => undefined,
      () => undefined,
    );
    this.tableLocks.set(tableId, settled);
    try {
      return await run;
    } finally {
      if (this.tableLocks.get(tableId) === settled) this.tableLocks.delete(tableId);
    }
  }

  private dropOrHold(
    res: ServerResponse,
    fault: Extract<FaultAction, { kind: 'timeout' | 'reset' }>,
    record: (status: number, extra?: Partial<AwsCallRecord>) => void,
    upstream?: Forwarded,
  ): void {
    if (fault.kind === 'reset') {
      record(0, { fault: 'reset' });
      res.socket?.destroy();
      return;
    }
    record(0, { fault: 'timeout' });
    this.held.add(res);
    res.on('close', () => this.held.delete(res));
    if (fault.ms !== undefined) {
      setTimeout(() => {
        if (res.destroyed) return;
        res.writeHead(upstream?.status ?? 500, { 'Content-Type': 'text/xml' });
        res.end(upstream?.body ?? ec2ErrorXml('InternalError', 'held by the fault proxy', 'held'));
      }, fault.ms);
    }
  }

  /** What real AWS refuses and moto lets through (see the header). */
  private async awsChecks(action: string, form: URLSearchParams, auth: string | undefined): Promise<{ code: string; message: string } | undefined> {
    if (action !== 'CreateRoute' && action !== 'ReplaceRoute') return undefined;
    const instanceId = form.get('InstanceId');
    if (instanceId) {
      const xml = (await this.query('DescribeInstances', { 'InstanceId.1': instanceId }, auth)).body;
      const nics = setItems(xml, 'networkInterfaceSet')?.items.length ?? 0;
      if (nics > 1) {
        return {
          code: 'InvalidInstanceID',
          message: `There are multiple interfaces attached to instance '${instanceId}'. Please specify an interface ID for the operation instead.`,
        };
      }
    }
    if (action !== 'CreateRoute') return undefined;
    const tableId = form.get('RouteTableId');
    const destination = form.get('DestinationCidrBlock');
    if (!tableId || !destination) return undefined;
    const xml = (await this.query('DescribeRouteTables', { 'RouteTableId.1': tableId }, auth)).body;
    const table = setItems(xml, 'routeTableSet')?.items[0];
    if (!table) return undefined; // moto answers InvalidRouteTableID.NotFound itself
    const routes = setItems(table.text, 'routeSet')?.items ?? [];
    if (form.get('NetworkInterfaceId') && routes.some((r) => tagText(r.text, 'destinationCidrBlock') === destination)) {
      return { code: 'RouteAlreadyExists', message: `The route identified by ${destination} already exists.` };
    }
    const created = routes.filter((r) => tagText(r.text, 'origin') === 'CreateRoute').length;
    if (created >= this.routeLimit) {
      return { code: 'RouteLimitExceeded', message: `The maximum number of routes has been reached for route table ${tableId} (limit ${this.routeLimit}).` };
    }
    return undefined;
  }

  private async rememberTerminated(form: URLSearchParams, auth: string | undefined): Promise<void> {
    const ids = [...form].filter(([k]) => /^InstanceId\.\d+$/.test(k)).map(([, v]) => v);
    if (ids.length === 0) return;
    const q: Record<string, string> = {};
    ids.forEach((id, i) => (q[`InstanceId.${i + 1}`] = id));
    const xml = (await this.query('DescribeInstances', q, auth)).body;
    for (const id of ids) this.gone.add(id);
    for (const m of xml.matchAll(/<networkInterfaceId>([^<]+)<\/networkInterfaceId>/g)) this.gone.add(m[1]!);
  }

  /** Blackholes and pagination on top of moto's answer. */
  private async describeRouteTables(form: URLSearchParams, auth: string | undefined): Promise<Forwarded> {
    const maxResults = Number(form.get('MaxResults') ?? 0);
    const offset = Number(/^page-(\d+)$/.exec(form.get('NextToken') ?? '')?.[1] ?? 0);
    const passOn = new URLSearchParams(form);
    passOn.delete('MaxResults');
    passOn.delete('NextToken');
    const upstream = await this.forward(passOn.toString(), auth);
    if (upstream.status !== 200) return upstream;
    let body = upstream.body.replace(/<routeSet>[\s\S]*?<\/routeSet>/g, (set) =>
      set.replace(/<item>[\s\S]*?<\/item>/g, (route) => {
        const target = tagText(route, 'networkInterfaceId') ?? tagText(route, 'instanceId');
        return target && this.gone.has(target) ? route.replace('<state>active</state>', '<state>blackhole</state>') : route;
      }),
    );
    const page = this.pageSize && maxResults > 0 ? Math.min(this.pageSize, maxResults) : 0;
    if (page > 0) {
      const set = setItems(body, 'routeTableSet');
      if (set) {
        const kept = set.items.slice(offset, offset + page).map((i) => i.text).join('');
        const next = offset + page < set.items.length ? `<nextToken>page-${offset + page}</nextToken>` : '';
        body = body.slice(0, set.open) + `<routeTableSet>${kept}</routeTableSet>${next}` + body.slice(set.close + '</routeTableSet>'.length);
      }
    }
    return { ...upstream, body };
  }

  private query(action: string, params: Record<string, string>, auth: string | undefined): Promise<Forwarded> {
    return this.forward(new URLSearchParams({ Action: action, Version: '2016-11-15', ...params }).toString(), auth);
  }

  /** Sends a query-protocol body to moto. moto picks the service (and account) from the Authorization header. */
  private forward(body: string, auth: string | undefined): Promise<Forwarded> {
    return new Promise((resolve, reject) => {
      const req = httpRequest(
        {
          host: this.target.hostname,
          port: this.target.port,
          method: 'POST',
          path: '/',
          headers: {
            'Content-Type': 'application/x-www-form-urlencoded; charset=utf-8',
            'Content-Length': Buffer.byteLength(body),
            ...(auth ? { Authorization: auth } : {}),
          },
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('end', () => {
            const headers: Record<string, string> = {};
            for (const [k, v] of Object.entries(res.headers)) if (typeof v === 'string') headers[k] = v;
            resolve({ status: res.statusCode ?? 0, headers, body: Buffer.concat(chunks).toString('utf8') });
          });
          res.on('error', reject);
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  }
}

/** Our own guesses at a 2xx answer a client must not believe (as the emulator's badBody faults). */
function garble(body: string, kind: string, bytes: number): string {
  switch (kind) {
    case 'invalidJson':
      return '<html><body>502 Bad Gateway</body></html>';
    case 'empty':
      return '';
    case 'wrongShape':
      return '<?xml version="1.0" encoding="UTF-8"?>\n<Response><result>ok</result></Response>';
    case 'truncated':
      return body.slice(0, Math.floor(body.length / 2));
    default: // oversized
      return body + ' '.repeat(Math.max(0, bytes - body.length));
  }
}

/** A proxy in front of `motoEndpoint`, started. */
export async function startAwsFaultProxy(motoEndpoint: string): Promise<AwsFaultProxy> {
  return new AwsFaultProxy().start(motoEndpoint);
}
