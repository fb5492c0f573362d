// The soak's command line (pure): `npx tsx hack/soak.ts --help`.
import { DEFAULTS } from './soak.js';

export interface SoakCliOptions {
  minutes: number;
  hosts: number;
  seed: number;
  resyncSeconds: number;
  report: string;
}

export const LIMITS = { minutes: [1, 120], hosts: [1, 900], resyncSeconds: [5, 600] } as const;

export const USAGE = `Usage: npx tsx hack/soak.ts [options]      (make soak MINUTES=10 ARGS="--hosts 300 --seed 1")

The chaos soak: a throw-away kube-apiserver + etcd, the Huawei VPC emulator, two controller
replicas with leader election and N hosts, then a seeded random mix of host creates, deletes,
migrations and pinned blocks, cloud faults (429, 5xx, timeouts, resets), out-of-band route
edits, foreign routes, kill -9 of the leader and kill -9 + restart of kube-apiserver. The
invariants are checked every few seconds and after the chaos, when every live host must be
Ready within two resync periods. Exit status 0 only with no violation.

  --minutes N        minutes of chaos, ${LIMITS.minutes[0]}..${LIMITS.minutes[1]} (default ${DEFAULTS.minutes}); set-up and convergence come on top
  --hosts N          hosts, ${LIMITS.hosts[0]}..${LIMITS.hosts[1]} (default ${DEFAULTS.hosts})
  --seed N           the random mix's seed (default: from the clock; printed, so a run can be replayed)
  --resync SECONDS   the controllers' --resync-period, ${LIMITS.resyncSeconds[0]}..${LIMITS.resyncSeconds[1]} (default ${DEFAULTS.resyncSeconds})
  --report FILE      where the JSON report goes (default soak-report.json in the current directory)
  --help             this text
`;

export function parseSoakArgs(argv: string[], now: () => number = Date.now): SoakCliOptions | 'help' {
  const out: SoakCliOptions = { minutes: DEFAULTS.minutes, hosts: DEFAULTS.hosts, seed: now() % 1_000_000, resyncSeconds: DEFAULTS.resyncSeconds, report: 'soak-report.json' };
  const int = (name: string, value: string | undefined, [min, max]: readonly [number, number]): number => {
    const n = Number(value);
    if (value === undefined || !/^\d+$/.test(value) || n < min || n > max) throw new Error(`--${name} wants a whole number ${min}..${max}, got ${value ?? 'nothing'}`);
    return n;
  };
  for (let i = 0; i < argv.length; i++) {
    const arg = argv[i]!;
    const [flag, inline] = arg.includes('=') ? [arg.slice(0, arg.indexOf('=')), arg.slice(arg.indexOf('=') + 1)] : [arg, undefined];
    const value = (): string | undefined => inline ?? argv[++i];
    switch (flag) {
      case '--help':
      case '-h':
        return 'help';
      case '--minutes':
        out.minutes = int('minutes', value(), LIMITS.minutes);
        break;
      case '--hosts':
        out.hosts = int('hosts', value(), LIMITS.hosts);
        break;
      case '--seed':
        out.seed = int('seed', value(), [0, 2 ** 32 - 1]);
        break;
      case '--resync':
        out.resyncSeconds = int('resync', value(), LIMITS.resyncSeconds);
        break;
      case '--report': {
        const v = value();
        if (!v) throw new Error('--report wants a file name');
        out.report = v;
        break;
      }
      default:
        throw new Error(`unknown argument ${arg} (see --help)`);
    }
  }
  return out;
}
