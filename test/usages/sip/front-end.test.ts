/**
 * The SIP front end with in-process peers on loopback (TLS overlay links, real SIP sockets)
 * and user agents on the SIP stack: REGISTER stores the registration in the overlay
 * (keyed by the user's Node-ID, pointing at the front-end peer), a call through another
 * peer is resolved, AppAttached and carried over an authenticated TLS connection, answered
 * with the SDP untouched, and ended by BYE along the Record-Route; 403 for an AOR the peer
 * holds no identity for, 404 for an unregistered AOR, un-REGISTER, CANCEL, GRUUs,
 * forwarding, and the Node-ID check of the peer connection.
 */
import t from 'tap';
import { SIP_REGISTRATION_KIND, decodeSipRegistration, decodeGruuParam } from '../../../usages/sip/index.js';
import { bytesEqual, toHex } from '../../../src/wire/codec.js';
import { SDP_ANSWER, SDP_OFFER, type SipPeer, TestUa, sipOverlay, startSipPeers } from './helpers.js';
import { SipConnectError } from '../../../usages/sip/connector.js';
import { parseNameAddr, parseUri, getUriParam } from '../../../usages/sip/stack/index.js';

const ov = await sipOverlay();
const AOR = (u: string) => `${u}@${ov.overlay.configuration.instanceName}`;
let peers: SipPeer[] = [];
const uas: TestUa[] = [];
t.teardown(async () => {
  for (const u of uas) await u.stop();
  for (const p of peers) await p.node.stop();
});
peers = await startSipPeers(ov, [
  { name: 'p1', frontEnd: { users: ['alice'] } },
  { name: 'p2', frontEnd: { users: ['bob'] } },
  { name: 'p3', frontEnd: false },
]);
const [p1, p2, p3] = peers as [SipPeer, SipPeer, SipPeer];
const fe1 = p1.sip.frontEnd!;
const fe2 = p2.sip.frontEnd!;
const ua = async (user: string, fe: typeof fe1) => {
  const u = await TestUa.start(AOR(user), fe.uaAddress);
  uas.push(u);
  return u;
};

t.test('REGISTER stores the registration; a call through another peer completes', async (t) => {
  const alice = await ua('alice', fe1);
  const reg = await alice.register(120);
  t.equal(reg.status, 200, 'REGISTER answered 200');
  const contact = parseNameAddr(reg.get('Contact')!, 'Contact');
  t.equal(contact.params.find((p) => p.name === 'expires')?.value, '120', 'granted expiry in the Contact');

  // The overlay holds alice's entry: key = alice's Node-ID, value = route to p1.
  const aliceId = fe1.identities.get(AOR('alice'))!;
  const f = await p3.node.fetchValues(AOR('alice'), SIP_REGISTRATION_KIND);
  t.equal(f.values.length, 1, 'one SIP-REGISTRATION entry');
  const v = f.values[0]!.data.value as { model: 'dictionary'; key: Uint8Array; value: { exists: boolean; value: Uint8Array } };
  t.ok(bytesEqual(v.key, aliceId.nodeId), 'dictionary key is alice’s Node-ID');
  t.equal(f.values[0]!.signer!.certificate.userName, AOR('alice'), 'signed by alice’s certificate');
  const r = decodeSipRegistration(v.value.value);
  t.same(r.type === 'route' && r.destinations.map((d) => d.type === 'node' && toHex(d.id)), [toHex(p1.node.nodeId)], 'destination list leads to p1');
  t.ok(f.values[0]!.data.lifetime <= 120 && f.values[0]!.data.lifetime >= 119, `lifetime follows Expires (${f.values[0]!.data.lifetime})`);

  const bob = await ua('bob', fe2);
  const call = await bob.invite(`sip:${AOR('alice')}`);
  t.equal(call.response.status, 200, 'the call is answered');
  t.equal(call.response.bodyText(), SDP_ANSWER, 'the answer SDP arrives byte for byte');
  const inv = alice.received.find((m) => m.method === 'INVITE')!;
  t.ok(inv, 'alice’s UA received the INVITE');
  t.equal(Buffer.from(inv.body).toString('utf8'), SDP_OFFER, 'the offer SDP arrives byte for byte');
  const rr = inv.recordRoutes().map((n) => n.uri);
  t.equal(rr.length, 4, 'four Record-Route entries (double record-routing on both peers)');
  t.match(rr.map((u) => (u.kind === 'sip' ? `${u.user ?? ''}@${u.port};${getUriParam(u, 'transport') ?? ''}` : '')), [
    `@${fe1.uaAddress.port};`,
    `node-${toHex(p1.node.nodeId)}@${fe1.peerAddress.port};tls`,
    `node-${toHex(p2.node.nodeId)}@${fe2.peerAddress.port};tls`,
    `@${fe2.uaAddress.port};`,
  ]);
  t.ok(fe2.connector.existing(p1.node.nodeId), 'p2 holds an authenticated SIP connection to p1');

  await bob.inDialog(call.dialog!, 'ACK');
  await new Promise((r) => setTimeout(r, 300));
  t.ok(alice.received.some((m) => m.method === 'ACK'), 'the ACK went through both peers to alice');
  const bye = await bob.inDialog(call.dialog!, 'BYE');
  t.equal(bye!.status, 200, 'BYE answered 200 by alice');
  t.equal([...alice.dialogs.values()][0]!.state, 'terminated', 'the BYE ended alice’s dialog');
  t.equal((await alice.unregisterAll()).status, 200, 'Contact: * removes the binding');
  t.same(fe1.bindings.get(AOR('alice')), []);
});

