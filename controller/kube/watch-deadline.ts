// client-node's Watch with a deadline for the response. Its own 30 s timeout is overwritten
// before use (client-node 1.4 watch.js), and the informer only gets the watch's AbortController
// once the response has arrived, so a watch whose connection went silent before answering
// (a dropped connection, a stuck proxy) would hang the informer's start() for good, and with it
// every later restart. Here a watch that has not answered within the deadline has its connection
// destroyed, which client-node reports as an ordinary watch error (and the informer restarts).
import { Watch, type KubeConfig } from '@kubernetes/client-node';

type WatchArgs = Parameters<Watch['watch']>;

export class WatchWithResponseDeadline extends Watch {
  constructor(
    private readonly kc: KubeConfig,
    private readonly deadlineMs: number,
  ) {
    super(kc);
  }

  override async watch(...[path, queryParams, callback, done]: WatchArgs): Promise<AbortController> {
    // KubeConfig makes a new agent for every request: destroying it cuts this watch only.
    let agent: { destroy(): void } | undefined;
    const config = Object.create(this.kc) as KubeConfig;
    config.applyToFetchOptions = async (opts) => {
      const init = await this.kc.applyToFetchOptions(opts);
      agent = init.agent as { destroy(): void } | undefined;
      return init;
    };
    const timer = setTimeout(() => agent?.destroy(), this.deadlineMs);
    timer.unref();
    try {
      return await new Watch(config).watch(path, queryParams, callback, done);
    } finally {
      clearTimeout(timer);
    }
  }
}
