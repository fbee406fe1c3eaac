/**
 * RFC 4475's 49 torture messages (valid and invalid) fed as UDP datagrams to a running
 * peer's SIP front end (a registrar and proxy, not a UAS): each gets the answer below or,
 * where SIP says so, none; the framing cases also go over TCP; afterwards the same peer
 * still registers a phone and carries a call.
 *
 * Expected answers, as a front end (RFC 3261 §16.3, §10.3) rather than a UAS:
 * well-formed requests to an AOR are proxied, so they are resolved in the overlay and get
 * 404 (nobody is registered); REGISTERs for AORs the peer holds no identity for get 403;
 * the parser's refusals get 400 naming the problem (as the stack's own table); wsinv and
 * mpart01 carry a Route to a next hop that cannot be reached: wsinv's is a DNS name of
 * example.com, which does not resolve, and gets 500 (RFC 3261 §16.9: a transport error is
 * a 503, which §16.7 step 6 turns into 500); mpart01's is 127.0.0.1:5080, where nothing
 * answers, and gets 408 when Timer F fires (the peer runs with T1 = 100 ms, so after 6.4 s);
 * bext01's Proxy-Require gets 420 (§16.3 step 5); zeromf's Max-Forwards 0 gets 483
 * (§16.3 step 3); unksm2's To isbn: URI gets 400 (RFC 4475 §3.3.4, "a registrar"); the
 * responses and insuf are dropped. novelsc, cparam02 and regescrt repeat an earlier
 * message's branch and sent-by (RFC 3261 §17.2.3 retransmissions on one endpoint), so
 * they go to the second peer's front end.
 */
import t from 'tap';
import { TORTURE, torture } from './stack/torture-cases.js';
import { rawTcp, rawUdp } from './stack/net-helpers.js';
import { SDP_ANSWER, SDP_OFFER, type SipPeer, TestUa, sipOverlay, startSipPeers, until } from './helpers.js';
import type { SipMessage, SipResponse } from '../../../usages/sip/stack/index.js';

type Expect = { status: number | null; reason?: RegExp };
const NF = { status: 404, reason: /^Not Found - .* is not registered in the overlay$/ };
const FORBIDDEN = { status: 403, reason: /^Forbidden - this peer holds no RELOAD identity for / };
const bad = (what: RegExp): Expect => ({ status: 400, reason: what });
const EXPECTED: Record<string, Expect> = {
  wsinv: { status: 500, reason: /next hop is unavailable/ },
  intmeth: NF,
  esc01: { status: 404, reason: /^Not Found - sips:user@example\.com@example\.net is not registered/ },
  escnull: { status: 403, reason: /^Forbidden - this peer holds no RELOAD identity for null-\?-null@example\.com$/ },
  esc02: NF,
  lwsdisp: NF,
  longreq: NF,
  dblreq: FORBIDDEN,
  semiuri: { status: 404, reason: /^Not Found - user;par=u@example\.net@example\.com is not registered/ },
  transports: NF,
  mpart01: { status: 408 },
  unreason: { status: null },
  noreason: { status: null },
  badinv01: bad(/Via/),
  clerr: bad(/Content-Length/),
  ncl: bad(/Content-Length/),
  scalar02: bad(/CSeq/),
  scalarlg: { status: null },
  quotbal: bad(/To/),
  ltgtruri: bad(/Request-URI/),
  lwsruri: bad(/Request-Line/),
  lwsstart: bad(/Request-Line/),
  trws: bad(/Request-Line/),
  escruri: bad(/Request-URI/),
  baddate: NF,
  regbadct: bad(/Contact/),
  badaspec: bad(/To/),
  baddn: bad(/header section/),
  badvers: { status: 505 },
  mismatch01: bad(/CSeq/),
  mismatch02: bad(/CSeq/),
  bigcode: { status: null },
  badbranch: bad(/branch/),
  insuf: { status: null },
  unkscm: { status: 416 },
  novelsc: { status: 416 },
  unksm2: { status: 400, reason: /To AOR must be a SIP or SIPS URI/ },
  bext01: { status: 420 },
  invut: NF,
  regaut01: FORBIDDEN,
  multi01: bad(/Call-ID/),
  mcl01: bad(/Content-Length/),
  bcast: { status: null },
  zeromf: { status: 483 },
  cparam01: FORBIDDEN,
  cparam02: FORBIDDEN,
  regescrt: FORBIDDEN,
  sdp01: NF,
  inv2543: NF,
};
const TO_SECOND_PEER = new Set(['novelsc', 'cparam02', 'regescrt']);

/** The Call-ID a torture message carries (raw octets; undefined if none). */
function callIdOf(data: Uint8Array): string | undefined {
  const m = /\r\n(?:call-id|i)[ \t]*:[ \t]*([^\r\n]*)/i.exec(Buffer.from(data).toString('latin1'));
  return m ? m[1]!.trim() : undefined;
}

