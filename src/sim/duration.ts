/**
 * Durations on the command line and in churn specifications: a number with a unit —
 * `ms`, `s`, `m` or `h` (e.g. `30m`, `2h`, `90s`, `1.5h`); a bare number is seconds.
 */

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000 };

export class DurationError extends Error {
  readonly code = 'ERR_RELOAD_SIM_DURATION';
  constructor(readonly text: string) {
    super(`not a duration: ${JSON.stringify(text.slice(0, 40))} (use a number with s, m or h, e.g. 30m)`);
    this.name = 'DurationError';
  }
}

/** Milliseconds of a duration text; throws DurationError. */
export function parseDuration(text: string): number {
  const m = /^\s*([0-9]+(?:\.[0-9]+)?)\s*(ms|s|m|h)?\s*$/.exec(text);
  if (!m) throw new DurationError(text);
  const ms = Number(m[1]) * UNIT_MS[m[2] ?? 's']!;
  if (!Number.isFinite(ms)) throw new DurationError(text);
  return Math.round(ms);
}

/** A short human form: 1h30m, 45s, 250ms. */
export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  let s = Math.round(ms / 1000);
  const h = Math.floor(s / 3600);
  s -= h * 3600;
  const m = Math.floor(s / 60);
  s -= m * 60;
  return `${h ? `${h}h` : ''}${m ? `${m}m` : ''}${s || (!h && !m) ? `${s}s` : ''}`;
}
