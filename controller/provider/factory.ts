// Builds the provider the configuration names. Each cloud's SDK is loaded (await import()) only
// when that cloud is chosen: an SDK costs megabytes of heap and seconds of start-up, and the
// controller of one installation talks to one cloud.
import type { Config } from '../config.js';
import type { Logger } from '../logger.js';
import type { WriteFence } from './fence.js';
import { MemoryProvider } from './memory.js';
import { NoCloudProvider } from './none/provider.js';
import type { CloudProvider } from './provider.js';

/** `fence` gates every write the provider sends (see fence.ts). */
export async function createProvider(config: Config, log: Logger, fence?: WriteFence): Promise<CloudProvider> {
  if (config.cloudProvider === 'none') {
    log.info('no cloud router (--cloud-provider=none): blocks are allocated and recorded only; each host\'s hostnet-agent routes the peers');
    return new NoCloudProvider();
  }
  if (config.cloudProvider === 'memory') {
    log.warn('using the in-memory cloud: nothing outside this process is changed (--cloud-provider=memory)');
    const memory = new MemoryProvider({
      tables: config.routeTableIds.length > 0 ? config.routeTableIds : ['rtb-memory'],
      quota: config.routeTableCapacity,
    });
    // Servers of the seed topology with their addresses, so the examples in examples/ converge
    // and their spec.hostIP checks out.
    memory.addServer('a2f5a1b4-0000-4d4d-9e2f-7e7bd2f6a001', ['192.168.0.2']);
    memory.addServer('a2f5a1b4-0000-4d4d-9e2f-7e7bd2f6a002', ['192.168.0.3']);
    memory.addServer('a2f5a1b4-0000-4d4d-9e2f-7e7bd2f6a003', ['192.168.0.4']);
    memory.fence = fence;
    return memory;
  }
  if (config.cloudProvider === 'aws') {
    // Loaded only here: the AWS SDK costs start-up time and memory the other providers need not pay.
    const { createAwsProvider } = await import('./aws/provider.js');
    return createAwsProvider(
      {
        region: config.cloudRegion!,
        ...(config.cloudEndpoint ? { endpoint: config.cloudEndpoint } : {}),
        tables:
          config.routeTableIds.length > 0
            ? { kind: 'ids', tableIds: config.routeTableIds, ...(config.cloudVpcId ? { vpcId: config.cloudVpcId } : {}) }
            : { kind: 'tag', vpcId: config.cloudVpcId!, tagKey: config.routeTableTag?.key, ...(config.routeTableTag?.value !== undefined ? { tagValue: config.routeTableTag.value } : {}) },
        timeoutMs: config.cloudTimeoutMs,
        qps: config.cloudQps,
        burst: config.cloudBurst,
      },
      log,
      { ...(fence ? { fence } : {}) },
    );
  }
  if (config.cloudProvider === 'alibaba') {
    // Loaded only when configured: the Alibaba SDKs are not needed by any other provider.
    // A mounted Secret (--cloud-credentials-dir) is re-read by the provider itself while it runs.
    const { createAlibabaProvider, alibabaConfigFrom, alibabaLimitersFrom } = await import('./alibaba/provider.js');
    return createAlibabaProvider(alibabaConfigFrom(config), log, { ...(fence ? { fence } : {}), ...alibabaLimitersFrom(config) });
  }
  const [{ loadCredentials }, { createHuaweiProvider }] = await Promise.all([import('./huawei/credentials.js'), import('./huawei/provider.js')]);
  const dir = config.cloudCredentialsDir;
  const credentials = loadCredentials({ dir });
  return createHuaweiProvider(
    {
      flavor: config.cloudProvider,
      endpoint: config.cloudEndpoint,
      region: config.cloudRegion,
      projectId: config.cloudProjectId!,
      vpcId: config.cloudVpcId,
      routeTableIds: config.routeTableIds.length > 0 ? config.routeTableIds : undefined,
      credentials,
      timeoutMs: config.cloudTimeoutMs,
      qps: config.cloudQps,
      burst: config.cloudBurst,
      readQps: config.cloudReadQps,
      userAgent: 'hostnet-controller',
    },
    log,
    // A mounted Secret changes under us (kubelet rewrites it after a rotation): re-read it.
    // The environment of a running process cannot change, so there is nothing to re-read.
    { fence, ...(dir ? { rereadCredentials: () => loadCredentials({ dir }) } : {}) },
  );
}
