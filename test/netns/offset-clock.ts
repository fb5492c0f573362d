// A clock for an in-process emulator that a test moves forward by hand: real time plus an offset
// that only grows, so a state that waits on the clock (an Alibaba entry Pending for a long
// entryDelayMs) holds however slow the machine is, and ends the moment the test jumps past it.
// Jumps stay well inside the SDK's 15-minute signature window (x-acs-date is real time).
export class OffsetClock {
  private offsetMs = 0;
  /** The emulator's `clock` option. */
  readonly now = (): Date => new Date(Date.now() + this.offsetMs);

  jump(ms: number): void {
    if (!(ms >= 0) || this.offsetMs + ms > 10 * 60_000) throw new RangeError('OffsetClock: jumps forward only, 10 minutes in all at most');
    this.offsetMs += ms;
  }
}
