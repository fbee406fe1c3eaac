/**
 * The DisCo focus on the SIP front end, with a small UA on the SIP stack (no sipp): three
 * in-process peers — p0 routes only, p1 creates the conference (capacity 1), p2 is focus-
 * capable. Covers the focus' SIP behaviour (RFC 4579 dial-in, 200 + SDP answer with
 * isfocus, ACK, re-INVITE, in-dialog OPTIONS, BYE, 481 / 488 / 489 / 404), delegation with
 * recruitment and ShaRe write access, the DISCO-REGISTRATION entries and the ACL, the
 * status section, and a clean leave of a secondary (its participant re-INVITEd).
 */
import t from 'tap';
import { toHex } from '../../../src/wire/codec.js';
import { ReloadError } from '../../../src/common/errors.js';
import { ErrorCode } from '../../../src/wire/constants.js';
import { DISCO_REGISTRATION_KIND, DiscoUsageError, currentPrimary, encodeDisCoRegistration, participantNodeOf } from '../../../usages/sdcon/index.js';
import { Dialog, SipRequest, formatUri, parseUri } from '../../../usages/sip/stack/index.js';
import { SDP_OFFER, TestUa, until } from '../sip/helpers.js';
import { CapabilityDirectory } from '../../../topology/landmarks/capabilities.js';
import { cryptoRandom } from '../../../src/common/random.js';
import { generateCallId, generateTag } from '../../../usages/sip/stack/index.js';
import { type DiscoPeer, OVERLAY, discoOverlay, startDiscoPeers } from './helpers.js';

const CONF = `sip:daily-conf-p1@${OVERLAY}`;
const NAME = `daily-conf-p1@${OVERLAY}`;
/** A directory whose lookups take `delayMs` (to have a call wait in the focus' decision). */
class SlowDirectory extends CapabilityDirectory {
  delayMs = 0;
  override async nearest(...args: Parameters<CapabilityDirectory['nearest']>): ReturnType<CapabilityDirectory['nearest']> {
    if (this.delayMs > 0) await new Promise((r) => setTimeout(r, this.delayMs));
    return super.nearest(...args);
  }
}
const slow = new SlowDirectory();
const ov = await discoOverlay();
const peers = await startDiscoPeers(ov, [
  { name: 'p0', disco: { focus: false } },
  { name: 'p1', disco: { capacity: 1, conferences: [CONF], directory: slow } },
  { name: 'p2', disco: { capacity: 2 } },
]);
const [p0, p1, p2] = peers as [DiscoPeer, DiscoPeer, DiscoPeer];
const left = new Set<DiscoPeer>();
const uas: TestUa[] = [];
t.teardown(async () => {
  for (const ua of uas) await ua.stop();
  for (const p of [...peers].reverse()) if (!left.has(p)) await p.node.stop();
});
const ua = async (name: string, via: DiscoPeer): Promise<TestUa> => {
  const u = await TestUa.start(`${name}@${OVERLAY}`, via.sipAt);
  uas.push(u);
  return u;
};

/** An in-dialog request of a UA's dialog, through its front end. */
async function inDialog(u: TestUa, d: Dialog, method: string, sdp?: string) {
  const req = d.createRequest(method);
  if (sdp) req.setBody(sdp, 'application/sdp');
  return u.ep.sendRequest(req, u.dest).finalResponse();
}

let aliceDialog: Dialog;
let alice: TestUa;

t.test('dial-in through a front end that is no focus: 200 + SDP answer from the focus', async (t) => {
  alice = await ua('alice', p0);
  const r = await alice.invite(CONF);
  t.equal(r.response.status, 200);
  t.match(r.response.get('Contact'), new RegExp(`^<sip:${NAME.replace(/[.]/g, '\\.')};gr=[A-Za-z0-9+/~]+>;isfocus$`), 'Contact: the conference GRUU of the focus, with isfocus (RFC 4579)');
  t.match(r.response.get('Allow-Events') ?? '', /conference/);
  const answer = r.response.bodyText();
  t.match(answer, /^v=0\r\n/);
  t.equal(answer.match(/^m=audio \d+ RTP\/AVP 0 8\r$/m)?.length, 1, 'the answer keeps the offered media line and formats, with the focus’ port');
  t.equal(r.response.getAll('Record-Route').length, 2, 'the front end record-routes itself (UA side and peer side)');
  aliceDialog = r.dialog!;
  await alice.inDialog(aliceDialog, 'ACK');
  const conf = p1.disco.conference(CONF)!;
  await until('alice in the roster', () => conf.focus.count === 1);
  const ep = conf.roster.localEndpoints()[0]!;
  t.equal(ep.user.entity, `sip:alice@${OVERLAY}`);
  t.equal(ep.endpoint.status, 'connected');
  t.equal(participantNodeOf(ep.endpoint), toHex(p0.node.nodeId), 'the participant’s peer is the front end she called through (X-DisCo-Participant-Node)');
});

