// Preloaded into the controller by `make bench --cpu-profile DIR` (NODE_OPTIONS=--import …):
// node refuses --cpu-prof in NODE_OPTIONS, so this records the same V8 CPU profile through the
// inspector, from the start of the process until SIGPWR (the benchmark sends it when the cold
// start has converged; the controller keeps running) or, failing that, the exit. The in-process
// session answers synchronously, which is what lets the 'exit' handler (no async work allowed
// there) stop the profiler and write the file. HOSTNET_BENCH_CPU_PROFILE: the file to write
// (written to <file>.tmp and renamed, so that a complete file is the signal it is done).
import { Session } from 'node:inspector';
import { renameSync, writeFileSync } from 'node:fs';
import process from 'node:process';

const file = process.env.HOSTNET_BENCH_CPU_PROFILE;
if (file) {
  const session = new Session();
  session.connect();
  session.post('Profiler.enable');
  // 1 ms sampling, node --cpu-prof's default interval.
  session.post('Profiler.setSamplingInterval', { interval: 1000 });
  session.post('Profiler.start');
  let done = false;
  const stop = () => {
    if (done) return;
    done = true;
    session.post('Profiler.stop', (err, res) => {
      if (err) return;
      writeFileSync(`${file}.tmp`, JSON.stringify(res.profile));
      renameSync(`${file}.tmp`, file);
    });
  };
  process.on('SIGPWR', stop);
  process.on('exit', stop);
}
