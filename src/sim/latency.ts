/**
 * Latency models for the simulator: where each simulated host sits and the one-way delay
 * between two hosts. Delays are whole milliseconds (at least 1), symmetric, and fixed for a
 * seed, so runs are deterministic.
 *
 * - {@link RegionLatencyModel}: hosts spread over regions (default 6). Each host has an
 *   access delay; inside a region the delay is the sum of the two access delays (5-20 ms by
 *   default), between regions a per-region-pair core delay is added (40-250 ms in total by
 *   default).
 * - {@link MatrixLatencyModel}: a site-to-site matrix of one-way delays from a file; hosts
 *   are spread over the sites (a site is a region).
 */
import type { Random } from '../common/random.js';

export interface LatencyModel {
  /** One line for the report, e.g. "6 regions, 5-20 ms inside, 40-250 ms between". */
  readonly description: string;
  /** Number of regions (sites). */
  readonly regions: number;
  /** Places a new host; returns its region. Hosts are numbered 0, 1, 2… in placement order. */
  place(host: number, region?: number): number;
  regionOf(host: number): number;
  /** One-way delay from host a to host b, ms (≥ 1, symmetric). */
  oneWayMs(a: number, b: number): number;
}

/** Round-trip time between two hosts, ms. */
export function rttMs(model: LatencyModel, a: number, b: number): number {
  return model.oneWayMs(a, b) + model.oneWayMs(b, a);
}

export interface RegionLatencyOptions {
  /** @default 6 */
  regions?: number;
  /** One-way delay range between two hosts of one region, ms. @default [5, 20] */
  intraMs?: [number, number];
  /** One-way delay range between hosts of two regions, ms. @default [40, 250] */
  interMs?: [number, number];
  random: Random;
}

export class RegionLatencyModel implements LatencyModel {
  readonly regions: number;
  readonly description: string;
  private readonly access: number[] = [];
  private readonly region: number[] = [];
  private readonly core: number[][];
  private readonly random: Random;
  /** Range of a host's access delay (half the intra-region range), ms. */
  private readonly accessLo: number;
  private readonly accessHi: number;

  constructor(opts: RegionLatencyOptions) {
    this.regions = opts.regions ?? 6;
    const [intraLo, intraHi] = opts.intraMs ?? [5, 20];
    const [interLo, interHi] = opts.interMs ?? [40, 250];
    if (!(this.regions >= 1) || !Number.isInteger(this.regions)) throw new RangeError(`regions must be a positive integer, got ${this.regions}`);
    if (!(intraLo >= 2 && intraHi >= intraLo)) throw new RangeError(`bad intra-region range ${intraLo}-${intraHi} ms`);
    if (!(interLo >= intraHi && interHi >= interLo)) throw new RangeError(`bad inter-region range ${interLo}-${interHi} ms`);
    this.random = opts.random;
    this.accessLo = intraLo / 2;
    this.accessHi = intraHi / 2;
    this.description = `${this.regions} regions, ${intraLo}-${intraHi} ms one way inside a region, ${interLo}-${interHi} ms between regions`;
    // Core delay between regions i and j, so that access + core + access stays in [interLo, interHi].
    const coreLo = interLo - intraLo;
    const coreHi = interHi - intraHi;
    this.core = Array.from({ length: this.regions }, () => new Array<number>(this.regions).fill(0));
    for (let i = 0; i < this.regions; i++) {
      for (let j = i + 1; j < this.regions; j++) {
        const c = coreLo + this.random.float() * (coreHi - coreLo);
        this.core[i]![j] = c;
        this.core[j]![i] = c;
      }
    }
  }

  place(host: number, region?: number): number {
    const r = region ?? this.random.int(this.regions);
    if (!(r >= 0 && r < this.regions)) throw new RangeError(`region ${r} out of range`);
    this.region[host] = r;
    this.access[host] = this.accessLo + this.random.float() * (this.accessHi - this.accessLo);
    return r;
  }

  regionOf(host: number): number {
    return this.region[host] ?? 0;
  }

  oneWayMs(a: number, b: number): number {
    const ra = this.region[a] ?? 0;
    const rb = this.region[b] ?? 0;
    const d = (this.access[a] ?? this.accessLo) + (this.access[b] ?? this.accessLo) + this.core[ra]![rb]!;
    return Math.max(1, Math.round(d));
  }
}

export class LatencyMatrixError extends Error {
  readonly code = 'ERR_RELOAD_SIM_LATENCY';
  constructor(message: string) {
    super(`latency matrix: ${message}`);
    this.name = 'LatencyMatrixError';
  }
}

/**
 * Parses a latency matrix: either JSON (an array of equal-length arrays of numbers) or text
 * with one row per line, numbers separated by spaces, commas or tabs ('#' starts a comment).
 * It must be square, the diagonal is the delay between two hosts of one site, every entry
 * is a one-way delay in ms (> 0); an asymmetric matrix is made symmetric by averaging.
 */
export function parseLatencyMatrix(text: string): number[][] {
  let rows: number[][];
  const trimmed = text.trim();
  if (trimmed.startsWith('[')) {
    let parsed: unknown;
    try {
      parsed = JSON.parse(trimmed);
    } catch (err) {
      throw new LatencyMatrixError(`bad JSON: ${(err as Error).message}`);
    }
    if (!Array.isArray(parsed) || !parsed.every((r) => Array.isArray(r))) throw new LatencyMatrixError('JSON must be an array of rows');
    rows = (parsed as unknown[][]).map((r) => r.map((v) => (typeof v === 'number' ? v : Number.NaN)));
  } else {
    rows = trimmed
      .split(/\r?\n/)
      .map((l) => l.replace(/#.*$/, '').trim())
      .filter((l) => l !== '')
      .map((l) => l.split(/[\s,]+/).map(Number));
  }
  const n = rows.length;
  if (n === 0) throw new LatencyMatrixError('no rows');
  if (n > 10_000) throw new LatencyMatrixError(`${n} sites is too many`);
  rows.forEach((r, i) => {
    if (r.length !== n) throw new LatencyMatrixError(`row ${i + 1} has ${r.length} entries, expected ${n}`);
    r.forEach((v, j) => {
      if (!Number.isFinite(v) || v <= 0) throw new LatencyMatrixError(`entry (${i + 1}, ${j + 1}) is not a positive number of ms`);
    });
  });
  return rows.map((r, i) => r.map((v, j) => (v + rows[j]![i]!) / 2));
}

/** Hosts spread at random over the sites of a matrix (each site is a region). */
export class MatrixLatencyModel implements LatencyModel {
  readonly regions: number;
  readonly description: string;
  private readonly site: number[] = [];

  constructor(
    private readonly matrix: number[][],
    private readonly random: Random,
  ) {
    this.regions = matrix.length;
    this.description = `latency matrix of ${matrix.length} sites`;
  }

  place(host: number, region?: number): number {
    const r = region ?? this.random.int(this.regions);
    if (!(r >= 0 && r < this.regions)) throw new RangeError(`site ${r} out of range`);
    this.site[host] = r;
    return r;
  }

  regionOf(host: number): number {
    return this.site[host] ?? 0;
  }

  oneWayMs(a: number, b: number): number {
    return Math.max(1, Math.round(this.matrix[this.site[a] ?? 0]![this.site[b] ?? 0]!));
  }
}
