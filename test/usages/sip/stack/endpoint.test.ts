/**
 * SipEndpoint over real UDP and TCP sockets on loopback: request/response through
 * transactions, Via received/rport (RFC 3261 §18.2.1, RFC 3581), response routing
 * (§18.2.2), a full INVITE dialog with ACK and BYE, CANCEL, malformed input, framing
 * errors and keep-alives on TCP.
 */
import t, { type Test } from 'tap';
import {
  Dialog,
  type DroppedReport,
  type MalformedReport,
  type ServerTransaction,
  SipEndpoint,
  SipRequest,
  type SipResponse,
  getParam,
  parseUri,
} from '../../../../usages/sip/stack/index.js';
import { Inbox, crlf, pause, rawTcp, rawUdp, waitFor } from './net-helpers.js';

function makeRequest(method: string, target: string, opts: { callId?: string; cseq?: number; fromTag?: string } = {}): SipRequest {
  const req = new SipRequest(method, parseUri(target));
  req.set('To', `<${target}>`);
  req.set('From', `<sip:alice@127.0.0.1>;tag=${opts.fromTag ?? 'alice1'}`);
  req.set('Call-ID', opts.callId ?? `call-${Math.random().toString(16).slice(2)}@test`);
  req.set('CSeq', `${opts.cseq ?? 1} ${method}`);
  return req;
}

async function pair(t: Test, init: Parameters<typeof SipEndpoint.start>[0] = {}) {
  const a = await SipEndpoint.start(init);
  const b = await SipEndpoint.start(init);
  t.teardown(() => a.stop());
  t.teardown(() => b.stop());
  return { a, b };
}

type Received = { req: SipRequest; tx: ServerTransaction | undefined };

function collect(ep: SipEndpoint): Inbox<Received> {
  const inbox = new Inbox<Received>();
  ep.on('request', (req, tx) => inbox.push({ req, tx }));
  return inbox;
}

t.test('OPTIONS over UDP: transaction round trip, received and rport on the Via', async (t) => {
  const { a, b } = await pair(t);
  const got = collect(b);
  const bPort = b.udpAddress!.port;
  const tx = a.sendRequest(makeRequest('OPTIONS', `sip:b@127.0.0.1:${bPort}`), { transport: 'UDP', host: '127.0.0.1', port: bPort });
  const r = (await got.next())!;
  t.equal(r.req.method, 'OPTIONS');
  t.same(r.req.received?.source, { host: '127.0.0.1', port: a.udpAddress!.port });
  t.equal(r.req.received?.transport, 'UDP');
  const via = r.req.topVia()!;
  t.equal(via.host, '127.0.0.1');
  t.equal(via.port, a.udpAddress!.port);
  t.equal(getParam(via.params, 'received'), '127.0.0.1', 'rport requests always get received (RFC 3581 §4)');
  t.equal(getParam(via.params, 'rport'), String(a.udpAddress!.port), 'rport filled with the source port');
  t.equal(r.req.maxForwards(), 70, 'Max-Forwards added');
  t.match(getParam(via.params, 'branch'), /^z9hG4bK[0-9a-f]{16}$/);
  r.tx!.respond(r.tx!.createResponse(200));
  const res = await tx.finalResponse();
  t.equal(res.status, 200);
  t.equal(res.reason, 'OK');
  t.ok(res.toTag(), 'the UAS added a To tag');
  t.equal(tx.state, 'completed');
});

