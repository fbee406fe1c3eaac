import { randomBytes, type KeyObject } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as net from 'node:net';
import * as tls from 'node:tls';
import t from 'tap';
import { createOverlayCA, generateRsaKey, issueCertificate } from '../../certs/ca.js';
import { VirtualClock, systemClock } from '../../src/common/clock.js';
import { TlsTransport, type TlsTransportOptions, derToPem } from '../../src/link/tls.js';
import { LinkError } from '../../src/link/types.js';
import { CertificateStore } from '../../src/security/trust.js';
import { type Recorded, StreamSink, rawTcpServer, recorder, sleep, waitFor, writeByteByByte } from './helpers.js';

const OVERLAY = 'link-test.example.org';
const LOOP = { host: '127.0.0.1', port: 0 };
const text = (s: string) => new Uint8Array(Buffer.from(s));
const u32 = (n: number) => n.toString(16).padStart(8, '0');
const dataFrame = (seq: number, msg: string) => `80${u32(seq)}${msg.length.toString(16).padStart(6, '0')}${Buffer.from(msg).toString('hex')}`;
const ackFrame = (seq: number, bits = 0) => `81${u32(seq)}${u32(bits)}`;

interface Identity {
  certificate: Uint8Array;
  privateKey: KeyObject;
}

const ca = createOverlayCA(OVERLAY);
const otherCa = createOverlayCA(OVERLAY);
function identity(authority: typeof ca, name: string): Identity {
  const { privateKey, publicKey } = generateRsaKey();
  return { certificate: issueCertificate(authority, { publicKey, userName: `${name}@${OVERLAY}`, nodeIds: [randomBytes(16)] }), privateKey };
}
const alice = identity(ca, 'alice');
const bob = identity(ca, 'bob');
const mallory = identity(otherCa, 'mallory');
const store = new CertificateStore({ overlay: OVERLAY, rootCerts: [ca.certificate], nodeIdLength: 16 }, systemClock);

type Teardown = { teardown: (fn: () => void | Promise<void>) => void };

function transport(
  t: Teardown,
  id: Identity,
  extra: Partial<TlsTransportOptions> = {},
): { tr: TlsTransport; rec: Recorded } {
  const rec = recorder();
  const tr = new TlsTransport({
    clock: systemClock,
    handlers: rec,
    maxMessageSize: 5000,
    certificate: id.certificate,
    privateKey: id.privateKey,
    ca: [ca.certificate],
    verifyPeer: (der) => void store.check(der),
    keylogFile: false,
    ...extra,
  });
  t.teardown(() => tr.close());
  return { tr, rec };
}

function rawTlsClient(t: Teardown, id: Identity, port: number, extra: tls.ConnectionOptions = {}): Promise<StreamSink> {
  const socket = tls.connect({
    host: '127.0.0.1',
    port,
    key: id.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    cert: derToPem(id.certificate),
    rejectUnauthorized: false,
    ...extra,
  });
  t.teardown(() => void socket.destroy());
  const sink = new StreamSink(socket);
  return new Promise((resolve, reject) => {
    socket.once('secureConnect', () => resolve(sink));
    socket.once('error', reject);
  });
}

const same = (a: Uint8Array | undefined, b: Uint8Array) => a !== undefined && Buffer.from(a).equals(Buffer.from(b));

t.test('mutual authentication with overlay certificates; frames in both directions', async (t) => {
  const server = transport(t, bob);
  const client = transport(t, alice);
  const addr = await server.tr.listen(LOOP);
  const ab = await client.tr.connect(addr);
  await waitFor(() => server.rec.connections.length === 1);
  const ba = server.rec.connections[0]!;
  t.equal(ab.transport, 'tls');
  t.ok(same(ab.peerCertificate, bob.certificate), 'client sees the server certificate');
  t.ok(same(ba.peerCertificate, alice.certificate), 'server sees the client certificate');
  t.equal(ab.outbound, true);
  t.equal(ba.outbound, false);
  await ab.send(text('hello bob'));
  await ba.send(text('hello alice'));
  await waitFor(() => server.rec.messages.length === 1 && client.rec.messages.length === 1);
  t.equal(server.rec.messages[0]!.text, 'hello bob');
  t.equal(client.rec.messages[0]!.text, 'hello alice');
  await waitFor(() => ab.stats!.acksReceived === 1 && ba.stats!.acksReceived === 1);
  t.ok(ab.srttMs !== undefined && ba.srttMs !== undefined, 'framing acks measured the RTT on both sides');
  t.same(server.rec.errors, []);
});

