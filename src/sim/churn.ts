/**
 * The churn model: peers stay for a session time drawn from a distribution, then leave —
 * gracefully (Leave to their neighbours) or by crashing (silently, like a dead host) — and a
 * new peer (new identity, new Node-ID) arrives in their place, so the population stays
 * around its initial size. Mass failure (kill X% at once) is separate (Simulation.fail).
 *
 * Specification text (CLI `--churn`): comma-separated `key=value`, durations in s, m or h:
 *
 *     median-session=30m,duration=2h[,crash=0.5][,dist=exponential|pareto][,shape=2]
 *
 * - `median-session` (required): median session time;
 * - `duration` (required): how long churn runs (virtual time);
 * - `crash`: fraction of departures that are crashes rather than graceful leaves (default 0.5);
 * - `dist`: session-time distribution, `exponential` (default; the Poisson churn of the
 *   Bamboo study) or `pareto` (heavy-tailed, as measured in deployed P2P systems);
 * - `shape`: the Pareto shape α (default 2; must be > 1).
 */
import type { Random } from '../common/random.js';
import { parseDuration } from './duration.js';

export interface ChurnSpec {
  medianSessionMs: number;
  durationMs: number;
  /** Fraction of departures that crash (0..1). */
  crashFraction: number;
  distribution: 'exponential' | 'pareto';
  /** Pareto shape α (> 1). */
  paretoShape: number;
}

export class ChurnSpecError extends Error {
  readonly code = 'ERR_RELOAD_SIM_CHURN';
  constructor(message: string) {
    super(`churn specification: ${message}`);
    this.name = 'ChurnSpecError';
  }
}

export function parseChurnSpec(text: string): ChurnSpec {
  const fields = new Map<string, string>();
  for (const part of text.split(',')) {
    const p = part.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq <= 0) throw new ChurnSpecError(`"${p.slice(0, 40)}" is not key=value`);
    const key = p.slice(0, eq).trim().toLowerCase();
    if (fields.has(key)) throw new ChurnSpecError(`${key} given twice`);
    fields.set(key, p.slice(eq + 1).trim());
  }
  const known = new Set(['median-session', 'duration', 'crash', 'dist', 'shape']);
  for (const k of fields.keys()) if (!known.has(k)) throw new ChurnSpecError(`unknown key ${JSON.stringify(k.slice(0, 40))} (known: ${[...known].join(', ')})`);
  const duration = (key: string): number => {
    const v = fields.get(key);
    if (v === undefined) throw new ChurnSpecError(`${key} is required`);
    try {
      const ms = parseDuration(v);
      if (ms <= 0) throw new ChurnSpecError(`${key} must be positive`);
      return ms;
    } catch (err) {
      if (err instanceof ChurnSpecError) throw err;
      throw new ChurnSpecError(`${key}: ${(err as Error).message}`);
    }
  };
  const spec: ChurnSpec = {
    medianSessionMs: duration('median-session'),
    durationMs: duration('duration'),
    crashFraction: 0.5,
    distribution: 'exponential',
    paretoShape: 2,
  };
  const crash = fields.get('crash');
  if (crash !== undefined) {
    const c = Number(crash);
    if (crash === '' || !(c >= 0 && c <= 1)) throw new ChurnSpecError(`crash must be a fraction 0..1, got ${JSON.stringify(crash.slice(0, 20))}`);
    spec.crashFraction = c;
  }
  const dist = fields.get('dist');
  if (dist !== undefined) {
    if (dist !== 'exponential' && dist !== 'pareto') throw new ChurnSpecError(`dist must be exponential or pareto, got ${JSON.stringify(dist.slice(0, 20))}`);
    spec.distribution = dist;
  }
  const shape = fields.get('shape');
  if (shape !== undefined) {
    const a = Number(shape);
    if (shape === '' || !(a > 1) || !Number.isFinite(a)) throw new ChurnSpecError(`shape must be a number > 1, got ${JSON.stringify(shape.slice(0, 20))}`);
    spec.paretoShape = a;
  }
  return spec;
}

/** The specification back as text (for reports). */
export function formatChurnSpec(s: ChurnSpec): string {
  const min = (ms: number): string => (ms % 3_600_000 === 0 ? `${ms / 3_600_000}h` : ms % 60_000 === 0 ? `${ms / 60_000}m` : `${ms / 1000}s`);
  return `median-session=${min(s.medianSessionMs)},duration=${min(s.durationMs)},crash=${s.crashFraction},dist=${s.distribution}${s.distribution === 'pareto' ? `,shape=${s.paretoShape}` : ''}`;
}

/**
 * A session time, ms. Exponential with the given median: mean = median / ln 2. Pareto with
 * shape α and the given median: scale x_m = median / 2^(1/α).
 */
export function sessionTimeMs(s: ChurnSpec, random: Random): number {
  const u = random.float();
  if (s.distribution === 'pareto') {
    const xm = s.medianSessionMs / 2 ** (1 / s.paretoShape);
    return Math.max(1, Math.round(xm / (1 - u) ** (1 / s.paretoShape)));
  }
  const mean = s.medianSessionMs / Math.LN2;
  return Math.max(1, Math.round(-mean * Math.log(1 - u)));
}
