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

interface VirtualTimer {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/**
 * A deterministic virtual clock: time advances only when told to, timers fire in order of
 * due time then creation. Used by unit tests and the simulator.
 */
export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  private heap: VirtualTimer[] = [];

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
    const timer: VirtualTimer = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.push(timer);
    return { cancel: () => void (timer.cancelled = true) };
  }

  /** Number of timers not yet fired or cancelled. */
  get pendingTimers(): number {
    return this.heap.filter((t) => !t.cancelled).length;
  }

  /** Due time of the next live timer, or undefined. */
  nextDue(): number | undefined {
    while (this.heap.length && this.heap[0]!.cancelled) this.pop();
    return this.heap[0]?.at;
  }

  /** Fires the next timer (advancing time to it). Returns false when none is left. */
  step(): boolean {
    while (this.heap.length) {
      const t = this.pop()!;
      if (t.cancelled) continue;
      if (t.at > this.t) this.t = t.at;
      t.fn();
      return true;
    }
    return false;
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
    if (until > this.t) this.t = until;
  }

  private push(t: VirtualTimer): void {
    const h = this.heap;
    h.push(t);
    let i = h.length - 1;
    while (i > 0) {
      const p = (i - 1) >> 1;
      if (less(h[p]!, h[i]!)) break;
      [h[p], h[i]] = [h[i]!, h[p]!];
      i = p;
    }
  }

  private pop(): VirtualTimer | undefined {
    const h = this.heap;
    if (h.length === 0) return undefined;
    const top = h[0]!;
    const last = h.pop()!;
    if (h.length) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && less(h[l]!, h[m]!)) m = l;
        if (r < h.length && less(h[r]!, h[m]!)) m = r;
        if (m === i) break;
        [h[m], h[i]] = [h[i]!, h[m]!];
        i = m;
      }
    }
    return top;
  }
}

function less(a: VirtualTimer, b: VirtualTimer): boolean {
  return a.at < b.at || (a.at === b.at && a.seq < b.seq);
}
