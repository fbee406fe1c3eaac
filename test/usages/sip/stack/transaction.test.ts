/**
 * The transaction state machines and matching (RFC 3261 §17, RFC 6026) on a VirtualClock:
 * exact retransmission schedules and timer expiries in virtual milliseconds.
 */
import t from 'tap';
import { VirtualClock } from '../../../../src/common/clock.js';
import {
  InviteClientTransaction,
  InviteServerTransaction,
  NonInviteClientTransaction,
  NonInviteServerTransaction,
  type SipMessage,
  SipRequest,
  SipResponse,
  SipStackError,
  TransactionLayer,
  parseMessage,
} from '../../../../usages/sip/stack/index.js';

const enc = (s: string): Uint8Array => new TextEncoder().encode(s.replace(/\n/g, '\r\n'));

function request(method: string, opts: { branch?: string; toTag?: string; cseq?: number; via?: string } = {}): SipRequest {
  const via = opts.via ?? `SIP/2.0/UDP client.example.com:5070;branch=${opts.branch ?? 'z9hG4bKabc'}`;
  const to = `<sip:bob@example.com>${opts.toTag ? `;tag=${opts.toTag}` : ''}`;
  const m = parseMessage(
    enc(
      `${method} sip:bob@example.com SIP/2.0\nVia: ${via}\nMax-Forwards: 70\nRoute: <sip:p1.example.com;lr>\nTo: ${to}\n` +
        `From: <sip:alice@example.com>;tag=a1\nCall-ID: call-1@example.com\nCSeq: ${opts.cseq ?? 1} ${method}\nContent-Length: 0\n\n`,
    ),
  );
  return m as SipRequest;
}

function response(req: SipRequest, status: number, toTag = 'b2'): SipResponse {
  const res = new SipResponse(status, 'X');
  for (const v of req.getAll('Via')) res.headers.push({ name: 'Via', value: v });
  res.headers.push({ name: 'To', value: `<sip:bob@example.com>${status > 100 ? `;tag=${toTag}` : ''}` });
  for (const n of ['From', 'Call-ID', 'CSeq']) res.headers.push({ name: n, value: req.get(n)! });
  return res;
}

function harness(reliable = false) {
  const clock = new VirtualClock(0);
  const sent: Array<{ at: number; msg: SipMessage }> = [];
  let failSends = false;
  const send = async (msg: SipMessage): Promise<void> => {
    if (failSends) throw new Error('network unreachable');
    sent.push({ at: clock.now(), msg });
  };
  const layer = new TransactionLayer({ clock });
  return {
    clock,
    sent,
    layer,
    reliable,
    send,
    failNextSends: () => {
      failSends = true;
    },
    times: (filter: (m: SipMessage) => boolean = () => true) => sent.filter((s) => filter(s.msg)).map((s) => s.at),
  };
}

/** The `reason` of what `fn` throws (SipStackError / SipParseError), or 'no error'. */
function reasonOf(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    return (e as { reason?: string }).reason ?? String(e);
  }
  return 'no error';
}

const settle = () => new Promise<void>((r) => setImmediate(r));
const isReq = (method: string) => (m: SipMessage) => m.isRequest() && m.method === method;
const isStatus = (status: number) => (m: SipMessage) => !m.isRequest() && m.status === status;

// ------------------------------------------------------------------------- INVITE client

t.test('INVITE client over UDP: Timer A 0, 500, 1500 ... 31500; Timer B at 64*T1', async (t) => {
  const h = harness();
  const tx = h.layer.createClient(request('INVITE'), false, h.send) as InviteClientTransaction;
  const events: string[] = [];
  tx.on('timeout', () => events.push(`timeout@${h.clock.now()}`));
  tx.on('terminated', () => events.push(`terminated@${h.clock.now()}`));
  t.equal(tx.state, 'calling');
  h.clock.runUntil(40_000);
  t.same(h.times(), [0, 500, 1500, 3500, 7500, 15500, 31500]);
  t.same(events, ['timeout@32000', 'terminated@32000']);
  t.equal(tx.state, 'terminated');
  t.equal(h.layer.clientCount, 0);
  t.equal(h.clock.pendingTimers, 0);
});

t.test('INVITE client over TCP: no retransmission, Timer B still fires', async (t) => {
  const h = harness();
  const tx = h.layer.createClient(request('INVITE'), true, h.send);
  let timedOut = -1;
  tx.on('timeout', () => (timedOut = h.clock.now()));
  const outcome = tx.finalResponse();
  h.clock.runUntil(40_000);
  t.same(h.times(), [0]);
  t.equal(timedOut, 32_000);
  await t.rejects(outcome, new SipStackError('TIMEOUT', 'no final response to INVITE'));
});

