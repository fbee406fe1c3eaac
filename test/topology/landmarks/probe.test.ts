/**
 * Credential-free landmark probes on real loopback sockets: TCP connect timing (finite for a
 * listener, Infinity for a closed port, a timeout on a clock the test drives), simple-
 * reliability ack timing through delaying UDP relays (the measured order and levels follow
 * the delays), stale acks ignored, and a real ReloadNode landmark that acks and drops the
 * probes quietly and keeps serving the overlay.
 */
import t from 'tap';
import * as dgram from 'node:dgram';
import * as net from 'node:net';
import { VirtualClock } from '../../../src/common/clock.js';
import type { Logger } from '../../../src/common/log.js';
import { UdpTransport } from '../../../src/link/udp.js';
import type { LinkAddress } from '../../../src/link/types.js';
import { createNodeFromIdentity } from '../../../src/node/create.js';
import type { ReloadNode } from '../../../src/node/node.js';
import { decodeFrame, encodeFrame } from '../../../src/wire/framing.js';
import { formatBin } from '../../../topology/landmarks/binning.js';
import {
  PROBE_PAYLOAD,
  ProbeError,
  probeBin,
  probeLandmark,
  probeLandmarks,
  tcpConnectRtt,
  udpAckRtts,
} from '../../../topology/landmarks/probe.js';
import { freePort } from '../../certs/helpers.js';
import { makeOverlay } from '../../helpers/overlay-dir.js';
import { delayingUdpRelay } from '../../helpers/udp-relay.js';
import { recorder, waitFor } from '../../link/helpers.js';

type Teardown = { teardown: (fn: () => void | Promise<void>) => void };

