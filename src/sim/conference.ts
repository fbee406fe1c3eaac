/**
 * The conference scenario (issue #8): with landmark-aware Node-IDs, participants join
 * conferences; each focus has a capacity. The primary focus takes calls until it is full,
 * then every new participant is delegated to a secondary focus:
 *
 * - landmark policy: the primary asks the capability directory for the focus-capable peers
 *   nearest to the participant's Node-ID (CapabilityDirectory.nearest, real Stat requests
 *   through the overlay, as the SIP focus does) and picks with {@link chooseSecondaryFocus}
 *   (usages/sdcon/selection.ts, the rule the SIP focus uses);
 * - random policy (the baseline): a random focus-capable peer with a free place.
 *
 * Both policies run on the same overlay with the same conferences, primaries and join
 * order, each with its own focus loads (a focus's capacity counts every conference it
 * serves). The figure is the mean RTT (latency model) from each participant to the focus
 * that serves it.
 *
 * Specification text (CLI `--conference`): comma-separated `key=value`:
 *
 *     conferences=20,size=40,capacity=8[,candidates=4]
 *
 * - `conferences`: number of conferences (default 20);
 * - `size`: participants per conference (default 40);
 * - `capacity`: participants one focus serves, over all its conferences (default 8);
 * - `candidates`: advertisers asked from the directory per delegation (default 4, as the
 *   DisCo focus does; doubled while all of them are full).
 *
 * The free places of a candidate are the simulator's ground truth; the DisCo focus reads
 * them from the candidates' advertisements, which it keeps current (a debounced re-store).
 */
import { SeededRandom } from '../common/random.js';
import { toHex } from '../wire/codec.js';
import type { CapabilityDirectory } from '../../topology/landmarks/capabilities.js';
import { type FocusCandidate, chooseSecondaryFocus } from '../../usages/sdcon/selection.js';
import { rttMs } from './latency.js';
import type { SimPeer, Simulation } from './simulation.js';
import { Samples, round } from './stats.js';

export interface ConferenceSpec {
  conferences: number;
  size: number;
  capacity: number;
  candidates: number;
}

/** Candidates 4: what the DisCo focus asks the directory for (usages/sdcon RECRUIT_CANDIDATES). */
export const DEFAULT_CONFERENCE_SPEC: Readonly<ConferenceSpec> = Object.freeze({ conferences: 20, size: 40, capacity: 8, candidates: 4 });

export class ConferenceSpecError extends Error {
  readonly code = 'ERR_RELOAD_SIM_CONFERENCE';
  constructor(message: string) {
    super(`conference specification: ${message}`);
    this.name = 'ConferenceSpecError';
  }
}

const LIMITS: Record<keyof ConferenceSpec, [number, number]> = {
  conferences: [1, 100_000],
  size: [1, 100_000],
  capacity: [1, 100_000],
  candidates: [1, 1024],
};

/** Parses `conferences=N,size=M,capacity=C[,candidates=K]` (every key optional). */
export function parseConferenceSpec(text: string): ConferenceSpec {
  const spec: ConferenceSpec = { ...DEFAULT_CONFERENCE_SPEC };
  const seen = new Set<string>();
  for (const part of text.split(',')) {
    const p = part.trim();
    if (p === '') continue;
    const eq = p.indexOf('=');
    if (eq <= 0) throw new ConferenceSpecError(`"${p.slice(0, 40)}" is not key=value`);
    const key = p.slice(0, eq).trim().toLowerCase();
    if (!(key in LIMITS)) throw new ConferenceSpecError(`unknown key ${JSON.stringify(key.slice(0, 40))} (known: ${Object.keys(LIMITS).join(', ')})`);
    if (seen.has(key)) throw new ConferenceSpecError(`${key} given twice`);
    seen.add(key);
    const v = p.slice(eq + 1).trim();
    const [min, max] = LIMITS[key as keyof ConferenceSpec];
    const n = Number(v);
    if (!/^[0-9]+$/.test(v) || n < min || n > max) throw new ConferenceSpecError(`${key} must be an integer in ${min}..${max}, got ${JSON.stringify(v.slice(0, 20))}`);
    spec[key as keyof ConferenceSpec] = n;
  }
  return spec;
}

export function formatConferenceSpec(s: ConferenceSpec): string {
  return `conferences=${s.conferences},size=${s.size},capacity=${s.capacity},candidates=${s.candidates}`;
}

/** One policy's outcome. */
export interface ConferencePolicyFigures {
  /** Mean RTT from every served participant to its focus, ms. */
  meanRttMs: number;
  /** The same over delegated participants only (served by a secondary focus), ms. */
  delegatedMeanRttMs: number;
  p99RttMs: number;
  served: number;
  delegated: number;
  /** Participants no focus had a place for. */
  unserved: number;
}

