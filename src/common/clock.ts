/**
 * Time for every component (ARCHITECTURE.md "Time and randomness"): real time on sockets,
 * virtual time in the simulator. Nothing in the node calls setTimeout or Date.now directly.
 */

export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the Unix epoch (storage_time, Ping time). */
  now(): number;
  /** Monotonic milliseconds for measuring intervals. */
  monotonic(): number;
  /** Runs `fn` after `ms` milliseconds unless cancelled. */
  setTimeout(fn: () => void, ms: number): TimerHandle;
}

/** The real clock. Timers are unref'd so a stopped node never holds the process open. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.now(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, ms);
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  },
};

/** A pending timer; it is its own cancel handle (one allocation per timer). */
class VirtualTimer implements TimerHandle {
  cancelled = false;

  constructor(
    readonly at: number,
    readonly seq: number,
    readonly fn: () => void,
  ) {}

  cancel(): void {
    this.cancelled = true;
  }
}

/**
 * A deterministic virtual clock: time advances only when told to, timers fire in order of
 * due time then creation. Used by unit tests and the simulator.
 *
 * Timers due later sit in a binary min-heap ordered by (due time, creation); timers set
 * for "now" (delay 0, the most common case in the node) go to a FIFO queue instead, which
 * is equivalent: every heap timer due now was created before any of them. Cancelled
 * timers are discarded lazily when they reach the front.
 */
export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  private readonly heap: VirtualTimer[] = [];
  /** Timers due at exactly `t`, in creation order, from index `head` on. */
  private nowQueue: VirtualTimer[] = [];
  private head = 0;

  constructor(startMs = Date.UTC(2026, 0, 1)) {
    this.t = startMs;
  }

  now(): number {
    return this.t;
  }

  monotonic(): number {
    return this.t;
  }

  setTimeout(fn: () => void, ms: number): TimerHandle {
    const timer = new VirtualTimer(ms > 0 ? this.t + ms : this.t, this.seq++, fn);
    if (timer.at === this.t) this.nowQueue.push(timer);
    else this.push(timer);
    return timer;
  }

  /** Number of timers not yet fired or cancelled. */
  get pendingTimers(): number {
    let n = 0;
    for (const t of this.heap) if (!t.cancelled) n++;
    for (let i = this.head; i < this.nowQueue.length; i++) if (!this.nowQueue[i]!.cancelled) n++;
    return n;
  }

  /** Due time of the next live timer, or undefined. */
  nextDue(): number | undefined {
    const h = this.heap;
    while (h.length > 0 && h[0]!.cancelled) this.pop();
    if (h.length > 0 && h[0]!.at <= this.t) return h[0]!.at;
    const q = this.nowQueue;
    while (this.head < q.length && q[this.head]!.cancelled) this.head++;
    if (this.head < q.length) return this.t;
    this.resetQueue();
    return h.length > 0 ? h[0]!.at : undefined;
  }

  /** Fires the next timer (advancing time to it). Returns false when none is left. */
  step(): boolean {
    for (;;) {
      const h = this.heap;
      let timer: VirtualTimer | undefined;
      if (h.length > 0 && h[0]!.at <= this.t) {
        timer = this.pop()!;
      } else if (this.head < this.nowQueue.length) {
        timer = this.nowQueue[this.head++]!;
      } else {
        this.resetQueue();
        if (h.length === 0) return false;
        timer = this.pop()!;
      }
      if (timer.cancelled) continue;
      if (timer.at > this.t) this.t = timer.at;
      timer.fn();
      return true;
    }
  }

  /** Advances time by `ms`, firing every timer due on the way. */
  advance(ms: number): void {
    this.runUntil(this.t + ms);
  }

  /** Fires every timer due at or before `until`, then sets the time to `until`. */
  runUntil(until: number): void {
    for (;;) {
      const due = this.nextDue();
      if (due === undefined || due > until) break;
      this.step();
    }
    if (until > this.t) {
      this.resetQueue();
      this.t = until;
    }
  }

  /** The now-queue is empty: drop its storage (time may advance). */
  private resetQueue(): void {
    if (this.head >= this.nowQueue.length && this.nowQueue.length > 0) {
      this.nowQueue = [];
      this.head = 0;
    }
  }

  private push(timer: VirtualTimer): void {
    const h = this.heap;
    let i = h.length;
    h.push(timer);
    // Sift up with a hole: move parents down until the timer's place is found.
    while (i > 0) {
      const p = (i - 1) >> 1;
      const parent = h[p]!;
      if (parent.at < timer.at || (parent.at === timer.at && parent.seq < timer.seq)) break;
      h[i] = parent;
      i = p;
    }
    h[i] = timer;
  }

  private pop(): VirtualTimer | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    const n = h.length;
    if (n > 0) {
      // Sift down with a hole from the root.
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        if (l >= n) break;
        const r = l + 1;
        let c = l;
        let child = h[l]!;
        if (r < n) {
          const right = h[r]!;
          if (right.at < child.at || (right.at === child.at && right.seq < child.seq)) {
            c = r;
            child = right;
          }
        }
        if (last.at < child.at || (last.at === child.at && last.seq < child.seq)) break;
        h[i] = child;
        i = c;
      }
      h[i] = last;
    }
    return top;
  }
}
