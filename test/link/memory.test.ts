import t from 'tap';
import { VirtualClock } from '../../src/common/clock.js';
import { SeededRandom } from '../../src/common/random.js';
import { MemoryNetwork, MemoryTransport, type MemoryTransportOptions } from '../../src/link/memory.js';
import { type Connection, type LinkAddress, LinkError } from '../../src/link/types.js';
import { type Recorded, recorder } from './helpers.js';

const text = (s: string) => new Uint8Array(Buffer.from(s));
const mem = (port: number): LinkAddress => ({ host: 'mem', port });

function node(net: MemoryNetwork, extra: Partial<MemoryTransportOptions> = {}): { tr: MemoryTransport; rec: Recorded } {
  const rec = recorder();
  return { tr: new MemoryTransport(net, { handlers: rec, maxMessageSize: 5000, ...extra }), rec };
}

/** Lets settled promises run their callbacks (virtual time does not move). */
const flush = async () => {
  for (let i = 0; i < 5; i++) await Promise.resolve();
};

t.test('delivery follows the latency function on the virtual clock, never synchronously', async (t) => {
  const clock = new VirtualClock(0);
  const net = new MemoryNetwork({ clock, latencyMs: (a, b) => Math.abs(a.port - b.port) * 10 });
  const nodes = [1, 2, 3, 4].map(() => node(net));
  for (const [i, n] of nodes.entries()) await n.tr.listen(mem(i + 1));
  const arrivals: string[] = [];
  for (const n of nodes) n.rec.onMessage = (_c, m) => void arrivals.push(`${Buffer.from(m).toString()}@${clock.now()}`);
  const from = nodes[0]!.tr;
  const sends = [];
  for (const port of [4, 3, 2]) {
    const c = await from.connect(mem(port));
    sends.push(c.send(text(`to${port}`)));
  }
  t.same(arrivals, [], 'nothing delivered before the clock moves');
  clock.runUntil(100);
  t.same(arrivals, ['to2@10', 'to3@20', 'to4@30'], 'nearest first, at exactly its latency');
  await Promise.all(sends);
  const c2 = await from.connect(mem(2));
  t.equal(c2.srttMs, 20, 'RTT = latency there and back');
  t.equal(nodes[1]!.rec.connections[0]!.remote.port, 1);
  t.equal(nodes[1]!.rec.connections[0]!.outbound, false);
});

t.test('latency 0: delivered through a clock timer, in sending order', async (t) => {
  const clock = new VirtualClock(0);
  const net = new MemoryNetwork({ clock });
  const target = node(net);
  const addr = await target.tr.listen({ host: 'mem', port: 0 });
  const senders = [node(net), node(net), node(net)];
  for (const [i, s] of senders.entries()) void (await s.tr.connect(addr)).send(text(`m${i}`));
  t.equal(target.rec.messages.length, 0);
  clock.advance(0);
  t.same(target.rec.messages.map((m) => m.text), ['m0', 'm1', 'm2']);
  t.equal(target.rec.connections.length, 3);
});

t.test('framed bytes are counted although nothing is encoded', async (t) => {
  const clock = new VirtualClock(0);
  const net = new MemoryNetwork({ clock });
  const a = node(net);
  const b = node(net);
  const bAddr = await b.tr.listen(mem(10));
  const ab = await a.tr.connect(bAddr);
  const msg = text('hello');
  const p = ab.send(msg);
  clock.advance(0);
  await p;
  t.equal(b.rec.messages[0]!.bytes, msg, 'zero copy: the very same buffer');
  t.equal(ab.stats!.bytesSent, 13);
  t.equal(ab.stats!.bytesReceived, 9);
  const ba = b.rec.connections[0]!;
  t.equal(ba.stats!.bytesReceived, 13);
  t.equal(ba.stats!.bytesSent, 9);
  t.equal(net.stats.bytesSent, 22);
  t.equal(net.stats.framesDelivered, 2);
  t.equal(a.tr.address!.host, 'mem', 'connect registered an address');
});

