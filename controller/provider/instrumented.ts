// Metrics and logs for every cloud call, around any provider: latency by operation, outcome with
// the cloud's error code, throttles. Kept out of the providers so each stays about its cloud.
// The `operation` label is the core's name of the call (operations.ts), the same on every cloud;
// the cloud's own API operation is in the log line (`api`), from the CloudError.
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { currentCloudCall, withCloudCall } from './call-context.js';
import { isCloudError } from './errors.js';
import { isFencedError, type WriteFenceHooks } from './fence.js';
import { Operation } from './operations.js';
import type { CloudProvider, IngressRuleSpec, RouteBatch, RouteChange, SourceDestCheckMode } from './provider.js';

export function instrument(inner: CloudProvider, metrics: Metrics, log: Logger): CloudProvider {
  const provider = inner.name;
  const perRoute = inner.capabilities.routeWrites.kind === 'per-route';
  metrics.initCloud(provider, [
    Operation.listRouteTables,
    Operation.listRoutes,
    perRoute ? Operation.writeRoute : Operation.applyRoutes,
    Operation.ensureSourceDestCheck,
    Operation.removeSourceDestCheck,
    Operation.ensureIngressRule,
  ]);
  const wrap =
    <A extends unknown[], R>(operation: string, fn: (...a: A) => Promise<R>, context: (...a: A) => Record<string, unknown>) =>
    (...args: A): Promise<R> =>
      withCloudCall({ provider, operation }, async () => {
        const started = process.hrtime.bigint();
        const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
        try {
          const r = await fn(...args);
          metrics.cloudDuration.observe({ provider, operation }, seconds());
          metrics.cloudRequests.inc({ provider, operation, outcome: 'success', code: '' });
          log.debug('cloud call', { provider, operation, durationMs: Math.round(seconds() * 1000), ...context(...args) });
          return r;
        } catch (err) {
          // Never sent: counted and logged by the fence (hostnet_cloud_writes_fenced_total), not here.
          if (isFencedError(err)) throw err;
          metrics.cloudDuration.observe({ provider, operation }, seconds());
          const code = isCloudError(err) ? (err.code ?? String(err.httpStatus ?? err.kind)) : 'internal';
          metrics.cloudRequests.inc({ provider, operation, outcome: 'error', code });
          if (isCloudError(err) && err.kind === 'throttled') metrics.cloudThrottled.inc({ provider, operation });
          log.warn('cloud call failed', {
            provider,
            operation,
            api: isCloudError(err) ? err.operation : undefined,
            durationMs: Math.round(seconds() * 1000),
            code,
            error: (err as Error).message,
            requestId: isCloudError(err) ? err.requestId : undefined,
            ...context(...args),
          });
          throw err;
        }
      });
  const applyRoutes = inner.applyRoutes?.bind(inner);
  const writeRoute = inner.writeRoute?.bind(inner);
  return {
    name: inner.name,
    capabilities: inner.capabilities,
    sourceDestCheckRecord: (mode: SourceDestCheckMode, block: string) => inner.sourceDestCheckRecord(mode, block),
    listRouteTables: wrap(Operation.listRouteTables, () => inner.listRouteTables(), () => ({})),
    listRoutes: wrap(Operation.listRoutes, (t: string) => inner.listRoutes(t), (t) => ({ table: t })),
    ...(applyRoutes
      ? {
          applyRoutes: wrap(Operation.applyRoutes, (t: string, b: RouteBatch) => applyRoutes(t, b), (t, b) => ({ table: t, add: b.add.length, mod: b.mod.length, del: b.del.length })),
        }
      : {}),
    ...(writeRoute
      ? {
          writeRoute: wrap(Operation.writeRoute, (t: string, c: RouteChange) => writeRoute(t, c), (t, c) => ({ table: t, op: c.op, destination: c.op === 'delete' ? c.destination : c.route.destination })),
        }
      : {}),
    ensureSourceDestCheck: wrap(
      Operation.ensureSourceDestCheck,
      (id: string, mode: SourceDestCheckMode, block: string) => inner.ensureSourceDestCheck(id, mode, block),
      (id) => ({ instanceID: id }),
    ),
    removeSourceDestCheck: wrap(Operation.removeSourceDestCheck, (id: string, record: string) => inner.removeSourceDestCheck(id, record), (id, record) => ({ instanceId: id, record })),
    ensureIngressRule: wrap(Operation.ensureIngressRule, (r: IngressRuleSpec) => inner.ensureIngressRule(r), (r) => ({ securityGroup: r.securityGroupId })),
  };
}

/**
 * The write fence's hooks: one warning per closed period, and every refused write counted in
 * hostnet_cloud_writes_fenced_total{provider, operation} under the core's operation name of the
 * call it belonged to (the cloud's API name is in the log line, `api`). `provider` names the
 * cloud for a refusal outside an instrumented call (none is expected; the label is never empty).
 */
export function fenceHooks(metrics: Metrics, log: Logger, provider: string): WriteFenceHooks {
  const labels = (api: string): { provider: string; operation: string } => {
    const call = currentCloudCall();
    return { provider: call?.provider ?? provider, operation: call?.operation ?? api };
  };
  return {
    onFirstRefusal: (api, why) => log.warn('cloud write not sent', { ...labels(api), api, reason: why }),
    onRefused: (api) => metrics.cloudWritesFenced.inc(labels(api)),
  };
}