t.test('INVITE client: a provisional stops retransmissions and Timer B', async (t) => {
  const h = harness();
  const inv = request('INVITE');
  const tx = h.layer.createClient(inv, false, h.send);
  const prov: number[] = [];
  tx.on('provisional', (r) => prov.push(r.status));
  h.clock.runUntil(700);
  tx.receiveResponse(response(tx.request, 180));
  t.equal(tx.state, 'proceeding');
  h.clock.runUntil(100_000);
  t.same(h.times(), [0, 500]);
  t.same(prov, [180]);
  t.equal(tx.state, 'proceeding', 'waits for a final response (the TU may CANCEL)');
});

t.test('INVITE client: 300-699 → ACK built per §17.1.1.3, absorbed retransmissions, Timer D', async (t) => {
  const h = harness();
  const tx = h.layer.createClient(request('INVITE', { cseq: 7 }), false, h.send) as InviteClientTransaction;
  const finals: number[] = [];
  tx.on('final', (r) => finals.push(r.status));
  h.clock.runUntil(100);
  tx.receiveResponse(response(tx.request, 486, 'busy1'));
  t.equal(tx.state, 'completed');
  const ack = h.sent[1]!.msg as SipRequest;
  t.equal(ack.method, 'ACK');
  t.equal(ack.get('Via'), 'SIP/2.0/UDP client.example.com:5070;branch=z9hG4bKabc', 'only the top Via, same branch');
  t.equal(ack.toTag(), 'busy1', 'To of the response');
  t.equal(ack.get('CSeq'), '7 ACK');
  t.same(ack.getAll('Route'), ['<sip:p1.example.com;lr>']);
  t.equal(ack.get('Call-ID'), 'call-1@example.com');
  h.clock.runUntil(5000);
  tx.receiveResponse(response(tx.request, 486, 'busy1'));
  t.same(finals, [486], 'a retransmitted final response is not passed up');
  t.same(h.times(isReq('ACK')), [100, 5000], 'but is ACKed again');
  t.same(h.times(isReq('INVITE')), [0], 'no INVITE retransmission after the final');
  h.clock.runUntil(32_099);
  t.equal(tx.state, 'completed');
  h.clock.runUntil(32_100);
  t.equal(tx.state, 'terminated', 'Timer D = 32 s after the final response');
});

t.test('INVITE client over TCP: a non-2xx final terminates at once (Timer D = 0)', async (t) => {
  const h = harness();
  const tx = h.layer.createClient(request('INVITE'), true, h.send);
  tx.receiveResponse(response(tx.request, 603));
  t.equal(tx.state, 'terminated');
  t.equal(h.sent.length, 2, 'INVITE and ACK');
  t.equal((await tx.finalResponse()).status, 603);
});

t.test('INVITE client: 2xx → Accepted (RFC 6026), every 2xx passed up, Timer M', async (t) => {
  const h = harness();
  const tx = h.layer.createClient(request('INVITE'), false, h.send);
  const finals: string[] = [];
  tx.on('final', (r) => finals.push(`${r.status}/${r.toTag()}`));
  h.clock.runUntil(200);
  tx.receiveResponse(response(tx.request, 200, 'x'));
  t.equal(tx.state, 'accepted');
  h.clock.runUntil(1000);
  tx.receiveResponse(response(tx.request, 200, 'x'));
  tx.receiveResponse(response(tx.request, 200, 'fork2'));
  tx.receiveResponse(response(tx.request, 180));
  t.same(finals, ['200/x', '200/x', '200/fork2'], 'retransmissions and forked 2xx reach the TU');
  t.same(h.times(isReq('ACK')), [], 'the TU sends the ACK for a 2xx');
  h.clock.runUntil(200 + 32_000);
  t.equal(tx.state, 'terminated');
});

t.test('a transport error ends a client transaction (RFC 3261 §17.1.4)', async (t) => {
  const h = harness();
  h.failNextSends();
  const tx = h.layer.createClient(request('OPTIONS'), false, h.send);
  const errors: string[] = [];
  tx.on('transportError', (e) => errors.push(e.message));
  const outcome = tx.finalResponse();
  await settle();
  t.same(errors, ['network unreachable']);
  t.equal(tx.state, 'terminated');
  t.equal(await outcome.then(() => 'resolved', (e: SipStackError) => e.reason), 'TRANSPORT_ERROR');
  t.equal(h.layer.clientCount, 0);
});

