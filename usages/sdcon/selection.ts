/**
 * Focus selection rules of the DisCo usage, shared by the SIP conference focus and the
 * simulator so that both measure and run the same thing.
 *
 * Secondary focus (DisCo §5/§7, the SDCON seed paper): when a focus is full, the new
 * participant is delegated to the focus-capable peer whose Node-ID is closest to the
 * participant's own Node-ID (the shorter way round the ring). With landmark-aware Node-IDs
 * (topology/landmarks/) a close Node-ID means a peer close in the network. Candidates with
 * no free place are skipped; ties go to the numerically smaller Node-ID so every focus
 * makes the same choice.
 */
import { ringDistance } from '../../topology/landmarks/capabilities.js';
import { bytesEqual } from '../../src/wire/codec.js';

export interface FocusCandidate {
  nodeId: Uint8Array;
  /** Places still free at this focus (capacity minus participants served); unknown: Infinity. */
  free: number;
}

function compareIds(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/** The candidate a participant is delegated to, or undefined when none has a free place. */
export function chooseSecondaryFocus(
  participant: Uint8Array,
  candidates: readonly FocusCandidate[],
  exclude: readonly Uint8Array[] = [],
): FocusCandidate | undefined {
  let best: FocusCandidate | undefined;
  let bestDistance = 0n;
  for (const c of candidates) {
    if (!(c.free > 0)) continue;
    if (exclude.some((x) => bytesEqual(x, c.nodeId))) continue;
    const d = ringDistance(participant, c.nodeId);
    if (best === undefined || d < bestDistance || (d === bestDistance && compareIds(c.nodeId, best.nodeId) < 0)) {
      best = c;
      bestDistance = d;
    }
  }
  return best;
}
