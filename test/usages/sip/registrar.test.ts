/**
 * The front end's registrar (RFC 3261 §10.3) and location service with in-process peers:
 * Min-Expires (423), the maximum interval, contact_prefs from Contact feature parameters,
 * several contacts forking a call, REGISTER ordering (CSeq), `Contact: *`, queries, binding
 * lapse, OPTIONS to the front end, the domain restriction of the overlay configuration,
 * and the removal of registrations when the usage stops.
 */
import t from 'tap';
import { SIP_REGISTRATION_KIND, decodeSipRegistration } from '../../../usages/sip/index.js';
import { SipRequest, type SipResponse, generateCallId, generateTag, parseNameAddr, parseUri } from '../../../usages/sip/stack/index.js';
import { cryptoRandom } from '../../../src/common/random.js';
import { type SipPeer, TestUa, sipOverlay, startSipPeers } from './helpers.js';

const ov = await sipOverlay();
const DOMAIN = ov.overlay.configuration.instanceName;
const AOR = (u: string) => `${u}@${DOMAIN}`;
let peers: SipPeer[] = [];
const uas: TestUa[] = [];
t.teardown(async () => {
  for (const u of uas) await u.stop();
  for (const p of peers) await p.node.stop();
});
peers = await startSipPeers(ov, [
  { name: 'p1', frontEnd: { users: ['alice', 'carol'], minExpiresS: 30, maxExpiresS: 300 } },
  { name: 'p2', frontEnd: {} },
]);
const [p1, p2] = peers as [SipPeer, SipPeer];
const fe1 = p1.sip.frontEnd!;
const fe2 = p2.sip.frontEnd!;
const ua = async (user: string, at = fe1) => {
  const u = await TestUa.start(AOR(user), at.uaAddress);
  uas.push(u);
  return u;
};

/** A REGISTER with full control of Call-ID, CSeq, Contact and Expires. */
function register(u: TestUa, o: { callId: string; cseq: number; contact?: string; expires?: number }): Promise<SipResponse> {
  const req = new SipRequest('REGISTER', parseUri(`sip:${DOMAIN}`, 'request-uri'));
  req.set('From', `<sip:${u.user}>;tag=${generateTag(cryptoRandom)}`);
  req.set('To', `<sip:${u.user}>`);
  req.set('Call-ID', o.callId);
  req.set('CSeq', `${o.cseq} REGISTER`);
  if (o.contact !== undefined) req.set('Contact', o.contact);
  if (o.expires !== undefined) req.set('Expires', String(o.expires));
  return u.ep.sendRequest(req, u.dest).finalResponse();
}

async function live(user: string) {
  return (await p2.node.fetchValues(AOR(user), SIP_REGISTRATION_KIND)).values.filter((v) => v.data.value.value.exists);
}

t.test('Min-Expires and the maximum interval', async (t) => {
  const alice = await ua('alice');
  const brief = await alice.register(10);
  t.equal(brief.status, 423, 'Expires 10 < Min-Expires 30: 423');
  t.equal(brief.get('Min-Expires'), '30');
  const long = await alice.register(7200);
  t.equal(long.status, 200);
  t.equal(parseNameAddr(long.get('Contact')!, 'Contact').params.find((p) => p.name === 'expires')?.value, '300', 'capped at 300 s');
  const entries = await live('alice');
  t.ok(entries[0]!.data.lifetime <= 300 && entries[0]!.data.lifetime >= 299, 'stored with the granted lifetime');
  t.equal((await alice.unregisterAll()).status, 200);
});

t.test('contact_prefs from the Contact’s feature parameters (RFC 3840)', async (t) => {
  const alice = await ua('alice');
  const r = await alice.register(60, { contactParams: ';audio;video;methods="INVITE,BYE";+sip.instance="<urn:uuid:1>";q=0.5' });
  t.equal(r.status, 200);
  const reg = decodeSipRegistration(((await live('alice'))[0]!.data.value as { value: { value: Uint8Array } }).value.value);
  t.equal(reg.type === 'route' && reg.contactPrefs, 'audio;video;methods="INVITE,BYE"', 'feature tags kept, +sip.instance and q left out');
  t.equal((await alice.unregisterAll()).status, 200);
});

t.test('two phones for one AOR: one overlay entry, the call forks, the first answer wins', async (t) => {
  const desk = await ua('alice');
  const cell = await ua('alice');
  t.equal((await desk.register(60)).status, 200);
  const both = await cell.register(60);
  t.equal(both.getAll('Contact').length, 2, 'the 200 lists both bindings');
  t.equal((await live('alice')).length, 1, 'one SIP-REGISTRATION entry (keyed by alice’s Node-ID) for both');
  let cellCancelled = false;
  cell.answer = (_req, tx) => {
    tx.respond(tx.createResponse(180));
    tx.on('cancelled', () => void (cellCancelled = true));
  };
  desk.answer = (req, tx) => {
    tx.respond(tx.createResponse(180));
    setTimeout(() => desk.accept(req, tx), 300);
  };
  const bob = await ua('bob', fe2);
  const call = await bob.invite(`sip:${AOR('alice')}`);
  t.equal(call.response.status, 200, 'answered');
  t.match(call.response.get('Contact'), `:${desk.ep.udpAddress!.port}`, 'by the desk phone');
  await new Promise((r) => setTimeout(r, 300));
  t.ok(cellCancelled, 'the cell phone’s branch was cancelled (RFC 3261 §16.7 step 10)');
  await bob.inDialog(call.dialog!, 'ACK');
  t.equal((await bob.inDialog(call.dialog!, 'BYE'))!.status, 200);
  t.equal((await desk.unregisterAll()).status, 200);
});

