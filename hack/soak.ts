// `make soak`: the chaos soak as a command (see --help, docs/soak.md and test/soak/soak.ts).
import { writeFileSync } from 'node:fs';
import { resolve } from 'node:path';
import { parseSoakArgs, USAGE } from '../test/soak/options.js';
import { DEFAULTS, runSoak, summary } from '../test/soak/soak.js';

async function main(): Promise<number> {
  let parsed;
  try {
    parsed = parseSoakArgs(process.argv.slice(2));
  } catch (err) {
    console.error(`soak: ${(err as Error).message}`);
    return 2;
  }
  if (parsed === 'help') {
    process.stdout.write(USAGE);
    return 0;
  }
  const { report: file, ...o } = parsed;
  const stamp = (): string => new Date().toISOString().slice(11, 19);
  // Ctrl-C: stop the chaos, stop and remove everything; a second one exits at once.
  const interrupt = new AbortController();
  const onSignal = (): void => {
    if (interrupt.signal.aborted) process.exit(130);
    console.log(`${stamp()} interrupted: stopping the replicas, the emulator and the control plane (again to exit at once)`);
    interrupt.abort();
  };
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const report = await runSoak({
    signal: interrupt.signal,
    ...DEFAULTS,
    minutes: o.minutes,
    hosts: o.hosts,
    seed: o.seed,
    resyncSeconds: o.resyncSeconds,
    log: (line) => console.log(`${stamp()} ${line}`),
  });
  const path = resolve(file);
  writeFileSync(path, `${JSON.stringify(report, null, 2)}\n`);
  console.log(`\n${summary(report)}\nreport: ${path}`);
  return report.violationCount === 0 && report.convergence.converged ? 0 : 1;
}

main().then(
  (code) => process.exit(code),
  (err: unknown) => {
    console.error(`soak failed: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}`);
    process.exit(1);
  },
);