t.test('REGISTER for an AOR this peer holds no identity for: 403', async (t) => {
  const mallory = await ua('mallory', fe1);
  const r = await mallory.register(60);
  t.equal(r.status, 403);
  t.match(r.reason, /no RELOAD identity for mallory@/);
  // bob's identity is at p2, not at p1.
  const r2 = await mallory.register(60, { aor: AOR('bob') });
  t.equal(r2.status, 403);
});

t.test('INVITE to an unregistered AOR: 404', async (t) => {
  const bob = await ua('bob', fe2);
  const call = await bob.invite(`sip:${AOR('nobody')}`);
  t.equal(call.response.status, 404);
  t.match(call.response.reason, /not registered in the overlay/);
});

t.test('un-REGISTER stores exists=false; the AOR then gives 404', async (t) => {
  const carolFe = fe2; // bob's front end holds bob
  const bob = await ua('bob', carolFe);
  t.equal((await bob.register(60)).status, 200);
  t.equal((await p1.node.fetchValues(AOR('bob'), SIP_REGISTRATION_KIND)).values.filter((v) => v.data.value.value.exists).length, 1);
  t.equal((await bob.register(0)).status, 200, 'Expires: 0 accepted');
  const f = await p1.node.fetchValues(AOR('bob'), SIP_REGISTRATION_KIND);
  t.equal(f.values.filter((v) => v.data.value.value.exists).length, 0, 'no live entry after un-REGISTER');
  const alice = await ua('alice', fe1);
  t.equal((await alice.invite(`sip:${AOR('bob')}`)).response.status, 404);
});

t.test('CANCEL of a ringing call: 487 through both peers', async (t) => {
  const alice = await ua('alice', fe1);
  t.equal((await alice.register(60)).status, 200);
  let cancelled = false;
  alice.answer = (_req, tx) => {
    tx.respond(tx.createResponse(180));
    tx.on('cancelled', () => void (cancelled = true));
  };
  const bob = await ua('bob', fe2);
  const { SipRequest, generateTag, generateCallId } = await import('../../../usages/sip/stack/index.js');
  const { cryptoRandom } = await import('../../../src/common/random.js');
  const req = new SipRequest('INVITE', parseUri(`sip:${AOR('alice')}`, 'request-uri'));
  req.set('From', `<sip:${AOR('bob')}>;tag=${generateTag(cryptoRandom)}`);
  req.set('To', `<sip:${AOR('alice')}>`);
  req.set('Call-ID', generateCallId(cryptoRandom));
  req.set('CSeq', '1 INVITE');
  req.set('Contact', bob.contact);
  const tx = bob.ep.sendRequest(req, bob.dest);
  await new Promise<void>((resolve, reject) => {
    tx.on('provisional', (r) => r.status === 180 && resolve());
    tx.on('final', (r) => reject(new Error(`final ${r.status} before 180`)));
  });
  await bob.ep.cancel(tx, bob.dest);
  const final = await tx.finalResponse();
  t.equal(final.status, 487, 'the INVITE ends with 487');
  t.ok(cancelled, 'alice’s UA saw the CANCEL');
  t.equal((await alice.unregisterAll()).status, 200);
});

