/**
 * src/node/liveness.ts and the failure-hint rule of ReloadNode (issues #3/#5), on the memory
 * link with a virtual clock: a peer cut off from a 4-peer ring rejoins through its bootstrap
 * list once the partition heals; the first node alone by design never retries; a suspect
 * stream link stays open but out of routing until restored; a silent peer on an idle stream
 * link is found by the idle-link Ping.
 */
import t from 'tap';
import { testCredentials } from '../helpers/identities.js';
import { KIND_SINGLE_USER, testnet } from '../helpers/testnet.js';
import type { NodeEvent, ReloadNode } from '../../src/node/node.js';
import type { Testnet } from '../../src/node/testnet.js';
import type { LinkAddress } from '../../src/link/types.js';
import { compareIds } from '../../src/wire/ids.js';
import { toHex, utf8 } from '../../src/wire/codec.js';

/** Node-IDs spread round the ring, so each peer has a distinct predecessor and successor. */
function spreadIds(n: number): Uint8Array[] {
  return Array.from({ length: n }, (_, i) => {
    const id = new Uint8Array(16);
    id[0] = Math.floor(((i + 0.5) * 256) / n);
    id[15] = i + 1;
    return id;
  });
}

function addressOf(node: ReloadNode): LinkAddress {
  return node.addresses[0]!.address;
}

/** Every node in `nodes` has the true successor and predecessor among `nodes`. */
function ringErrors(nodes: ReloadNode[]): string[] {
  const sorted = nodes.map((n) => n.nodeId).sort(compareIds).map(toHex);
  const errors: string[] = [];
  for (const node of nodes) {
    const me = sorted.indexOf(toHex(node.nodeId));
    const snap = node.topology.snapshot();
    const succ = snap.successors[0] ? toHex(snap.successors[0]) : 'none';
    const pred = snap.predecessors[0] ? toHex(snap.predecessors[0]) : 'none';
    if (succ !== sorted[(me + 1) % sorted.length]) errors.push(`${me}: successor ${succ.slice(0, 4)}`);
    if (pred !== sorted[(me + sorted.length - 1) % sorted.length]) errors.push(`${me}: predecessor ${pred.slice(0, 4)}`);
  }
  return errors;
}

function record(node: ReloadNode): NodeEvent['type'][] {
  const seen: NodeEvent['type'][] = [];
  node.on((e) => seen.push(e.type));
  return seen;
}

/** Lets virtual time pass in steps until `done()` holds (or `limitMs` passed); returns the time taken. */
async function until(net: Testnet, done: () => boolean, limitMs: number, stepMs = 1_000): Promise<number> {
  const t0 = net.clock.now();
  while (!done() && net.clock.now() - t0 < limitMs) await net.settle(stepMs);
  return net.clock.now() - t0;
}

async function storeOwn(net: Testnet, nodes: ReloadNode[]): Promise<void> {
  for (const n of nodes) {
    const user = n.signer.credentials.certificate.userName!;
    await net.run(n.storeValues(user, KIND_SINGLE_USER, [{ model: 'single', value: utf8(`value of ${user}`) }]));
  }
}

async function fetchAll(net: Testnet, from: ReloadNode, owners: ReloadNode[]): Promise<string[]> {
  const out: string[] = [];
  for (const o of owners) {
    const user = o.signer.credentials.certificate.userName!;
    const r = await net.run(from.fetchValues(user, KIND_SINGLE_USER));
    const v = r.values[0]?.data.value;
    out.push(v && v.model === 'single' && v.value.exists ? Buffer.from(v.value.value).toString() : 'missing');
  }
  return out;
}

