/**
 * Landmark-aware Node-IDs in the simulator (issue #5 figure d, CI-sized) and the conference
 * scenario (issue #8): with landmark IDs the ID-nearest capable peer is much nearer in the
 * network than with random IDs, and delegating by chooseSecondaryFocus beats a random focus.
 * Also the real measurement path: RELOAD Pings over links to the landmarks.
 */
import t from 'tap';
import { ConferenceSpecError, formatConferenceSpec, parseConferenceSpec } from '../../src/sim/conference.js';
import { runLandmarkComparison } from '../../src/sim/landmarks.js';
import { rttMs } from '../../src/sim/latency.js';
import { Simulation } from '../../src/sim/simulation.js';
import { toHex } from '../../src/wire/codec.js';
import { binOf, formatBin } from '../../topology/landmarks/binning.js';
import { CapabilityDirectory } from '../../topology/landmarks/capabilities.js';
import { measureBin, measureLandmarks } from '../../topology/landmarks/measure.js';

t.test('conference specifications', async (t) => {
  t.same(parseConferenceSpec(''), { conferences: 20, size: 40, capacity: 8, candidates: 4 });
  const s = parseConferenceSpec(' conferences=5 , size=12,capacity=3,candidates=2');
  t.same(s, { conferences: 5, size: 12, capacity: 3, candidates: 2 });
  t.equal(formatConferenceSpec(s), 'conferences=5,size=12,capacity=3,candidates=2');
  for (const [text, why] of [
    ['size=0', /size must be an integer in 1\.\./],
    ['size=2.5', /size must be an integer/],
    ['capacity', /is not key=value/],
    ['rooms=3', /unknown key "rooms"/],
    ['size=3,size=4', /given twice/],
  ] as const) {
    t.throws(() => parseConferenceSpec(text), ConferenceSpecError, text);
    t.throws(() => parseConferenceSpec(text), { message: why }, text);
  }
});

t.test('a joining node measures its landmarks with RELOAD Pings over links', async (t) => {
  const sim = new Simulation({ nodes: 24, seed: 'ci-measure', keyPool: 2, signatures: 'digest', bootstrap: 'bulk', regionFor: (h) => (h < 3 ? h : undefined) });
  t.teardown(() => sim.close());
  await sim.build();
  const landmarks = sim.peers.slice(0, 3).map((p) => ({ address: p.address.host, port: p.address.port, nodeId: p.nodeId }));
  const joiner = sim.peers[10]!;
  const m = await sim.driver.run(measureLandmarks(joiner.node, landmarks, { kind: 'memory', samples: 2 }), 600_000);
  t.equal(m.length, 3);
  m.forEach((x, j) => {
    const model = rttMs(sim.latency, joiner.host, j);
    t.ok(x.rttMs >= model && x.rttMs <= model + 5, `landmark ${j}: measured ${x.rttMs} ms, latency model ${model} ms`);
    t.same(x.nodeId, sim.peers[j]!.nodeId);
  });
  const { bin } = await sim.driver.run(measureBin(joiner.node, landmarks, { kind: 'memory' }), 600_000);
  t.equal(formatBin(bin), formatBin(binOf(m.map((x) => x.rttMs))), 'the bin of the measured RTTs');
  // A landmark whose Node-ID is not the configured one, and one nobody listens at.
  const wrong = await sim.driver.run(
    measureLandmarks(joiner.node, [{ ...landmarks[0]!, nodeId: sim.peers[1]!.nodeId }, { address: '10.255.255.1', port: 6084 }], { kind: 'memory', samples: 1 }),
    600_000,
  );
  t.equal(wrong[0]!.rttMs, Number.POSITIVE_INFINITY);
  t.match(wrong[0]!.error, /not the configured/);
  t.equal(wrong[1]!.rttMs, Number.POSITIVE_INFINITY);
  t.type(wrong[1]!.error, 'string');
});

t.test('a full shallow bucket does not stop an advertisement; deeper buckets list it', async (t) => {
  const options = { depths: [1, 8, 16], maxPerBucket: 4 };
  const dirs = new Map<number, CapabilityDirectory>();
  const sim = new Simulation({
    nodes: 30,
    seed: 'ci-full-bucket',
    keyPool: 2,
    signatures: 'digest',
    bootstrap: 'bulk',
    usages: ({ host }) => {
      const d = new CapabilityDirectory(options);
      dirs.set(host, d);
      return [d];
    },
  });
  sim.installUsages([new CapabilityDirectory(options)]);
  t.teardown(() => sim.close());
  await sim.build();
  const peers = sim.live();
  // 30 advertisers in 2 depth-1 buckets of at most 4: most depth-1 Stores are refused.
  await sim.driver.run(Promise.all(peers.map((p) => dirs.get(p.host)!.advertise('x'))), 600_000);
  const asker = peers[0]!;
  let exact = 0;
  for (const p of peers.slice(1)) {
    const found = await sim.driver.run(dirs.get(asker.host)!.nearest('x', p.nodeId, 1), 600_000);
    if (found[0] && toHex(found[0].nodeId) === toHex(p.nodeId)) exact++;
  }
  t.equal(exact, peers.length - 1, 'every advertiser is found at its own Node-ID');
});

t.test('landmark IDs vs random IDs, and conference foci, 300 peers in 6 regions', async (t) => {
  const r = await runLandmarkComparison(
    { nodes: 300, seed: 'ci-landmarks', lookups: 300, keyPool: 4, signatures: 'digest', bootstrap: 'bulk' },
    { queries: 150, conference: { conferences: 8, size: 24, capacity: 4, candidates: 4 } },
  );
  t.equal(r.success_rate, 1, 'the landmark-ID overlay routes like any other');
  const n = r.nearest_capable_rtt_ms!;
  t.ok(n.queries >= 140);
  t.ok(n.exact_landmark >= 0.95 && n.exact_random >= 0.95, 'the directory answers with the true ID-nearest advertiser');
  t.ok(n.landmark <= 0.5 * n.random, `nearest capable RTT: landmark ${n.landmark} ms, random ${n.random} ms`);
  t.ok(n.best_possible <= n.landmark);
  const c = r.conference_rtt_ms!;
  t.equal(c.spec, 'conferences=8,size=24,capacity=4,candidates=4');
  t.equal(c.served, 8 * 24, 'every participant served');
  t.equal(c.unserved_landmark + c.unserved_random, 0);
  t.ok(c.delegated >= 8 * 20 - 8 * 4, `${c.delegated} delegated`);
  t.equal(c.query_errors, 0);
  t.ok(c.stats_per_delegation >= 1, 'delegations ask the directory through the overlay');
  t.ok(c.landmark <= 0.75 * c.random, `conference RTT: chooseSecondaryFocus ${c.landmark} ms, random ${c.random} ms`);
  t.ok(c.delegated_landmark <= 0.6 * c.delegated_random, `delegated: ${c.delegated_landmark} vs ${c.delegated_random} ms`);
});
