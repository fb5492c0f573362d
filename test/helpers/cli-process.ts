// A TypeScript command of the project's (the emulators' main.ts) run as its own process, the way
// a user starts it: node + tsx, its stdout and stderr gathered as one text, and a wait for a line
// of that output (the URL a server prints once it listens).
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';

export interface CliProcess {
  /** Everything it printed so far, stdout and stderr interleaved as they came. */
  out(): string;
  /** The same, as its non-empty lines. */
  lines(): string[];
  exit: Promise<number | null>;
  /** SIGTERM. */
  kill(): void;
  /** The first line matching `re`; fails when none comes in time or the process exits first. */
  waitLine(re: RegExp): Promise<string>;
}

export function startTsCli(main: string, args: string[], waitLineMs = 20_000): CliProcess {
  const child = spawn(process.execPath, ['--import', 'tsx', main, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout.on('data', (c: Buffer) => (out += c.toString()));
  child.stderr.on('data', (c: Buffer) => (out += c.toString()));
  const exit = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  return {
    out: () => out,
    lines: () => out.split('\n').filter((l) => l !== ''),
    exit,
    kill: () => child.kill('SIGTERM'),
    waitLine: async (re) => {
      const deadline = Date.now() + waitLineMs;
      for (;;) {
        const line = out.split('\n').find((l) => re.test(l));
        if (line !== undefined) return line;
        if (Date.now() > deadline || child.exitCode !== null) assert.fail(`no line matching ${re}; output: ${out}`);
        await new Promise((r) => setTimeout(r, 25));
      }
    },
  };
}