t.test('a gather send reaches the handler as the same two pieces, counted as one frame; limits count both', async (t) => {
  const clock = new VirtualClock(0);
  const net = new MemoryNetwork({ clock });
  const a = node(net, { maxMessageSize: 12 });
  const b = node(net, { maxMessageSize: 8 });
  const bAddr = await b.tr.listen(mem(10));
  const ab = await a.tr.connect(bAddr);
  const head = text('head|');
  const tail = text('tai');
  const got: [Uint8Array, Uint8Array | undefined][] = [];
  b.rec.onMessage = (_c, m, rest) => void got.push([m, rest]);
  const p = ab.send(head, tail);
  clock.advance(0);
  await p;
  t.equal(got.length, 1);
  t.equal(got[0]![0], head, 'zero copy: the head itself');
  t.equal(got[0]![1], tail, 'and the tail itself');
  t.equal(ab.stats!.bytesSent, 8 + 8, 'one data frame of 8 message bytes');
  t.equal(b.rec.connections[0]!.stats!.bytesReceived, 16);
  await t.rejects(ab.send(text('1234567'), text('890123')), { code: 'ERR_RELOAD_LINK', reason: 'too-large' }, 'the sender limit counts both pieces (13 > 12)');
  const q = ab.send(text('12345'), text('6789'));
  clock.advance(20); // past the 10 ms pause after an ack
  await q;
  t.equal(b.rec.oversized[0]!.info.length, 9, 'the receiver limit counts both pieces (9 > 8)');
  t.equal(got.length, 1, 'the oversized one is not delivered');
});

t.test('a killed endpoint looks like a dead host: sends fail after the SR schedule', async (t) => {
  const clock = new VirtualClock(0);
  const net = new MemoryNetwork({ clock, latencyMs: () => 5 });
  const a = node(net);
  const b = node(net);
  const bAddr = await b.tr.listen(mem(2));
  const ab = await a.tr.connect(bAddr);
  const p0 = ab.send(text('warm-up'));
  clock.advance(10);
  await p0;
  t.equal(ab.rtoMs, 200, 'RTT 10 ms → RTO floored at 200 ms');
  t.ok(net.kill(bAddr));
  t.notOk(net.kill(bAddr), 'nothing left to kill');
  t.equal(b.rec.connections[0]!.open, false);
  clock.advance(100); // past the 10 ms gap
  const start = clock.now();
  let failure: LinkError | undefined;
  const p = ab.send(text('hello?')).catch((e: LinkError) => (failure = e));
  clock.runUntil(start + 15 * 200 - 1);
  t.same(a.rec.hints, []);
  clock.advance(1);
  t.same(a.rec.hints.map((h) => h.hint), ['suspect'], 'hint at the fifth transmission (15·RTO)');
  clock.runUntil(start + 31 * 200 - 1);
  await flush();
  t.equal(failure, undefined);
  t.equal(ab.open, true);
  clock.advance(1);
  await p;
  t.equal(failure?.reason, 'timeout', 'rejected at 31·RTO');
  t.equal(ab.open, false);
  t.match(a.rec.closes[0]!.reason, /no ack after 5 transmissions/);
  t.equal(ab.stats!.retransmissions, 4);
  t.same(b.rec.closes, [], 'the dead endpoint gets no callbacks');
  t.same(b.rec.messages.map((m) => m.text), ['warm-up']);

  // A fresh association to a dead address: RTO 500 ms, rejected at 15.5 s.
  const c = node(net);
  const cb = await c.tr.connect(bAddr);
  t.equal(cb.peerCertificate, undefined);
  const t0 = clock.now();
  let late: LinkError | undefined;
  const q = cb.send(text('anyone?')).catch((e: LinkError) => (late = e));
  clock.runUntil(t0 + 15_499);
  await flush();
  t.equal(late, undefined);
  clock.advance(1);
  await q;
  t.equal(late?.reason, 'timeout');
});

t.test('kill rejects the dead endpoint\'s own pending sends with reason killed', async (t) => {
  const clock = new VirtualClock(0);
  const net = new MemoryNetwork({ clock });
  const a = node(net);
  const b = node(net);
  await b.tr.listen(mem(7));
  const ab = await a.tr.connect(mem(7));
  const p = ab.send(text('x'));
  net.kill(a.tr.address!);
  await t.rejects(p, { code: 'ERR_RELOAD_LINK', reason: 'killed' });
  t.same(a.rec.closes, []);
  await t.rejects(a.tr.connect(mem(7)), { code: 'ERR_RELOAD_LINK', reason: 'closed' });
  clock.advance(0);
  t.equal(b.rec.messages.length, 1, 'a frame already on the wire still arrives');
});