t.test('a client certificate from another CA is refused in the handshake', async (t) => {
  const server = transport(t, bob);
  const client = transport(t, mallory, { ca: [ca.certificate], verifyPeer: () => {} });
  const addr = await server.tr.listen(LOOP);
  // TLS 1.3: the client finishes its handshake before the server judges the client
  // certificate, so connect resolves and the server's alert then closes the link.
  const conn = await client.tr.connect(addr);
  await waitFor(() => client.rec.closes.length === 1);
  t.equal(conn.open, false);
  t.match(client.rec.closes[0]!.reason, /socket error|closed/);
  await waitFor(() => server.rec.errors.length === 1);
  t.equal(server.rec.errors[0]!.reason, 'handshake-failed');
  t.equal(server.rec.connections.length, 0, 'no connection on the server');
});

t.test('a server certificate from another CA is refused by the client', async (t) => {
  const server = transport(t, mallory, { verifyPeer: () => {} });
  const client = transport(t, alice);
  const addr = await server.tr.listen(LOOP);
  const e = await client.tr.connect(addr).then(
    () => undefined,
    (err: unknown) => err,
  );
  t.ok(e instanceof LinkError);
  t.equal((e as LinkError).reason, 'handshake-failed');
  t.equal(client.rec.connections.length, 0);
});

t.test('verifyPeer refusing: the server closes; a refusing client rejects connect', async (t) => {
  const refused = new Error('bad-node');
  const server = transport(t, bob, {
    verifyPeer: (der) => {
      if (same(der, alice.certificate)) throw refused;
    },
  });
  const client = transport(t, alice);
  const addr = await server.tr.listen(LOOP);
  const conn = await client.tr.connect(addr);
  await waitFor(() => client.rec.closes.length === 1);
  t.equal(conn.open, false, 'the refused client sees the link close');
  await waitFor(() => server.rec.errors.length === 1);
  const e = server.rec.errors[0]!;
  t.equal(e.reason, 'peer-refused');
  t.equal(e.cause, refused);
  t.match(e.message, /peer certificate refused: bad-node/);
  t.equal(server.rec.connections.length, 0);

  const picky = transport(t, alice, {
    verifyPeer: () => {
      throw new Error('not you');
    },
  });
  await t.rejects(picky.tr.connect(addr), { code: 'ERR_RELOAD_LINK', reason: 'peer-refused' });
  t.equal(picky.rec.connections.length, 0);
});

t.test('self-signed overlay (no roots): the handshake accepts, verifyPeer decides', async (t) => {
  // Certificates from two unrelated authorities and no trust anchors.
  const allow = [alice.certificate, mallory.certificate];
  const verifyPeer = (der: Uint8Array) => {
    if (!allow.some((c) => same(der, c))) throw new Error('unknown certificate');
  };
  const server = transport(t, mallory, { ca: [], verifyPeer });
  const client = transport(t, alice, { ca: [], verifyPeer });
  const addr = await server.tr.listen(LOOP);
  const conn = await client.tr.connect(addr);
  t.ok(same(conn.peerCertificate, mallory.certificate));
  await conn.send(text('hi'));
  await waitFor(() => server.rec.messages.length === 1);
  const stranger = transport(t, bob, { ca: [], verifyPeer: () => {} });
  await stranger.tr.connect(addr);
  await waitFor(() => stranger.rec.closes.length === 1);
  await waitFor(() => server.rec.errors.length === 1);
  t.equal(server.rec.errors[0]!.reason, 'peer-refused');
  t.equal(server.rec.connections.length, 1, 'only the allowed client');
});

t.test('a TLS writer sending one byte at a time still yields whole frames; acks are exact', async (t) => {
  const server = transport(t, bob);
  const addr = await server.tr.listen(LOOP);
  const peer = await rawTlsClient(t, alice, addr.port);
  await writeByteByByte(peer.socket, Buffer.from(dataFrame(0, 'one') + dataFrame(1, 'two'), 'hex'));
  await waitFor(() => server.rec.messages.length === 2 && peer.bytes.length === 18);
  t.same(server.rec.messages.map((m) => m.text), ['one', 'two']);
  t.equal(peer.hex, ackFrame(0) + ackFrame(1, 1));
});

t.test('an oversized frame over TLS is reported and closes the link', async (t) => {
  const rec = recorder();
  const server = new TlsTransport({
    clock: systemClock,
    handlers: rec,
    maxMessageSize: 64,
    certificate: bob.certificate,
    privateKey: bob.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    ca: [ca.certificate],
    verifyPeer: (der) => void store.check(der),
    keylogFile: false,
  });
  t.teardown(() => server.close());
  const addr = await server.listen(LOOP);
  const peer = await rawTlsClient(t, alice, addr.port);
  peer.socket.write(Buffer.from('80' + u32(0) + '000041' + 'aa'.repeat(10), 'hex'));
  await waitFor(() => peer.ended && rec.closes.length === 1);
  t.equal(rec.oversized.length, 1);
  t.equal(rec.oversized[0]!.info.length, 65);
  t.equal(rec.oversized[0]!.info.head.length, 10);
  t.match(rec.closes[0]!.reason, /message too large/);
});

