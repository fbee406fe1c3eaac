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
 * Timers due later sit in a 4-ary min-heap ordered by (due time, creation); the keys live in
 * two Float64Arrays beside the timer objects, so sifting compares contiguous numbers instead
 * of chasing pointers (a 10,000-peer simulation keeps ~10^5 timers pending, and the heap
 * was the simulator's hottest loop). Timers set for "now" (delay 0, the most common case in
 * the node) go to a FIFO queue instead, which is equivalent: every heap timer due now was
 * created before any of them. Cancelled timers are discarded lazily when they reach the
 * front.
 */
export class VirtualClock implements Clock {
  private t: number;
  private seq = 0;
  private heapAt = new Float64Array(256);
  private heapSeq = new Float64Array(256);
  private heapTimers: (VirtualTimer | undefined)[] = [];
  private heapSize = 0;
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
    for (let i = 0; i < this.heapSize; i++) if (!this.heapTimers[i]!.cancelled) n++;
    for (let i = this.head; i < this.nowQueue.length; i++) if (!this.nowQueue[i]!.cancelled) n++;
    return n;
  }

  /** Due time of the next live timer, or undefined. */
  nextDue(): number | undefined {
    while (this.heapSize > 0 && this.heapTimers[0]!.cancelled) this.pop();
    if (this.heapSize > 0 && this.heapAt[0]! <= this.t) return this.heapAt[0];
    const q = this.nowQueue;
    while (this.head < q.length && q[this.head]!.cancelled) this.head++;
    if (this.head < q.length) return this.t;
    this.resetQueue();
    return this.heapSize > 0 ? this.heapAt[0] : undefined;
  }

  /** Fires the next timer (advancing time to it). Returns false when none is left. */
  step(): boolean {
    for (;;) {
      let timer: VirtualTimer;
      if (this.heapSize > 0 && this.heapAt[0]! <= this.t) {
        timer = this.pop();
      } else if (this.head < this.nowQueue.length) {
        timer = this.nowQueue[this.head++]!;
      } else {
        this.resetQueue();
        if (this.heapSize === 0) return false;
        timer = this.pop();
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
    if (this.heapSize === this.heapAt.length) {
      const at = new Float64Array(this.heapAt.length * 2);
      at.set(this.heapAt);
      this.heapAt = at;
      const sq = new Float64Array(this.heapSeq.length * 2);
      sq.set(this.heapSeq);
      this.heapSeq = sq;
    }
    const A = this.heapAt;
    const S = this.heapSeq;
    const T = this.heapTimers;
    const at = timer.at;
    const seq = timer.seq;
    let i = this.heapSize++;
    // Sift up with a hole: move parents down until the timer's place is found.
    while (i > 0) {
      const p = (i - 1) >> 2;
      const pa = A[p]!;
      if (pa < at || (pa === at && S[p]! < seq)) break;
      A[i] = pa;
      S[i] = S[p]!;
      T[i] = T[p];
      i = p;
    }
    A[i] = at;
    S[i] = seq;
    T[i] = timer;
  }

  /** Removes and returns the first timer (the heap is not empty). */
  private pop(): VirtualTimer {
    const A = this.heapAt;
    const S = this.heapSeq;
    const T = this.heapTimers;
    const top = T[0]!;
    const n = --this.heapSize;
    const last = T[n]!;
    const lastAt = A[n]!;
    const lastSeq = S[n]!;
    T[n] = undefined;
    if (n > 0) {
      // Sift down with a hole from the root: the smallest of up to four children moves up.
      let i = 0;
      for (;;) {
        const first = 4 * i + 1;
        if (first >= n) break;
        let c = first;
        let ca = A[first]!;
        let cs = S[first]!;
        const end = first + 4 < n ? first + 4 : n;
        for (let k = first + 1; k < end; k++) {
          const ka = A[k]!;
          if (ka < ca || (ka === ca && S[k]! < cs)) {
            c = k;
            ca = ka;
            cs = S[k]!;
          }
        }
        if (lastAt < ca || (lastAt === ca && lastSeq < cs)) break;
        A[i] = ca;
        S[i] = cs;
        T[i] = T[c];
        i = c;
      }
      A[i] = lastAt;
      S[i] = lastSeq;
      T[i] = last;
    }
    return top;
  }
}
