// Prometheus metrics, one prefix (hostnet_), base units, _total on counters. They answer three
// questions: is it healthy, is it keeping up, and is the cloud the problem.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

export const VERSION = '0.1.0';

export class Metrics {
  readonly registry = new Registry();

  readonly buildInfo = new Gauge({ name: 'hostnet_build_info', help: 'Build information; always 1.', labelNames: ['version', 'node_version'], registers: [this.registry] });
  readonly installationInfo = new Gauge({
    name: 'hostnet_installation_info',
    help: 'The installation id in this controller\'s route marks, Lease and ledger, and where it came from (flag, legacy, cluster); always 1.',
    labelNames: ['installation_id', 'source'],
    registers: [this.registry],
  });
  readonly reconcileTotal = new Counter({ name: 'hostnet_reconcile_total', help: 'Reconciles of HostNetworks by result (success, error, requeue).', labelNames: ['result'], registers: [this.registry] });
  readonly reconcileDuration = new Histogram({
    name: 'hostnet_reconcile_duration_seconds',
    help: 'Time one reconcile of a HostNetwork took, by result.',
    labelNames: ['result'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30],
    registers: [this.registry],
  });
  readonly queueDepth = new Gauge({ name: 'hostnet_workqueue_depth', help: 'HostNetworks waiting in the work queue.', registers: [this.registry] });
  readonly queueWait = new Histogram({
    name: 'hostnet_workqueue_wait_seconds',
    help: 'Time a HostNetwork waited in the work queue before a worker took it.',
    buckets: [0.001, 0.005, 0.025, 0.1, 0.5, 1, 5, 15, 60],
    registers: [this.registry],
  });
  readonly queueRetries = new Counter({ name: 'hostnet_workqueue_retries_total', help: 'HostNetworks re-queued with backoff after a failed reconcile.', registers: [this.registry] });
  readonly cloudRequests = new Counter({
    name: 'hostnet_cloud_requests_total',
    help: 'Cloud API requests by provider, operation (routes.list, routes.apply, nic.ensure, ...), outcome (success, error) and cloud error code.',
    labelNames: ['provider', 'operation', 'outcome', 'code'],
    registers: [this.registry],
  });
  readonly cloudDuration = new Histogram({
    name: 'hostnet_cloud_request_duration_seconds',
    help: 'Latency of cloud API requests by provider and operation.',
    labelNames: ['provider', 'operation'],
    buckets: [0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [this.registry],
  });
  readonly cloudThrottled = new Counter({ name: 'hostnet_cloud_throttled_total', help: 'Cloud API requests refused by throttling, by provider and operation.', labelNames: ['provider', 'operation'], registers: [this.registry] });
  readonly cloudWritesFenced = new Counter({
    name: 'hostnet_cloud_writes_fenced_total',
    help: 'Cloud writes not sent because this replica was stopping or had not renewed its leader lease within the renew deadline, by provider and operation (routes.apply, routes.write, nic.ensure, securityGroup.ensure, ...).',
    labelNames: ['provider', 'operation'],
    registers: [this.registry],
  });
  readonly cloudRetries = new Counter({ name: 'hostnet_cloud_retries_total', help: 'Cloud API calls repeated after a retryable failure, by provider and operation.', labelNames: ['provider', 'operation'], registers: [this.registry] });
  readonly routesOwned = new Gauge({ name: 'hostnet_routes_owned', help: 'Routes in the table that carry this installation\'s mark.', labelNames: ['table'], registers: [this.registry] });
  readonly routesDesired = new Gauge({ name: 'hostnet_routes_desired', help: 'Routes this installation wants in the table.', labelNames: ['table'], registers: [this.registry] });
  readonly tableCapacity = new Gauge({ name: 'hostnet_route_table_capacity', help: 'Routes the table can hold (the quota as known to the controller).', labelNames: ['table'], registers: [this.registry] });
  readonly tableRemaining = new Gauge({ name: 'hostnet_route_table_capacity_remaining', help: 'Routes that still fit in the table.', labelNames: ['table'], registers: [this.registry] });
  readonly poolUsed = new Gauge({ name: 'hostnet_pool_blocks_used', help: 'Blocks of the pool held by hosts.', registers: [this.registry] });
  readonly poolFree = new Gauge({ name: 'hostnet_pool_blocks_free', help: 'Blocks of the pool still free (VPC subnets excluded).', registers: [this.registry] });
  readonly ledgerRecords = new Gauge({ name: 'hostnet_ledger_records', help: 'Allocations recorded in the ledger.', registers: [this.registry] });
  readonly ledgerShards = new Gauge({ name: 'hostnet_ledger_shards', help: 'ConfigMaps the ledger is stored in (one per /16 holding records).', registers: [this.registry] });
  readonly ledgerShardFill = new Gauge({
    name: 'hostnet_ledger_shard_fill_ratio',
    help: "The largest ledger shard's data as a share of the API server's 1 MiB object limit (writes to it fail at 1).",
    registers: [this.registry],
  });
  readonly ledgerMismatched = new Gauge({
    name: 'hostnet_ledger_records_unhonourable',
    help: 'Recorded allocations that --pool-cidr/--block-size cannot honour; while above 0 nothing new is allocated.',
    registers: [this.registry],
  });
  readonly ledgerInconsistencies = new Counter({
    name: 'hostnet_ledger_inconsistencies_total',
    help: 'Disagreements between the ledger and status/routes found when rebuilding it (ledger edited or lost).',
    registers: [this.registry],
  });
  readonly hostnetworks = new Gauge({ name: 'hostnet_hostnetworks', help: 'HostNetworks by condition type and status.', labelNames: ['condition', 'status'], registers: [this.registry] });
  readonly leader = new Gauge({ name: 'hostnet_leader', help: '1 when this replica is the leader and reconciles.', registers: [this.registry] });
  readonly driftRepairs = new Counter({ name: 'hostnet_drift_repairs_total', help: 'Route changes made outside the controller and repaired, by kind (missing, changed, orphaned).', labelNames: ['kind'], registers: [this.registry] });
  readonly eventsPending = new Gauge({ name: 'hostnet_events_pending', help: 'Kubernetes Events queued for writing or being written.', registers: [this.registry] });
  readonly eventsDropped = new Counter({
    name: 'hostnet_events_dropped_total',
    help: 'Kubernetes Events not recorded, by reason (spam: the HostNetwork had spent its Event budget; queueFull: too many Events waiting).',
    labelNames: ['reason'],
    registers: [this.registry],
  });
  readonly lastFullSync = new Gauge({ name: 'hostnet_last_full_sync_timestamp_seconds', help: 'Unix time of the last successful full sync of every route table.', registers: [this.registry] });
  readonly routeBatchSize = new Histogram({
    name: 'hostnet_route_batch_changes',
    help: 'Route changes carried by one route write call (one per call for per-route providers).',
    buckets: [1, 2, 5, 10, 25, 50, 100, 250, 500, 1000],
    registers: [this.registry],
  });

  /** Tables that have series in the per-table gauges. */
  private readonly tablesReported = new Set<string>();

  /**
   * The per-table gauges for the tables managed now; the series of a table no longer managed
   * (gone from the VPC, or from --route-table-ids) are removed rather than left at their last value.
   */
  setTables(rows: { id: string; owned: number; desired: number; capacity: number; remaining: number }[]): void {
    const now = new Set(rows.map((r) => r.id));
    for (const table of this.tablesReported) {
      if (now.has(table)) continue;
      for (const g of [this.routesOwned, this.routesDesired, this.tableCapacity, this.tableRemaining]) g.remove({ table });
      this.tablesReported.delete(table);
    }
    for (const r of rows) {
      this.routesOwned.set({ table: r.id }, r.owned);
      this.routesDesired.set({ table: r.id }, r.desired);
      this.tableCapacity.set({ table: r.id }, r.capacity);
      this.tableRemaining.set({ table: r.id }, r.remaining);
      this.tablesReported.add(r.id);
    }
  }

  constructor(opts: { defaultMetrics?: boolean } = {}) {
    if (opts.defaultMetrics ?? true) {
      collectDefaultMetrics({ register: this.registry });
      // Gauges that prom-client names *_total, against Prometheus conventions (promtool flags them).
      for (const m of ['nodejs_active_handles_total', 'nodejs_active_requests_total', 'nodejs_active_resources_total']) this.registry.removeSingleMetric(m);
    }
    // Series exist from the start at 0, so the first increase shows up in rate() and alerts.
    for (const result of ['success', 'error', 'requeue']) this.reconcileTotal.inc({ result }, 0);
    for (const kind of ['missing', 'changed', 'orphaned']) this.driftRepairs.inc({ kind }, 0);
    for (const reason of ['spam', 'queueFull']) this.eventsDropped.inc({ reason }, 0);
    this.buildInfo.set({ version: VERSION, node_version: process.version }, 1);
    this.leader.set(0);
  }

  /** The cloud series of one provider exist from the start at 0 (see provider/instrumented.ts). */
  initCloud(provider: string, operations: readonly string[]): void {
    for (const operation of operations) {
      this.cloudRequests.inc({ provider, operation, outcome: 'success', code: '' }, 0);
      this.cloudThrottled.inc({ provider, operation }, 0);
    }
  }
}