t.test('OPTIONS over TCP: the response comes back on the same connection', async (t) => {
  const { a, b } = await pair(t);
  const got = collect(b);
  const bPort = b.tcpAddress!.port;
  const tx = a.sendRequest(makeRequest('OPTIONS', `sip:b@127.0.0.1:${bPort};transport=tcp`), { transport: 'TCP', host: '127.0.0.1', port: bPort });
  const r = (await got.next())!;
  t.equal(r.req.received?.transport, 'TCP');
  t.match(r.req.received?.connectionId, /^tcp-/);
  t.equal(r.req.topVia()!.transport, 'TCP');
  t.equal(getParam(r.req.topVia()!.params, 'rport'), undefined, 'no rport on TCP');
  r.tx!.respond(r.tx!.createResponse(202, 'Accepted Here'));
  const res = await tx.finalResponse();
  t.equal(res.status, 202);
  t.equal(res.reason, 'Accepted Here');
  t.equal(tx.state, 'terminated', 'Timer K = 0 on a reliable transport');
  // A second request reuses the connection.
  const tx2 = a.sendRequest(makeRequest('OPTIONS', `sip:b@127.0.0.1:${bPort}`), { transport: 'TCP', host: '127.0.0.1', port: bPort });
  const r2 = (await got.next())!;
  t.equal(r2.req.received?.connectionId, r.req.received?.connectionId, 'same connection');
  r2.tx!.respond(r2.tx!.createResponse(200));
  t.equal((await tx2.finalResponse()).status, 200);
});

t.test('INVITE dialog over UDP: 180, 200, ACK (stops the 2xx retransmission), BYE', async (t) => {
  const { a, b } = await pair(t);
  const got = collect(b);
  const bPort = b.udpAddress!.port;
  const dest = { transport: 'UDP' as const, host: '127.0.0.1', port: bPort };
  const invite = makeRequest('INVITE', `sip:bob@127.0.0.1:${bPort}`, { cseq: 10 });
  invite.set('Contact', `<sip:alice@127.0.0.1:${a.udpAddress!.port}>`);
  invite.setBody('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n', 'application/sdp');
  const inviteTx = a.sendRequest(invite, dest);
  const provisional = new Inbox<number>();
  inviteTx.on('provisional', (r) => provisional.push(r.status));
  const finals = new Inbox<SipResponse>();
  inviteTx.on('final', (r) => finals.push(r));

  const r = (await got.next())!;
  t.equal(r.req.bodyText(), 'v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\n', 'SDP passed through untouched');
  const uasTx = r.tx!;
  uasTx.respond(uasTx.createResponse(180));
  t.equal(await provisional.next(), 180);
  const ok = uasTx.createResponse(200);
  ok.set('Contact', `<sip:bob@127.0.0.1:${bPort}>`);
  ok.setBody('v=0\r\n', 'application/sdp');
  const uasDialog = Dialog.asUas(r.req, ok);
  const acked = new Inbox<number>();
  uasTx.on('ack', () => acked.push(1));
  uasTx.respond(ok);

  const final = (await finals.next())!;
  t.equal(final.status, 200);
  t.equal(final.bodyText(), 'v=0\r\n');
  const uacDialog = Dialog.asUac(inviteTx.request, final);
  t.same(uacDialog.id, { callId: invite.callId(), localTag: 'alice1', remoteTag: final.toTag()! });
  t.same(uasDialog.id, { callId: invite.callId(), localTag: final.toTag()!, remoteTag: 'alice1' });
  await a.sendStateless(uacDialog.createAck(10), dest);
  const ack = (await got.next())!;
  t.equal(ack.req.method, 'ACK');
  t.equal(ack.tx, undefined, 'the 2xx ACK has no transaction');
  t.equal(ack.req.get('CSeq'), '10 ACK');
  t.equal(await acked.next(), 1, 'the INVITE transaction saw its ACK');
  t.equal(uasTx.hasTimer('2xx'), false, 'and stopped retransmitting the 2xx');
  t.equal(uasTx.hasTimer('L'), true, 'Timer L keeps it to absorb INVITE retransmissions');

  const byeTx = a.sendRequest(uacDialog.createRequest('BYE'), dest);
  const bye = (await got.next())!;
  t.equal(bye.req.method, 'BYE');
  t.equal(bye.req.get('CSeq'), '11 BYE');
  t.same(uasDialog.acceptRequest(bye.req), { ok: true });
  bye.tx!.respond(bye.tx!.createResponse(200));
  t.equal((await byeTx.finalResponse()).status, 200);
  t.equal(uasDialog.state, 'terminated');
});

