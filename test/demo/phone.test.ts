/**
 * The demo's SIP phone (src/demo/phone.ts) against a registrar and a caller on the SIP
 * stack, on loopback UDP: the REGISTER it sends (AOR, Contact, Expires), the refresh at half
 * the granted interval (virtual clock), a refused REGISTER, a call answered with 180 and
 * 200 + SDP and ended by BYE, 481 for an unknown dialog, 405 for other methods, and the
 * un-REGISTER (Expires: 0) on stop.
 */
import t from 'tap';
import { VirtualClock } from '../../src/common/clock.js';
import { cryptoRandom } from '../../src/common/random.js';
import { DemoPhone, DemoPhoneError } from '../../src/demo/phone.js';
import { Dialog, SipEndpoint, SipRequest, type SipResponse, generateBranch, generateCallId, generateTag, parseNameAddr, parseUri } from '../../usages/sip/stack/index.js';

const AOR = 'alice@demo.reload.example';

/**
 * A registrar on the stack: answers REGISTER with `status`; a 200 lists another binding of
 * the AOR first (a softphone's, 3000 s), then the phone's own with expires=granted.
 */
async function registrar(status = 200, granted = 120) {
  const ep = await SipEndpoint.start({ tcp: false });
  const registers: SipRequest[] = [];
  ep.on('request', (req, tx) => {
    if (!tx) return;
    registers.push(req);
    const res = tx.createResponse(status);
    if (status === 200) res.set('Contact', `<sip:alice@127.0.0.1:9>;expires=3000, ${req.get('Contact')};expires=${req.get('Expires') === '0' ? 0 : granted}`);
    tx.respond(res);
  });
  return { ep, registers, address: { host: '127.0.0.1', port: ep.udpAddress!.port } };
}

const until = async (cond: () => boolean, ms = 5000): Promise<void> => {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error('timed out');
    await new Promise((r) => setTimeout(r, 20));
  }
};

t.test('REGISTER, refresh at half the granted interval, un-REGISTER on stop', async (t) => {
  const reg = await registrar(200, 120);
  t.teardown(() => reg.ep.stop());
  const clock = new VirtualClock(Date.now());
  const phone = await DemoPhone.start({ aor: AOR, registrar: reg.address, expiresS: 600, clock });
  t.equal(reg.registers.length, 1, 'one REGISTER');
  const first = reg.registers[0]!;
  t.equal(first.uri.kind === 'sip' && first.uri.host, 'demo.reload.example', 'Request-URI: the domain (RFC 3261 §10.2)');
  t.equal(parseNameAddr(first.get('To')!, 'To').uri.kind === 'sip' && `${(parseNameAddr(first.get('To')!, 'To').uri as { user: string }).user}`, 'alice');
  t.equal(first.get('Expires'), '600');
  t.equal(first.get('Contact'), phone.contact, 'its own contact');
  t.equal(phone.stats.registrations, 1);

  clock.advance(59_000);
  await new Promise((r) => setTimeout(r, 100));
  t.equal(reg.registers.length, 1, 'no refresh before half of the 120 s granted to its own binding');
  clock.advance(1_000);
  await until(() => reg.registers.length === 2);
  const refresh = reg.registers[1]!;
  t.equal(refresh.callId(), first.callId(), 'the refresh keeps the Call-ID');
  t.match(refresh.get('CSeq'), /^2 REGISTER$/, 'and counts up the CSeq');
  await until(() => phone.stats.registrations === 2);

  await phone.stop();
  t.equal(reg.registers.length, 3);
  t.equal(reg.registers[2]!.get('Expires'), '0', 'stop un-REGISTERs');
  clock.advance(600_000);
  await new Promise((r) => setTimeout(r, 100));
  t.equal(reg.registers.length, 3, 'and no refresh follows');
});

t.test('a refused REGISTER fails start with a DemoPhoneError', async (t) => {
  const reg = await registrar(403);
  t.teardown(() => reg.ep.stop());
  await t.rejects(DemoPhone.start({ aor: AOR, registrar: reg.address }), DemoPhoneError);
  await t.rejects(DemoPhone.start({ aor: 'not an aor', registrar: reg.address }), { name: 'DemoPhoneError', message: /not an AOR/ });
});

t.test('calls: 180, 200 with SDP, ACK, BYE; 481 and 405 otherwise', async (t) => {
  const reg = await registrar();
  t.teardown(() => reg.ep.stop());
  const phone = await DemoPhone.start({ aor: AOR, registrar: reg.address });
  t.teardown(() => phone.stop());
  const events: string[] = [];
  phone.onEvent = (l) => events.push(l);
  const caller = await SipEndpoint.start({ tcp: false });
  t.teardown(() => caller.stop());
  const contact = parseNameAddr(phone.contact, 'Contact').uri as { host: string; port: number };
  const dest = { transport: 'UDP' as const, host: contact.host, port: contact.port };
  const request = (method: string, callId = generateCallId(cryptoRandom, '127.0.0.1')): SipRequest => {
    const r = new SipRequest(method, parseUri(`sip:alice@127.0.0.1:${contact.port}`, 'request-uri'));
    r.set('From', `<sip:bob@demo.reload.example>;tag=${generateTag(cryptoRandom)}`);
    r.set('To', `<sip:${AOR}>`);
    r.set('Call-ID', callId);
    r.set('CSeq', `1 ${method}`);
    r.set('Contact', `<sip:bob@127.0.0.1:${caller.udpAddress!.port}>`);
    return r;
  };

  const invite = request('INVITE');
  invite.setBody('v=0\r\no=bob 1 1 IN IP4 127.0.0.1\r\ns=-\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 4000 RTP/AVP 0\r\n', 'application/sdp');
  const tx = caller.sendRequest(invite, dest);
  const provisional: number[] = [];
  tx.on('provisional', (r: SipResponse) => provisional.push(r.status));
  const ok = await tx.finalResponse();
  t.equal(ok.status, 200, 'answered');
  t.same(provisional.filter((s) => s !== 100), [180], 'after ringing');
  t.match(ok.bodyText(), /^v=0\r\no=alice \d+ \d+ IN IP4 127\.0\.0\.1\r\n[\s\S]*m=audio 9 RTP\/AVP 0\r\n/, 'with an SDP answer');
  t.equal(ok.get('Contact'), phone.contact);
  t.equal(phone.stats.callsAnswered, 1);
  const dialog = Dialog.asUac(tx.request, ok);
  await caller.sendStateless(dialog.createAck(1), dest, { branch: generateBranch(cryptoRandom) });
  const bye = await caller.sendRequest(dialog.createRequest('BYE'), dest).finalResponse();
  t.equal(bye.status, 200, 'BYE: 200');
  t.equal(phone.stats.callsEnded, 1);
  t.match(events, [/alice: answered call .* from <sip:bob@demo\.reload\.example>/, /alice: call .* ended by BYE/], 'the demo is told');

  t.equal((await caller.sendRequest(request('BYE'), dest).finalResponse()).status, 481, 'a BYE for no call: 481');
  const reinvite = request('INVITE');
  reinvite.set('To', `<sip:${AOR}>;tag=gone`);
  t.equal((await caller.sendRequest(reinvite, dest).finalResponse()).status, 481, 'a re-INVITE for a dialog it does not know: 481');
  t.equal((await caller.sendRequest(request('OPTIONS'), dest).finalResponse()).status, 200, 'OPTIONS: 200');
  t.equal((await caller.sendRequest(request('MESSAGE'), dest).finalResponse()).status, 405, 'anything else: 405');
});