t.test('re-INVITE, in-dialog OPTIONS, unknown dialog, bad SDP, other event packages', async (t) => {
  const re = await inDialog(alice, aliceDialog, 'INVITE', 'v=0\r\no=alice 1 2 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 5000 RTP/AVP 8\r\n');
  t.equal(re.status, 200, 're-INVITE answered');
  t.match(re.bodyText(), /o=disco-focus \d+ 2 IN IP4/, 'the answer’s o= version went up');
  t.match(re.bodyText(), /m=audio \d+ RTP\/AVP 8\r\n/, 'and follows the new offer');
  await alice.ep.sendStateless(aliceDialog.createAck(aliceDialog.localSeq!), alice.dest, { branch: `z9hG4bK${Date.now()}re` });
  t.equal((await inDialog(alice, aliceDialog, 'OPTIONS')).status, 200, 'in-dialog OPTIONS');

  const stray = new Dialog({ ...aliceDialog, id: { ...aliceDialog.id, remoteTag: 'nonexistent' }, routeSet: [...aliceDialog.routeSet] });
  t.equal((await inDialog(alice, stray, 'BYE')).status, 481, 'a BYE for a dialog the focus does not have: 481');

  const bob = await ua('bob', p0);
  const bad = await bob.invite(CONF, { sdp: 'this is not SDP' });
  t.equal(bad.response.status, 488, 'an offer that is not SDP: 488');

  const sub = new SipRequest('SUBSCRIBE', parseUri(CONF, 'request-uri'));
  sub.set('From', `<sip:bob@${OVERLAY}>;tag=x1`);
  sub.set('To', `<${CONF}>`);
  sub.set('Call-ID', `sub-${Date.now()}@t`);
  sub.set('CSeq', '1 SUBSCRIBE');
  sub.set('Contact', bob.contact);
  sub.set('Event', 'presence');
  const r = await bob.ep.sendRequest(sub, bob.dest).finalResponse();
  t.equal(r.status, 489, 'SUBSCRIBE for another event package: 489 Bad Event');

  const none = await bob.invite(`sip:nothing-conf-p1@${OVERLAY}`);
  t.equal(none.response.status, 404, 'a conference name nobody registered: 404 from the SIP usage');
});

t.test('the primary is full: it recruits p2, grants it write access and delegates the call', async (t) => {
  const carol = await ua('carol', p0);
  const r = await carol.invite(CONF);
  t.equal(r.response.status, 200, 'carol is answered');
  await carol.inDialog(r.dialog!, 'ACK');
  t.equal(p1.disco.stats.recruited, 1, 'p1 recruited one focus');
  const conf2 = p2.disco.conference(CONF);
  t.ok(conf2, 'p2 serves the conference now');
  t.equal(conf2!.role, 'secondary');
  await until('carol at p2', () => conf2!.focus.count === 1);
  t.match(r.response.get('Contact'), new RegExp(`gr=`), 'carol’s dialog is with p2’s GRUU');
  t.equal(r.response.getAll('Record-Route').length, 2, 'the delegating primary did not record-route (only p0 did)');

  const acl = await p0.disco.share.listAcl(NAME);
  const valid = acl.filter((e) => e.valid && e.item?.kind === DISCO_REGISTRATION_KIND).map((e) => [e.toUser, e.signer.userName, e.item!.allowDelegation]);
  t.same(valid.sort(), [[`p1@${OVERLAY}`, `p1@${OVERLAY}`, true], [`p2@${OVERLAY}`, `p1@${OVERLAY}`, true]].sort(), 'the ACL: the root item, and p1’s grant to p2 with allow_delegation (RFC 8076 §6.1)');
  const foci = await p0.disco.fetchFoci(NAME);
  t.same(foci.map((f) => [f.nodeHex, f.role]).sort(), [[toHex(p1.node.nodeId), 'primary'], [toHex(p2.node.nodeId), 'secondary']].sort(), 'two DISCO-REGISTRATION entries, each keyed by its focus');
  t.equal(currentPrimary(foci)?.nodeHex, toHex(p1.node.nodeId), 'the conference URI resolves to p1 as primary');
  await until('both rosters list alice and carol', () => [p1, p2].every((p) => (p.disco.conference(CONF)!.roster.merged().users?.list.length ?? 0) === 2));
  const st = p2.disco.status();
  t.match(st.conferences?.[0], { uri: CONF, role: 'secondary' }, 'the status section lists the conference');
  t.same(st.conferences?.[0]?.roster.map((r) => r.user).sort(), [`sip:alice@${OVERLAY}`, `sip:carol@${OVERLAY}`], '… with its roster');

  // A peer that was granted nothing cannot register as a focus (the storing peer checks the chain).
  const code = await p0.disco.share
    .writeShared(NAME, DISCO_REGISTRATION_KIND, encodeDisCoRegistration({ coordinate: '', nodeId: p0.node.nodeId }))
    .then(() => 'ok')
    .catch((e: unknown) => (e instanceof ReloadError ? e.errorCode : String(e)));
  t.equal(code, ErrorCode.forbidden, 'an unauthorized focus registration is refused with Error_Forbidden');
  await t.rejects(p2.disco.createConference(`sip:x-conf-p1@${OVERLAY}`), DiscoUsageError, 'only the Resource Owner creates a conference');
});