t.test('REGISTER ordering, Contact: *, and queries', async (t) => {
  const carol = await ua('carol');
  const callId = generateCallId(cryptoRandom);
  t.equal((await register(carol, { callId, cseq: 5, contact: carol.contact, expires: 60 })).status, 200);
  const stale = await register(carol, { callId, cseq: 4, contact: carol.contact, expires: 120 });
  t.equal(stale.status, 500, 'a lower CSeq in the same Call-ID is refused (RFC 3261 §10.3 step 7)');
  t.match(stale.reason, /out of order/);
  const before = fe1.stats.registrations;
  const query = await register(carol, { callId, cseq: 6 });
  t.equal(query.status, 200, 'a query');
  t.equal(query.getAll('Contact').length, 1, 'lists the binding');
  t.equal(fe1.stats.registrations, before, 'and stores nothing');
  t.equal((await register(carol, { callId, cseq: 7, contact: '*', expires: 60 })).status, 400, 'Contact: * needs Expires: 0');
  t.equal((await register(carol, { callId, cseq: 8, contact: `*, ${carol.contact}`, expires: 0 })).status, 400, 'and must be alone');
  t.equal((await register(carol, { callId, cseq: 9, contact: '*', expires: 0 })).status, 200);
  t.same(fe1.bindings.get(AOR('carol')), []);
  t.same(await live('carol'), [], 'the overlay entry is removed (exists = false)');
});

t.test('OPTIONS to the front end itself', async (t) => {
  const u = await ua('alice');
  const req = new SipRequest('OPTIONS', parseUri(`sip:${fe1.uaAddress.host}:${fe1.uaAddress.port}`, 'request-uri'));
  req.set('From', `<sip:${u.user}>;tag=1`);
  req.set('To', `<sip:${fe1.uaAddress.host}:${fe1.uaAddress.port}>`);
  req.set('Call-ID', generateCallId(cryptoRandom));
  req.set('CSeq', '1 OPTIONS');
  const r = await u.ep.sendRequest(req, u.dest).finalResponse();
  t.equal(r.status, 200);
  t.match(r.getAll('Allow').join(', '), /INVITE.*REGISTER/);
});

t.test('a binding lapses; the overlay entry with it', async (t) => {
  // p2 registers its own user (the peer's own identity) with a 1 s interval.
  const p2user = await ua('p2', fe2);
  t.equal((await p2user.register(1)).status, 200);
  t.equal((await live('p2')).length, 1);
  await new Promise((r) => setTimeout(r, 1600));
  t.same(fe2.bindings.get(AOR('p2')), [], 'the binding lapsed');
  t.same(await live('p2'), [], 'and the stored lifetime ended with it');
  const alice = await ua('alice');
  t.equal((await alice.invite(`sip:${AOR('p2')}`)).response.status, 404);
});

t.test('stopping the usage removes its registrations from the overlay', async (t) => {
  const alice = await ua('alice');
  t.equal((await alice.register(120)).status, 200);
  t.equal((await live('alice')).length, 1);
  await p1.sip.stop!();
  t.same(await live('alice'), [], 'exists = false stored on stop');
});

t.test('the overlay’s domain restriction (RFC 7904 §3.4)', async (t) => {
  const restricted = await sipOverlay({ sipDomainRestriction: { enable: true, patterns: ['other\\.example'] } });
  const rp = await startSipPeers(restricted, [{ name: 'r1', frontEnd: { users: ['alice'] } }]);
  t.teardown(async () => {
    for (const p of rp) await p.node.stop();
  });
  const fe = rp[0]!.sip.frontEnd!;
  t.equal(rp[0]!.sip.domains.allowsAor('x@other.example'), true, 'the configuration’s pattern reached the usage');
  const u = await TestUa.start(`alice@${DOMAIN}`, fe.uaAddress);
  uas.push(u);
  const r = await u.register(60);
  t.equal(r.status, 404);
  t.match(r.reason, /not served by this overlay/);
  const call = await u.invite(`sip:bob@${DOMAIN}`);
  t.equal(call.response.status, 404, 'a call to a domain the overlay does not serve: 404');
  t.match(call.response.reason, /not served by this overlay/);
  await t.rejects(rp[0]!.sip.register(), { name: 'SipUsageError' }, 'the usage refuses to store outside the served domains');
});
