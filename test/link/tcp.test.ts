import * as net from 'node:net';
import t from 'tap';
import { VirtualClock, systemClock } from '../../src/common/clock.js';
import { TcpTransport } from '../../src/link/tcp.js';
import { LinkError } from '../../src/link/types.js';
import { StreamSink, rawTcpServer, recorder, waitFor, writeByteByByte } from './helpers.js';

type Teardown = { teardown: (fn: () => void | Promise<void>) => void };
const LOOP = { host: '127.0.0.1', port: 0 };
const text = (s: string) => new Uint8Array(Buffer.from(s));
const u32 = (n: number) => n.toString(16).padStart(8, '0');
const dataFrame = (seq: number, msg: string) => `80${u32(seq)}${msg.length.toString(16).padStart(6, '0')}${Buffer.from(msg, 'latin1').toString('hex')}`;
const ackFrame = (seq: number, bits = 0) => `81${u32(seq)}${u32(bits)}`;
const hexBytes = (h: string) => Buffer.from(h, 'hex');

async function rawClient(t: Teardown, port: number): Promise<StreamSink> {
  const socket = net.connect({ host: '127.0.0.1', port });
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.setNoDelay(true);
  t.teardown(() => void socket.destroy());
  return new StreamSink(socket);
}

async function server(t: Teardown, opts: { maxMessageSize?: number; onTooLarge?: Parameters<typeof recorder>[0] } = {}) {
  const rec = recorder(opts.onTooLarge);
  const tcp = new TcpTransport({ clock: systemClock, handlers: rec, maxMessageSize: opts.maxMessageSize ?? 5000 });
  const addr = await tcp.listen(LOOP);
  t.teardown(() => tcp.close());
  return { rec, tcp, addr };
}

t.test('exact frames on the wire, acks from the peer feed the RTT', async (t) => {
  const clock = new VirtualClock(0);
  const rec = recorder();
  const tcp = new TcpTransport({ clock, handlers: rec, maxMessageSize: 5000, minRtoMs: 50 });
  const raw = await rawTcpServer();
  t.teardown(async () => {
    await tcp.close();
    raw.close();
  });
  const conn = await tcp.connect(raw.address);
  const peer = await raw.accepted;
  t.equal(conn.transport, 'tcp');
  t.equal(conn.outbound, true);
  t.equal(conn.peerCertificate, undefined);
  t.same(rec.connections, [conn]);
  await conn.send(text('hello'));
  await waitFor(() => peer.bytes.length === 13);
  t.equal(peer.hex, '80' + '00000000' + '000005' + '68656c6c6f', 'data frame 0x80, sequence 0');
  t.equal(conn.srttMs, undefined, 'resolved on write, before any ack');
  clock.advance(30);
  peer.socket.write(hexBytes(ackFrame(0)));
  await waitFor(() => conn.stats!.acksReceived === 1);
  t.equal(conn.srttMs, 30);
  t.equal(conn.rtoMs, 90);
  // Two data frames in one segment: both delivered, both acked with the bitmap.
  peer.socket.write(hexBytes(dataFrame(0, 'one') + dataFrame(1, 'two')));
  await waitFor(() => rec.messages.length === 2 && peer.bytes.length === 13 + 18);
  t.same(rec.messages.map((m) => m.text), ['one', 'two']);
  t.equal(peer.hex.slice(26), ackFrame(0, 0) + ackFrame(1, 0b1));
  t.equal(conn.stats!.bytesSent, 13 + 18);
  t.equal(conn.stats!.dataFramesReceived, 2);
});

t.test('a gather send (message + tail) is one data frame on the wire, delivered whole', async (t) => {
  const { rec, tcp, addr } = await server(t);
  const a = new TcpTransport({ clock: systemClock, handlers: recorder(), maxMessageSize: 12 });
  t.teardown(() => a.close());
  const conn = await a.connect(addr);
  await conn.send(text('head|'), text('tail'));
  await conn.send(text('x'), new Uint8Array(0));
  await waitFor(() => rec.messages.length === 2);
  t.same(rec.messages.map((m) => [m.text, m.pieces]), [['head|tail', 1], ['x', 1]], 'one contiguous message each');
  t.equal(conn.stats!.bytesSent, 8 + 9 + 8 + 1);
  const err = await conn.send(text('1234567'), text('890123')).catch((e: unknown) => e);
  t.ok(err instanceof LinkError && err.reason === 'too-large', 'the limit counts both pieces (13 > 12)');
  t.equal(tcp.connections.length, 1);
});

