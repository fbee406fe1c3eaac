/**
 * Drives the node code on a VirtualClock. Every component of the node is either a timer
 * callback or a promise continuation; between two instants of virtual time the driver lets
 * every pending continuation run (one macrotask turn drains the microtask queue), so a
 * continuation never observes a later time than the event that caused it. Timers due at the
 * same instant fire together, which costs one turn per instant instead of one per timer.
 */
import type { VirtualClock } from '../common/clock.js';

function turn(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

export class VirtualDriver {
  /** Instants of virtual time processed (for profiling). */
  instants = 0;

  constructor(readonly clock: VirtualClock) {}

  /** Processes every event up to `untilMs` (absolute virtual time), then sets the clock there. */
  async runUntil(untilMs: number): Promise<void> {
    for (;;) {
      await turn();
      const due = this.clock.nextDue();
      if (due === undefined || due > untilMs) break;
      this.instants++;
      this.clock.runUntil(due);
    }
    await turn();
    this.clock.runUntil(untilMs);
  }

  /** Lets `ms` of virtual time pass. */
  settle(ms: number): Promise<void> {
    return this.runUntil(this.clock.now() + ms);
  }

  /**
   * Awaits `promise` while advancing virtual time, at most `limitMs` of it. Throws when
   * the limit passes, or when nothing is left to run and the promise is still pending.
   */
  async run<T>(promise: Promise<T>, limitMs = 3_600_000): Promise<T> {
    let settled = false;
    let value: T | undefined;
    let error: unknown;
    let failed = false;
    promise.then(
      (v) => {
        settled = true;
        value = v;
      },
      (e: unknown) => {
        settled = true;
        failed = true;
        error = e;
      },
    );
    const end = this.clock.now() + limitMs;
    for (;;) {
      await turn();
      if (settled) break;
      const due = this.clock.nextDue();
      if (due === undefined) throw new Error('stalled: promise pending with no timer left');
      if (due > end) throw new Error(`virtual time limit of ${limitMs} ms reached`);
      this.instants++;
      this.clock.runUntil(due);
    }
    if (failed) throw error;
    return value as T;
  }

  /** Runs until `done()` holds (checked between instants) or `limitMs` passes; returns whether it held. */
  async until(done: () => boolean, limitMs: number): Promise<boolean> {
    const end = this.clock.now() + limitMs;
    for (;;) {
      await turn();
      if (done()) return true;
      const due = this.clock.nextDue();
      if (due === undefined || due > end) {
        this.clock.runUntil(Math.max(this.clock.now(), end));
        await turn();
        return done();
      }
      this.instants++;
      this.clock.runUntil(due);
    }
  }
}