t.test('a phone on TCP whose Contact omits transport=tcp: INVITE, ACK and BYE reach it over its TCP flow', async (t) => {
  const alice = await TestUa.start(AOR('alice'), fe1.uaAddress, 'TCP');
  uas.push(alice);
  // The UA's UDP socket is on another port number, so a request sent by RFC 3263 rules alone
  // (no transport parameter → UDP) would not reach it.
  const bare = `<sip:alice@127.0.0.1:${alice.ep.tcpAddress!.port}>`;
  t.not(alice.ep.udpAddress!.port, alice.ep.tcpAddress!.port, 'the UA’s UDP and TCP ports differ');
  t.equal((await alice.register(60, { contact: bare })).status, 200, 'REGISTER over TCP, Contact without transport');
  const { Dialog } = await import('../../../usages/sip/stack/index.js');
  alice.answer = (req, tx) => {
    const ok = tx.createResponse(200);
    ok.set('Contact', bare);
    ok.setBody(SDP_ANSWER, 'application/sdp');
    const d = Dialog.asUas(req, ok);
    alice.dialogs.set(d.key, d);
    tx.respond(ok);
  };
  const bob = await ua('bob', fe2);
  const call = await bob.invite(`sip:${AOR('alice')}`);
  t.equal(call.response.status, 200, 'answered');
  await bob.inDialog(call.dialog!, 'ACK');
  t.equal((await bob.inDialog(call.dialog!, 'BYE'))?.status, 200, 'the BYE reached alice and was answered');
  const seen = alice.received.map((r) => `${r.method}/${r.received?.transport}`);
  t.same(seen.filter((m) => !m.startsWith('REGISTER')), ['INVITE/TCP', 'ACK/TCP', 'BYE/TCP'], 'all three over TCP');
  t.equal((await alice.unregisterAll()).status, 200);
});

t.test('GRUU: pub-gruu in the 200 to REGISTER; a call to it reaches the UA without a Fetch', async (t) => {
  const alice = await ua('alice', fe1);
  const r = await alice.register(60, { contactParams: ';+sip.instance="<urn:uuid:00000000-0000-1000-8000-000000000001>"', supported: 'gruu' });
  t.equal(r.status, 200);
  const c = parseNameAddr(r.get('Contact')!, 'Contact');
  const gruu = c.params.find((p) => p.name === 'pub-gruu')?.value;
  t.ok(gruu, `pub-gruu ${gruu}`);
  const gr = getUriParam(parseUri(gruu!) as never, 'gr');
  t.same(decodeGruuParam(String(gr)).map((d) => d.type === 'node' && toHex(d.id)), [toHex(p1.node.nodeId)], 'the GRUU’s destination list is p1');
  const fetchesBefore = fe2.stats.resolved;
  const bob = await ua('bob', fe2);
  const call = await bob.invite(gruu!);
  t.equal(call.response.status, 200, 'the call to the GRUU is answered');
  t.equal(fe2.stats.resolved, fetchesBefore, 'no overlay resolution for a GRUU');
  await bob.inDialog(call.dialog!, 'ACK');
  t.equal((await bob.inDialog(call.dialog!, 'BYE'))!.status, 200);
  t.equal((await alice.unregisterAll()).status, 200);
});