const ov = await sipOverlay();
let peers: SipPeer[] = [];
t.teardown(async () => {
  for (const p of peers) await p.node.stop();
});
peers = await startSipPeers(ov, [
  { name: 'p1', frontEnd: { users: ['alice'], timers: { T1_MS: 100 } } },
  { name: 'p2', frontEnd: { timers: { T1_MS: 100 } } },
]);
const [fe1, fe2] = peers.map((p) => p.sip.frontEnd!) as [NonNullable<SipPeer['sip']['frontEnd']>, NonNullable<SipPeer['sip']['frontEnd']>];

t.test('the 49 messages over UDP: every answer as expected, nothing else', async (t) => {
  t.equal(Object.keys(EXPECTED).length, TORTURE.length, 'an expectation for every message');
  const sock = await rawUdp();
  t.teardown(() => sock.close());
  const byCallId = new Map<string, string>();
  for (const c of TORTURE) {
    const data = torture(c.name);
    const id = callIdOf(data);
    if (id) byCallId.set(id, c.name);
    await sock.send(data, TO_SECOND_PEER.has(c.name) ? fe2.uaAddress.port : fe1.uaAddress.port);
  }
  const answers = new Map<string, SipResponse>();
  const stray: SipMessage[] = [];
  const expectedAnswers = TORTURE.filter((c) => EXPECTED[c.name]!.status !== null).length;
  const collect = (): void => {
    for (const m of sock.inbox.drain()) {
      const name = byCallId.get(String(m.get('Call-ID') ?? '').trim());
      if (!name || m.isRequest()) stray.push(m);
      else if ((m as SipResponse).status < 200) continue; // 100 Trying while an INVITE is routed
      else if (!answers.has(name)) answers.set(name, m as SipResponse);
    }
  };
  await until('an answer to every answerable message', () => (collect(), answers.size >= expectedAnswers), 20_000).catch(() => undefined);
  await new Promise((r) => setTimeout(r, 1000));
  collect();
  for (const c of TORTURE) {
    const e = EXPECTED[c.name]!;
    const got = answers.get(c.name);
    if (e.status === null) {
      t.equal(got, undefined, `${c.name} (§${c.section}): no answer`);
      continue;
    }
    t.equal(got?.status, e.status, `${c.name} (§${c.section}): ${e.status}${got ? ` "${got.reason}"` : ''}`);
    if (e.reason) t.match(got?.reason, e.reason, `${c.name}: the reason phrase says why`);
    if (got) t.match(got.reason, /^[\x20-\x7e]*$/, `${c.name}: printable reason phrase`);
  }
  t.same(stray.map((m) => (m.isRequest() ? m.method : (m as SipResponse).status)), [], 'nothing but answers (and 100 Trying) came back');
  t.ok(fe1.stats.malformed >= 20, `${fe1.stats.malformed} malformed messages counted`);
});

t.test('framing errors over TCP: 400 and the connection closes; clerr waits for more', async (t) => {
  for (const name of ['ncl', 'mcl01']) {
    const conn = await rawTcp(fe1.uaAddress.port);
    conn.write(torture(name));
    const r = await conn.inbox.next(3000);
    t.equal(r && (r as SipResponse).status, 400, `${name} over TCP: 400`);
    await conn.closed;
    t.pass(`${name}: the front end closed the connection`);
  }
  const conn = await rawTcp(fe1.uaAddress.port);
  conn.write(torture('clerr'));
  t.equal(await conn.inbox.next(500), undefined, 'clerr over TCP: no answer while the body may still come (RFC 4475 §3.1.2.2)');
  conn.socket.destroy();
});

t.test('after the torture, the peer registers a phone and carries a call', async (t) => {
  const alice = await TestUa.start(`alice@${ov.overlay.configuration.instanceName}`, fe1.uaAddress);
  const bob = await TestUa.start(`bob@${ov.overlay.configuration.instanceName}`, fe2.uaAddress);
  t.teardown(async () => {
    await alice.stop();
    await bob.stop();
  });
  t.equal((await alice.register(60)).status, 200, 'REGISTER 200');
  const call = await bob.invite(`sip:alice@${ov.overlay.configuration.instanceName}`);
  t.equal(call.response.status, 200, 'the call is answered');
  t.equal(call.response.bodyText(), SDP_ANSWER, 'answer SDP intact');
  t.equal(Buffer.from(alice.received.find((m) => m.method === 'INVITE')!.body).toString(), SDP_OFFER, 'offer SDP intact');
  await bob.inDialog(call.dialog!, 'ACK');
  t.equal((await bob.inDialog(call.dialog!, 'BYE'))!.status, 200, 'BYE 200');
  // A malformed datagram right in the middle changes nothing.
  const sock = await rawUdp();
  await sock.send(torture('badinv01'), fe1.uaAddress.port);
  t.equal(((await sock.inbox.next(2000)) as SipResponse | undefined)?.status, 400, 'still 400 for a broken message');
  await sock.close();
  t.equal((await alice.unregisterAll()).status, 200, 'and un-REGISTER 200');
});
