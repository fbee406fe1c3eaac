import t from 'tap';
import { VirtualClock, systemClock } from '../../src/common/clock.js';
import { UdpTransport } from '../../src/link/udp.js';
import { LinkError } from '../../src/link/types.js';
import { RawUdpPeer, hex, recorder, waitFor } from './helpers.js';

type Teardown = { teardown: (fn: () => void | Promise<void>) => void };
const LOOP = { host: '127.0.0.1', port: 0 };
const text = (s: string) => new Uint8Array(Buffer.from(s));
const u32 = (n: number) => n.toString(16).padStart(8, '0');
const dataFrame = (seq: number, msg: string) => `80${u32(seq)}${msg.length.toString(16).padStart(6, '0')}${Buffer.from(msg).toString('hex')}`;
const ackFrame = (seq: number, bits = 0) => `81${u32(seq)}${u32(bits)}`;

async function setup(t: Teardown, opts: { maxMessageSize?: number; minRtoMs?: number } = {}) {
  const clock = new VirtualClock(0);
  const rec = recorder();
  const udp = new UdpTransport({ clock, handlers: rec, maxMessageSize: opts.maxMessageSize ?? 5000, minRtoMs: opts.minRtoMs ?? 50 });
  const local = await udp.listen(LOOP);
  const raw = await RawUdpPeer.open();
  t.teardown(async () => {
    await udp.close();
    raw.close();
  });
  return { clock, rec, udp, local, raw };
}

t.test('data frame and ack bytes on the wire; RTT from the ack; 10 ms gap', async (t) => {
  const { clock, rec, udp, local, raw } = await setup(t);
  const conn = await udp.connect(raw.address);
  t.equal(rec.connections.length, 1);
  t.equal(conn.outbound, true);
  t.equal(conn.transport, 'udp');
  t.equal(conn.peerCertificate, undefined, 'plain UDP: no peer certificate');
  t.equal(conn.rtoMs, 500, 'static RTO before the first sample');
  const p = conn.send(text('hello'));
  const d = await raw.next();
  t.equal(hex(d.bytes), '80' + '00000000' + '000005' + '68656c6c6f', 'first data frame: type 0x80, sequence 0, 3-byte length');
  t.equal(d.from.port, local.port);
  clock.advance(25);
  await raw.send(ackFrame(0), d.from);
  await p;
  t.equal(conn.srttMs, 25, 'SRTT from the ack');
  t.equal(conn.rtoMs, 75, 'RTO = 25 + 4·12.5');
  const p2 = conn.send(text('world'));
  t.ok(await raw.quiet(), 'next message waits 10 ms after the ack');
  clock.advance(10);
  const d2 = await raw.next();
  t.equal(hex(d2.bytes), dataFrame(1, 'world'), 'sequence 1');
  await raw.send(ackFrame(1, 1), d2.from);
  await p2;
  t.equal(conn.stats!.messagesSent, 2);
  t.equal(conn.stats!.bytesSent, 26);
  t.equal(conn.stats!.acksReceived, 2);
  t.equal(conn.stats!.bytesReceived, 18);
  t.equal(await udp.connect(raw.address), conn, 'one association per remote address');
});

t.test('a gather send (message + tail) is one datagram with one data frame', async (t) => {
  const { udp, raw } = await setup(t, { maxMessageSize: 12 });
  const conn = await udp.connect(raw.address);
  const p = conn.send(text('head|'), text('tail'));
  const d = await raw.next();
  t.equal(hex(d.bytes), dataFrame(0, 'head|tail'));
  await raw.send(ackFrame(0), d.from);
  await p;
  t.equal(conn.stats!.bytesSent, 17);
  const err = await conn.send(text('1234567'), text('890123')).catch((e: unknown) => e);
  t.ok(err instanceof LinkError && err.reason === 'too-large', 'the limit counts both pieces (13 > 12)');
});

t.test('receiver acks every data frame with ack_sequence and the received bitmap', async (t) => {
  const { rec, local, raw } = await setup(t);
  for (const seq of [0, 1, 3, 1]) await raw.send(dataFrame(seq, `m${seq}`), local);
  const acks = [];
  for (let i = 0; i < 4; i++) acks.push(hex((await raw.next()).bytes));
  t.same(acks, [ackFrame(0, 0), ackFrame(1, 0b1), ackFrame(3, 0b110), ackFrame(1, 0b1)], 'bitmap LSB = N-1; duplicate acked again');
  t.equal(acks[2], '81000000030000000' + '6');
  t.equal(rec.connections.length, 1, 'one inbound association');
  t.equal(rec.connections[0]!.outbound, false);
  t.same(rec.connections[0]!.remote, raw.address);
  // The duplicate frame is delivered too: RELOAD duplicates are the router's to drop.
  t.same(rec.messages.map((m) => m.text), ['m0', 'm1', 'm3', 'm1']);
  t.equal(rec.connections[0]!.stats!.acksSent, 4);
});

