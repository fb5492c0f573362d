// Brings the host's netfilter to desiredRules(): reads with iptables-save, rewrites our two
// chains with one `iptables-restore --noflush` when they differ, adds a missing jump at the
// top of FORWARD/POSTROUTING, removes duplicate jumps. Docker's chains are never touched.
import { execOk, type Exec } from './exec.js';
import { JUMPS, drift, parseSave, restoreInput, type DesiredRules } from './iptables.js';

export interface ApplyResult {
  /** Something had to be written. */
  changed: boolean;
  /** Policy of FORWARD after the pass (DROP when Docker set it and no flag asked otherwise). */
  forwardPolicy?: string;
}

export class IptablesApplier {
  constructor(
    private readonly exec: Exec,
    /** The seed's `iptables -P FORWARD ACCEPT`, only when asked for (--forward-accept). */
    private readonly forwardAccept = false,
  ) {}

  async apply(want: DesiredRules): Promise<ApplyResult> {
    const [filterText, natText] = await Promise.all([execOk(this.exec, 'iptables-save', ['-t', 'filter']), execOk(this.exec, 'iptables-save', ['-t', 'nat'])]);
    const filter = parseSave(filterText, 'filter');
    const nat = parseSave(natText, 'nat');
    const d = drift(want, filter, nat);
    let changed = false;
    if (d.chains) {
      await execOk(this.exec, 'iptables-restore', ['--noflush', '-w', '5'], restoreInput(want));
      changed = true;
    }
    for (const table of d.missingJumps) {
      const rule = JUMPS[table].split(' ').slice(2); // after "-A CHAIN"
      const chain = table === 'filter' ? 'FORWARD' : 'POSTROUTING';
      await execOk(this.exec, 'iptables', ['-w', '5', '-t', table, '-I', chain, '1', ...unquote(rule)]);
      changed = true;
    }
    for (const { table, count } of d.extraJumps) {
      const rule = JUMPS[table].split(' ').slice(2);
      const chain = table === 'filter' ? 'FORWARD' : 'POSTROUTING';
      for (let i = 0; i < count; i++) await execOk(this.exec, 'iptables', ['-w', '5', '-t', table, '-D', chain, ...unquote(rule)]);
      changed = true;
    }
    let forwardPolicy = filter.forwardPolicy;
    if (this.forwardAccept && forwardPolicy !== 'ACCEPT') {
      await execOk(this.exec, 'iptables', ['-w', '5', '-P', 'FORWARD', 'ACCEPT']);
      forwardPolicy = 'ACCEPT';
      changed = true;
    }
    return { changed, forwardPolicy };
  }
}

/** The jump rules have a bare one-word comment: argv needs no unquoting beyond that. */
function unquote(args: string[]): string[] {
  return args.map((a) => a.replace(/^"(.*)"$/, '$1'));
}
