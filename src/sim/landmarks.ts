/**
 * The landmark scenario (issue: "landmarks, 2,000 peers in 6 regions"): does landmark-aware
 * Node-ID assignment make "close in ID" mean "close in the network"?
 *
 * Two overlays are built on the same hosts (same regions, same access delays, same capable
 * peers): one whose Node-IDs come from the LandmarkNodeIdStrategy fed with each peer's
 * landmark bin, one with random Node-IDs. In both, a share of the peers advertise a
 * capability through the capability directory; then sampled peers ask the directory for the
 * advertiser nearest to their own Node-ID and the round-trip time to it is measured with the
 * latency model. The landmarks are the first peers, one per region (more landmarks than
 * regions go round the regions again). RTTs to them come from the latency model, as the
 * joining node's Pings would measure them on a quiet network.
 */
import { SeededRandom } from '../common/random.js';
import { toHex } from '../wire/codec.js';
import { CapabilityDirectory, ringDistance } from '../../topology/landmarks/capabilities.js';
import { DEFAULT_LEVEL_BOUNDARIES_MS, binOf, formatBin } from '../../topology/landmarks/binning.js';
import { LandmarkNodeIdStrategy } from '../../topology/landmarks/strategy.js';
import { LANDMARK_BIN_FIELD } from '../../certs/node-id-strategy.js';
import { type ConferenceFigures, type ConferenceSpec, DEFAULT_CONFERENCE_SPEC, runConferences } from './conference.js';
import { rttMs } from './latency.js';
import { type SimPeer, Simulation, type SimulationOptions, type SimulationReport } from './simulation.js';
import { Samples, round } from './stats.js';

/** The capability the scenario advertises and looks for. */
export const FOCUS_CAPABILITY = 'conference-focus';

export interface LandmarkScenarioOptions {
  /** Landmarks (the first peers, one per region in turn). @default the number of regions */
  landmarks?: number;
  /** Share of peers advertising the capability. @default 0.2 */
  capableFraction?: number;
  /** Peers that query (sampled). @default min(non-landmark peers, 500) */
  queries?: number;
  /** Latency level boundaries, ms. @default [100, 200] */
  levelBoundariesMs?: readonly number[];
  /** The conference scenario on the landmark-ID overlay (./conference.ts); false: none. @default DEFAULT_CONFERENCE_SPEC */
  conference?: ConferenceSpec | false;
}

export interface CapabilityQueryFigures {
  /** Mean RTT from a querying peer to the advertiser the directory returned, ms. */
  meanRttMs: number;
  /** Mean RTT to the network-nearest advertiser (the best any ID assignment could do), ms. */
  bestRttMs: number;
  queries: number;
  /** Share of answers that were the true ID-nearest advertiser (directory correctness). */
  exact: number;
  /** Stat requests per query. */
  statsPerQuery: number;
  capable: number;
}

function capableHosts(seed: string | number, fraction: number): (host: number) => boolean {
  return (host) => new SeededRandom(`sim/${seed}/capable/${host}`).float() < fraction;
}

/** Advertises, queries and measures on a built overlay. */
async function queryCapabilities(sim: Simulation, directories: Map<number, CapabilityDirectory>, isCapable: (host: number) => boolean, queries: number, skipHosts: number): Promise<CapabilityQueryFigures> {
  const live = sim.live();
  const capable = live.filter((p) => isCapable(p.host));
  await sim.driver.run(Promise.all(capable.map((p) => directories.get(p.host)!.advertise(FOCUS_CAPABILITY))), 600_000);
  await sim.driver.settle(5_000);
  const byId = new Map<string, SimPeer>(live.map((p) => [toHex(p.nodeId), p]));
  const random = new SeededRandom(`sim/${sim.options.seed}/queries`);
  const askers = live.filter((p) => p.host >= skipHosts);
  const picked: SimPeer[] = [];
  const want = Math.min(queries, askers.length);
  while (picked.length < want) picked.push(askers.splice(random.int(askers.length), 1)[0]!);
  const rtt = new Samples();
  const best = new Samples();
  let exact = 0;
  let asked = 0;
  const before = [...directories.values()].reduce((a, d) => a + d.stats.statRequests, 0);
  await sim.driver.run(
    Promise.all(
      picked.map(async (p) => {
        const others = capable.filter((c) => c !== p);
        if (others.length === 0) return;
        const found = await directories.get(p.host)!.nearest(FOCUS_CAPABILITY, p.nodeId, 1, [p.nodeId]).catch(() => []);
        asked++;
        const match = found[0] ? byId.get(toHex(found[0].nodeId)) : undefined;
        if (!match) return;
        rtt.add(rttMs(sim.latency, p.host, match.host));
        best.add(Math.min(...others.map((c) => rttMs(sim.latency, p.host, c.host))));
        // Ground truth: the advertiser nearest in ID space.
        let truth = others[0]!;
        let d = ringDistance(truth.nodeId, p.nodeId);
        for (const c of others) {
          const dc = ringDistance(c.nodeId, p.nodeId);
          if (dc < d || (dc === d && toHex(c.nodeId) < toHex(truth.nodeId))) {
            truth = c;
            d = dc;
          }
        }
        if (truth === match) exact++;
      }),
    ),
    3_600_000,
  );
  const after = [...directories.values()].reduce((a, d) => a + d.stats.statRequests, 0);
  return {
    meanRttMs: round(rtt.mean, 1),
    bestRttMs: round(best.mean, 1),
    queries: rtt.count,
    exact: asked ? round(exact / asked, 4) : 0,
    statsPerQuery: asked ? round((after - before) / asked, 2) : 0,
    capable: capable.length,
  };
}

