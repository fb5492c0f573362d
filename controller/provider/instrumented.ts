// Metrics and logs for every cloud call, around any provider: latency by operation, outcome with
// the cloud's error code, throttles. Kept out of the providers so each stays about its cloud.
import type { Logger } from '../logger.js';
import type { Metrics } from '../metrics.js';
import { isCloudError } from './errors.js';
import { isFencedError } from './fence.js';
import type { CloudProvider } from './provider.js';

const OPERATION: Record<string, string> = {
  listRouteTables: 'ListRouteTables',
  listRoutes: 'ShowRouteTable',
  applyRoutes: 'UpdateRouteTable',
  ensureSourceDestCheck: 'EnsureSourceDestCheck',
  ensureIngressRule: 'EnsureSecurityGroupRule',
};

export function instrument(inner: CloudProvider, metrics: Metrics, log: Logger): CloudProvider {
  const wrap =
    <A extends unknown[], R>(method: keyof typeof OPERATION, fn: (...a: A) => Promise<R>, context: (...a: A) => Record<string, unknown>) =>
    async (...args: A): Promise<R> => {
      const operation = OPERATION[method]!;
      const started = process.hrtime.bigint();
      const seconds = (): number => Number(process.hrtime.bigint() - started) / 1e9;
      try {
        const r = await fn(...args);
        metrics.cloudDuration.observe({ operation }, seconds());
        metrics.cloudRequests.inc({ operation, outcome: 'success', code: '' });
        log.debug('cloud call', { operation, durationMs: Math.round(seconds() * 1000), ...context(...args) });
        return r;
      } catch (err) {
        // Never sent: counted and logged by the fence (hostnet_cloud_writes_fenced_total), not here.
        if (isFencedError(err)) throw err;
        metrics.cloudDuration.observe({ operation }, seconds());
        const code = isCloudError(err) ? (err.code ?? String(err.httpStatus ?? err.kind)) : 'internal';
        metrics.cloudRequests.inc({ operation, outcome: 'error', code });
        if (isCloudError(err) && err.kind === 'throttled') metrics.cloudThrottled.inc({ operation });
        log.warn('cloud call failed', {
          operation,
          durationMs: Math.round(seconds() * 1000),
          code,
          error: (err as Error).message,
          requestId: isCloudError(err) ? err.requestId : undefined,
          ...context(...args),
        });
        throw err;
      }
    };
  return {
    name: inner.name,
    listRouteTables: wrap('listRouteTables', () => inner.listRouteTables(), () => ({})),
    listRoutes: wrap('listRoutes', (t: string) => inner.listRoutes(t), (t) => ({ table: t })),
    applyRoutes: wrap('applyRoutes', (t: string, b: Parameters<CloudProvider['applyRoutes']>[1]) => inner.applyRoutes(t, b), (t, b) => ({
      table: t,
      add: b.add.length,
      mod: b.mod.length,
      del: b.del.length,
    })),
    ensureSourceDestCheck: wrap(
      'ensureSourceDestCheck',
      (id: string, mode: Parameters<CloudProvider['ensureSourceDestCheck']>[1], block: string) => inner.ensureSourceDestCheck(id, mode, block),
      (id) => ({ instanceID: id }),
    ),
    removeAddressPair: wrap('removeAddressPair', (id: string, pair: string) => inner.removeAddressPair(id, pair), (id, pair) => ({ instanceId: id, pair })),
    ensureIngressRule: wrap('ensureIngressRule', (r: Parameters<CloudProvider['ensureIngressRule']>[0]) => inner.ensureIngressRule(r), (r) => ({ securityGroup: r.securityGroupId })),
  };
}
