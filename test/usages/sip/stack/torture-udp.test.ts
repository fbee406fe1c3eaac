/**
 * The 49 RFC 4475 messages sent as datagrams (and some over TCP) to a SipEndpoint running
 * a small UAS: each gets the documented answer (or none), the reason phrase of every 400
 * names the problem, and the endpoint keeps working afterwards.
 */
import t from 'tap';
import {
  type DroppedReport,
  type MalformedReport,
  SipEndpoint,
  SipRequest,
  type SipResponse,
  parseMessage,
  parseNameAddr,
  serverTransactionKey,
  parseUri,
  uasPrecheck,
} from '../../../../usages/sip/stack/index.js';
import { Inbox, rawTcp, rawUdp, readResponse } from './net-helpers.js';
import { TORTURE, torture } from './torture-cases.js';

const POLICY = { methods: ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS'] };

async function startUas(): Promise<SipEndpoint> {
  const ep = await SipEndpoint.start({ forceRport: true });
  ep.on('request', (req, tx) => {
    if (!tx) return;
    const reject = uasPrecheck(req, POLICY);
    if (reject) {
      const res = tx.createResponse(reject.status, reject.reason);
      for (const h of reject.headers) res.append(h.name, h.value);
      tx.respond(res);
      return;
    }
    const res = tx.createResponse(200);
    if (req.method === 'INVITE') {
      res.set('Contact', `<sip:uas@127.0.0.1:${ep.udpAddress!.port}>`);
      res.setBody('v=0\r\no=- 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n', 'application/sdp');
    }
    tx.respond(res);
  });
  return ep;
}

/** Messages whose top Via branch, sent-by and method equal an earlier message's. */
const RETRANSMISSIONS: Record<string, string> = { novelsc: 'unkscm', cparam02: 'cparam01', regescrt: 'escnull' };

function transactionKeyOf(data: Uint8Array): string | undefined {
  try {
    const m = parseMessage(data);
    return m instanceof SipRequest ? serverTransactionKey(m) : undefined;
  } catch {
    return undefined;
  }
}

/** Whether the raw To of a message parses (only then can a 400 add its tag). */
function rawToParses(data: Uint8Array): boolean {
  const m = /\r\n(?:to|t)[ \t]*:[ \t]*([^\r\n]*)/i.exec(Buffer.from(data).toString('utf8'));
  try {
    parseNameAddr(m![1]!, 'To');
    return true;
  } catch {
    return false;
  }
}

/** The Call-ID a torture message carries (read from the raw octets; undefined if none). */
function callIdOf(data: Uint8Array): string | undefined {
  const m = /\r\n(?:call-id|i)[ \t]*:[ \t]*([^\r\n]*)/i.exec(Buffer.from(data).toString('latin1'));
  return m ? m[1]!.trim() : undefined;
}

t.test('every RFC 4475 message as a UDP datagram gets the documented answer', async (t) => {
  const ep = await startUas();
  t.teardown(() => ep.stop());
  const malformed: MalformedReport[] = [];
  const dropped: DroppedReport[] = [];
  ep.on('malformed', (m) => malformed.push(m));
  ep.on('dropped', (d) => dropped.push(d));
  const raw = await rawUdp();
  t.teardown(() => raw.close());
  // Every response, by Call-ID (an INVITE's 2xx is retransmitted until ACKed; a later
  // message must not take an earlier message's answer).
  const byCallId = new Map<string, Inbox<SipResponse>>();
  const inboxFor = (id: string): Inbox<SipResponse> => {
    if (!byCallId.has(id)) byCallId.set(id, new Inbox());
    return byCallId.get(id)!;
  };
  raw.socket.on('message', (msg) => {
    const r = readResponse(new Uint8Array(msg)) as SipResponse;
    inboxFor(r.get('Call-ID') ?? '').push(r);
  });

  const answers: string[] = [];
  // Three messages reuse an earlier message's branch and sent-by: by RFC 3261 §17.2.3 they
  // are retransmissions of that request and get its response again.
  const firstByKey = new Map<string, string>();
  for (const c of TORTURE) {
    const data = torture(c.name);
    let callId = callIdOf(data) ?? `none-${c.name}`;
    const key = transactionKeyOf(data);
    if (key !== undefined) {
      const earlier = firstByKey.get(key);
      if (earlier !== undefined) {
        t.ok(RETRANSMISSIONS[c.name] === earlier, `${c.name} is a retransmission of ${earlier}`);
        callId = callIdOf(torture(earlier))!;
      } else {
        firstByKey.set(key, c.name);
      }
    }
    await raw.send(data, ep.udpAddress!.port);
    const res = await inboxFor(callId).next(c.answer === null ? 300 : 3000);
    answers.push(`${c.name}:${res?.status ?? 'none'}`);
    t.equal(res?.status ?? null, c.answer, `${c.section} ${c.name} → ${c.answer ?? 'no answer'}${res ? ` (${res.status} ${res.reason})` : ''}`);
    if (res?.status === 400 && c.parseError) {
      t.ok(res.reason.startsWith('Bad Request - '), `${c.name}: reason phrase "${res.reason}"`);
      if (c.parseError.header) t.ok(res.reason.includes(c.parseError.header), `${c.name}: the reason names ${c.parseError.header}`);
      const toParses = rawToParses(data);
      t.equal(/;[ \t]*tag[ \t]*=/i.test(res.get('To') ?? ''), toParses, `${c.name}: To tag added ${toParses ? '' : 'only when the To parses'}`);
    }
  }
  t.equal(answers.length, 49);

  const expectedMalformed = TORTURE.filter((c) => c.parseError).map((c) => c.name);
  t.equal(malformed.length, expectedMalformed.length, `'malformed' reported for the ${expectedMalformed.length} messages that do not parse`);
  t.same(
    malformed.filter((m) => m.response).length,
    TORTURE.filter((c) => c.parseError && c.answer === 400).length,
    '400 sent for each answerable one',
  );
  t.same(
    dropped.map((d) => d.message.get('Call-ID')),
    ['unreason.1234ksdfak3j2erwedfsASdf', 'noreason.asndj203insdf99223ndf', 'bcast.0384840201234ksdfak3j2erwedfsASdf'],
    'responses not addressed to the endpoint are dropped (RFC 3261 §18.1.2)',
  );

  // The endpoint keeps working: a normal transaction from another endpoint.
  const client = await SipEndpoint.start();
  t.teardown(() => client.stop());
  const port = ep.udpAddress!.port;
  const req = new SipRequest('OPTIONS', parseUri(`sip:uas@127.0.0.1:${port}`));
  req.set('To', `<sip:uas@127.0.0.1:${port}>`).set('From', '<sip:c@127.0.0.1>;tag=after').set('Call-ID', 'after-torture').set('CSeq', '1 OPTIONS');
  const tx = client.sendRequest(req, { transport: 'UDP', host: '127.0.0.1', port });
  t.equal((await tx.finalResponse()).status, 200, 'still answering after the torture run');
});

t.test('the three messages that collide with an earlier transaction, each on a fresh endpoint', async (t) => {
  for (const name of Object.keys(RETRANSMISSIONS)) {
    const ep = await startUas();
    const raw = await rawUdp();
    await raw.send(torture(name), ep.udpAddress!.port);
    const res = (await raw.inbox.next()) as SipResponse;
    const c = TORTURE.find((x) => x.name === name)!;
    t.equal(res.status, c.answer, `${name} → ${c.answer}`);
    t.equal(res.get('Call-ID'), callIdOf(torture(name)), `${name}: its own response`);
    await raw.close();
    await ep.stop();
  }
});

t.test('RFC 4475 framing cases over TCP', async (t) => {
  const ep = await startUas();
  t.teardown(() => ep.stop());
  const port = ep.tcpAddress!.port;
  const send = async (name: string) => {
    const c = await rawTcp(port);
    c.write(torture(name));
    return c;
  };

  const ok = await send('wsinv');
  t.equal(((await ok.inbox.next()) as SipResponse).status, 200, 'wsinv: 200 on the same connection');
  ok.socket.destroy();

  const bad = await send('badinv01');
  t.equal(((await bad.inbox.next()) as SipResponse).status, 400, 'badinv01 frames fine: 400');
  bad.write(torture('lwsdisp'));
  t.equal(((await bad.inbox.next()) as SipResponse).status, 200, 'and the connection stays usable');
  bad.socket.destroy();

  for (const name of ['ncl', 'mcl01', 'inv2543']) {
    const c = await send(name);
    const res = (await c.inbox.next()) as SipResponse;
    t.equal(res.status, 400, `${name}: 400 (${res.reason})`);
    await c.closed;
    t.pass(`${name}: connection closed, the framing cannot recover`);
  }

  const clerr = await send('clerr');
  t.equal(await clerr.inbox.next(300), undefined, 'clerr: waits for the rest of the body');
  t.equal(clerr.socket.destroyed, false);
  clerr.socket.destroy();
});
