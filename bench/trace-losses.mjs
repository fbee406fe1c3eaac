/**
 * Development tool: a churn run that explains every stored value it loses.
 *
 *   npm run build && node bench/trace-losses.mjs NODES MEDIAN_MIN DURATION_MIN SEED
 *   (env KP = key-pool size, default 16; LOOKUPS = lookups, default 5 per peer)
 *
 * It wraps the simulator's crash/leave and the DataStore's store/drop to log, per value,
 * every Store (with its replica number) and drop at each peer, and every crash or leave of
 * those peers; after the run it prints that history for each value no live peer holds.
 * Reading it is how the two CHORD data-loss causes of session 4 were found.
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
const log = (r, what, host) => { if (!tracked.has(r)) return; (events.get(r) ?? events.set(r, []).get(r)).push({ t: T(), what, host }); };
const origCreate = Simulation.prototype.createPeer;
sim.createPeer = function (o) { const p = origCreate.call(this, o); owner.set(p.node.storage, p.host); return p; };
const origStore = DataStore.prototype.store;
DataStore.prototype.store = function (req, ctx) { const r = hex(req.resource); const a = origStore.call(this, req, ctx); log(r, `store replica=${req.replicaNumber}`, owner.get(this)); return a; };
const origDrop = DataStore.prototype.dropResource;
DataStore.prototype.dropResource = function (id) { log(hex(id), 'drop', owner.get(this)); return origDrop.call(this, id); };
const origCrash = sim.crash.bind(sim); sim.crash = (p) => { (peerEvents.get(p.host) ?? peerEvents.set(p.host, []).get(p.host)).push({ t: T(), what: 'crash' }); origCrash(p); };
const origLeave = sim.leave.bind(sim); sim.leave = (p) => { (peerEvents.get(p.host) ?? peerEvents.set(p.host, []).get(p.host)).push({ t: T(), what: 'leave' }); return origLeave(p); };
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
  const hosts = new Set((events.get(rh) ?? []).map((e) => e.host));
  const lines = [...(events.get(rh) ?? []).map((e) => `${e.t}s ${e.what} @${e.host}`)];
  for (const h of hosts) for (const e of peerEvents.get(h) ?? []) lines.push(`${e.t}s ${e.what} of ${h}`);
  lines.sort((a, b) => parseFloat(a) - parseFloat(b));
  for (const l of lines) console.log('   ', l);
}