t.test('a peer cut off from a 4-peer ring rejoins through its bootstrap list', async (t) => {
  // Neighbor Updates every 5 s put traffic on the (datagram) links, so the partition is seen.
  const net = testnet({ seed: 31, chord: { updateIntervalMs: 5_000 } });
  const ids = spreadIds(4);
  for (let i = 0; i < 4; i++) await net.add(testCredentials(`live${i}`, ids[i]!));
  await net.settle(20_000);
  const nodes = net.nodes;
  t.same(ringErrors(nodes), [], 'ring of 4 formed');
  await storeOwn(net, nodes);
  const expected = nodes.map((n) => `value of ${n.signer.credentials.certificate.userName}`);

  const victim = nodes[2]!;
  const others = nodes.filter((n) => n !== victim);
  const victimEvents = record(victim);
  const firstEvents = record(nodes[0]!);
  const rejoined: Uint8Array[] = [];
  victim.on((e) => {
    if (e.type === 'rejoined') rejoined.push(e.via);
  });

  net.network.partition(addressOf(victim));
  const cutAfter = await until(net, () => victimEvents.includes('isolated') && ringErrors(others).length === 0, 120_000);
  t.ok(victimEvents.includes('isolated'), `the victim saw itself cut off (${cutAfter / 1000} s)`);
  t.same(ringErrors(others), [], 'the other three closed the ring without it');
  t.equal(victim.router.table.size, 0, 'the victim has no link left');
  await until(net, () => victimEvents.includes('rejoin-failed'), 60_000);
  t.ok(victimEvents.includes('rejoin-failed'), 'rejoin rounds fail while the partition lasts');
  t.same(rejoined, [], 'no rejoin through a partition');

  net.network.heal(addressOf(victim));
  const healAfter = await until(net, () => rejoined.length > 0, 600_000);
  t.equal(rejoined.length, 1, `rejoined ${healAfter / 1000} s after the partition healed`);
  await net.settle(20_000);
  t.same(ringErrors(nodes), [], 'the ring of 4 is correct again');
  t.same(await fetchAll(net, victim, nodes), expected, 'every stored value fetchable from the rejoined peer');
  t.same(await fetchAll(net, nodes[1]!, nodes), expected, 'and from another peer');
  t.notOk(firstEvents.includes('isolated'), 'the first node was never cut off');

  for (const n of nodes) await net.run(n.stop());
});

t.test('the first node alone by design never retries; a first node with other bootstrap nodes does', async (t) => {
  const net = testnet({ seed: 32, chord: { updateIntervalMs: 5_000 } });
  const ids = spreadIds(3);
  const alone = await net.add(testCredentials('alone0', ids[0]!));
  const events = record(alone);
  await net.settle(600_000);
  t.same(events, [], 'no isolation event, no rejoin round in 10 minutes');

  // A second overlay whose first node lists the (future) second node as a bootstrap node.
  const net2 = testnet({ seed: 33, chord: { updateIntervalMs: 5_000 } });
  const bAddress = { host: '10.0.0.2', port: 6084 }; // Testnet's address for its second node
  const a = net2.createNode(testCredentials('first0', ids[0]!), 'peer', { bootstrap: [bAddress] });
  const aEvents = record(a);
  await net2.run(a.start());
  t.ok(a.isPeer, 'started alone: the bootstrap node named is not there');
  await until(net2, () => aEvents.includes('rejoin-failed'), 120_000);
  t.ok(aEvents.includes('isolated') && aEvents.includes('rejoin-failed'), 'it tries the other bootstrap node and backs off');
  const b = await net2.add(testCredentials('first1', ids[1]!));
  t.same(b.addresses[0]!.address, bAddress);
  await net2.add(testCredentials('first2', ids[2]!));
  await net2.settle(30_000);
  t.same(ringErrors(net2.nodes), [], 'ring of 3');
  const n = aEvents.length;
  await net2.settle(120_000);
  t.same(aEvents.slice(n), [], 'no more rounds once peers are linked');

  // Cut the first node off; it rejoins through the second once the partition heals.
  net2.network.partition(addressOf(a));
  await until(net2, () => aEvents.slice(n).includes('rejoin-failed'), 180_000);
  net2.network.heal(addressOf(a));
  await until(net2, () => aEvents.slice(n).includes('rejoined'), 600_000);
  t.ok(aEvents.slice(n).includes('rejoined'), 'the first node rejoined through the node its list names');
  await net2.settle(20_000);
  t.same(ringErrors(net2.nodes), [], 'ring of 3 again');

  // Stopping ends the retries: no timer of the node is left.
  await net.run(alone.stop());
  net2.network.partition(addressOf(b));
  for (const x of net2.nodes) await net2.run(x.stop());
  t.equal(net.clock.pendingTimers, 0, 'the stopped first node left no timer');
});

