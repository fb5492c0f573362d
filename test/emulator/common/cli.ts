// The command line every cloud emulator shares (test/emulator/main.ts for Huawei,
// test/emulator/alibaba/main.ts): the options common to both, their parsing (spaced or with =,
// errors fit for the user), and the process around a started emulator — the one "listening on"
// line scripts wait for, serving until SIGINT/SIGTERM, exit codes 0 (done), 1 (could not start)
// and 2 (bad options, with the usage). Each cloud adds its own options and usage text.

import { pathToFileURL } from 'node:url';

/** The options of every emulator's command line. */
export interface CommonCliOptions {
  help: boolean;
  port: number;
  seed: boolean;
  config?: string;
  latencyMs: number;
  jitterMs: number;
  writesPerSecond: number;
  readsPerSecond: number;
  routeQuota?: number;
  log: boolean;
}

/** The numeric options every emulator takes, by flag. */
const COMMON_NUMERIC = {
  '--port': 'port',
  '--latency-ms': 'latencyMs',
  '--jitter-ms': 'jitterMs',
  '--writes-per-second': 'writesPerSecond',
  '--reads-per-second': 'readsPerSecond',
  '--route-quota': 'routeQuota',
} as const;

/** Flags that take a whole number. */
const INTEGER_FLAGS = new Set(['--port', '--route-quota']);

/** The keys of T whose values are numbers: what a cloud's own numeric flag may set. */
type NumericKey<T> = { [K in keyof T]-?: NonNullable<T[K]> extends number ? K : never }[keyof T];

/**
 * Parses argv (without node and script) into `defaults` overridden by the flags given: the common
 * options and the cloud's own numeric ones (`extraNumeric`, flag to key). Throws an Error with a
 * message fit for the user.
 */
export function parseEmulatorArgs<T extends CommonCliOptions>(argv: readonly string[], defaults: T, extraNumeric: Partial<Record<string, NumericKey<T>>> = {}): T {
  const out: T = { ...defaults };
  const numeric: Partial<Record<string, NumericKey<T> | NumericKey<CommonCliOptions>>> = { ...COMMON_NUMERIC, ...extraNumeric };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const eq = arg.indexOf('=');
    const name = arg.startsWith('--') && eq > 0 ? arg.slice(0, eq) : arg;
    const inline = arg.startsWith('--') && eq > 0 ? arg.slice(eq + 1) : undefined;
    const value = (): string => {
      if (inline !== undefined) return inline;
      const next = argv[++i];
      if (next === undefined) throw new Error(`${name} needs a value`);
      return next;
    };
    const key = numeric[name];
    if (key !== undefined) {
      const text = value();
      const n = Number(text);
      if (text.trim() === '' || !Number.isFinite(n) || n < 0) throw new Error(`${name} needs a non-negative number, got ${JSON.stringify(text)}`);
      if (INTEGER_FLAGS.has(name) && !Number.isInteger(n)) throw new Error(`${name} needs an integer`);
      if (name === '--port' && n > 65535) throw new Error('--port must be at most 65535');
      (out as Record<string, unknown>)[key as string] = n;
      continue;
    }
    switch (name) {
      case '--help':
      case '-h':
        out.help = true;
        break;
      case '--seed':
        out.seed = true;
        break;
      case '--log':
        out.log = true;
        break;
      case '--config':
        out.config = value();
        break;
      default:
        throw new Error(`unknown option ${arg}`);
    }
  }
  if (out.seed && out.config !== undefined) throw new Error('--seed and --config exclude each other');
  return out;
}

/** The emulator options every cloud's command line maps the same way. */
export function commonEmulatorOptions(cli: CommonCliOptions): { port: number; latencyMs: number; jitterMs: number; writesPerSecond: number; readsPerSecond: number; log: boolean; routeQuota?: number } {
  return {
    port: cli.port,
    latencyMs: cli.latencyMs,
    jitterMs: cli.jitterMs,
    writesPerSecond: cli.writesPerSecond,
    readsPerSecond: cli.readsPerSecond,
    log: cli.log,
    ...(cli.routeQuota !== undefined ? { routeQuota: cli.routeQuota } : {}),
  };
}

export interface EmulatorCli<T extends CommonCliOptions> {
  /** How its messages start ("emulator", "alibaba emulator"); also its "listening on" line. */
  name: string;
  usage: string;
  parse(argv: readonly string[]): T;
  start(cli: T): Promise<{ readonly url: string; close(): Promise<void> }>;
}

/** Runs an emulator's command line; resolves with the process's exit code. */
export async function runEmulatorCli<T extends CommonCliOptions>(argv: readonly string[], cmd: EmulatorCli<T>): Promise<number> {
  let cli: T;
  try {
    cli = cmd.parse(argv);
  } catch (e) {
    console.error(`${cmd.name}: ${(e as Error).message}\n\n${cmd.usage}`);
    return 2;
  }
  if (cli.help) {
    console.log(cmd.usage);
    return 0;
  }
  let emulator: { readonly url: string; close(): Promise<void> };
  try {
    emulator = await cmd.start(cli);
  } catch (e) {
    console.error(`${cmd.name}: ${(e as Error).message}`);
    return 1;
  }
  console.log(`${cmd.name} listening on ${emulator.url}`);
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
      resolve();
    };
    process.on('SIGINT', stop);
    process.on('SIGTERM', stop);
  });
  await emulator.close();
  return 0;
}

/** Runs `main` and exits with its code when the module at `moduleUrl` is the script node was given. */
export function runIfMain(moduleUrl: string, main: (argv: readonly string[]) => Promise<number>): void {
  const invokedDirectly = process.argv[1] !== undefined && moduleUrl === pathToFileURL(process.argv[1]).href;
  if (!invokedDirectly) return;
  main(process.argv.slice(2)).then(
    (code) => process.exit(code),
    (e: unknown) => {
      console.error(e);
      process.exit(1);
    },
  );
}
