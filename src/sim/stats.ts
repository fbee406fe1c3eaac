/** Samples and percentiles for the simulator's metrics. */

export interface Summary {
  count: number;
  mean: number;
  p50: number;
  p99: number;
  max: number;
}

/** A growing list of numeric samples (hops, latencies), summarised at the end. */
export class Samples {
  private values: number[] = [];
  private sorted = true;
  private sum = 0;

  add(v: number): void {
    if (this.values.length > 0 && v < this.values[this.values.length - 1]!) this.sorted = false;
    this.values.push(v);
    this.sum += v;
  }

  get count(): number {
    return this.values.length;
  }

  get mean(): number {
    return this.values.length === 0 ? 0 : this.sum / this.values.length;
  }

  /** The q-quantile (0..1), nearest-rank method; 0 when empty. */
  quantile(q: number): number {
    if (this.values.length === 0) return 0;
    this.sort();
    const rank = Math.min(this.values.length, Math.max(1, Math.ceil(q * this.values.length)));
    return this.values[rank - 1]!;
  }

  summary(): Summary {
    this.sort();
    return {
      count: this.values.length,
      mean: this.mean,
      p50: this.quantile(0.5),
      p99: this.quantile(0.99),
      max: this.values.length ? this.values[this.values.length - 1]! : 0,
    };
  }

  /** Counts per integer value 0..max (a histogram of small integers such as hops). */
  histogram(): number[] {
    const out: number[] = [];
    for (const v of this.values) {
      const i = Math.max(0, Math.round(v));
      while (out.length <= i) out.push(0);
      out[i]!++;
    }
    return out;
  }

  private sort(): void {
    if (this.sorted) return;
    this.values.sort((a, b) => a - b);
    this.sorted = true;
  }
}

/** Successes and attempts per fixed window of virtual time (success over time). */
export class WindowedRate {
  private readonly ok = new Map<number, number>();
  private readonly all = new Map<number, number>();

  constructor(
    /** Window width, ms. */
    readonly windowMs: number,
    /** Start of window 0, ms. */
    readonly originMs: number,
  ) {}

  add(atMs: number, success: boolean): void {
    const w = Math.floor((atMs - this.originMs) / this.windowMs);
    this.all.set(w, (this.all.get(w) ?? 0) + 1);
    if (success) this.ok.set(w, (this.ok.get(w) ?? 0) + 1);
  }

  /** One point per window that saw attempts: start offset (ms), attempts, success rate. */
  series(): { startMs: number; attempts: number; rate: number }[] {
    return [...this.all.keys()]
      .sort((a, b) => a - b)
      .map((w) => ({ startMs: w * this.windowMs, attempts: this.all.get(w)!, rate: (this.ok.get(w) ?? 0) / this.all.get(w)! }));
  }
}

/** Rounds to `digits` decimals (stable JSON figures). */
export function round(v: number, digits = 3): number {
  const f = 10 ** digits;
  return Math.round(v * f) / f;
}
