/**
 * CI-sized churn and mass-failure scenarios (issue #5 figures b and c, on a few hundred
 * peers): lookups keep succeeding and no stored value (3 copies) is lost under churn; after
 * a quarter of the peers crash at once the ring reconverges, lookups get back to ≥ 99.9 %
 * and every value not destroyed with the peers can be fetched.
 */
import t from 'tap';
import { Simulation, type SimulationOptions } from '../../src/sim/simulation.js';
import { parseChurnSpec } from '../../src/sim/churn.js';
import { toHex } from '../../src/wire/codec.js';

async function simulate(o: SimulationOptions) {
  const sim = new Simulation(o);
  try {
    return await sim.run();
  } finally {
    await sim.close();
  }
}

const cheap = { keyPool: 4, signatures: 'digest', bootstrap: 'bulk' } as const;

t.test('churn: 100 peers, median session 5 min, 15 min', async (t) => {
  const sim = new Simulation({ nodes: 100, seed: 'ci-churn', lookups: 1000, churn: parseChurnSpec('median-session=5m,duration=15m'), ...cheap });
  const r = await sim.run();
  // A long run must hold only the peers present: departed ones (and their dead links) are
  // released, or a 2-hour run at 2,000 peers grows by every node it ever created.
  t.ok(sim.peers.every((p) => p.state === 'up' || p.state === 'joining'), 'departed peers released');
  t.equal(sim.peers.filter((p) => p.state === 'up').length, sim.live().length);
  t.ok([...sim.network.ackHolders].every((h) => h.open), 'no closed connection holds acks');
  // Updates received while joining are learned once joined, not kept (they are views into
  // received messages and pinned a 64 KiB slab each, up to 8 per peer).
  const early = (p: (typeof sim.peers)[number]) => (p.node.topology as unknown as { earlyUpdates: Map<bigint, unknown> }).earlyUpdates.size;
  t.ok(sim.peers.filter((p) => p.state === 'up').every((p) => early(p) === 0), 'joined peers keep no early Updates');
  // Departed peers are forgotten too: after the 30 s link hold and a stabilisation tick
  // (30 s ± 25 %), a peer's known peers and Node-ID cache hold only live or linked peers.
  // Before, both kept every peer ever heard of (~44 departed per peer after 1 h of this churn).
  await sim.driver.settle(120_000);
  const liveIds = new Set(sim.live().map((p) => toHex(p.nodeId)));
  let remembered = 0;
  let known = 0;
  for (const p of sim.peers.filter((q) => q.state === 'up')) {
    const chord = p.node.topology as unknown as { peersSeen: Set<bigint>; ids: Map<bigint, Uint8Array> };
    const linked = new Set(p.node.router.table.nodeIds().map(toHex));
    const hex = (c: bigint): string => c.toString(16).padStart(p.nodeId.length * 2, '0');
    known += chord.peersSeen.size;
    for (const c of new Set([...chord.peersSeen, ...chord.ids.keys()])) {
      if (!liveIds.has(hex(c)) && !linked.has(hex(c))) remembered++;
    }
  }
  t.equal(remembered, 0, `no departed, unlinked peer is remembered (${remembered})`);
  t.ok(known > 10 * sim.live().length, `peers still know their live peers (${known} entries)`);
  await sim.close();
  const c = r.churn!;
  t.ok(c.departures > 100, `${c.departures} departures`);
  t.ok(c.crashes > 0 && c.leaves > 0, 'both crashes and graceful leaves');
  t.equal(c.arrivals, c.departures, 'every departure replaced by a new peer');
  t.ok(c.arrivals - c.joins_failed > 0.95 * c.arrivals, 'arrivals joined through the real protocol');
  t.ok(r.lookups > 950);
  // Crashes are silent on the stream link model: since the failure hint is keyed on the
  // link's reliability (issues #3/#5), a dead peer's link is only routed around at once and
  // closed after the 30 s hold, no longer closed ~1 s after its first unacked frame. This
  // seed went from 0.996 to 0.993 (seeds s2/s3: 0.996 → 0.997, 0.993 → 0.994); 0.994 since
  // replicas received within the hold-down are not dropped (this seed lost 2 values when a
  // change elsewhere shifted its event order: traced to such drops).
  t.ok(r.success_rate >= 0.99, `success ${r.success_rate}`);
  t.equal(r.values_lost, 0, 'no stored value lost');
  t.equal(r.values_unfetchable, 0);
  t.ok(c.success_over_time.length >= 10 && c.success_over_time.every((w) => w.rate >= 0 && w.rate <= 1));
  t.ok(r.maintenance_msgs_per_peer_s > 0);
});

t.test('mass failure: 25 % of 200 peers crash at once', async (t) => {
  const r = await simulate({ nodes: 200, seed: 'ci-fail', lookups: 2000, failPercent: 25, ...cheap });
  const f = r.fail!;
  t.equal(f.killed, 50);
  t.not(f.reconverge_s, null, 'the ring reconverged');
  t.not(f.success_recovered_s, null, 'lookups got back to ≥ 99.9 %');
  t.ok(f.reconverge_s! > 0 && f.reconverge_s! < 900, `reconverged after ${f.reconverge_s} s`);
  t.ok(f.success_after >= 0.999, `success after ${f.success_after}`);
  t.ok(f.lookups_after >= 1990);
  t.ok(r.ring.consistent);
  t.equal(r.values_unfetchable, 0, 'all data not destroyed with the peers is fetchable');
  t.ok(f.values_destroyed <= 0.05 * r.values_stored, `${f.values_destroyed} values had every copy on a victim`);
  t.equal(r.values_lost, f.values_destroyed, 'nothing lost besides those');
  // 50 of 200 killed, 3 copies: 50·49·48 / (200·199·198) of the stored values by chance.
  t.equal(f.values_destroyed_expected, Math.round(r.values_stored * ((50 * 49 * 48) / (200 * 199 * 198)) * 100) / 100);
  t.ok(f.success_over_time.length >= 1 && f.success_over_time.every((w) => w.lookups > 0));
});