t.test('retransmission schedule: new sequence numbers, RTO doubling, give up after 5 transmissions', async (t) => {
  const { clock, rec, udp, raw } = await setup(t);
  const conn = await udp.connect(raw.address);
  let failure: unknown;
  const p = conn.send(text('x')).catch((e) => (failure = e));
  const queued = conn.send(text('y')).catch((e) => e);
  const seen = [hex((await raw.next()).bytes)];
  const steps = [500, 1000, 2000, 4000];
  for (const step of steps) {
    clock.advance(step - 1);
    t.ok(await raw.quiet(20), `no retransmission before ${step} ms`);
    clock.advance(1);
    seen.push(hex((await raw.next()).bytes));
  }
  t.same(seen, [0, 1, 2, 3, 4].map((s) => dataFrame(s, 'x')), 'transmissions at 0, 500, 1500, 3500, 7500 ms');
  t.same(rec.hints.map((h) => h.hint), ['suspect'], 'failure hint at the fifth transmission');
  clock.advance(7_999);
  await Promise.resolve();
  t.equal(failure, undefined, 'still waiting for the last transmission');
  t.equal(conn.open, true);
  clock.advance(1);
  await p;
  t.ok(failure instanceof LinkError);
  t.equal((failure as LinkError).reason, 'timeout');
  t.equal(((await queued) as LinkError).reason, 'closed');
  t.equal(conn.open, false);
  t.equal(rec.closes.length, 1);
  t.match(rec.closes[0]!.reason, /no ack after 5 transmissions/);
  t.ok(await raw.quiet(20), 'nothing more sent');
  t.equal(udp.connections.length, 0, 'association forgotten');
  await t.rejects(conn.send(text('z')), { code: 'ERR_RELOAD_LINK', reason: 'closed' });
});

t.test('peer that drops the first two frames: third transmission acked, RTT sampled on it', async (t) => {
  const { clock, rec, udp, raw } = await setup(t);
  const conn = await udp.connect(raw.address);
  const p = conn.send(text('q'));
  await raw.next(); // dropped
  clock.advance(500);
  await raw.next(); // dropped
  clock.advance(1000);
  const third = await raw.next();
  t.equal(hex(third.bytes), dataFrame(2, 'q'));
  clock.advance(40);
  await raw.send(ackFrame(2, 0b11), third.from);
  await p;
  t.equal(conn.srttMs, 40, 'sample measured from the retransmission it acks');
  t.equal(conn.rtoMs, 120);
  t.equal(conn.stats!.retransmissions, 2);
  t.same(rec.hints, []);
  t.equal(rec.closes.length, 0);
});

t.test('stop-and-wait keeps the order of queued messages', async (t) => {
  const { clock, udp, raw } = await setup(t);
  const conn = await udp.connect(raw.address);
  const done: string[] = [];
  const all = ['a', 'b', 'c'].map((m) => conn.send(text(m)).then(() => done.push(m)));
  const frames: string[] = [];
  for (let i = 0; i < 3; i++) {
    const d = await raw.next();
    frames.push(hex(d.bytes));
    t.ok(await raw.quiet(20), 'only one message in flight');
    await raw.send(ackFrame(i), d.from);
    await waitFor(() => done.length === i + 1);
    clock.advance(10);
  }
  await Promise.all(all);
  t.same(frames, [dataFrame(0, 'a'), dataFrame(1, 'b'), dataFrame(2, 'c')]);
  t.same(done, ['a', 'b', 'c']);
});

t.test('malformed datagrams and stray acks are dropped and counted', async (t) => {
  const { rec, udp, local, raw } = await setup(t);
  await raw.send('ff', local);
  await raw.send('80000000000000', local); // truncated header
  await raw.send('800000000000000568656c6c', local); // length 5, 4 bytes
  await raw.send('8000000000000001' + '41' + '42', local); // trailing byte
  await raw.send(ackFrame(0), local); // ack with no association
  await raw.send(dataFrame(7, 'ok'), local);
  await waitFor(() => rec.messages.length === 1);
  t.equal(udp.stats.malformedDatagrams, 4);
  t.equal(udp.stats.strayAcks, 1);
  t.equal(udp.stats.datagramsReceived, 6);
  t.equal(rec.connections.length, 1, 'only the valid frame created an association');
  t.equal(rec.messages[0]!.text, 'ok');
});

