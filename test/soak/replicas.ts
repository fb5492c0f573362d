// The controller replicas of a soak: a fixed number of slots, each running one controller process
// at a time, restarted (like a pod by the kubelet) whenever it exits — after a kill -9, or after
// exiting 1 on lost leadership. Every process (incarnation) signs with an access key of its own,
// so the emulator's call log tells exactly which process sent each cloud write.
import { createWriteStream, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startController, type ControllerProcess } from '../helpers/controller.js';
import { leaderGauge } from '../helpers/invariants.js';

export interface Credential {
  ak: string;
  sk: string;
}

export interface Incarnation {
  /** e.g. "A#3": slot A, the third process started overall. */
  name: string;
  ak: string;
  ctl: ControllerProcess;
  startedAt: number;
  exitedAt?: number;
  exitCode?: number | null;
  killed: boolean;
}

export interface ReplicaSetOptions {
  kubeconfig: string;
  args: string[];
  slots: number;
  /** One per process started; running out is an error. */
  credentials: Credential[];
  /** Wait before a replacement starts (the kubelet's restart delay). */
  restartDelayMs: number;
  /** Each process's output goes to <logDir>/controller-A-1.log, as it comes. */
  logDir: string;
  log: (line: string) => void;
}

export class ReplicaSet {
  readonly incarnations: Incarnation[] = [];
  private readonly current: (Incarnation | undefined)[];
  private stopping = false;
  private readonly timers = new Set<NodeJS.Timeout>();
  /** Starts under way (a replacement being spawned). */
  private readonly launches = new Set<Promise<void>>();
  /** One per process: resolves once it has exited. */
  private readonly watches: Promise<void>[] = [];

  constructor(private readonly opts: ReplicaSetOptions) {
    this.current = Array.from({ length: opts.slots }, () => undefined);
    mkdirSync(opts.logDir, { recursive: true });
  }

  async start(): Promise<void> {
    await Promise.all(this.current.map((_, slot) => this.launch(slot)));
  }

  /** Name of the process that signs with this AK. */
  nameOf(ak: string): string {
    return this.incarnations.find((i) => i.ak === ak)?.name ?? `unknown AK ${ak}`;
  }

  running(): Incarnation[] {
    return this.current.filter((i): i is Incarnation => i !== undefined && i.exitedAt === undefined);
  }

  /** The replicas that say (hostnet_leader) they lead. */
  async leaders(): Promise<Incarnation[]> {
    const live = this.running();
    const gauges = await Promise.all(live.map((i) => leaderGauge(i.ctl)));
    return live.filter((_, k) => gauges[k] === 1);
  }

  /** kill -9 of the leader; undefined when no replica leads right now. */
  async killLeader(): Promise<Incarnation | undefined> {
    const [leader] = await this.leaders();
    if (!leader) return undefined;
    leader.killed = true;
    await leader.ctl.kill();
    return leader;
  }

  private async launch(slot: number): Promise<void> {
    if (this.stopping) return;
    const cred = this.opts.credentials[this.incarnations.length];
    if (!cred) throw new Error(`no access key left for replica process #${this.incarnations.length + 1}`);
    const name = `${String.fromCharCode(65 + slot)}#${this.incarnations.length + 1}`;
    // Not waiting for /readyz: the API server may be down; the process waits for it by itself.
    const ctl = await startController({
      kubeconfig: this.opts.kubeconfig,
      args: this.opts.args,
      env: { HUAWEICLOUD_SDK_AK: cred.ak, HUAWEICLOUD_SDK_SK: cred.sk },
      waitReady: false,
    });
    const file = createWriteStream(join(this.opts.logDir, `controller-${name.replace('#', '-')}.log`));
    ctl.proc.stdout!.pipe(file);
    ctl.proc.stderr!.pipe(file);
    const inc: Incarnation = { name, ak: cred.ak, ctl, startedAt: Date.now(), killed: false };
    this.incarnations.push(inc);
    this.current[slot] = inc;
    const watch = ctl.exited.then((code) => {
      inc.exitedAt = Date.now();
      inc.exitCode = code;
      if (this.stopping) return;
      this.opts.log(`replica ${name} exited (${inc.killed ? 'kill -9' : `status ${code}`}); a new one starts in ${this.opts.restartDelayMs} ms`);
      const t = setTimeout(() => {
        this.timers.delete(t);
        const p = this.launch(slot).catch((err: unknown) => this.opts.log(`replica slot ${slot} did not start: ${String(err)}`));
        this.launches.add(p);
        void p.finally(() => this.launches.delete(p));
      }, this.opts.restartDelayMs);
      this.timers.add(t);
    });
    this.watches.push(watch);
  }

  /** SIGTERM to every replica; no restarts from here on. */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const t of this.timers) clearTimeout(t);
    this.timers.clear();
    await Promise.all([...this.launches]);
    await Promise.all(this.running().map((i) => i.ctl.stop()));
    await Promise.all(this.watches);
  }
}