t.test('CANCEL: 200 for the CANCEL, 487 for the INVITE, ACK for the 487', async (t) => {
  const { a, b } = await pair(t);
  const got = collect(b);
  const bPort = b.udpAddress!.port;
  const dest = { transport: 'UDP' as const, host: '127.0.0.1', port: bPort };
  const inviteTx = a.sendRequest(makeRequest('INVITE', `sip:bob@127.0.0.1:${bPort}`), dest);
  const cancelPromise = a.cancel(inviteTx, dest, 'SIP;cause=487;text="gone"');
  const r = (await got.next())!;
  const cancelled = new Inbox<SipRequest>();
  r.tx!.on('cancelled', (c) => cancelled.push(c));
  r.tx!.respond(r.tx!.createResponse(180));
  const cancelTx = (await cancelPromise)!;
  t.equal(cancelTx.request.method, 'CANCEL');
  t.equal(cancelTx.request.get('Via'), inviteTx.request.get('Via'), 'same Via and branch as the INVITE');
  t.equal(cancelTx.request.get('Reason'), 'SIP;cause=487;text="gone"');
  t.equal((await cancelTx.finalResponse()).status, 200);
  t.equal((await cancelled.next())?.method, 'CANCEL');
  t.equal((await inviteTx.finalResponse()).status, 487);
  t.ok(await waitFor(() => r.tx!.state === 'confirmed'), 'the UAC transaction ACKed the 487');
  t.equal(await a.cancel(inviteTx, dest), undefined, 'nothing left to cancel');
});

t.test('a CANCEL that matches nothing gets 481', async (t) => {
  const { b } = await pair(t);
  const raw = await rawUdp();
  t.teardown(() => raw.close());
  await raw.send(
    crlf(
      `CANCEL sip:x@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:${raw.port};branch=z9hG4bKnothing\nTo: <sip:x@127.0.0.1>\n` +
        `From: <sip:y@127.0.0.1>;tag=1\nCall-ID: c481\nCSeq: 1 CANCEL\nMax-Forwards: 70\nContent-Length: 0\n\n`,
    ),
    b.udpAddress!.port,
  );
  const res = (await raw.inbox.next()) as SipResponse;
  t.equal(res.status, 481);
});

t.test('responses go where RFC 3261 §18.2.2 says', async (t) => {
  const b = await SipEndpoint.start();
  t.teardown(() => b.stop());
  b.on('request', (req, tx) => tx?.respond(tx.createResponse(200)));
  const raw = await rawUdp();
  const other = await rawUdp();
  t.teardown(() => raw.close());
  t.teardown(() => other.close());
  const send = (via: string, callId: string) =>
    raw.send(
      crlf(
        `OPTIONS sip:b@127.0.0.1 SIP/2.0\nVia: ${via}\nTo: <sip:b@127.0.0.1>\nFrom: <sip:a@127.0.0.1>;tag=1\n` +
          `Call-ID: ${callId}\nCSeq: 1 OPTIONS\nMax-Forwards: 70\nContent-Length: 0\n\n`,
      ),
      b.udpAddress!.port,
    );
  // No rport: to the sent-by port (here another socket's), at the source address.
  await send(`SIP/2.0/UDP 127.0.0.1:${other.port};branch=z9hG4bK1`, 'r1');
  const r1 = (await other.inbox.next()) as SipResponse;
  t.equal(r1?.callId(), 'r1', 'sent-by port');
  t.equal(getParam(r1.topVia()!.params, 'received'), undefined, 'sent-by host equals the source: no received');
  // A host name in sent-by: received is added and used.
  await send(`SIP/2.0/UDP client.invalid:${other.port};branch=z9hG4bK2`, 'r2');
  const r2 = (await other.inbox.next()) as SipResponse;
  t.equal(r2?.callId(), 'r2');
  t.equal(getParam(r2.topVia()!.params, 'received'), '127.0.0.1');
  // rport: back to the source port, whatever sent-by says (RFC 3581 §4).
  await send(`SIP/2.0/UDP 192.0.2.7:9999;rport;branch=z9hG4bK3`, 'r3');
  const r3 = (await raw.inbox.next()) as SipResponse;
  t.equal(r3?.callId(), 'r3');
  t.equal(getParam(r3.topVia()!.params, 'rport'), String(raw.port));
  t.equal(getParam(r3.topVia()!.params, 'received'), '127.0.0.1');
  t.equal(raw.inbox.pending + other.inbox.pending, 0);
});

