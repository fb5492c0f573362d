// Cloud credentials from a mounted Kubernetes Secret, for every provider: reading one key file,
// and re-reading the Secret while the controller runs so a rotated key is used without a restart
// (docs/operations.md promises this). Which files a cloud's Secret holds, how its key is
// compared and what its client is built from stay in that provider's folder; this module only
// knows files, a polling timer and "changed or not". Values are never logged.

import fs from 'node:fs';

/** A Secret that cannot be used (a file missing, empty or unreadable): the message names the file, never a value. */
export class CredentialsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'CredentialsError';
  }
}

/**
 * One key of a mounted Secret, whitespace trimmed; undefined when the file is absent or empty.
 * kubelet's files are symlinks through `..data` to the current timestamped directory, so each
 * read follows the symlink anew and sees the latest atomic swap.
 */
export function readCredentialFile(file: string): string | undefined {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new CredentialsError(`cannot read credential file ${file}: ${(err as NodeJS.ErrnoException).code ?? 'error'}`);
  }
  const v = text.trim();
  return v === '' ? undefined : v;
}

/**
 * How often a mounted credentials Secret is re-read. kubelet updates a Secret volume by swapping
 * the `..data` symlink to a new timestamped directory (within about a minute of the Secret's
 * change); fs.watch on the directory misses that swap on some file systems and across symlinks,
 * so we poll: reading two or three small files every 10 s costs nothing. Providers also re-read
 * at once when the cloud refuses the key, and before each call while the auth backoff holds
 * calls back, so a rotation is noticed at the latest 10 s after kubelet wrote the files.
 */
export const CREDENTIALS_CHECK_MS = 10_000;

export interface CredentialsRereadLogger {
  info(msg: string, meta?: object): void;
  warn(msg: string, meta?: object): void;
}

export interface CredentialsRereadOptions<T> {
  /** The credentials in use now (read at start-up). */
  initial: T;
  /** Reads the Secret again; throws (CredentialsError) when it cannot be used. */
  read: () => T;
  /** The same key: a re-read that found nothing new. */
  same: (a: T, b: T) => boolean;
  /** A new key was read: the provider signs with it from now on (rebuild the client, end the auth backoff). */
  onChange: (fresh: T) => void;
  /** What a log line may show of the new key (e.g. the access key's last characters), never a secret. */
  hint: (c: T) => string;
  /** Scrubs secrets out of an error message before it is logged. */
  redact: (text: string) => string;
  log: CredentialsRereadLogger;
  provider: string;
  /** Polling period; default CREDENTIALS_CHECK_MS. */
  intervalMs?: number;
}

/**
 * Re-reads a mounted Secret every `intervalMs` and on demand (check()). A Secret that cannot be
 * read keeps the key in use, logged once per distinct problem rather than at every poll.
 */
export class CredentialsReread<T> {
  private current: T;
  private problem?: string;
  private readonly timer: ReturnType<typeof setInterval>;

  constructor(private readonly opts: CredentialsRereadOptions<T>) {
    this.current = opts.initial;
    // unref: the timer alone never keeps the process alive.
    this.timer = setInterval(() => this.check(), opts.intervalMs ?? CREDENTIALS_CHECK_MS);
    this.timer.unref();
  }

  /** The credentials in use. */
  get credentials(): T {
    return this.current;
  }

  /** Re-reads now; returns whether the key changed (and onChange ran). */
  check(): boolean {
    let fresh: T;
    try {
      fresh = this.opts.read();
    } catch (err) {
      const problem = err instanceof CredentialsError ? err.message : `cannot re-read the cloud credentials (${(err as Error).name})`;
      if (problem !== this.problem) {
        this.problem = problem;
        this.opts.log.warn('cannot re-read the cloud credentials; still using the previous key', { provider: this.opts.provider, error: this.opts.redact(problem) });
      }
      return false;
    }
    this.problem = undefined;
    if (this.opts.same(fresh, this.current)) return false;
    this.opts.onChange(fresh);
    this.current = fresh;
    this.opts.log.info('cloud credentials changed; using the new key', { provider: this.opts.provider, accessKey: this.opts.hint(fresh) });
    return true;
  }

  /** Stops polling (tests; a provider otherwise lives as long as the process). */
  stop(): void {
    clearInterval(this.timer);
  }
}