t.test('a writer sending one byte at a time still yields whole frames', async (t) => {
  const { rec, addr } = await server(t);
  const peer = await rawClient(t, addr.port);
  await writeByteByByte(peer.socket, hexBytes(dataFrame(0, 'slow') + dataFrame(1, 'bytes') + ackFrame(9)));
  await waitFor(() => rec.messages.length === 2 && peer.bytes.length === 18);
  t.same(rec.messages.map((m) => m.text), ['slow', 'bytes']);
  t.equal(peer.hex, ackFrame(0) + ackFrame(1, 1));
  t.equal(rec.connections[0]!.outbound, false);
});

t.test('oversized frame: earlier frames delivered, reported with its head, answered, link closed', async (t) => {
  const { rec, addr } = await server(t, {
    maxMessageSize: 10,
    onTooLarge: (conn) => void conn.send(text('err')),
  });
  const peer = await rawClient(t, addr.port);
  // A valid frame, then a frame announcing 11 bytes of which 3 arrive, in one segment.
  peer.socket.write(hexBytes(dataFrame(0, 'fine') + '80' + u32(1) + '00000b' + Buffer.from('FWD').toString('hex')));
  await waitFor(() => peer.ended, 3000, 'the close');
  t.same(rec.messages.map((m) => m.text), ['fine']);
  t.equal(rec.oversized.length, 1);
  const info = rec.oversized[0]!.info;
  t.equal(info.length, 11);
  t.equal(info.limit, 10);
  t.equal(Buffer.from(info.head).toString(), 'FWD', 'the bytes that had arrived');
  t.equal(peer.hex, ackFrame(0) + dataFrame(0, 'err'), 'ack, then the answer, then FIN');
  t.equal(rec.closes.length, 1);
  t.match(rec.closes[0]!.reason, /message too large \(11 bytes, max-message-size 10\)/);
});