t.test('the endpoint drops responses not addressed to it and reports strays', async (t) => {
  const { a } = await pair(t);
  const raw = await rawUdp();
  t.teardown(() => raw.close());
  const dropped = new Inbox<DroppedReport>();
  a.on('dropped', (d) => dropped.push(d));
  const strays = new Inbox<SipResponse>();
  a.on('strayResponse', (r) => strays.push(r));
  const resp = (via: string, callId: string) =>
    crlf(
      `SIP/2.0 200 OK\nVia: ${via}\nTo: <sip:b@x>;tag=2\nFrom: <sip:a@x>;tag=1\nCall-ID: ${callId}\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n`,
    );
  await raw.send(resp('SIP/2.0/UDP 192.0.2.198;branch=z9hG4bK1324923', 'foreign'), a.udpAddress!.port);
  const d = (await dropped.next())!;
  t.match(d.reason, /sent-by is not this endpoint/);
  t.equal(d.message.callId(), 'foreign');
  await raw.send(resp(`SIP/2.0/UDP 127.0.0.1:${a.udpAddress!.port};branch=z9hG4bKnone`, 'stray'), a.udpAddress!.port);
  t.equal((await strays.next())?.callId(), 'stray');
  await raw.send(crlf(`SIP/3.0 200 OK\nVia: SIP/2.0/UDP 127.0.0.1:${a.udpAddress!.port}\nTo: <sip:b@x>\nFrom: <sip:a@x>\nCall-ID: v3\nCSeq: 1 OPTIONS\n\n`), a.udpAddress!.port);
  t.match((await dropped.next())?.reason, /unsupported version SIP\/3.0/);
});

t.test('malformed and odd requests over UDP; the socket keeps serving', async (t) => {
  const b = await SipEndpoint.start({ forceRport: true });
  t.teardown(() => b.stop());
  const malformed = new Inbox<MalformedReport>();
  b.on('malformed', (m) => malformed.push(m));
  const raw = await rawUdp();
  t.teardown(() => raw.close());
  const port = b.udpAddress!.port;
  const head = (first: string, via = `SIP/2.0/UDP 127.0.0.1:${raw.port};branch=z9hG4bKm1`) =>
    `${first}\nVia: ${via}\nTo: <sip:b@127.0.0.1>\nFrom: <sip:a@127.0.0.1>;tag=1\nCall-ID: mal\nCSeq: 1 OPTIONS\nMax-Forwards: 70\n`;

  await raw.send(crlf(head('OPTIONS sip:b@127.0.0.1 SIP/2.0') + 'Content-Length: 5\n\nab'), port);
  const r1 = (await raw.inbox.next()) as SipResponse;
  t.equal(r1.status, 400);
  t.equal(r1.reason, 'Bad Request - Content-Length: Content-Length 5 but only 2 body octets');
  t.ok(r1.toTag(), 'To tag added');
  const m1 = (await malformed.next())!;
  t.equal(m1.error.reason, 'BODY_TRUNCATED');
  t.equal(m1.response?.status, 400);

  await raw.send(crlf('this is not SIP at all\n\n'), port);
  const m2 = (await malformed.next())!;
  t.equal(m2.response, undefined, 'nothing to answer: dropped');
  await raw.send(new Uint8Array([0xff, 0x00, 0x0d, 0x0a, 0x0d, 0x0a]), port);
  t.equal((await malformed.next())!.response, undefined);
  await raw.send(crlf('\n\n'), port); // a CRLF keep-alive: silently ignored

  // An ACK that does not parse is never answered.
  await raw.send(crlf(head('ACK sip:b@127.0.0.1 SIP/2.0').replace('1 OPTIONS', '1 ACK') + 'Content-Length: -1\n\n'), port);
  t.equal((await malformed.next())!.response, undefined);

  // 505 for another version; 400 for a bare magic-cookie branch (RFC 4475 §3.2.1).
  await raw.send(crlf(head('OPTIONS sip:b@127.0.0.1 SIP/3.0') + '\n'), port);
  const r3 = (await raw.inbox.next()) as SipResponse;
  t.equal(r3.status, 505);
  await raw.send(crlf(head('OPTIONS sip:b@127.0.0.1 SIP/2.0', `SIP/2.0/UDP 127.0.0.1:${raw.port};branch=z9hG4bK`) + '\n'), port);
  const r4 = (await raw.inbox.next()) as SipResponse;
  t.equal(r4.status, 400);
  t.equal(r4.reason, 'Bad Request - Via branch has no transaction identifier after z9hG4bK');

  // No 'request' listener: 501.
  await raw.send(crlf(head('OPTIONS sip:b@127.0.0.1 SIP/2.0').replace('z9hG4bKm1', 'z9hG4bKm9') + '\n'), port);
  t.equal(((await raw.inbox.next()) as SipResponse).status, 501);

  // Still serving.
  b.on('request', (_req, tx) => tx?.respond(tx.createResponse(200)));
  await raw.send(crlf(head('OPTIONS sip:b@127.0.0.1 SIP/2.0').replace('z9hG4bKm1', 'z9hG4bKm2') + '\n'), port);
  t.equal(((await raw.inbox.next()) as SipResponse).status, 200);
});

