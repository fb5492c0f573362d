// How far V8 lets the heap grow between full garbage collections. By default the old generation
// may grow to up to 4× what survived the last full collection before the next one runs. The
// controller's live heap is small (~70 MiB at 5,000 hosts: the informer cache, route tables,
// code) but a cold start allocates fast — every status apply, watch event and Event answer is
// parsed and dropped — so that slack became the peak RSS: 313 MiB at 5,000 hosts for 70 MiB
// kept (issue 16). Growing by 30% at a time keeps the peak near the live heap (169 MiB in the
// same benchmark) for ~10% more CPU in full collections. `node --heap-growing-percent=N` on the
// command line wins over this.
import v8 from 'node:v8';

export const HEAP_GROWING_PERCENT = 30;

const FLAG = '--heap-growing-percent';

/**
 * Sets V8's heap growing factor unless the command line set one. NODE_OPTIONS may not carry this
 * V8 flag, hence at run time; V8 reads it at every full collection. Returns whether it set it.
 */
export function limitHeapGrowth(execArgv: readonly string[] = process.execArgv, set: (flags: string) => void = (f) => v8.setFlagsFromString(f)): boolean {
  if (execArgv.some((a) => a === FLAG || a.startsWith(`${FLAG}=`) || a.startsWith('--heap_growing_percent'))) return false;
  set(`${FLAG}=${HEAP_GROWING_PERCENT}`);
  return true;
}