t.test('SSLKEYLOGFILE: secrets of both sides appended for Wireshark', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'reload-keylog-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const file = join(dir, 'keys.log');
  const server = transport(t, bob, { keylogFile: file });
  const client = transport(t, alice, { keylogFile: file });
  const addr = await server.tr.listen(LOOP);
  const conn = await client.tr.connect(addr);
  await conn.send(text('x'));
  await waitFor(() => server.rec.messages.length === 1);
  const lines = readFileSync(file, 'utf8').trim().split('\n');
  const labels = lines.map((l) => l.split(' ')[0]);
  // TLS 1.3: each secret is logged once by the client and once by the server.
  t.equal(labels.filter((l) => l === 'CLIENT_TRAFFIC_SECRET_0').length, 2);
  t.equal(labels.filter((l) => l === 'SERVER_HANDSHAKE_TRAFFIC_SECRET').length, 2);
  t.ok(lines.every((l) => /^[A-Z_0-9]+ [0-9a-f]{64} [0-9a-f]+$/.test(l)), 'NSS key-log format');

  // The environment variable, and a TLS 1.2 session (CLIENT_RANDOM lines).
  const envFile = join(dir, 'env.log');
  const saved = process.env['SSLKEYLOGFILE'];
  process.env['SSLKEYLOGFILE'] = envFile;
  const envServer = transport(t, bob, { keylogFile: undefined });
  if (saved === undefined) delete process.env['SSLKEYLOGFILE'];
  else process.env['SSLKEYLOGFILE'] = saved;
  t.equal(envServer.tr.keylogFile, envFile);
  const envAddr = await envServer.tr.listen(LOOP);
  await rawTlsClient(t, alice, envAddr.port, { maxVersion: 'TLSv1.2' });
  await waitFor(() => envServer.rec.connections.length === 1);
  t.match(readFileSync(envFile, 'utf8'), /^CLIENT_RANDOM [0-9a-f]{64} [0-9a-f]{96}\n$/);
  t.equal(transport(t, bob, { keylogFile: false }).tr.keylogFile, undefined);
});

t.test('handshake timeout on the injected clock', async (t) => {
  const clock = new VirtualClock(Date.now());
  const silent = await rawTcpServer();
  t.teardown(() => silent.close());
  const client = transport(t, alice, { clock, handshakeTimeoutMs: 10_000 });
  const pending = client.tr.connect(silent.address);
  await silent.accepted;
  clock.advance(10_000);
  await t.rejects(pending, { code: 'ERR_RELOAD_LINK', reason: 'timeout' });
});

t.test('server side: a silent client is dropped at the handshake deadline; close drops handshakes', async (t) => {
  const clock = new VirtualClock(Date.now());
  const server = transport(t, bob, { clock, handshakeTimeoutMs: 5_000 });
  const addr = await server.tr.listen(LOOP);
  const silent = new StreamSink(net.connect({ host: '127.0.0.1', port: addr.port }));
  t.teardown(() => void silent.socket.destroy());
  await new Promise((r) => silent.socket.once('connect', r));
  await sleep(20);
  clock.advance(4_999);
  await sleep(20);
  t.equal(silent.ended, false);
  clock.advance(1);
  await waitFor(() => silent.ended, 3000, 'server to drop the silent client');
  const other = new StreamSink(net.connect({ host: '127.0.0.1', port: addr.port }));
  t.teardown(() => void other.socket.destroy());
  await new Promise((r) => other.socket.once('connect', r));
  await sleep(20);
  await server.tr.close();
  await waitFor(() => other.ended, 3000, 'close to drop the handshake');
  t.equal(server.rec.connections.length, 0);
});

t.test('closing the transport closes its connections', async (t) => {
  const server = transport(t, bob);
  const client = transport(t, alice);
  const addr = await server.tr.listen(LOOP);
  await client.tr.connect(addr);
  await waitFor(() => server.rec.connections.length === 1);
  await server.tr.close();
  t.same(server.rec.closes.map((c) => c.reason), ['transport closed']);
  await waitFor(() => client.rec.closes.length === 1);
  t.equal(client.rec.closes[0]!.reason, 'closed by peer');
  t.equal(client.tr.connections.length, 0);
});