t.test('max-message-size: refused on send; an oversized arrival is reported, answered, then closes', async (t) => {
  const rec = recorder(async (conn) => {
    await conn.send(text('too-big'));
  });
  const clock = new VirtualClock(0);
  const udp = new UdpTransport({ clock, handlers: rec, maxMessageSize: 10, minRtoMs: 50 });
  const local = await udp.listen(LOOP);
  const raw = await RawUdpPeer.open();
  t.teardown(async () => {
    await udp.close();
    raw.close();
  });
  const out = await udp.connect(raw.address);
  await t.rejects(out.send(new Uint8Array(11)), { code: 'ERR_RELOAD_LINK', reason: 'too-large' });
  await raw.send(dataFrame(0, 'ABCDEFGHIJK'), local);
  t.equal(hex((await raw.next()).bytes), ackFrame(0), 'the frame is acked');
  const reply = await raw.next();
  t.equal(hex(reply.bytes), dataFrame(0, 'too-big'), 'the router answered before the close');
  t.equal(rec.oversized.length, 1);
  t.same(rec.oversized[0]!.info.length, 11);
  t.same(rec.oversized[0]!.info.limit, 10);
  t.equal(Buffer.from(rec.oversized[0]!.info.head).toString(), 'ABCDEFGHIJK');
  t.equal(rec.messages.length, 0, 'never delivered');
  t.equal(rec.closes.length, 0, 'closes after the answer');
  await raw.send(ackFrame(0), reply.from);
  await waitFor(() => rec.closes.length === 1);
  t.match(rec.closes[0]!.reason, /message too large/);
});

t.test('a burst of datagrams is read completely through dgram-as-promised recv()', async (t) => {
  const { rec, local, raw } = await setup(t);
  const N = 200;
  await Promise.all(Array.from({ length: N }, (_, i) => raw.send(dataFrame(i, `n${i}`), local)));
  await waitFor(() => rec.messages.length === N && raw.received.length === N, 5000, 'burst');
  t.same(new Set(rec.messages.map((m) => m.text)).size, N);
});

t.test('two UDP transports on loopback (system clock), both directions, close', async (t) => {
  const ra = recorder();
  const rb = recorder();
  const a = new UdpTransport({ clock: systemClock, handlers: ra, maxMessageSize: 5000, minRtoMs: 50 });
  const b = new UdpTransport({ clock: systemClock, handlers: rb, maxMessageSize: 5000, minRtoMs: 50 });
  const bAddr = await b.listen(LOOP);
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  const ab = await a.connect({ host: 'localhost', port: bAddr.port });
  t.equal(ab.remote.host, '127.0.0.1', 'host name resolved');
  for (let i = 0; i < 5; i++) await ab.send(text(`ping ${i}`));
  t.same(rb.messages.map((m) => m.text), [0, 1, 2, 3, 4].map((i) => `ping ${i}`));
  const ba = rb.connections[0]!;
  t.equal(ba.outbound, false);
  await ba.send(text('pong'));
  t.same(ra.messages.map((m) => m.text), ['pong']);
  t.ok(ab.srttMs !== undefined && ab.srttMs < 50, 'loopback RTT measured');
  // RFC 6298 §2.3: RTO = SRTT + max(G, 4·RTTVAR), never below minRtoMs. On an idle loopback
  // that is the floor; on a loaded machine the samples may vary, so check the formula itself.
  const expected = Math.max(50, Math.ceil(ab.srttMs! + Math.max(1, 4 * ab.rttvarMs!)));
  t.equal(ab.rtoMs, expected, 'RTO from SRTT and RTTVAR, clamped to minRtoMs');
  await a.close();
  t.equal(ra.closes.length, 1);
  t.equal(ra.closes[0]!.reason, 'transport closed');
  await t.rejects(ab.send(text('late')), { code: 'ERR_RELOAD_LINK', reason: 'closed' });
  await t.rejects(a.connect(bAddr), { code: 'ERR_RELOAD_LINK', reason: 'closed' });
  await t.rejects(b.listen(LOOP), LinkError, 'already bound');
});

t.test('a hard send error closes the association', async (t) => {
  const { rec, udp } = await setup(t);
  const conn = await udp.connect({ host: '127.0.0.1', port: 0 });
  await t.rejects(conn.send(text('x')), { code: 'ERR_RELOAD_LINK', reason: 'socket-error' });
  t.equal(conn.open, false);
  t.match(rec.closes[0]!.reason, /socket error/);
});

t.test('connect before listen binds an ephemeral port', async (t) => {
  const rec = recorder();
  const udp = new UdpTransport({ clock: systemClock, handlers: rec, maxMessageSize: 5000 });
  const raw = await RawUdpPeer.open();
  t.teardown(async () => {
    await udp.close();
    raw.close();
  });
  const conn = await udp.connect(raw.address);
  t.ok(udp.address && udp.address.port > 0);
  void conn.send(text('hi')).catch(() => {});
  const d = await raw.next();
  t.equal(d.from.port, udp.address!.port);
  await t.rejects(udp.connect({ host: 'no-such-host.invalid', port: 1 }), { code: 'ERR_RELOAD_LINK', reason: 'connect-failed' });
});
