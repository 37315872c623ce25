import { AddressShares } from '../address-shares.js';

/** What a client may have running or waiting at once: a browser's one sign-in and a retry. */
const PER_ADDRESS = 2;
/** Waiting tokens in all: each is answered in about a millisecond, so this is a burst of a whole office. */
const MAX_WAITING = 64;

/**
 * Turns for GSSAPI's acceptor: `running` at once, the rest wait in order, and one client address
 * holds at most a share of them (running and waiting together), so a client sending tokens as fast
 * as it can delays others by its share, never fills the line. `take` answers undefined when the
 * address has its share or the line is full: the caller refuses (503 or the form).
 */
export class AcceptorSlots {
  private running = 0;
  private readonly waiting: Array<() => void> = [];
  private readonly held: AddressShares;

  constructor(
    private readonly maxRunning: number,
    perAddress = PER_ADDRESS,
    private readonly maxWaiting = MAX_WAITING,
  ) {
    this.held = new AddressShares(perAddress);
  }

  /** A turn for `ip`, resolved when it may run; call the function it gives when done. */
  take(ip: string): Promise<() => void> | undefined {
    if (this.running >= this.maxRunning && this.waiting.length >= this.maxWaiting) return undefined;
    if (!this.held.take(ip)) return undefined;
    let done = false;
    const release = () => {
      if (done) return;
      done = true;
      this.held.give(ip);
      const next = this.waiting.shift();
      if (next) next();
      else this.running -= 1;
    };
    if (this.running < this.maxRunning) {
      this.running += 1;
      return Promise.resolve(release);
    }
    // The turn passes straight to the next in line: `running` stays as it is.
    return new Promise((resolve) => this.waiting.push(() => resolve(release)));
  }
}
