/**
 * Development tool: a churn run that explains every stored value it loses.
 *
 *   npm run build && node bench/trace-losses.mjs NODES MEDIAN_MIN DURATION_MIN SEED
 *   (env KP = key-pool size, default 16; LOOKUPS = lookups, default 5 per peer)
 *
 * It wraps the simulator's crash/leave and the DataStore's apply (every Store)/drop to log, per value,
 * every Store (with its replica number) and drop at each peer, and every crash or leave of
 * those peers; after the run it prints that history for each value no live peer holds.
 * Reading it is how the two CHORD data-loss causes of session 4 were found.
 *
 * A value whose last known holder goes away is reported at once ("LOST-NOW", with its
 * history so far), so a long run explains its first loss without waiting for the end. At
 * the end, values held by live peers but not by the peer responsible for them (the ones a
 * Fetch misses: "not fetchable") are printed with their history too ("MISPLACED").
 */
import { Simulation } from '../dist/src/sim/simulation.js';
import { parseChurnSpec } from '../dist/src/sim/churn.js';
import { DataStore } from '../dist/src/storage/store.js';
const [n = '500', med = '10', dur = '60', seed = 'loss1'] = process.argv.slice(2);
const spec = parseChurnSpec(`median-session=${med}m,duration=${dur}m`);
const sim = new Simulation({ nodes: +n, seed, keyPool: +(process.env.KP ?? 16), signatures: 'digest', bootstrap: 'bulk', churn: spec });
const hex = (u) => Buffer.from(u).toString('hex');
const owner = new WeakMap();
const events = new Map(); // resource hex -> [{t, what, host}]
const peerEvents = new Map(); // host -> [{t, what}]
const tracked = new Set();
const t0 = sim.clock.now();
const T = () => Math.round((sim.clock.now() - t0) / 100) / 10;
const holders = new Map(); // resource hex -> Set of hosts holding it (as far as the events tell)
const held = new Map(); // host -> Set of resource hex
const history = (rh) => {
  const hosts = new Set((events.get(rh) ?? []).map((e) => e.host));
  const lines = [...(events.get(rh) ?? []).map((e) => `${e.t}s ${e.what} @${e.host}`)];
  for (const h of hosts) for (const e of peerEvents.get(h) ?? []) lines.push(`${e.t}s ${e.what} of ${h}`);
  lines.sort((a, b) => parseFloat(a) - parseFloat(b));
  return lines;
};
const lose = (rh, host) => {
  const set = holders.get(rh);
  if (!set || !set.delete(host) || set.size > 0) return;
  console.log(`LOST-NOW ${rh.slice(0, 8)} at ${T()}s (last holder ${host} gone):`);
  for (const l of history(rh)) console.log('   ', l);
};
const log = (r, what, host) => {
  if (!tracked.has(r)) return;
  (events.get(r) ?? events.set(r, []).get(r)).push({ t: T(), what, host });
  if (what === 'drop') {
    held.get(host)?.delete(r);
    lose(r, host);
  } else {
    (holders.get(r) ?? holders.set(r, new Set()).get(r)).add(host);
    (held.get(host) ?? held.set(host, new Set()).get(host)).add(r);
  }
};
const gone = (host) => {
  const rs = held.get(host);
  held.delete(host);
  for (const r of rs ?? []) lose(r, host);
};
const origCreate = Simulation.prototype.createPeer;
const hostOf = new Map(); // Node-ID hex -> host
sim.createPeer = function (o) { const p = origCreate.call(this, o); owner.set(p.node.storage, p.host); hostOf.set(hex(p.nodeId), p.host); return p; };
// The Store handler calls apply (store is its wrapper): hook the one every Store goes through.
const origApply = DataStore.prototype.apply;
DataStore.prototype.apply = function (req, ctx) { const r = hex(req.resource); const a = origApply.call(this, req, ctx); log(r, `store replica=${req.replicaNumber} from ${hostOf.get(hex(ctx.requestSigner.nodeId)) ?? 'client'} wrote ${a.valuesWritten}`, owner.get(this)); return a; };
const origDrop = DataStore.prototype.dropResource;
DataStore.prototype.dropResource = function (id) { log(hex(id), 'drop', owner.get(this)); return origDrop.call(this, id); };
const origCrash = sim.crash.bind(sim); sim.crash = (p) => { (peerEvents.get(p.host) ?? peerEvents.set(p.host, []).get(p.host)).push({ t: T(), what: 'crash' }); origCrash(p); gone(p.host); };
const origLeave = sim.leave.bind(sim); sim.leave = (p) => { (peerEvents.get(p.host) ?? peerEvents.set(p.host, []).get(p.host)).push({ t: T(), what: 'leave' }); const done = origLeave(p); Promise.resolve(done).finally(() => gone(p.host)); return done; };
await sim.build();
await sim.storeValues(Math.min(+n, 1000));
for (const v of sim.values) tracked.add(hex(v.resourceId));
// the initial stores happened before tracking: record holders now
for (const p of sim.peers) for (const r of p.node.storage.resources()) log(hex(r), 'held-at-start', p.host);
await sim.runChurn(spec, +(process.env.LOOKUPS ?? +n * 5));
const r = await sim.report();
console.log(JSON.stringify({ success: r.success_rate, lost: r.values_lost, unfetchable: r.values_unfetchable, dep: r.churn.departures, wall: r.wall_s }));
const live = new Map(sim.peers.filter((p) => p.state === 'up').map((p) => [p.host, p]));
for (const v of sim.values) {
  const rh = hex(v.resourceId);
  const holders = [...live.values()].filter((p) => p.node.storage.resources().some((x) => hex(x) === rh)).map((p) => p.host);
  if (holders.length >= 1) continue;
  console.log(`LOST ${rh.slice(0, 8)}:`);
  for (const l of history(rh)) console.log('   ', l);
}
// Values held by live peers, but not by the live peer responsible for them (ground truth:
// the first live Node-ID at or after the Resource-ID, clockwise).
const ring = [...live.values()].map((p) => ({ id: BigInt('0x' + hex(p.nodeId)), host: p.host })).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
const responsibleFor = (rid) => (ring.find((x) => x.id >= rid) ?? ring[0]).host;
for (const v of sim.values) {
  const rh = hex(v.resourceId);
  const hs = [...live.values()].filter((p) => p.node.storage.resources().some((x) => hex(x) === rh)).map((p) => p.host);
  const resp = responsibleFor(BigInt('0x' + rh));
  if (hs.length === 0 || hs.includes(resp)) continue;
  console.log(`MISPLACED ${rh.slice(0, 8)}: held by ${hs.join(', ')}, responsible ${resp}:`);
  for (const l of history(rh)) console.log('   ', l);
}