t.test('oversized length split across segments, no handler: closes', async (t) => {
  const rec = recorder();
  delete (rec as Partial<typeof rec>).onMessageTooLarge;
  const tcp = new TcpTransport({ clock: systemClock, handlers: rec, maxMessageSize: 100 });
  const addr = await tcp.listen(LOOP);
  t.teardown(() => tcp.close());
  const peer = await rawClient(t, addr.port);
  peer.socket.write(hexBytes('80' + u32(0) + '00'));
  await waitFor(() => rec.connections.length === 1);
  await new Promise((r) => setTimeout(r, 20));
  peer.socket.write(hexBytes('ffff'));
  await waitFor(() => peer.ended);
  t.match(rec.closes[0]!.reason, /message too large \(65535 bytes/);
});

t.test('an unknown frame type closes the link as malformed', async (t) => {
  const { rec, addr } = await server(t);
  const peer = await rawClient(t, addr.port);
  peer.socket.write(hexBytes(dataFrame(0, 'ok') + '42'));
  await waitFor(() => peer.ended);
  t.same(rec.messages.map((m) => m.text), ['ok']);
  t.match(rec.closes[0]!.reason, /^malformed frame: FramedMessage\.type/);
});

t.test('failure threshold: suspect after max(RTO, floor), restored by an ack, closed after the hold', async (t) => {
  const clock = new VirtualClock(0);
  const rec = recorder();
  const tcp = new TcpTransport({ clock, handlers: rec, maxMessageSize: 5000, failureFloorMs: 1000, failureHoldMs: 30_000 });
  const raw = await rawTcpServer();
  t.teardown(async () => {
    await tcp.close();
    raw.close();
  });
  const conn = await tcp.connect(raw.address);
  const peer = await raw.accepted;
  await conn.send(text('a'));
  clock.advance(999);
  t.same(rec.hints, []);
  clock.advance(1);
  t.same(rec.hints.map((h) => h.hint), ['suspect'], 'no ack within max(500, 1000) ms');
  peer.socket.write(hexBytes(ackFrame(0)));
  await waitFor(() => rec.hints.length === 2);
  t.equal(rec.hints[1]!.hint, 'restored');
  t.equal(conn.srttMs, 1000);
  t.equal(conn.rtoMs, 3000);
  await conn.send(text('b')); // sent at t = 1000
  clock.advance(2999);
  t.equal(rec.hints.length, 2);
  clock.advance(1);
  t.equal(rec.hints[2]!.hint, 'suspect', 'threshold now the RTO (3000 ms)');
  clock.runUntil(30_999);
  t.equal(conn.open, true, 'held for 30 s');
  clock.advance(1);
  t.equal(conn.open, false);
  t.match(rec.closes[0]!.reason, /^link failed: no framing ack for 30000 ms/);
  await t.rejects(conn.send(text('c')), { code: 'ERR_RELOAD_LINK', reason: 'closed' });
});

t.test('requirePeerAcks false: no failure detection before the first ack', async (t) => {
  const clock = new VirtualClock(0);
  const rec = recorder();
  const tcp = new TcpTransport({ clock, handlers: rec, maxMessageSize: 5000, requirePeerAcks: false });
  const raw = await rawTcpServer();
  t.teardown(async () => {
    await tcp.close();
    raw.close();
  });
  const conn = await tcp.connect(raw.address);
  await raw.accepted;
  await conn.send(text('a'));
  clock.advance(60_000);
  t.equal(conn.open, true);
  t.same(rec.hints, []);
});

t.test('TCP transport to TCP transport: both directions, peer close, refused connect, limits', async (t) => {
  const ra = recorder();
  const rb = recorder();
  const a = new TcpTransport({ clock: systemClock, handlers: ra, maxMessageSize: 5000 });
  const b = new TcpTransport({ clock: systemClock, handlers: rb, maxMessageSize: 5000 });
  const bAddr = await b.listen(LOOP);
  t.teardown(async () => {
    await a.close();
    await b.close();
  });
  await t.rejects(b.listen(LOOP), LinkError);
  const ab = await a.connect(bAddr);
  await ab.send(text('to b'));
  await waitFor(() => rb.messages.length === 1);
  const ba = rb.connections[0]!;
  await ba.send(text('to a'));
  await waitFor(() => ra.messages.length === 1 && ab.stats!.acksReceived === 1 && ba.stats!.acksReceived === 1);
  t.equal(rb.messages[0]!.text, 'to b');
  t.equal(ra.messages[0]!.text, 'to a');
  t.ok(ab.srttMs !== undefined);
  t.equal(b.connections.length, 1);
  await t.rejects(ab.send(new Uint8Array(5001)), { code: 'ERR_RELOAD_LINK', reason: 'too-large' });
  ab.close('bye');
  t.same(ra.closes.map((c) => c.reason), ['bye']);
  await waitFor(() => rb.closes.length === 1);
  t.equal(rb.closes[0]!.reason, 'closed by peer');
  // Nothing listens on a closed port.
  const probe = net.createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', () => r()));
  const freePort = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((r) => probe.close(() => r()));
  await t.rejects(a.connect({ host: '127.0.0.1', port: freePort }), { code: 'ERR_RELOAD_LINK', reason: 'connect-failed' });
  await a.close();
  await t.rejects(a.connect(bAddr), { code: 'ERR_RELOAD_LINK', reason: 'closed' });
  await t.rejects(a.listen(LOOP), { code: 'ERR_RELOAD_LINK', reason: 'closed' });
});

t.test('frames queued in one turn go out in one write; a close flushes them first', async (t) => {
  const rec = recorder();
  const tcp = new TcpTransport({ clock: systemClock, handlers: rec, maxMessageSize: 5000 });
  const raw = await rawTcpServer();
  t.teardown(async () => {
    await tcp.close();
    raw.close();
  });
  const conn = await tcp.connect(raw.address);
  const peer = await raw.accepted;
  const chunks: Buffer[] = [];
  peer.socket.on('data', (c: Buffer) => chunks.push(c));
  const sent = [conn.send(text('one')), conn.send(text('two')), conn.send(text('three'))];
  await Promise.all(sent);
  await waitFor(() => peer.bytes.length === 3 * 8 + 11);
  t.equal(chunks.length, 1, 'one write, one segment on loopback');
  t.equal(chunks[0]!.toString('hex'), dataFrame(0, 'one') + dataFrame(1, 'two') + dataFrame(2, 'three'));
  t.equal(conn.stats!.messagesSent, 3);
  t.equal(conn.stats!.bytesSent, 3 * 8 + 11);
  // A send still queued when the link is closed goes out before the FIN.
  const last = conn.send(text('bye'));
  conn.close('done');
  await last;
  await waitFor(() => peer.ended);
  t.equal(peer.hex.slice(-22), dataFrame(3, 'bye'));
  await t.rejects(conn.send(text('late')), { code: 'ERR_RELOAD_LINK', reason: 'closed' });
});