t.test('partition drops frames both ways until heal; the retransmission gets through', async (t) => {
  const clock = new VirtualClock(0);
  const net = new MemoryNetwork({ clock, latencyMs: () => 1 });
  const a = node(net);
  const b = node(net);
  const bAddr = await b.tr.listen(mem(2));
  const ab = await a.tr.connect(bAddr);
  net.partition(bAddr);
  t.ok(net.isPartitioned(bAddr));
  const p = ab.send(text('through'));
  clock.advance(600); // transmissions at 0 and 500 lost
  t.equal(b.rec.messages.length, 0);
  net.heal(bAddr);
  clock.advance(1000); // third transmission at 1500
  await p;
  t.same(b.rec.messages.map((m) => m.text), ['through']);
  t.equal(ab.stats!.retransmissions, 2);
  t.equal(net.stats.framesUndeliverable, 2);
  // A partition raised while a frame is in flight drops it on arrival.
  const q = ab.send(text('in flight'));
  clock.advance(10);
  net.partition(a.tr.address!);
  clock.advance(0.5);
  net.heal(a.tr.address!);
  clock.advance(1000);
  await q;
  t.equal(b.rec.messages.length, 2);
});

t.test('frame loss with a seeded random source is repaired by retransmission', async (t) => {
  const clock = new VirtualClock(0);
  const net = new MemoryNetwork({ clock, latencyMs: () => 3, lossRate: 0.1, random: new SeededRandom('loss') });
  const a = node(net, { minRtoMs: 20 });
  const b = node(net);
  const bAddr = await b.tr.listen(mem(2));
  const ab = await a.tr.connect(bAddr);
  const sends = Array.from({ length: 50 }, (_, i) => ab.send(text(`m${i}`)));
  clock.runUntil(120_000);
  await Promise.all(sends);
  t.ok(net.stats.framesLost > 0, `${net.stats.framesLost} frames lost`);
  t.ok(ab.stats!.retransmissions > 0);
  const texts = b.rec.messages.map((m) => m.text);
  t.equal(new Set(texts).size, 50, 'every message delivered');
  t.same([...new Set(texts)], Array.from({ length: 50 }, (_, i) => `m${i}`), 'in order');
  t.ok(texts.length >= 50, 'a lost ack may cause a duplicate (the router drops it)');
  t.throws(() => new MemoryNetwork({ clock, lossRate: 0.5 }), RangeError);
  const custom = new MemoryNetwork({ clock, loss: (from) => from.port === 1 });
  const x = node(custom);
  await x.tr.listen(mem(1));
  const y = node(custom);
  await y.tr.listen(mem(2));
  void (await x.tr.connect(mem(2))).send(text('never')).catch(() => {});
  clock.advance(100);
  t.equal(y.rec.messages.length, 0);
  t.equal(custom.stats.framesLost, 1);
});

t.test('certificates: peers see each other\'s, verifyPeer refuses as TLS would', async (t) => {
  const clock = new VirtualClock(0);
  const net = new MemoryNetwork({ clock });
  const certA = text('cert-a');
  const certB = text('cert-b');
  const certC = text('cert-c');
  const allow = (der: Uint8Array) => {
    if (Buffer.from(der).toString() === 'cert-c') throw new Error('bad-node');
  };
  const a = node(net, { certificate: certA, verifyPeer: allow });
  const b = node(net, { certificate: certB, verifyPeer: allow });
  const c = node(net, { certificate: certC });
  const bAddr = await b.tr.listen(mem(2));
  const cAddr = await c.tr.listen(mem(3));
  const ab = await a.tr.connect(bAddr);
  t.equal(ab.peerCertificate, certB);
  const p = ab.send(text('hi'));
  clock.advance(0);
  await p;
  t.equal(b.rec.connections[0]!.peerCertificate, certA);

  // b refuses c: c's association is closed by the peer.
  const cb = await c.tr.connect(bAddr);
  const q = cb.send(text('let me in')).catch((e: LinkError) => e);
  clock.advance(0);
  t.equal(((await q) as LinkError).reason, 'peer-refused');
  t.equal(cb.open, false);
  t.equal(b.rec.errors[0]!.reason, 'peer-refused');
  t.equal(b.rec.connections.length, 1);
  t.equal(b.rec.messages.length, 1);

  // a refuses c when dialling it.
  await t.rejects(a.tr.connect(cAddr), { code: 'ERR_RELOAD_LINK', reason: 'peer-refused' });
  // A peer without a certificate is refused by a verifying transport.
  const anon = node(net);
  const anonAddr = await anon.tr.listen(mem(4));
  await t.rejects(a.tr.connect(anonAddr), { code: 'ERR_RELOAD_LINK', reason: 'peer-refused' });
  // Dialling an address nobody holds yet: the certificate is learned with the first frame.
  const late = node(net, { certificate: text('cert-late'), verifyPeer: allow });
  const d = await late.tr.connect(mem(5));
  t.equal(d.peerCertificate, undefined);
  const e = node(net, { certificate: text('cert-e') });
  await e.tr.listen(mem(5));
  const r = d.send(text('hello e'));
  clock.advance(0);
  await r;
  t.same(Buffer.from(d.peerCertificate!).toString(), 'cert-e');
});