t.test('a throwing request listener is reported, the endpoint survives', async (t) => {
  const b = await SipEndpoint.start({ forceRport: true });
  t.teardown(() => b.stop());
  const errors = new Inbox<Error>();
  b.on('error', (e) => errors.push(e));
  b.on('request', () => {
    throw new Error('TU bug');
  });
  b.on('request', (_r, tx) => tx?.respond(tx.createResponse(200)));
  const raw = await rawUdp();
  t.teardown(() => raw.close());
  await raw.send(
    crlf(
      `OPTIONS sip:b@127.0.0.1 SIP/2.0\nVia: SIP/2.0/UDP 127.0.0.1:${raw.port};branch=z9hG4bKtu\nTo: <sip:b@127.0.0.1>\n` +
        `From: <sip:a@127.0.0.1>;tag=1\nCall-ID: tu\nCSeq: 1 OPTIONS\nContent-Length: 0\n\n`,
    ),
    b.udpAddress!.port,
  );
  t.equal((await errors.next())?.message, 'TU bug');
  t.equal(((await raw.inbox.next()) as SipResponse).status, 200, 'the next listener still ran');
});

t.test('TCP: framing errors get a 400 and close the connection; keep-alive gets a pong', async (t) => {
  const b = await SipEndpoint.start();
  t.teardown(() => b.stop());
  b.on('request', (_req, tx) => tx?.respond(tx.createResponse(200)));
  const port = b.tcpAddress!.port;
  const msg = (via: string, cl: string, callId: string) =>
    crlf(
      `OPTIONS sip:b@127.0.0.1 SIP/2.0\nVia: ${via}\nTo: <sip:b@127.0.0.1>\nFrom: <sip:a@127.0.0.1>;tag=1\n` +
        `Call-ID: ${callId}\nCSeq: 1 OPTIONS\nMax-Forwards: 70\n${cl}\n`,
    );

  const c = await rawTcp(port);
  c.write('\r\n\r\n');
  t.ok(await waitFor(() => c.raw.length > 0));
  t.equal(Buffer.concat(c.raw).toString(), '\r\n', 'CRLFCRLF ping answered with CRLF (RFC 5626 §3.5.1)');
  c.write(msg(`SIP/2.0/TCP 127.0.0.1:${c.localPort};branch=z9hG4bKt1`, 'Content-Length: 0\n', 'ok1'));
  const ok = (await c.inbox.next()) as SipResponse;
  t.equal(ok.status, 200);
  t.equal(ok.callId(), 'ok1');
  // A message that parses badly but frames well: 400, the connection stays.
  c.write(msg(`SIP/2.0/TCP 127.0.0.1:${c.localPort};branch=z9hG4bKt2`, 'Max-Forwards: 300\nContent-Length: 0\n', 'bad-mf'));
  const bad = (await c.inbox.next()) as SipResponse;
  t.equal(bad.status, 400);
  t.equal(bad.reason, 'Bad Request - Max-Forwards: value larger than 255');
  // A framing error: 400, then the connection is closed (RFC 4475 §3.1.2.3).
  c.write(msg(`SIP/2.0/TCP 127.0.0.1:${c.localPort};branch=z9hG4bKt3`, 'Content-Length: -999\n', 'ncl'));
  const ncl = (await c.inbox.next()) as SipResponse;
  t.equal(ncl.status, 400);
  t.equal(ncl.reason, 'Bad Request - Content-Length: negative Content-Length');
  await c.closed;
  t.pass('connection closed after the framing error');

  // The listener still accepts new connections.
  const c2 = await rawTcp(port);
  c2.write(msg(`SIP/2.0/TCP 127.0.0.1:${c2.localPort};branch=z9hG4bKt4`, 'Content-Length: 0\n', 'ok2'));
  t.equal(((await c2.inbox.next()) as SipResponse).callId(), 'ok2');
  c2.socket.destroy();
});