export interface ConferenceFigures {
  spec: string;
  landmark: ConferencePolicyFigures;
  random: ConferencePolicyFigures;
  /** Focus-capable peers. */
  foci: number;
  /** Directory Stat requests per delegation (landmark policy). */
  statsPerDelegation: number;
  /** Directory queries that failed (the delegation then went to no one). */
  queryErrors: number;
}

/**
 * Runs the conferences on `sim` (built; `capable` peers advertise the focus capability in
 * `directories` already) under both policies.
 */
export async function runConferences(
  sim: Simulation,
  directories: ReadonlyMap<number, CapabilityDirectory>,
  capable: readonly SimPeer[],
  capability: string,
  spec: ConferenceSpec,
  skipHosts = 0,
): Promise<ConferenceFigures> {
  if (capable.length === 0) throw new ConferenceSpecError('no focus-capable peer in the overlay');
  const random = new SeededRandom(`sim/${sim.options.seed}/conferences`);
  const byId = new Map<string, SimPeer>(capable.map((p) => [toHex(p.nodeId), p]));
  const others = sim.live().filter((p) => p.host >= skipHosts);
  // The same conferences for both policies: primary focus and participants in join order.
  const conferences = Array.from({ length: spec.conferences }, () => ({
    primary: capable[random.int(capable.length)]!,
    participants: Array.from({ length: spec.size }, () => others[random.int(others.length)]!),
  }));

  const run = async (policy: 'landmark' | 'random'): Promise<ConferencePolicyFigures & { stats: number; delegations: number; errors: number }> => {
    const load = new Map<SimPeer, number>();
    const free = (p: SimPeer): number => spec.capacity - (load.get(p) ?? 0);
    const pick = new SeededRandom(`sim/${sim.options.seed}/conferences/${policy}`);
    const rtt = new Samples();
    const delegatedRtt = new Samples();
    let unserved = 0;
    let errors = 0;
    let delegations = 0;
    const statsBefore = [...directories.values()].reduce((a, d) => a + d.stats.statRequests, 0);
    // Conferences run side by side; inside one, participants join one after the other.
    const one = async (c: (typeof conferences)[number]): Promise<void> => {
      for (const participant of c.participants) {
        let focus: SimPeer | undefined;
        if (free(c.primary) > 0) {
          focus = c.primary;
        } else if (policy === 'landmark') {
          delegations++;
          const dir = directories.get(c.primary.host)!;
          for (let k = spec.candidates; ; k *= 2) {
            let found: { nodeId: Uint8Array }[];
            try {
              found = await dir.nearest(capability, participant.nodeId, k, [c.primary.nodeId]);
            } catch {
              errors++;
              break;
            }
            const candidates: FocusCandidate[] = found.map((m) => {
              const peer = byId.get(toHex(m.nodeId));
              return { nodeId: m.nodeId, free: peer ? free(peer) : 0 };
            });
            const chosen = chooseSecondaryFocus(participant.nodeId, candidates, [c.primary.nodeId]);
            if (chosen) {
              focus = byId.get(toHex(chosen.nodeId));
              break;
            }
            if (found.length < k) break;
          }
        } else {
          delegations++;
          const open = capable.filter((p) => p !== c.primary && free(p) > 0);
          if (open.length > 0) focus = open[pick.int(open.length)];
        }
        if (!focus) {
          unserved++;
          continue;
        }
        load.set(focus, (load.get(focus) ?? 0) + 1);
        const ms = rttMs(sim.latency, participant.host, focus.host);
        rtt.add(ms);
        if (focus !== c.primary) delegatedRtt.add(ms);
        // The INVITE and the focus's answers take a round trip before the next participant.
        await new Promise<void>((resolve) => sim.clock.setTimeout(resolve, Math.max(1, Math.round(ms))));
      }
    };
    await sim.driver.run(Promise.all(conferences.map(one)), 24 * 3_600_000);
    const statsAfter = [...directories.values()].reduce((a, d) => a + d.stats.statRequests, 0);
    return {
      meanRttMs: round(rtt.mean, 1),
      delegatedMeanRttMs: round(delegatedRtt.mean, 1),
      p99RttMs: round(rtt.quantile(0.99), 1),
      served: rtt.count,
      delegated: delegatedRtt.count,
      unserved,
      stats: statsAfter - statsBefore,
      delegations,
      errors,
    };
  };

  const { stats, delegations, errors, ...landmark } = await run('landmark');
  const { stats: _s, delegations: _d, errors: _e, ...rnd } = await run('random');
  void _s;
  void _d;
  void _e;
  return {
    spec: formatConferenceSpec(spec),
    landmark,
    random: rnd,
    foci: capable.length,
    statsPerDelegation: delegations ? round(stats / delegations, 2) : 0,
    queryErrors: errors,
  };
}