/**
 * Runs the scenario of `base` (stable, churn or mass failure) on the landmark-ID overlay and
 * adds `nearest_capable_rtt_ms` comparing it with a random-ID overlay on the same hosts.
 */
export async function runLandmarkComparison(base: SimulationOptions, lm: LandmarkScenarioOptions = {}): Promise<SimulationReport> {
  const regions = base.latency && 'matrix' in base.latency ? base.latency.matrix.length : (base.latency?.regions ?? 6);
  const m = lm.landmarks ?? regions;
  const boundaries = lm.levelBoundariesMs ?? DEFAULT_LEVEL_BOUNDARIES_MS;
  const isCapable = capableHosts(base.seed, lm.capableFraction ?? 0.2);
  const queries = lm.queries ?? Math.min(base.nodes - m, 500);
  const regionFor = (host: number): number | undefined => (host < m ? host % regions : undefined);
  const strategy = new LandmarkNodeIdStrategy({ landmarks: m, levelCount: boundaries.length + 1, random: new SeededRandom(`sim/${base.seed}/landmark-ids`) });

  const conference = lm.conference === undefined ? { ...DEFAULT_CONFERENCE_SPEC } : lm.conference;
  let conferenceFigures: ConferenceFigures | undefined;

  const make = (landmarkIds: boolean, figures: { out?: CapabilityQueryFigures }, directories: Map<number, CapabilityDirectory>): Simulation => {
    const sim = new Simulation({
      ...base,
      regionFor,
      usages: ({ host }) => {
        const d = new CapabilityDirectory();
        directories.set(host, d);
        return [d];
      },
      ...(landmarkIds
        ? {
            nodeIdFor: ({ host }: { host: number }, s: Simulation) => {
              if (host < m) return undefined;
              // The joining peer's measurement (latency model) → its bin → the enrollment
              // server's strategy, through the enrollment form field.
              const bin = binOf(Array.from({ length: m }, (_, j) => rttMs(s.latency, host, j)), boundaries);
              return strategy.assign({ userName: `peer${host}`, count: 1, csrPublicKey: s.identities.nextPublicKey(), hints: { [LANDMARK_BIN_FIELD]: formatBin(bin) } })[0];
            },
          }
        : {}),
      afterBuild: async (s) => {
        figures.out = await queryCapabilities(s, directories, isCapable, queries, m);
        // Issue #8: secondary-focus choice by Node-ID proximity vs at random (landmark IDs).
        if (landmarkIds && conference) {
          const capable = s.live().filter((p) => isCapable(p.host));
          conferenceFigures = await runConferences(s, directories, capable, FOCUS_CAPABILITY, conference, m);
        }
      },
    });
    sim.installUsages([new CapabilityDirectory()]);
    return sim;
  };

  // The random-ID overlay first, only as far as the queries.
  const randomFigures: { out?: CapabilityQueryFigures } = {};
  const randomSim = make(false, randomFigures, new Map());
  await randomSim.build();
  await randomSim.options.afterBuild!(randomSim);
  await randomSim.close();

  const landmarkFigures: { out?: CapabilityQueryFigures } = {};
  const sim = make(true, landmarkFigures, new Map());
  const report = await sim.run();
  await sim.close();
  const a = landmarkFigures.out!;
  const b = randomFigures.out!;
  report.nearest_capable_rtt_ms = {
    landmark: a.meanRttMs,
    random: b.meanRttMs,
    ratio: b.meanRttMs > 0 ? round(a.meanRttMs / b.meanRttMs, 3) : 0,
    best_possible: a.bestRttMs,
    queries: a.queries,
    capable: a.capable,
    landmarks: m,
    exact_landmark: a.exact,
    exact_random: b.exact,
    stats_per_query: a.statsPerQuery,
  };
  if (conferenceFigures) {
    const c = conferenceFigures;
    report.conference_rtt_ms = {
      landmark: c.landmark.meanRttMs,
      random: c.random.meanRttMs,
      ratio: c.random.meanRttMs > 0 ? round(c.landmark.meanRttMs / c.random.meanRttMs, 3) : 0,
      delegated_landmark: c.landmark.delegatedMeanRttMs,
      delegated_random: c.random.delegatedMeanRttMs,
      p99_landmark: c.landmark.p99RttMs,
      p99_random: c.random.p99RttMs,
      spec: c.spec,
      foci: c.foci,
      served: c.landmark.served,
      delegated: c.landmark.delegated,
      unserved_landmark: c.landmark.unserved,
      unserved_random: c.random.unserved,
      stats_per_delegation: c.statsPerDelegation,
      query_errors: c.queryErrors,
    };
  }
  return report;
}