t.test('TCP: a message split across many segments is framed once', async (t) => {
  const b = await SipEndpoint.start();
  t.teardown(() => b.stop());
  b.on('request', (req, tx) => {
    const res = tx!.createResponse(200);
    res.setBody(req.body, 'text/plain');
    tx!.respond(res);
  });
  const c = await rawTcp(b.tcpAddress!.port);
  const data = crlf(
    `MESSAGE sip:b@127.0.0.1 SIP/2.0\nVia: SIP/2.0/TCP 127.0.0.1:${c.localPort};branch=z9hG4bKseg\nTo: <sip:b@127.0.0.1>\n` +
      `From: <sip:a@127.0.0.1>;tag=1\nCall-ID: seg\nCSeq: 1 MESSAGE\nContent-Type: text/plain\nContent-Length: 12\n\nhello\r\nthere`,
  );
  for (let i = 0; i < data.length; i += 5) {
    c.write(data.subarray(i, i + 5));
    await pause(1);
  }
  const res = (await c.inbox.next()) as SipResponse;
  t.equal(res.bodyText(), 'hello\r\nthere');
  c.socket.destroy();
});

t.test('sendRequest rejects what it cannot send', async (t) => {
  const a = await SipEndpoint.start({ tcp: false });
  const dest = { transport: 'UDP' as const, host: '127.0.0.1', port: 9 };
  const reason = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      return (e as { reason: string }).reason;
    }
    return 'sent';
  };
  t.equal(reason(() => a.sendRequest(makeRequest('ACK', 'sip:x@127.0.0.1'), dest)), 'INVALID_ARGUMENT');
  const noTo = makeRequest('OPTIONS', 'sip:x@127.0.0.1');
  noTo.remove('To');
  t.equal(reason(() => a.sendRequest(noTo, dest)), 'INVALID_ARGUMENT');
  t.equal(reason(() => a.sendRequest(makeRequest('OPTIONS', 'sip:x@127.0.0.1'), { ...dest, transport: 'TCP' })), 'NO_TRANSPORT');
  t.equal(a.tcpAddress, undefined);
  await a.stop();
  t.equal(reason(() => a.sendRequest(makeRequest('OPTIONS', 'sip:x@127.0.0.1'), dest)), 'STOPPED');
});

t.test('a TCP connect failure is a transportError on the transaction', async (t) => {
  const a = await SipEndpoint.start();
  t.teardown(() => a.stop());
  const closed = await SipEndpoint.start();
  const port = closed.tcpAddress!.port;
  await closed.stop();
  const tx = a.sendRequest(makeRequest('OPTIONS', `sip:x@127.0.0.1:${port}`), { transport: 'TCP', host: '127.0.0.1', port });
  const outcome = await tx.finalResponse().then(
    () => 'resolved',
    (e: { reason: string }) => e.reason,
  );
  t.equal(outcome, 'TRANSPORT_ERROR');
  t.equal(tx.state, 'terminated');
});
