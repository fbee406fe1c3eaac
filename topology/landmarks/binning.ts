/**
 * Distributed binning (Ratnasamy, Handley, Karp, Shenker, INFOCOM 2002; digest
 * landmarks-and-extras.md §A.1): a node measures its RTT to each of m well-known landmarks
 * and puts itself in the bin named by (1) the landmarks ordered by increasing RTT and
 * (2) the latency level of each landmark in that order. Nodes in the same bin are close to
 * each other; bins whose orderings share a longer prefix are closer. No communication among
 * the nodes being binned is needed. Measuring on real links: ./measure.ts.
 *
 * The bin becomes a Node-ID prefix (digest §A.2 engineering recipe): the lexicographic rank
 * of the ordering (Lehmer code, ceil(log2 m!) bits), then each level in ceil(log2 L) bits,
 * most significant first; the rest of the Node-ID stays random. Nodes of one bin then share
 * a short arc of the ring, and rings neighbours tend to be network neighbours.
 *
 * Text form of a bin (the `landmark-bin` enrollment hint): the ordering as 0-based landmark
 * numbers (configuration order), a colon, the levels in ordering position —
 * e.g. `2.0.1:0.1.2` ("L2 L0 L1 : 0 1 2").
 */
import type { Random } from '../../src/common/random.js';
import { isReservedNodeId } from '../../certs/node-id-strategy.js';

/** Default latency level boundaries, ms: [0,100) → 0, [100,200) → 1, ≥ 200 → 2 (digest §A.1). */
export const DEFAULT_LEVEL_BOUNDARIES_MS: readonly number[] = Object.freeze([100, 200]);

/** Most landmarks supported (16! orderings fit a 45-bit rank). */
export const MAX_LANDMARKS = 16;

export interface LandmarkBin {
  /** Landmark numbers (0-based, configuration order) by increasing RTT. */
  ordering: number[];
  /** Latency level of each landmark, in ordering position. */
  levels: number[];
}

export class LandmarkBinError extends Error {
  readonly code = 'ERR_RELOAD_LANDMARK_BIN';
  constructor(message: string) {
    super(`landmark bin: ${message}`);
    this.name = 'LandmarkBinError';
  }
}

function checkBoundaries(b: readonly number[]): void {
  for (let i = 0; i < b.length; i++) {
    if (!(Number.isFinite(b[i]!) && b[i]! > 0) || (i > 0 && !(b[i]! > b[i - 1]!))) {
      throw new LandmarkBinError('level boundaries must be increasing positive numbers of ms');
    }
  }
}

/** The level of an RTT: the number of boundaries at or below it. */
export function latencyLevel(rttMs: number, boundariesMs: readonly number[] = DEFAULT_LEVEL_BOUNDARIES_MS): number {
  let level = 0;
  while (level < boundariesMs.length && rttMs >= boundariesMs[level]!) level++;
  return level;
}

/**
 * The bin of a node from its RTTs to the landmarks (index = landmark number). Ties keep the
 * configuration order. Throws LandmarkBinError for no landmarks, too many, or an RTT that is
 * not a finite non-negative number.
 */
export function binOf(rttsMs: readonly number[], boundariesMs: readonly number[] = DEFAULT_LEVEL_BOUNDARIES_MS): LandmarkBin {
  checkBoundaries(boundariesMs);
  if (rttsMs.length === 0) throw new LandmarkBinError('no landmark measured');
  if (rttsMs.length > MAX_LANDMARKS) throw new LandmarkBinError(`${rttsMs.length} landmarks; at most ${MAX_LANDMARKS} are supported`);
  rttsMs.forEach((r, i) => {
    // Infinity stands for an unreachable landmark: it sorts last, at the highest level.
    if (Number.isNaN(r) || r < 0) throw new LandmarkBinError(`RTT to landmark ${i} is not a non-negative number`);
  });
  const ordering = rttsMs.map((_, i) => i).sort((a, b) => (rttsMs[a]! === rttsMs[b]! ? a - b : rttsMs[a]! < rttsMs[b]! ? -1 : 1));
  return { ordering, levels: ordering.map((i) => latencyLevel(rttsMs[i]!, boundariesMs)) };
}

/** The text form of a bin (see the module comment). */
export function formatBin(bin: LandmarkBin): string {
  return `${bin.ordering.join('.')}:${bin.levels.join('.')}`;
}

/**
 * Parses and checks a bin's text form against the overlay's landmark count and level count.
 * Throws LandmarkBinError on anything malformed.
 */