// --------------------------------------------------------------------- non-INVITE client

t.test('non-INVITE client over UDP: Timer E doubles up to T2, Timer F at 64*T1', async (t) => {
  const h = harness();
  const tx = h.layer.createClient(request('OPTIONS'), false, h.send) as NonInviteClientTransaction;
  let timeout = -1;
  tx.on('timeout', () => (timeout = h.clock.now()));
  h.clock.runUntil(40_000);
  t.same(h.times(), [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
  t.equal(timeout, 32_000);
  t.equal(tx.state, 'terminated');
});

t.test('non-INVITE client: Proceeding retransmits every T2; final → Completed, Timer K = T4', async (t) => {
  const h = harness();
  const tx = h.layer.createClient(request('BYE'), false, h.send) as NonInviteClientTransaction;
  const seen: string[] = [];
  tx.on('provisional', (r) => seen.push(`p${r.status}@${h.clock.now()}`));
  tx.on('final', (r) => seen.push(`f${r.status}@${h.clock.now()}`));
  h.clock.runUntil(600);
  tx.receiveResponse(response(tx.request, 100));
  t.equal(tx.state, 'proceeding');
  h.clock.runUntil(10_000);
  tx.receiveResponse(response(tx.request, 200));
  tx.receiveResponse(response(tx.request, 200));
  t.same(h.times(), [0, 500, 1500, 5500, 9500], 'T2 spacing once proceeding');
  t.same(seen, ['p100@600', 'f200@10000'], 'the retransmitted 200 is absorbed');
  t.equal(tx.state, 'completed');
  h.clock.runUntil(14_999);
  t.equal(tx.state, 'completed');
  h.clock.runUntil(15_000);
  t.equal(tx.state, 'terminated');
});

t.test('non-INVITE client over TCP: one send, terminated on the final response', async (t) => {
  const h = harness();
  const tx = h.layer.createClient(request('OPTIONS'), true, h.send);
  h.clock.runUntil(10_000);
  tx.receiveResponse(response(tx.request, 200));
  t.same(h.times(), [0]);
  t.equal(tx.state, 'terminated');
});

// ------------------------------------------------------------------------- INVITE server

t.test('INVITE server: 100 Trying after 200 ms, Timer G up to T2, ACK → Confirmed, Timer I', async (t) => {
  const h = harness();
  const inv = request('INVITE');
  const tx = h.layer.createServer(inv, false, h.send, 'srvtag') as InviteServerTransaction;
  h.clock.runUntil(1000);
  t.same(h.times(isStatus(100)), [200]);
  h.layer.matchRequest(inv)!.receiveRequest(inv);
  t.same(h.times(isStatus(100)), [200, 1000], 'a retransmitted INVITE gets the last provisional again');
  tx.respond(tx.createResponse(486));
  t.equal(tx.state, 'completed');
  h.clock.runUntil(9000);
  t.same(h.times(isStatus(486)), [1000, 1500, 2500, 4500, 8500]);
  const ack = request('ACK', { toTag: 'srvtag' });
  const matched = h.layer.matchRequest(ack);
  t.equal(matched, tx, 'the ACK for the 486 matches the INVITE transaction');
  matched!.receiveRequest(ack);
  t.equal(tx.state, 'confirmed');
  const before = h.sent.length;
  tx.receiveRequest(ack);
  tx.receiveRequest(inv);
  t.equal(h.sent.length, before, 'ACK and INVITE retransmissions are absorbed in Confirmed');
  h.clock.runUntil(13_999);
  t.same(h.times(isStatus(486)), [1000, 1500, 2500, 4500, 8500], 'no retransmission once confirmed');
  t.equal(tx.state, 'confirmed');
  h.clock.runUntil(14_000);
  t.equal(tx.state, 'terminated', 'Timer I = T4');
  t.equal((h.sent[2]!.msg as SipResponse).toTag(), 'srvtag');
});

t.test('INVITE server: a final response before 200 ms means no 100 Trying; Timer H without ACK', async (t) => {
  const h = harness();
  const inv = request('INVITE');
  const tx = h.layer.createServer(inv, false, h.send, 't') as InviteServerTransaction;
  h.clock.runUntil(50);
  tx.respond(tx.createResponse(404));
  let timeout = -1;
  tx.on('timeout', () => (timeout = h.clock.now()));
  h.clock.runUntil(100_000);
  t.same(h.times(isStatus(100)), []);
  t.equal(timeout, 50 + 32_000);
  t.equal(tx.state, 'terminated');
  t.same(h.times().slice(0, 6), [50, 550, 1550, 3550, 7550, 11550]);
  t.equal(reasonOf(() => tx.respond(tx.createResponse(500))), 'INVALID_STATE');
});

t.test('INVITE server over TCP: no retransmission; ACK terminates at once', async (t) => {
  const h = harness();
  const inv = request('INVITE');
  const tx = h.layer.createServer(inv, true, h.send, 't') as InviteServerTransaction;
  tx.respond(tx.createResponse(480));
  h.clock.runUntil(10_000);
  t.same(h.times(), [0]);
  h.layer.matchRequest(request('ACK', { toTag: 't' }))!.receiveRequest(request('ACK', { toTag: 't' }));
  t.equal(tx.state, 'terminated');
});

t.test('INVITE server 2xx: Accepted, 2xx retransmitted T1..T2 until the ACK, Timer L', async (t) => {
  const h = harness();
  const inv = request('INVITE', { cseq: 3 });
  const tx = h.layer.createServer(inv, false, h.send, 'ok1') as InviteServerTransaction;
  tx.respond(tx.createResponse(200));
  t.equal(tx.state, 'accepted');
  h.clock.runUntil(8000);
  t.same(h.times(isStatus(200)), [0, 500, 1500, 3500, 7500]);
  const ack = request('ACK', { branch: 'z9hG4bKnewbranch', toTag: 'ok1', cseq: 3 });
  t.equal(h.layer.matchRequest(ack), undefined, 'the 2xx ACK has its own branch: no transaction');
  t.equal(h.layer.matchAckFor2xx(ack), tx, 'but it is found by dialog and CSeq');
  const acks: number[] = [];
  tx.on('ack', () => acks.push(h.clock.now()));
  tx.ackFor2xx(ack);
  tx.ackFor2xx(ack);
  h.clock.runUntil(20_000);
  t.same(h.times(isStatus(200)), [0, 500, 1500, 3500, 7500], 'retransmission stops');
  t.same(acks, [8000], 'reported once');
  h.layer.matchRequest(inv)!.receiveRequest(inv);
  t.same(h.times(isStatus(200)).length, 5, 'a retransmitted INVITE is absorbed in Accepted');
  h.clock.runUntil(32_000);
  t.equal(tx.state, 'terminated');
  t.equal(h.layer.matchAckFor2xx(ack), undefined);
});

t.test('INVITE server 2xx without ACK: ackTimeout after 64*T1', async (t) => {
  const h = harness();
  const tx = h.layer.createServer(request('INVITE'), false, h.send, 'x') as InviteServerTransaction;
  tx.respond(tx.createResponse(200));
  let when = -1;
  tx.on('ackTimeout', () => (when = h.clock.now()));
  h.clock.runUntil(40_000);
  t.equal(when, 32_000);
  t.same(h.times(), [0, 500, 1500, 3500, 7500, 11500, 15500, 19500, 23500, 27500, 31500]);
});

// --------------------------------------------------------------------- non-INVITE server

t.test('non-INVITE server: Trying absorbs, Proceeding repeats the provisional, Timer J', async (t) => {
  const h = harness();
  const req = request('OPTIONS');
  const tx = h.layer.createServer(req, false, h.send, 'o') as NonInviteServerTransaction;
  tx.receiveRequest(req);
  t.same(h.times(), [], 'Trying: a retransmission is absorbed');
  h.clock.runUntil(100);
  tx.respond(tx.createResponse(100));
  tx.receiveRequest(req);
  t.same(h.times(isStatus(100)), [100, 100]);
  h.clock.runUntil(300);
  tx.respond(tx.createResponse(200));
  h.clock.runUntil(400);
  h.layer.matchRequest(req)!.receiveRequest(req);
  t.same(h.times(isStatus(200)), [300, 400], 'Completed: the final response again');
  t.equal(reasonOf(() => tx.respond(tx.createResponse(500))), 'INVALID_STATE');
  h.clock.runUntil(300 + 31_999);
  t.equal(tx.state, 'completed');
  h.clock.runUntil(300 + 32_000);
  t.equal(tx.state, 'terminated', 'Timer J = 64*T1');
  t.equal(h.layer.serverCount, 0);
});

t.test('non-INVITE server over TCP: terminated right after the final response', async (t) => {
  const h = harness();
  const tx = h.layer.createServer(request('OPTIONS'), true, h.send, 'o');
  tx.respond(tx.createResponse(200));
  t.equal(tx.state, 'terminated');
});

// ------------------------------------------------------------------------------ matching

t.test('server matching (§17.2.3): branch, sent-by and method; CANCEL; ACK', async (t) => {
  const h = harness();
  const inv = request('INVITE', { branch: 'z9hG4bK111' });
  const tx = h.layer.createServer(inv, false, h.send, 'tag');
  t.equal(h.layer.matchRequest(request('INVITE', { branch: 'z9hG4bK111' })), tx);
  t.equal(h.layer.matchRequest(request('INVITE', { branch: 'z9hG4bK222' })), undefined, 'other branch');
  t.equal(
    h.layer.matchRequest(request('INVITE', { via: 'SIP/2.0/UDP other.example.com:5070;branch=z9hG4bK111' })),
    undefined,
    'same branch, other sent-by',
  );
  t.equal(h.layer.matchRequest(request('CANCEL', { branch: 'z9hG4bK111' })), undefined, 'a CANCEL is its own transaction');
  t.equal(h.layer.matchCancel(request('CANCEL', { branch: 'z9hG4bK111' })), tx, 'but refers to the INVITE');
  t.equal(h.layer.matchCancel(request('CANCEL', { branch: 'z9hG4bK999' })), undefined);
  t.equal(h.layer.matchRequest(request('ACK', { branch: 'z9hG4bK111', toTag: 'tag' })), tx);
  const opt = h.layer.createServer(request('OPTIONS', { branch: 'z9hG4bK111' }), false, h.send, 'o');
  t.equal(h.layer.matchRequest(request('OPTIONS', { branch: 'z9hG4bK111' })), opt, 'method separates transactions');
  t.equal(reasonOf(() => h.layer.createServer(request('ACK'), false, h.send, 'x')), 'INVALID_ARGUMENT');
});

t.test('RFC 2543 matching without a magic cookie (RFC 4475 §3.4.1 style)', async (t) => {
  const h = harness();
  const via = 'SIP/2.0/UDP iftgw.example.com';
  const inv = request('INVITE', { via });
  const tx = h.layer.createServer(inv, false, h.send, 'srv');
  t.equal(h.layer.matchRequest(request('INVITE', { via })), tx, 'retransmission');
  tx.respond(tx.createResponse(486));
  t.equal(h.layer.matchRequest(request('ACK', { via, toTag: 'srv' })), tx, 'ACK with the response To tag');
  t.equal(h.layer.matchRequest(request('ACK', { via, toTag: 'other' })), undefined, 'ACK with another To tag');
  t.equal(h.layer.matchRequest(request('INVITE', { via, cseq: 2 })), undefined, 'another CSeq');
  t.equal(h.layer.matchCancel(request('CANCEL', { via })), tx);
});

t.test('client matching (§17.1.3): branch and CSeq method', async (t) => {
  const h = harness();
  const tx = h.layer.createClient(request('INVITE', { branch: 'z9hG4bKc1' }), false, h.send);
  const ok = response(tx.request, 180);
  t.equal(h.layer.matchResponse(ok), tx);
  const other = response(request('CANCEL', { branch: 'z9hG4bKc1' }), 200);
  t.equal(h.layer.matchResponse(other), undefined, 'the CANCEL response is not the INVITE transaction');
  t.equal(reasonOf(() => h.layer.createClient(request('INVITE', { branch: 'z9hG4bKc1' }), false, h.send)), 'INVALID_ARGUMENT');
  t.equal(reasonOf(() => h.layer.createClient(request('ACK'), false, h.send)), 'INVALID_ARGUMENT');
  h.layer.clear();
  t.equal(tx.state, 'terminated');
  t.equal(h.layer.clientCount, 0);
});

t.test('a throwing listener does not break the transaction', async (t) => {
  const h = harness();
  const errors: string[] = [];
  const layer = new TransactionLayer({ clock: h.clock, onListenerError: (e, ev) => errors.push(`${ev}:${(e as Error).message}`) });
  const tx = layer.createClient(request('OPTIONS'), false, h.send);
  tx.on('final', () => {
    throw new Error('TU bug');
  });
  tx.receiveResponse(response(tx.request, 200));
  t.same(errors, ['final:TU bug']);
  t.equal(tx.state, 'completed');
  t.ok(tx instanceof NonInviteClientTransaction);
  t.ok(layer.createServer(request('INVITE', { branch: 'z9hG4bKs' }), false, h.send, 'a') instanceof InviteServerTransaction);
});
