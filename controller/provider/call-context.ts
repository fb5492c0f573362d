// Which core cloud operation (operations.ts) of which provider the code running now belongs to.
// The write fence refuses a write deep inside a provider, where only the cloud's own API name is
// known; the metrics label the refusal with the core's name, the same on every cloud.
// instrument() opens the context around each call, and
// AsyncLocalStorage carries it through the provider's awaits (rate-limiter waits, retries).
import { AsyncLocalStorage } from 'node:async_hooks';

export interface CloudCall {
  /** The provider's name (huaweicloud, otc, aws, alibaba, memory). */
  provider: string;
  /** The core's operation name (routes.apply, nic.ensure, securityGroup.ensure, ...). */
  operation: string;
}

const current = new AsyncLocalStorage<CloudCall>();

/** Runs `fn` as part of `call`. */
export function withCloudCall<T>(call: CloudCall, fn: () => Promise<T>): Promise<T> {
  return current.run(call, fn);
}

/** The core call the running code belongs to; undefined outside instrument()'s calls. */
export function currentCloudCall(): CloudCall | undefined {
  return current.getStore();
}
