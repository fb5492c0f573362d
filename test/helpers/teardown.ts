// Tear-down that goes on past a failing step: every step is tried, each failure is kept with the
// step's name, and the suite throws the first one once everything has been tried.
export function teardownSteps(opts: { reportSlowerThanMs?: number } = {}): { errors: Error[]; attempt(what: string, fn: () => Promise<unknown>): Promise<void> } {
  const errors: Error[] = [];
  return {
    errors,
    attempt: async (what, fn) => {
      const t0 = Date.now();
      await fn().catch((e: unknown) => errors.push(new Error(`${what}: ${(e as Error).message ?? String(e)}`)));
      const took = Date.now() - t0;
      if (opts.reportSlowerThanMs !== undefined && took > opts.reportSlowerThanMs) console.log(`      (teardown: ${what} took ${took} ms)`);
    },
  };
}