t.test('a secondary leaves cleanly: its registration goes, its participant is re-INVITEd by the primary', async (t) => {
  const carol = uas.find((u) => u.user.startsWith('carol'))!;
  const before = carol.received.filter((r) => r.method === 'INVITE').length;
  left.add(p2);
  await p2.node.leave();
  await until('carol re-INVITEd', () => carol.received.filter((r) => r.method === 'INVITE').length > before, 20_000);
  const inv = carol.received.filter((r) => r.method === 'INVITE').pop()!;
  t.equal(formatUri(inv.from().uri), CONF, 'From: the conference URI');
  t.match(inv.get('Contact'), /;isfocus$/);
  t.equal(inv.getAll('Record-Route').length, 1, 'Record-Route: the focus, so in-dialog requests come back to it');
  const conf = p1.disco.conference(CONF)!;
  await until('p1 serves alice and carol', () => conf.focus.count === 2);
  const foci = await p0.disco.fetchFoci(NAME);
  t.same(foci.map((f) => f.nodeHex), [toHex(p1.node.nodeId)], 'p2’s entry is gone (exists = false)');
  // carol hangs up the new call: BYE to the focus.
  const d = [...carol.dialogs.values()].pop()!;
  const bye = d.createRequest('BYE');
  const res = await carol.ep.sendRequest(bye, carol.dest).finalResponse();
  t.equal(res.status, 200, 'BYE in the new dialog answered by the focus');
  await until('carol left', () => conf.focus.count === 1);
  const r = await inDialog(alice, aliceDialog, 'BYE');
  t.equal(r.status, 200, 'alice hangs up');
  await until('nobody left', () => conf.focus.count === 0 && (conf.roster.merged().users?.list.length ?? 0) === 0);
  t.pass('the roster is empty');
});

t.test('CANCEL while a full focus is still deciding: 487, nothing delegated', async (t) => {
  const dave = await ua('dave', p0);
  const r = await dave.invite(CONF);
  t.equal(r.response.status, 200, 'dave fills the primary (capacity 1)');
  await dave.inDialog(r.dialog!, 'ACK');
  const conf = p1.disco.conference(CONF)!;
  await until('dave at p1', () => conf.focus.count === 1);
  slow.delayMs = 3000;
  const erin = await ua('erin', p0);
  const req = new SipRequest('INVITE', parseUri(CONF, 'request-uri'));
  req.set('From', `<sip:erin@${OVERLAY}>;tag=${generateTag(cryptoRandom)}`);
  req.set('To', `<${CONF}>`);
  req.set('Call-ID', generateCallId(cryptoRandom, '127.0.0.1'));
  req.set('CSeq', '1 INVITE');
  req.set('Contact', erin.contact);
  req.setBody(SDP_OFFER, 'application/sdp');
  const delegatedBefore = p1.disco.stats.delegated;
  const tx = erin.ep.sendRequest(req, erin.dest);
  let cancelSent = false;
  tx.on('provisional', () => {
    if (cancelSent) return;
    cancelSent = true;
    void erin.ep.cancel(tx, erin.dest);
  });
  const res = await tx.finalResponse();
  slow.delayMs = 0;
  t.ok(cancelSent, 'erin cancelled after the 100 Trying');
  t.equal(res.status, 487, 'the INVITE ends with 487 Request Terminated (RFC 3261 §9.2)');
  await new Promise((r) => setTimeout(r, 3500));
  t.equal(conf.focus.count, 1, 'the focus did not take erin after the decision finished');
  t.equal(p1.disco.stats.delegated, delegatedBefore, 'nor delegated her');
  await inDialog(dave, r.dialog!, 'BYE');
});
