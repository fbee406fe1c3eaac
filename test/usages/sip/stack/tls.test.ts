/**
 * The TLS transport of the SIP stack (RFC 3261 §26.2: mutual TLS): two endpoints with
 * certificates from one CA exchange a transaction over a TLS connection (Via transport
 * TLS, the response on the same connection), each side sees the other's certificate,
 * `verifyPeer` refusals close the connection on either side, a certificate from another CA
 * fails the handshake, a framing error over TLS gets 400 and closes only that connection,
 * and a proxy's INVITE server transaction can leave 2xx retransmission to the UAS.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { connect as tlsConnect } from 'node:tls';
import { createOverlayCA, generateRsaKey, issueCertificate } from '../../../../certs/ca.js';
import { VirtualClock } from '../../../../src/common/clock.js';
import { testCA, testCredentials } from '../../../helpers/identities.js';
import {
  type SipConnectionInfo,
  SipEndpoint,
  SipRequest,
  SipStackError,
  TransactionLayer,
  parseUri,
} from '../../../../usages/sip/stack/index.js';
import { crlf } from './net-helpers.js';

const ca = testCA();
const a = testCredentials('tls-a', new Uint8Array(randomBytes(16)));
const b = testCredentials('tls-b', new Uint8Array(randomBytes(16)));

async function tlsEndpoint(c: typeof a, verifyPeer?: (der: Uint8Array) => void): Promise<SipEndpoint> {
  return SipEndpoint.start({
    udp: false,
    tcp: false,
    tls: { certificate: c.certificate.der, privateKey: c.privateKey, ca: [ca.certificate], ...(verifyPeer ? { verifyPeer } : {}) },
  });
}

function options(to: string): SipRequest {
  const req = new SipRequest('OPTIONS', parseUri(to, 'request-uri'));
  req.set('From', '<sip:a@example.com>;tag=1');
  req.set('To', `<${to}>`);
  req.set('Call-ID', `tls-${randomBytes(4).toString('hex')}`);
  req.set('CSeq', '1 OPTIONS');
  return req;
}

t.test('a transaction over mutual TLS', async (t) => {
  const A = await tlsEndpoint(a);
  const B = await tlsEndpoint(b);
  t.teardown(async () => {
    await A.stop();
    await B.stop();
  });
  const seenByB: SipConnectionInfo[] = [];
  B.on('connection', (c) => seenByB.push(c));
  let via = '';
  B.on('request', (req, tx) => {
    via = req.get('Via')!;
    tx!.respond(tx!.createResponse(200));
  });
  const conn = await A.connect('TLS', B.tlsAddress!);
  t.equal(conn.transport, 'TLS');
  t.ok(conn.outbound && conn.open);
  t.same(Buffer.from(conn.peerCertificate!), Buffer.from(b.certificate.der), 'A sees B’s certificate');
  await new Promise((r) => setTimeout(r, 50));
  t.equal(seenByB.length, 1);
  t.same(Buffer.from(seenByB[0]!.peerCertificate!), Buffer.from(a.certificate.der), 'B sees A’s certificate');
  const res = await A.sendRequest(options('sip:b@example.com'), { transport: 'TLS', host: conn.remote.host, port: conn.remote.port, connectionId: conn.id }).finalResponse();
  t.equal(res.status, 200);
  t.match(via, new RegExp(`^SIP/2\\.0/TLS 127\\.0\\.0\\.1:${A.tlsAddress!.port};branch=z9hG4bK`), 'Via names TLS and A’s TLS port');
  t.equal(A.connections('TLS').length, 1, 'one connection, reused');
  t.equal(B.connections('TLS').length, 1);
  t.equal((await A.connect('TLS', B.tlsAddress!)).id, conn.id, 'connect() reuses the open connection');
  t.ok(A.connection(conn.id));
  t.ok(A.closeConnection(conn.id));
  await new Promise((r) => setTimeout(r, 50));
  t.equal(A.connection(conn.id), undefined);
});

t.test('verifyPeer refusals', async (t) => {
  const refuseAll = (): void => {
    throw new Error('not wanted');
  };
  // The client refuses the server.
  const A = await tlsEndpoint(a, refuseAll);
  const B = await tlsEndpoint(b);
  t.teardown(async () => {
    await A.stop();
    await B.stop();
  });
  await t.rejects(A.connect('TLS', B.tlsAddress!), SipStackError, 'connect rejects when the client refuses the server');
  t.equal(A.connections('TLS').length, 0);
  // The server refuses the client.
  const C = await tlsEndpoint(a);
  const D = await tlsEndpoint(b, refuseAll);
  const errors: Error[] = [];
  D.on('error', (e) => errors.push(e));
  t.teardown(async () => {
    await C.stop();
    await D.stop();
  });
  const conn = await C.connect('TLS', D.tlsAddress!).catch((e: Error) => e);
  await new Promise((r) => setTimeout(r, 100));
  t.equal(D.connections('TLS').length, 0, 'the server keeps no connection');
  t.ok(errors.some((e) => /TLS client refused: not wanted/.test(e.message)), 'and reports why');
  if (!(conn instanceof Error)) t.equal(C.connection(conn.id), undefined, 'the client’s side closed too');
});

t.test('a certificate from another CA fails the handshake', async (t) => {
  const otherCa = createOverlayCA('other.example');
  const k = generateRsaKey();
  const der = issueCertificate(otherCa, { publicKey: k.publicKey, userName: 'eve@other.example', nodeIds: [new Uint8Array(randomBytes(16))] });
  const E = await SipEndpoint.start({ udp: false, tcp: false, tls: { certificate: der, privateKey: k.privateKey, ca: [otherCa.certificate] } });
  const B = await tlsEndpoint(b);
  B.on('error', () => undefined);
  t.teardown(async () => {
    await E.stop();
    await B.stop();
  });
  await t.rejects(E.connect('TLS', B.tlsAddress!), SipStackError);
  await new Promise((r) => setTimeout(r, 100));
  t.equal(B.connections('TLS').length, 0);
});

t.test('a framing error over TLS: 400, that connection closes, others stay', async (t) => {
  const B = await tlsEndpoint(b);
  const A = await tlsEndpoint(a);
  t.teardown(async () => {
    await A.stop();
    await B.stop();
  });
  B.on('request', (_req, tx) => tx!.respond(tx!.createResponse(200)));
  const pem = (der: Uint8Array) => `-----BEGIN CERTIFICATE-----\n${Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '')}\n-----END CERTIFICATE-----\n`;
  // A raw TLS client with A's certificate writes a request with two Content-Length values.
  const socket = tlsConnect({
    host: '127.0.0.1',
    port: B.tlsAddress!.port,
    cert: pem(a.certificate.der),
    key: a.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string,
    ca: [pem(ca.certificate)],
    checkServerIdentity: () => undefined,
  });
  await new Promise<void>((r) => socket.once('secureConnect', () => r()));
  const chunks: Buffer[] = [];
  socket.on('data', (d: Buffer) => chunks.push(d));
  const closed = new Promise<void>((r) => socket.once('close', () => r()));
  socket.write(
    crlf(
      'OPTIONS sip:b@example.com SIP/2.0\nVia: SIP/2.0/TLS 127.0.0.1:5061;branch=z9hG4bKframing\nFrom: <sip:a@example.com>;tag=9\nTo: <sip:b@example.com>\nCall-ID: framing\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\nContent-Length: 5\n\n',
    ),
  );
  await closed;
  t.match(Buffer.concat(chunks).toString(), /^SIP\/2\.0 400 Bad Request - Content-Length: /, 'the 400 came back on the connection, then it closed');
  const conn = await A.connect('TLS', B.tlsAddress!);
  const res = await A.sendRequest(options('sip:b@example.com'), { transport: 'TLS', host: conn.remote.host, port: conn.remote.port, connectionId: conn.id }).finalResponse();
  t.equal(res.status, 200, 'another connection works');
});

t.test('retransmit2xx: false leaves 2xx retransmission to the UAS (a proxy, RFC 6026)', async (t) => {
  for (const retransmit2xx of [true, false]) {
    const clock = new VirtualClock(0);
    const layer = new TransactionLayer({ clock, retransmit2xx });
    const invite = new SipRequest('INVITE', parseUri('sip:b@example.com', 'request-uri'));
    invite.set('Via', 'SIP/2.0/UDP 127.0.0.1:5060;branch=z9hG4bKinv');
    invite.set('From', '<sip:a@example.com>;tag=1');
    invite.set('To', '<sip:b@example.com>');
    invite.set('Call-ID', 'r2xx');
    invite.set('CSeq', '1 INVITE');
    let sent = 0;
    const tx = layer.createServer(invite, false, async () => void sent++, 'tagb');
    tx.respond(tx.createResponse(200));
    clock.advance(10_000);
    t.equal(sent > 1, retransmit2xx, `retransmit2xx ${retransmit2xx}: ${sent} transmission(s) in 10 s`);
  }
});