t.test('forwarding (sip_registration_uri): calls to p2’s user go to alice', async (t) => {
  const alice = await ua('alice', fe1);
  t.equal((await alice.register(60)).status, 200);
  await p2.sip.forward(`sip:${AOR('alice')}`, { lifetimeS: 60 });
  const res = await p3.sip.resolve(`sip:${AOR('p2')}`);
  t.same(res.targets.map((x) => x.aors), [[AOR('p2'), AOR('alice')]], 'resolution follows the forwarding');
  const bob = await ua('bob', fe2);
  const call = await bob.invite(`sip:${AOR('p2')}`);
  t.equal(call.response.status, 200, 'answered by alice');
  const inv = alice.received.filter((m) => m.method === 'INVITE').pop()!;
  t.equal(parseNameAddr(inv.get('To')!, 'To').uri.kind === 'sip' && (parseNameAddr(inv.get('To')!, 'To').uri as { user?: string }).user, 'p2', 'the To still names the called AOR');
  await bob.inDialog(call.dialog!, 'ACK');
  t.equal((await bob.inDialog(call.dialog!, 'BYE'))!.status, 200);
  await p2.sip.unregister();
  t.equal((await alice.unregisterAll()).status, 200);
});

t.test('a peer whose certificate is not the terminal destination is refused (RFC 7904 §5.1)', async (t) => {
  // p3 has no front end: point a destination list at p3 but make the AppAttach answer
  // lead to p1's SIP listener, as a misbehaving p3 might.
  p3.node.registerApplication(5060, { candidates: () => fe1.connector.candidates() });
  let error: unknown;
  try {
    await fe2.connector.connect([{ type: 'node', id: p3.node.nodeId }]);
  } catch (e) {
    error = e;
  }
  t.ok(error instanceof SipConnectError, 'connect refused');
  t.equal((error as SipConnectError).reason, 'no-connection');
  t.match((error as Error).message, `does not name Node-ID ${toHex(p3.node.nodeId)}`, 'because the certificate at the candidate is p1’s');
  t.notOk(fe2.connector.existing(p3.node.nodeId), 'no connection kept for p3');
});

t.test('a --sip-user identity the overlay does not trust is refused at start', async (t) => {
  const { createOverlayCA, generateRsaKey, issueCertificate } = await import('../../../certs/ca.js');
  const { makeCredentials } = await import('../../../src/security/credentials.js');
  const { SipFrontEnd, DomainPolicy } = await import('../../../usages/sip/index.js');
  const other = createOverlayCA(ov.overlay.configuration.instanceName);
  const k = generateRsaKey();
  const foreign = makeCredentials(issueCertificate(other, { publicKey: k.publicKey, userName: AOR('eve'), nodeIds: [new Uint8Array(16).fill(9)] }), k.privateKey);
  await t.rejects(
    SipFrontEnd.start(p3.node.usageApi('sip-extra'), { host: '127.0.0.1', port: 0, users: [foreign] }, new DomainPolicy(undefined, 'x')),
    { name: 'CertificateError' },
  );
});

t.test('a Request-URI naming the front end itself stands for the user in the overlay domain', async (t) => {
  // What `sipp -sn uac -s alice HOST:PORT` sends: INVITE sip:alice@HOST:PORT.
  const alice = await ua('alice', fe1);
  t.equal((await alice.register(60)).status, 200);
  const bob = await ua('bob', fe2);
  const self = `sip:alice@${fe2.uaAddress.host}:${fe2.uaAddress.port}`;
  const call = await bob.invite(self);
  t.equal(call.response.status, 200, 'answered by alice, through the overlay');
  const inv = alice.received.filter((m) => m.method === 'INVITE').at(-1)!;
  t.equal(inv.uri.kind === 'sip' && inv.uri.port, alice.ep.udpAddress!.port, 'retargeted to alice’s contact');
  await bob.inDialog(call.dialog!, 'ACK');
  t.equal((await bob.inDialog(call.dialog!, 'BYE'))!.status, 200);
  const nobody = await bob.invite(`sip:nobody@${fe2.uaAddress.host}:${fe2.uaAddress.port}`);
  t.equal(nobody.response.status, 404, 'an unregistered user at the front end’s address: 404');
  t.match(nobody.response.reason, new RegExp(`nobody@${ov.overlay.configuration.instanceName} is not registered`), 'looked up in the overlay’s domain, not forwarded to itself');
  t.equal((await alice.unregisterAll()).status, 200);
});