export function parseBin(text: string, landmarks: number, levelCount = DEFAULT_LEVEL_BOUNDARIES_MS.length + 1): LandmarkBin {
  if (text.length > 200) throw new LandmarkBinError('text too long');
  const m = /^([0-9]{1,2}(?:\.[0-9]{1,2})*):([0-9]{1,2}(?:\.[0-9]{1,2})*)$/.exec(text.trim());
  if (!m) throw new LandmarkBinError(`${JSON.stringify(text.slice(0, 40))} is not "ordering:levels" (e.g. 2.0.1:0.1.2)`);
  const ordering = m[1]!.split('.').map(Number);
  const levels = m[2]!.split('.').map(Number);
  if (ordering.length !== landmarks) throw new LandmarkBinError(`ordering names ${ordering.length} landmarks, the overlay has ${landmarks}`);
  if (levels.length !== landmarks) throw new LandmarkBinError(`${levels.length} levels for ${landmarks} landmarks`);
  const seen = new Set<number>();
  for (const i of ordering) {
    if (i >= landmarks || seen.has(i)) throw new LandmarkBinError('ordering is not a permutation of the landmarks');
    seen.add(i);
  }
  for (const l of levels) if (l >= levelCount) throw new LandmarkBinError(`level ${l} out of range (0..${levelCount - 1})`);
  return { ordering, levels };
}

function factorial(n: number): number {
  let f = 1;
  for (let i = 2; i <= n; i++) f *= i;
  return f;
}

/** Lexicographic rank of a permutation of 0..m-1 (Lehmer code), in [0, m!). */
export function permutationRank(ordering: readonly number[]): number {
  const m = ordering.length;
  const remaining = Array.from({ length: m }, (_, i) => i);
  let rank = 0;
  for (let i = 0; i < m; i++) {
    const pos = remaining.indexOf(ordering[i]!);
    if (pos < 0) throw new LandmarkBinError('ordering is not a permutation');
    rank += pos * factorial(m - 1 - i);
    remaining.splice(pos, 1);
  }
  return rank;
}

/** Bits of the Node-ID prefix for m landmarks and L levels. */
export function prefixBits(landmarks: number, levelCount = DEFAULT_LEVEL_BOUNDARIES_MS.length + 1): { rankBits: number; levelBits: number; total: number } {
  const rankBits = landmarks <= 1 ? 0 : Math.ceil(Math.log2(factorial(landmarks)));
  const levelBits = levelCount <= 1 ? 0 : Math.ceil(Math.log2(levelCount));
  return { rankBits, levelBits, total: rankBits + landmarks * levelBits };
}

/** Writes `value` as `bits` bits at bit offset `at` (MSB first) into `out`. */
function putBits(out: Uint8Array, at: number, bits: number, value: number): void {
  for (let i = 0; i < bits; i++) {
    const bit = Math.floor(value / 2 ** (bits - 1 - i)) % 2;
    const pos = at + i;
    if (bit) out[pos >> 3]! |= 0x80 >> (pos & 7);
    else out[pos >> 3]! &= ~(0x80 >> (pos & 7)) & 0xff;
  }
}

/**
 * A Node-ID for a bin: the bin's prefix, then random bits (never the reserved all-zeros or
 * all-ones Node-IDs).
 */
export function nodeIdForBin(
  bin: LandmarkBin,
  random: Random,
  opts: { nodeIdLength?: number; levelCount?: number } = {},
): Uint8Array {
  const length = opts.nodeIdLength ?? 16;
  const levelCount = opts.levelCount ?? DEFAULT_LEVEL_BOUNDARIES_MS.length + 1;
  const m = bin.ordering.length;
  const { rankBits, levelBits, total } = prefixBits(m, levelCount);
  if (total > length * 8 - 32) throw new LandmarkBinError('prefix leaves fewer than 32 random bits');
  for (;;) {
    const id = random.bytes(length);
    putBits(id, 0, rankBits, permutationRank(bin.ordering));
    bin.levels.forEach((l, j) => putBits(id, rankBits + j * levelBits, levelBits, l));
    if (!isReservedNodeId(id)) return id;
  }
}

/** The bin prefix of a Node-ID back (for diagnostics and tests). */
export function binPrefixOf(nodeId: Uint8Array, landmarks: number, levelCount = DEFAULT_LEVEL_BOUNDARIES_MS.length + 1): { rank: number; levels: number[] } {
  const { rankBits, levelBits } = prefixBits(landmarks, levelCount);
  const get = (at: number, bits: number): number => {
    let v = 0;
    for (let i = 0; i < bits; i++) {
      const pos = at + i;
      v = v * 2 + ((nodeId[pos >> 3]! >> (7 - (pos & 7))) & 1);
    }
    return v;
  };
  return { rank: get(0, rankBits), levels: Array.from({ length: landmarks }, (_, j) => get(rankBits + j * levelBits, levelBits)) };
}