t.test('close notifies the peer; transport close releases the address; pairing of crossed connects', async (t) => {
  const clock = new VirtualClock(0);
  const net = new MemoryNetwork({ clock, latencyMs: () => 2 });
  const a = node(net);
  const b = node(net);
  const aAddr = await a.tr.listen(mem(1));
  const bAddr = await b.tr.listen(mem(2));
  await t.rejects(node(net).tr.listen(mem(1)), { code: 'ERR_RELOAD_LINK' });
  await t.rejects(a.tr.listen(mem(9)), LinkError, 'already bound');
  // Both dial at once: the two associations pair up, one per side.
  const ab = await a.tr.connect(bAddr);
  const ba = await b.tr.connect(aAddr);
  const p1 = ab.send(text('from a'));
  const p2 = ba.send(text('from b'));
  clock.advance(10);
  await Promise.all([p1, p2]);
  t.equal(a.rec.connections.length, 1);
  t.equal(b.rec.connections.length, 1);
  t.same(a.rec.messages.map((m) => m.text), ['from b']);
  t.same(b.rec.messages.map((m) => m.text), ['from a']);
  t.equal(a.rec.messages[0]!.conn, ab);
  ab.close('leaving');
  t.same(a.rec.closes.map((c) => c.reason), ['leaving']);
  t.equal(b.rec.closes.length, 0);
  clock.advance(2);
  t.same(b.rec.closes.map((c) => c.reason), ['closed by peer']);
  t.equal(ba.open, false);
  await t.rejects(ab.send(text('x')), { code: 'ERR_RELOAD_LINK', reason: 'closed' });
  // A new association after the close.
  const ab2 = await a.tr.connect(bAddr);
  t.not(ab2, ab);
  const p3 = ab2.send(text('again'));
  clock.advance(10);
  await p3;
  t.equal(b.rec.connections.length, 2);
  await b.tr.close();
  t.equal(net.lookup(bAddr), undefined);
  clock.advance(2);
  t.equal(ab2.open, false, 'peer notified of the transport close');
  t.equal(net.size, 1);
});

t.test('oversized arrival: reported, then the link closes; oversized send refused', async (t) => {
  const clock = new VirtualClock(0);
  const net = new MemoryNetwork({ clock });
  const a = node(net, { maxMessageSize: 100 });
  const b = node(net, { maxMessageSize: 10 });
  const bAddr = await b.tr.listen(mem(2));
  const ab = await a.tr.connect(bAddr);
  await t.rejects(ab.send(new Uint8Array(101)), { code: 'ERR_RELOAD_LINK', reason: 'too-large' });
  const p = ab.send(new Uint8Array(11));
  clock.advance(0);
  await p;
  t.equal(b.rec.oversized[0]!.info.length, 11);
  t.equal(b.rec.messages.length, 0);
  t.match(b.rec.closes[0]!.reason, /message too large/);
  clock.advance(0);
  t.equal(ab.open, false);
});

