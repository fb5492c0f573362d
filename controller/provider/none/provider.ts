// `--cloud-provider=none`: direct routing (seed 004 "Direct Routing"), no cloud router. The
// controller only allocates and records each host's block (ledger + status.podCIDR); every
// host's hostnet-agent routes the peers' blocks via their hostIPs itself (docs/agent.md). So
// there is no route table to program, no NIC to open (the hosts share a layer-2 segment, or the
// operator let the traffic through) and no security group: this provider makes no call of any
// kind, and a call reaching it is a bug of the core, reported as such.
import { CloudError } from '../errors.js';
import type { CloudProvider, ProviderCapabilities, RouteTableInfo, SourceDestCheckResult } from '../provider.js';

export const NONE_PROVIDER_NAME = 'none';

/** The provider without a cloud: no tables, no NIC step, no security group. */
export class NoCloudProvider implements CloudProvider {
  readonly name = NONE_PROVIDER_NAME;
  readonly capabilities: ProviderCapabilities = {
    // Never used (there is no table to write): the narrowest honest values.
    routeWrites: { kind: 'per-route', concurrency: 1 },
    ownership: { kind: 'ledger' },
    // No NIC is touched: the condition says NotApplicable and Ready does not wait for it.
    sourceDestCheck: 'not-applicable',
    asyncRoutes: false,
    // The agents route directly: RouteProgrammed says NoCloudRouter rather than naming tables.
    router: 'none',
  };

  /** No cloud router: the set of managed route tables is empty, so no route is ever written. */
  listRouteTables(): Promise<RouteTableInfo[]> {
    return Promise.resolve([]);
  }

  listRoutes(tableId: string): Promise<never> {
    return Promise.reject(unsupported(`listRoutes(${tableId})`));
  }

  sourceDestCheckRecord(): string {
    return '';
  }

  ensureSourceDestCheck(instanceId: string): Promise<SourceDestCheckResult> {
    return Promise.reject(unsupported(`ensureSourceDestCheck(${instanceId})`));
  }

  removeSourceDestCheck(): Promise<{ removed: boolean }> {
    // Nothing was ever added to a NIC: nothing to take off.
    return Promise.resolve({ removed: false });
  }

  ensureIngressRule(): Promise<never> {
    // config.ts refuses --security-group-id with none, so this is never reached.
    return Promise.reject(unsupported('ensureIngressRule'));
  }
}

function unsupported(what: string): CloudError {
  return new CloudError({
    kind: 'invalid',
    operation: what,
    code: 'NoCloud',
    cloudMessage: `${what} called on --cloud-provider=none, which has no cloud (a bug: please report it)`,
  });
}
