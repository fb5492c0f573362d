// client-node 1.4 has no request timeout: a request over a frozen connection waits forever.
// withSignal() gives a call an AbortSignal (through a request middleware, the only way its
// generated API lets one in), so a caller can bound it — e.g. the lease renew by the renew
// deadline.
import type { ConfigurationOptions, RequestContext, ResponseContext } from '@kubernetes/client-node';

export function withSignal(signal: AbortSignal): ConfigurationOptions {
  // The object-parameter API hands options straight to the observable API, whose promise chain
  // only calls toPromise() on what a middleware returns (client-node's own rxjs stub).
  const observable = <T>(value: T) => ({ toPromise: () => Promise.resolve(value), pipe: () => observable(value) });
  const middleware = {
    pre: (ctx: RequestContext) => {
      ctx.setSignal(signal);
      return observable(ctx);
    },
    post: (ctx: ResponseContext) => observable(ctx),
  };
  return { middleware: [middleware as unknown as NonNullable<ConfigurationOptions['middleware']>[number]], middlewareMergeStrategy: 'append' };
}

/** An AbortSignal that aborts after `ms` with an Error saying what timed out. */
export function timeoutSignal(ms: number, what: string): { signal: AbortSignal; cancel(): void } {
  const ac = new AbortController();
  const timer = setTimeout(() => ac.abort(new Error(`${what} timed out after ${Math.round(ms)} ms`)), Math.max(0, ms));
  return { signal: ac.signal, cancel: () => clearTimeout(timer) };
}