t.test('1,000 endpoints exchange messages quickly', async (t) => {
  const clock = new VirtualClock(0);
  const net = new MemoryNetwork({ clock, latencyMs: (a, b) => 1 + ((a.port * 7 + b.port) % 50) });
  const N = 1000;
  const started = performance.now();
  let delivered = 0;
  const handlers = {
    onConnection: () => {},
    onMessage: () => void delivered++,
    onClose: () => {},
  };
  const trs = Array.from({ length: N }, () => new MemoryTransport(net, { handlers, maxMessageSize: 5000 }));
  for (const [i, tr] of trs.entries()) await tr.listen(mem(i + 1));
  const conns: Connection[] = [];
  for (const [i, tr] of trs.entries()) conns.push(await tr.connect(mem(((i + 1) % N) + 1)));
  const sends: Promise<void>[] = [];
  for (let round = 0; round < 5; round++) for (const c of conns) sends.push(c.send(text(`r${round}`)));
  clock.runUntil(10_000);
  await Promise.all(sends);
  const ms = performance.now() - started;
  t.equal(delivered, 5 * N);
  t.equal(net.stats.framesLost, 0);
  t.equal(net.size, N);
  t.comment(`${N} endpoints, ${5 * N} messages acknowledged in ${ms.toFixed(0)} ms of real time`);
  t.ok(ms < 10_000, 'quick (generous bound: CI machines are shared)');
});

t.test('handler exceptions never break the link; a stuck oversize handler is cut off after the grace period', async (t) => {
  const clock = new VirtualClock(0);
  const net = new MemoryNetwork({ clock });
  const a = node(net);
  const b = node(net, { maxMessageSize: 4 });
  const boom = new Error('router bug');
  b.rec.onMessage = () => {
    throw boom;
  };
  b.rec.onMessageTooLarge = () => new Promise<void>(() => {});
  const bAddr = await b.tr.listen(mem(2));
  const ab = await a.tr.connect(bAddr);
  const p = ab.send(text('ok'));
  clock.advance(0);
  await p;
  t.equal(b.rec.errors.length, 1);
  t.equal(b.rec.errors[0]!.cause, boom);
  t.match(b.rec.errors[0]!.message, /onMessage handler threw/);
  clock.advance(20);
  const q = ab.send(text('too long'));
  clock.advance(0);
  await q;
  const ba = b.tr.connections[0]!;
  t.equal(ba.open, true, 'held open while the router answers');
  clock.advance(4_999);
  t.equal(ba.open, true);
  clock.advance(1);
  t.equal(ba.open, false, 'closed after OVERSIZE_CLOSE_GRACE_MS');
  t.match(b.rec.closes[0]!.reason, /message too large \(8 bytes, max-message-size 4\)/);
});

t.test('stream mode: acks are processed lazily yet give the true RTT; closing or crashing drops the held ones', async (t) => {
  const clock = new VirtualClock(0);
  const net = new MemoryNetwork({ clock, latencyMs: () => 15 });
  const a = node(net, { reliability: 'stream' });
  const b = node(net, { reliability: 'stream' });
  const c = node(net, { reliability: 'stream' });
  const bAddr = await b.tr.listen(mem(20));
  const cAddr = await c.tr.listen(mem(21));
  const ab = await a.tr.connect(bAddr);
  t.equal(ab.reliability, 'stream');
  const sent = [ab.send(text('one')), ab.send(text('two'))];
  clock.runUntil(15);
  t.equal(b.rec.messages.length, 2, 'both delivered at 15 ms');
  t.equal(net.ackHolders.size, 1, 'the acks wait on the sending connection, no clock events');
  clock.runUntil(100);
  t.equal(ab.srttMs, 30, 'the RTT sample is the true round trip (15 + 15 ms)');
  t.equal(net.ackHolders.size, 0, 'reading drained them');
  await Promise.all(sent);

  // Acks still on their way when the connection closes: none is kept.
  void ab.send(text('three'));
  clock.runUntil(115);
  t.equal(net.ackHolders.size, 1);
  const undeliverable = net.stats.framesUndeliverable;
  ab.close();
  t.equal(net.ackHolders.size, 0, 'close releases the connection from the holders');
  t.equal(net.stats.framesUndeliverable, undeliverable + 1, 'the ack that would reach a closed connection is counted undeliverable');

  // Data in flight when the sender crashes: its ack goes nowhere and is not held.
  const ac = await a.tr.connect(cAddr);
  void ac.send(text('four')).catch(() => undefined);
  clock.runUntil(120);
  net.kill(a.tr.address!);
  clock.runUntil(200);
  t.equal(c.rec.messages.map((m) => m.text).join(), 'four', 'the frame still arrives');
  t.equal(net.ackHolders.size, 0, 'an ack for a dead connection is not held');
});
