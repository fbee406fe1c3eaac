/**
 * Configuration sequence numbers (RFC 6940 §11.1): 0..65534, increasing by one (mod 2^16)
 * with each new version of the document; 65535 is never used. A node accepts a new
 * document only if its sequence is newer than the one it holds (§6.5.4, behaviour digest
 * §9.5). "Newer" uses serial-number arithmetic (RFC 1982) over 16 bits so the counter
 * may wrap: b is newer than a when 0 < (b - a) mod 2^16 < 2^15.
 */

/** Largest sequence number a document may carry (2^16 - 2). */
export const MAX_CONFIGURATION_SEQUENCE = 65534;

export function isValidSequence(n: number): boolean {
  return Number.isInteger(n) && n >= 0 && n <= MAX_CONFIGURATION_SEQUENCE;
}

/**
 * Whether `candidate` is newer than `current` (mod 2^16). Invalid numbers (65535, out of
 * range, not integers) are never newer; an equal number is not newer.
 */
export function isNewerSequence(candidate: number, current: number): boolean {
  if (!isValidSequence(candidate) || !isValidSequence(current)) return false;
  const d = (candidate - current + 0x10000) % 0x10000;
  return d > 0 && d < 0x8000;
}

/** -1, 0 or 1 as `a` is older than, equal to or newer than `b` (mod 2^16). */
export function compareSequence(a: number, b: number): -1 | 0 | 1 {
  if (a === b) return 0;
  return isNewerSequence(a, b) ? 1 : -1;
}

/** The sequence number after `n`: n + 1, wrapping from 65534 to 0 (65535 is skipped). */
export function nextSequence(n: number): number {
  if (!isValidSequence(n)) throw new RangeError(`not a configuration sequence number: ${n}`);
  return n === MAX_CONFIGURATION_SEQUENCE ? 0 : n + 1;
}