async function tcpListener(t: Teardown): Promise<{ address: LinkAddress; accepted: () => number }> {
  let accepted = 0;
  const server = net.createServer((s) => {
    accepted++;
    s.on('error', () => {});
    s.destroy();
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  return { address: { host: '127.0.0.1', port: (server.address() as net.AddressInfo).port }, accepted: () => accepted };
}

async function udpLandmark(t: Teardown) {
  const rec = recorder();
  const udp = new UdpTransport({ clock: new VirtualClock(0), handlers: rec, maxMessageSize: 5000 });
  const address = await udp.listen({ host: '127.0.0.1', port: 0 });
  t.teardown(() => udp.close());
  return { rec, udp, address };
}

/** A raw UDP socket that hands each datagram to `onData`. */
async function rawPeer(t: Teardown, onData: (bytes: Uint8Array, from: dgram.RemoteInfo, socket: dgram.Socket) => void) {
  const socket = dgram.createSocket('udp4');
  const got: Uint8Array[] = [];
  socket.on('message', (m, rinfo) => {
    got.push(new Uint8Array(m));
    onData(new Uint8Array(m), rinfo, socket);
  });
  await new Promise<void>((r) => socket.bind(0, '127.0.0.1', r));
  t.teardown(() => void socket.close());
  return { address: { host: '127.0.0.1', port: socket.address().port }, got };
}

function recordingLogger(): Logger & { entries: { level: string; msg: string }[] } {
  const entries: { level: string; msg: string }[] = [];
  const log = {
    entries,
    debug: (msg: string) => void entries.push({ level: 'debug', msg }),
    info: (msg: string) => void entries.push({ level: 'info', msg }),
    warn: (msg: string) => void entries.push({ level: 'warn', msg }),
    error: (msg: string) => void entries.push({ level: 'error', msg }),
    child: () => log,
  };
  return log;
}

t.test('TCP connect: finite small RTTs for listeners, Infinity for a closed port', async (t) => {
  const a = await tcpListener(t);
  const b = await tcpListener(t);
  const closed = await freePort();
  const probes = await probeLandmarks(
    [
      { address: a.address.host, port: a.address.port },
      { address: b.address.host, port: b.address.port, transport: 'tcp' },
      { address: '127.0.0.1', port: closed, transport: 'tls' },
      { address: 'localhost', port: a.address.port },
    ],
    { samples: 3, timeoutMs: 2000 },
  );
  t.same(probes.map((p) => p.transport), ['tls', 'tcp', 'tls', 'tls'], 'transport from the configuration, tls by default');
  for (const p of [probes[0]!, probes[1]!, probes[3]!]) {
    t.equal(p.samplesMs.length, 3, `landmark ${p.landmark}: three samples`);
    t.ok(p.samplesMs.every((s) => Number.isFinite(s) && s >= 0), `landmark ${p.landmark}: every sample answered`);
    t.equal(p.rttMs, Math.min(...p.samplesMs), 'the smallest sample counts');
    t.ok(p.rttMs < 100, `landmark ${p.landmark}: loopback RTT ${p.rttMs.toFixed(3)} ms is small`);
    t.notOk(p.error);
  }
  t.same(probes[3]!.address, { host: 'localhost', port: a.address.port }, 'the configured address is reported, not the resolved one');
  await waitFor(() => a.accepted() === 6 && b.accepted() === 3, 3000, 'the listeners to see every connect');
  const c = probes[2]!;
  t.equal(c.rttMs, Number.POSITIVE_INFINITY, 'a closed port is infinitely far');
  t.same(c.samplesMs, [], 'a refusal ends the probing at once');
  t.match(c.error, /ECONNREFUSED/);
  const { bin } = await probeBin([{ address: '127.0.0.1', port: closed }, { address: a.address.host, port: a.address.port }]);
  t.equal(bin && formatBin(bin), '1.0:0.2', 'the reachable landmark first, the closed one last at the highest level');
});

t.test('TCP connect timeout on a clock the test drives', async (t) => {
  const a = await tcpListener(t);
  const clock = new VirtualClock(0);
  const p = tcpConnectRtt(a.address, { clock, timeoutMs: 500 });
  // The connect cannot complete before the event loop turns: the deadline fires first.
  clock.advance(499);
  t.equal(clock.pendingTimers, 1, 'the deadline is still pending at 499 ms');
  clock.advance(1);
  const err = await p.catch((e: unknown) => e);
  t.ok(err instanceof ProbeError, 'ProbeError');
  t.equal((err as ProbeError).reason, 'timeout');
  t.equal(clock.pendingTimers, 0, 'no timer left behind');
  const ac = new AbortController();
  ac.abort();
  t.equal(((await tcpConnectRtt(a.address, { signal: ac.signal }).catch((e: unknown) => e)) as ProbeError).reason, 'aborted');
  t.throws(() => tcpConnectRtt(a.address, { timeoutMs: 0 }), RangeError);
  t.throws(() => probeLandmarks([], { samples: 0 }), RangeError);
  t.throws(() => probeLandmarks([], { samples: 21 }), RangeError);
});

t.test('UDP acks through delaying relays order the landmarks by their delays', async (t) => {
  // One-way delays 90, 15, 50 ms: round trips of at least 180, 30 and 100 ms; the level
  // boundaries (65, 140) leave 35-40 ms for a loaded machine's timer lateness.
  const delays = [90, 15, 50];
  const landmarks = await Promise.all(delays.map(() => udpLandmark(t)));
  const relays = await Promise.all(landmarks.map((l, i) => delayingUdpRelay(l.address, delays[i]!)));
  t.teardown(async () => {
    for (const r of relays) await r.close();
  });
  const started = performance.now();
  const { bin, probes } = await probeBin(
    relays.map((r) => ({ address: r.address.host, port: r.address.port, transport: 'udp' as const })),
    { samples: 3, levelBoundariesMs: [65, 140] },
  );
  const wall = performance.now() - started;
  probes.forEach((p, i) => {
    t.equal(p.samplesMs.length, 3);
    t.ok(p.rttMs >= 2 * delays[i]! - 2, `landmark ${i}: ${p.rttMs.toFixed(1)} ms is at least the relay's ${2 * delays[i]!} ms`);
    t.ok(p.rttMs < 2 * delays[i]! + 35, `landmark ${i}: ${p.rttMs.toFixed(1)} ms is not much more`);
  });
  t.equal(bin && formatBin(bin), '1.2.0:0.1.2', 'ordering by RTT, levels [0,65) [65,140) [140,∞)');
  t.ok(wall < 3 * 180 + 400, `landmarks probed in parallel (${wall.toFixed(0)} ms)`);
  for (const l of landmarks) {
    t.equal(l.rec.connections.length, 1, 'one association per probed landmark');
    t.equal(l.rec.messages.length, 3, 'the link delivered the three frames (acked before parsing)');
    t.ok(l.rec.messages.every((m) => Buffer.from(m.bytes).equals(Buffer.from(PROBE_PAYLOAD))), 'carrying the probe payload');
    t.equal(l.udp.connections[0]!.stats.acksSent, 3);
  }
});

t.test('UDP: a closed port is refused at once; a silent peer times out; stale acks do not count', async (t) => {
  // A port nobody holds: ICMP port unreachable on the connected socket.
  const free = dgram.createSocket('udp4');
  await new Promise<void>((r) => free.bind(0, '127.0.0.1', r));
  const freePortNo = free.address().port;
  await new Promise<void>((r) => free.close(() => r()));
  const t0 = performance.now();
  const gone = await probeLandmark({ address: '127.0.0.1', port: freePortNo, transport: 'udp' }, 1, { timeoutMs: 5000 });
  t.equal(gone.rttMs, Number.POSITIVE_INFINITY);
  t.match(gone.error, /ECONNREFUSED/);
  t.ok(performance.now() - t0 < 2000, 'without waiting for the timeout');

  // A peer that never acks sequence 0, answers sequence 1 with a stale ack for 0, and acks 2.
  const clock = new VirtualClock(0);
  const peer = await rawPeer(t, (bytes, from, socket) => {
    const f = decodeFrame(bytes);
    if (f.type !== 'data') return;
    const ack = (seq: number) => socket.send(encodeFrame({ type: 'ack', ackSequence: seq, received: 0 }), from.port, from.address);
    if (f.sequence === 1) ack(0);
    if (f.sequence === 2) ack(2);
  });
  const run = udpAckRtts(peer.address, { clock, samples: 3, timeoutMs: 1000 });
  await waitFor(() => peer.got.length === 1, 3000, 'frame 0');
  clock.advance(1000);
  await waitFor(() => peer.got.length === 2, 3000, 'frame 1');
  await new Promise((r) => setTimeout(r, 100));
  t.equal(peer.got.length, 2, 'the stale ack for frame 0 did not end the wait for frame 1');
  clock.advance(1000);
  const r = await run;
  t.notOk(r.error);
  t.same(r.samplesMs, [Number.POSITIVE_INFINITY, Number.POSITIVE_INFINITY, 0], 'lost, lost, answered (virtual time)');
  t.same(
    peer.got.map((b) => decodeFrame(b)),
    [0, 1, 2].map((sequence) => ({ type: 'data', sequence, message: PROBE_PAYLOAD })),
    'sequence numbers 0, 1, 2, each a data frame with the probe payload',
  );
  t.equal(clock.pendingTimers, 0);
  const none = await probeBin([{ address: '127.0.0.1', port: freePortNo, transport: 'udp' }]);
  t.equal(none.bin, undefined, 'no bin when no landmark answers');
});

t.test('a real ReloadNode landmark acks and drops UDP probes quietly, shrugs off TCP connects, and keeps serving', async (t) => {
  const ov = await makeOverlay();
  const log = recordingLogger();
  const nodes: ReloadNode[] = [];
  t.teardown(async () => {
    for (const n of nodes) await n.stop();
  });
  const { node: landmark } = await createNodeFromIdentity(await ov.identity('landmark'), {
    insecureLink: true,
    listen: [
      { kind: 'tls', host: '127.0.0.1', port: 0 },
      { kind: 'udp', host: '127.0.0.1', port: 0 },
    ],
    firstNode: true,
    log,
  });
  await landmark.start();
  nodes.push(landmark);
  const tls = landmark.addresses.find((a) => a.kind === 'tls')!.address;
  const udp = landmark.addresses.find((a) => a.kind === 'udp')!.address;
  const probes = await probeLandmarks([
    { address: tls.host, port: tls.port },
    { address: udp.host, port: udp.port, transport: 'udp' },
  ]);
  for (const p of probes) t.ok(Number.isFinite(p.rttMs) && p.rttMs < 100, `${p.transport}: ${p.rttMs.toFixed(3)} ms`);
  await waitFor(() => landmark.router.stats.decodeErrors === 3, 3000, 'the probes to be dropped');
  t.equal(landmark.router.stats.decodeErrors, 3, 'each UDP probe payload failed the forwarding header check');
  t.equal(log.entries.filter((e) => e.msg === 'dropped: undecodable forwarding header').length, 3, 'at debug level');
  t.same(log.entries.filter((e) => e.level === 'warn' || e.level === 'error'), [], 'nothing louder');

  // The landmark still serves: a node joins through its UDP port and pings it.
  const { node: joiner } = await createNodeFromIdentity(await ov.identity('joiner'), {
    insecureLink: true,
    listen: [{ kind: 'udp', host: '127.0.0.1', port: 0 }],
    bootstrap: [udp],
    bootstrapKind: 'udp',
  });
  await joiner.start();
  nodes.push(joiner);
  const pong = await joiner.ping({ type: 'node', id: landmark.nodeId });
  t.ok(pong.rttMs >= 0, 'the landmark answers a signed Ping');
});