t.test('stream links: a suspect link stays open, out of routing, until restored', async (t) => {
  const net = testnet({ seed: 34, link: 'stream', chord: { updateIntervalMs: 5_000 }, liveness: { idlePingMs: 0 } });
  const ids = spreadIds(4);
  for (let i = 0; i < 4; i++) await net.add(testCredentials(`stream${i}`, ids[i]!));
  await net.settle(20_000);
  const nodes = net.nodes;
  t.same(ringErrors(nodes), [], 'ring of 4 over stream links');
  const [n0, , n2] = nodes as [ReloadNode, ReloadNode, ReloadNode, ReloadNode];
  const link = n0.router.table.byNode(n2.nodeId);
  t.ok(link, 'n0 has a link to n2');
  t.equal(link!.connection.reliability, 'stream');

  // n2 stops answering (partition): n0's frames to it go unacked.
  net.network.partition(addressOf(n2));
  await until(net, () => link!.suspect, 20_000, 250);
  t.ok(link!.suspect, 'the link turned suspect');
  t.ok(link!.connection.open, 'a suspect stream link is kept (not closed at once)');
  t.not(n0.topology.nextHop(n2.nodeId), undefined);
  const hop = n0.topology.nextHop(n2.nodeId);
  t.not(toHex(hop!), toHex(n2.nodeId), 'the topology routes around the suspect link');

  net.network.heal(addressOf(n2));
  await until(net, () => !link!.suspect, 20_000, 250);
  t.notOk(link!.suspect, 'restored once acks resume');
  t.ok(link!.connection.open);
  t.same(ringErrors(nodes), [], 'n2 is back in every table');

  for (const n of nodes) await net.run(n.stop());
});

t.test('a datagram link closes on the failure hint', async (t) => {
  const net = testnet({ seed: 35, chord: { updateIntervalMs: 5_000 }, liveness: { idlePingMs: 0, rejoinGraceMs: 3_600_000 } });
  const ids = spreadIds(2);
  const a = await net.add(testCredentials('dgram0', ids[0]!));
  const b = await net.add(testCredentials('dgram1', ids[1]!));
  await net.settle(10_000);
  const link = a.router.table.byNode(b.nodeId)!;
  t.equal(link.connection.reliability, 'datagram');
  let reason = '';
  a.on((e) => {
    if (e.type === 'link-down' && e.nodeId && toHex(e.nodeId) === toHex(b.nodeId)) reason = e.reason;
  });
  net.network.partition(addressOf(b));
  await until(net, () => reason !== '', 60_000, 250);
  t.equal(reason, 'link failure hint', 'closed by the hint, not later');
  for (const n of [a, b]) await net.run(n.stop());
});

t.test('a silent peer on an idle stream link is found by the idle-link Ping', async (t) => {
  // No neighbor Updates within the test: the only traffic on the idle link is the Ping.
  const net = testnet({ seed: 36, link: 'stream', chord: { updateIntervalMs: 3_600_000 }, liveness: { idlePingMs: 20_000, rejoinGraceMs: 3_600_000 } });
  const ids = spreadIds(2);
  const a = await net.add(testCredentials('idle0', ids[0]!));
  const b = await net.add(testCredentials('idle1', ids[1]!));
  await net.settle(5_000);
  t.ok(a.router.table.byNode(b.nodeId), 'linked');
  // Both alive and idle: the Ping keeps the link up.
  await net.settle(120_000);
  t.ok(a.router.table.byNode(b.nodeId)?.connection.open, 'an idle link to a live peer stays up');
  const killedAt = net.clock.now();
  net.network.kill(addressOf(b)); // a dead host: nothing closes, nothing answers
  const gone = await until(net, () => a.router.table.byNode(b.nodeId) === undefined, 300_000);
  t.notOk(a.router.table.byNode(b.nodeId), 'the link to the dead peer closed');
  // idle threshold (20 s) + tick (5 s) + hold (30 s), with slack for the last message's time.
  t.ok(gone <= 20_000 + 5_000 + 30_000 + 10_000, `found ${gone / 1000} s after the crash`);
  t.ok(net.clock.now() - killedAt >= 30_000, 'not before the stream hold');
  await net.run(a.stop());
});
