/**
 * The decisions of the DisCo usage as pure functions, so that every focus (and a test) makes
 * the same choice from the same registrations: who is primary, whom a call goes to, who
 * takes over when a focus goes away. Distance and tie-breaking are those of
 * chooseSecondaryFocus (selection.ts, shared with the simulator).
 */
import { bytesEqual, toHex } from '../../src/wire/codec.js';
import { type FocusCandidate, chooseSecondaryFocus } from './selection.js';

/** What the rules need to know of a registered focus (from its DISCO-REGISTRATION entry). */
export interface FocusView {
  nodeId: Uint8Array;
  role: 'primary' | 'secondary';
  term: number;
  capacity: number;
  participants: number;
}

export function freePlaces(f: Pick<FocusView, 'capacity' | 'participants'>): number {
  return Math.max(0, f.capacity - f.participants);
}

function compareIds(a: Uint8Array, b: Uint8Array): number {
  for (let i = 0; i < Math.min(a.length, b.length); i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return a.length - b.length;
}

/**
 * The primary focus the registrations name: the entry with role primary and the largest
 * term; equal terms: the smaller Node-ID. Undefined when no entry claims the role.
 */
export function currentPrimary<T extends FocusView>(foci: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const f of foci) {
    if (f.role !== 'primary') continue;
    if (!best || f.term > best.term || (f.term === best.term && compareIds(f.nodeId, best.nodeId) < 0)) best = f;
  }
  return best;
}

/**
 * Election of a new primary when the primary left or failed (SDCON "election of a new
 * primary focus"; the criterion is UNCONFIRMED in disco.md §8, §9). Rule of this
 * implementation: among the foci still alive, the one with the numerically smallest
 * Node-ID. Every focus computes it from the same set, so no messages are exchanged; the
 * winner then stores its entry with role primary and term = the old term + 1.
 */
export function electPrimary<T extends Pick<FocusView, 'nodeId'>>(alive: readonly T[]): T | undefined {
  let best: T | undefined;
  for (const f of alive) if (!best || compareIds(f.nodeId, best.nodeId) < 0) best = f;
  return best;
}

/** Where a front end sends a new participant's INVITE (DisCo §5 "join"). */
export type FrontEndChoice<T extends FocusView> = { focus: T; why: 'primary-free' | 'nearest-free' | 'primary-recruits' };

/**
 * A front end forwarding a call to the conference URI: to the primary while it has a free
 * place; otherwise to the registered focus with a free place nearest to the caller's peer
 * (chooseSecondaryFocus); when none has one, to the primary, which recruits a new focus.
 * `unreachable` lists foci that could not be reached (they are skipped).
 */
export function chooseForFrontEnd<T extends FocusView>(foci: readonly T[], participant: Uint8Array, unreachable: readonly Uint8Array[] = []): FrontEndChoice<T> | undefined {
  const live = foci.filter((f) => !unreachable.some((u) => bytesEqual(u, f.nodeId)));
  const primary = currentPrimary(live);
  if (primary && freePlaces(primary) > 0) return { focus: primary, why: 'primary-free' };
  const pick = chooseSecondaryFocus(
    participant,
    live.map((f) => ({ nodeId: f.nodeId, free: freePlaces(f) })),
  );
  if (pick) return { focus: live.find((f) => bytesEqual(f.nodeId, pick.nodeId))!, why: 'nearest-free' };
  if (primary) return { focus: primary, why: 'primary-recruits' };
  const any = electPrimary(live);
  return any ? { focus: any, why: 'primary-recruits' } : undefined;
}

/** What a focus does with an INVITE to its conference (RFC 4579 dial-in, DisCo §7 delegation). */
export type FocusDecision =
  | { action: 'accept'; overCapacity: boolean }
  | { action: 'delegate'; to: Uint8Array; recruit: boolean };

/**
 * The delegation decision of a focus receiving a participant's INVITE:
 * 1. a free place here: accept;
 * 2. an INVITE another focus already delegated here: accept, even over capacity — one hop
 *    of delegation only, so two full foci never pass a call back and forth;
 * 3. a registered focus of the conference with a free place: delegate to the one nearest to
 *    the participant (chooseSecondaryFocus);
 * 4. a focus-capable peer from the directory (not yet serving) with a free place: recruit
 *    the one nearest to the participant and delegate;
 * 5. nobody: accept over capacity (a conference does not turn callers away because load
 *    balancing found no helper; capacity steers delegation, it is not admission control).
 */
export function focusDecision(input: {
  self: Uint8Array;
  capacity: number;
  participants: number;
  delegated: boolean;
  participant: Uint8Array;
  registered: readonly FocusView[];
  directory: readonly FocusCandidate[];
}): FocusDecision {
  if (input.participants < input.capacity) return { action: 'accept', overCapacity: false };
  if (input.delegated) return { action: 'accept', overCapacity: true };
  const others = input.registered.filter((f) => !bytesEqual(f.nodeId, input.self));
  const reg = chooseSecondaryFocus(input.participant, others.map((f) => ({ nodeId: f.nodeId, free: freePlaces(f) })));
  if (reg) return { action: 'delegate', to: reg.nodeId, recruit: false };
  const serving = input.registered.map((f) => f.nodeId);
  const fresh = chooseSecondaryFocus(input.participant, input.directory, [input.self, ...serving]);
  if (fresh) return { action: 'delegate', to: fresh.nodeId, recruit: true };
  return { action: 'accept', overCapacity: true };
}

/**
 * Recovery (SDCON "re-INVITE on departure"): the participants of foci that left are spread
 * over the remaining foci by the same selection rule, one after the other in the order of
 * their entity URIs, each taking a place from the chosen focus; when no focus has a free
 * place left, the nearest focus takes the participant over capacity (the conference keeps
 * its members). Every focus computes the same map and re-INVITEs only its own share.
 * Returns participant entity → Node-ID (hex) of the focus that re-INVITEs it.
 */
export function assignOrphans(
  orphans: readonly { entity: string; node: Uint8Array }[],
  foci: readonly Pick<FocusView, 'nodeId' | 'capacity' | 'participants'>[],
): Map<string, string> {
  const load = new Map(foci.map((f) => [toHex(f.nodeId), { nodeId: f.nodeId, free: freePlaces(f) }]));
  const out = new Map<string, string>();
  const sorted = [...orphans].sort((a, b) => (a.entity < b.entity ? -1 : a.entity > b.entity ? 1 : 0));
  for (const o of sorted) {
    const candidates = [...load.values()];
    let pick = chooseSecondaryFocus(o.node, candidates);
    pick ??= chooseSecondaryFocus(o.node, candidates.map((c) => ({ ...c, free: Infinity })));
    if (!pick) continue;
    const h = toHex(pick.nodeId);
    out.set(o.entity, h);
    const l = load.get(h)!;
    l.free = Math.max(0, l.free - 1);
  }
  return out;
}
