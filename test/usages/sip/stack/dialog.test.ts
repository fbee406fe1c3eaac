import t from 'tap';
import { SeededRandom } from '../../../../src/common/random.js';
import {
  Dialog,
  SipRequest,
  type SipResponse,
  createResponse,
  dialogIdOf,
  dialogKey,
  formatUri,
  generateBranch,
  generateCallId,
  generateTag,
  parseMessage,
  tagOf,
} from '../../../../usages/sip/stack/index.js';

const crlf = (s: string): Uint8Array => new TextEncoder().encode(s.replace(/\n/g, '\r\n'));

/** An INVITE as the UAS receives it, through two record-routing proxies. */
function invite(): SipRequest {
  return parseMessage(
    crlf(
      'INVITE sip:bob@biloxi.example.com SIP/2.0\n' +
        'Via: SIP/2.0/UDP p2.example.com;branch=z9hG4bK2\nVia: SIP/2.0/UDP p1.example.com;branch=z9hG4bK1\nVia: SIP/2.0/UDP alice.example.com;branch=z9hG4bK0\n' +
        'Record-Route: <sip:p2.example.com;lr>\nRecord-Route: <sip:p1.example.com;lr>\n' +
        'To: Bob <sip:bob@biloxi.example.com>\nFrom: Alice <sip:alice@atlanta.example.com>;tag=1928301774\n' +
        'Call-ID: a84b4c76e66710\nCSeq: 314159 INVITE\nContact: <sip:alice@pc33.atlanta.example.com>\nContent-Length: 0\n\n',
    ),
  ) as SipRequest;
}

function ok(inv: SipRequest): SipResponse {
  const res = createResponse(inv, 200, { toTag: 'a6c85cf' });
  res.set('Contact', '<sip:bob@192.0.2.4>');
  return res;
}

t.test('createResponse copies what RFC 3261 §8.2.6.2 says and adds the To tag', async (t) => {
  const inv = invite();
  const res = ok(inv);
  t.same(res.getAll('Via'), inv.getAll('Via'));
  t.same(res.getAll('Record-Route'), inv.getAll('Record-Route'), 'Record-Route in a 2xx to INVITE (§12.1.1)');
  t.equal(res.get('To'), '"Bob" <sip:bob@biloxi.example.com>;tag=a6c85cf');
  t.equal(res.get('From'), inv.get('From'));
  t.equal(res.get('CSeq'), '314159 INVITE');
  t.equal(createResponse(inv, 100, { toTag: 'x' }).toTag(), undefined, 'no tag on 100 Trying');
  t.equal(createResponse(inv, 486, { toTag: 'x' }).getAll('Record-Route').length, 0);
  t.equal(createResponse(inv, 404, { reason: 'Nobody Here' }).reason, 'Nobody Here');
  t.equal(tagOf(res.get('To')!, 'To'), 'a6c85cf');
});

t.test('identifiers (RFC 3261 §8.1.1.4, §8.1.1.7, §19.3)', async (t) => {
  const rnd = new SeededRandom('ids');
  t.match(generateCallId(rnd, 'host.example.com'), /^[0-9a-f]{32}@host\.example\.com$/);
  t.match(generateCallId(rnd), /^[0-9a-f]{32}$/);
  t.match(generateBranch(rnd), /^z9hG4bK[0-9a-f]{16}$/);
  t.match(generateTag(rnd), /^[0-9a-f]{16}$/);
  t.not(generateTag(rnd), generateTag(rnd));
});

t.test('dialog ids for UAC and UAS', async (t) => {
  const res = ok(invite());
  t.same(dialogIdOf(res, 'uac'), { callId: 'a84b4c76e66710', localTag: '1928301774', remoteTag: 'a6c85cf' });
  t.same(dialogIdOf(res, 'uas'), { callId: 'a84b4c76e66710', localTag: 'a6c85cf', remoteTag: '1928301774' });
  t.equal(dialogIdOf(invite(), 'uas'), undefined, 'no To tag: no dialog');
  t.equal(dialogKey({ callId: 'c', localTag: 'l', remoteTag: 'r' }), 'c\u0000l\u0000r');
});

t.test('UAS dialog: route set in order, remote target from the request, CSeq tracking', async (t) => {
  const inv = invite();
  const d = Dialog.asUas(inv, ok(inv), '<sip:bob@192.0.2.4>');
  t.equal(d.state, 'confirmed');
  t.same(d.routeSet, ['<sip:p2.example.com;lr>', '<sip:p1.example.com;lr>']);
  t.equal(formatUri(d.remoteTarget), 'sip:alice@pc33.atlanta.example.com');
  t.equal(d.remoteSeq, 314159);
  const bye = d.createRequest('BYE');
  t.equal(formatUri(bye.uri), 'sip:alice@pc33.atlanta.example.com', 'loose routing: Request-URI is the remote target');
  t.same(bye.getAll('Route'), ['<sip:p2.example.com;lr>', '<sip:p1.example.com;lr>']);
  t.equal(bye.get('CSeq'), '1 BYE', 'the UAS starts its own CSeq space');
  t.equal(bye.get('To'), '"Alice" <sip:alice@atlanta.example.com>;tag=1928301774');
  t.equal(bye.get('From'), '"Bob" <sip:bob@biloxi.example.com>;tag=a6c85cf');
  t.equal(bye.get('Call-ID'), 'a84b4c76e66710');
  t.equal(bye.maxForwards(), 70);
  t.equal(bye.get('Contact'), undefined, 'no Contact in BYE');
  t.equal(d.createRequest('INFO').get('Contact'), '<sip:bob@192.0.2.4>');
  t.equal(d.createRequest('INFO').get('CSeq'), '3 INFO');

  const reinvite = parseMessage(
    crlf(
      'INVITE sip:bob@192.0.2.4 SIP/2.0\nVia: SIP/2.0/UDP p2.example.com;branch=z9hG4bK9\nTo: <sip:bob@biloxi.example.com>;tag=a6c85cf\n' +
        'From: <sip:alice@atlanta.example.com>;tag=1928301774\nCall-ID: a84b4c76e66710\nCSeq: 314160 INVITE\nContact: <sip:alice@new.atlanta.example.com>\n\n',
    ),
  ) as SipRequest;
  t.same(d.acceptRequest(reinvite), { ok: true });
  t.equal(formatUri(d.remoteTarget), 'sip:alice@new.atlanta.example.com', 'target refresh');
  t.same(d.acceptRequest(reinvite), { ok: false, status: 500 }, 'same CSeq again: out of order (§12.2.2)');
  t.equal(d.remoteSeq, 314160);
});

t.test('UAC dialog: route set reversed, ACK with the INVITE CSeq, strict routing', async (t) => {
  const inv = invite();
  const res = ok(inv);
  const d = Dialog.asUac(inv, res);
  t.same(d.routeSet, ['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>'], 'reversed (§12.1.2)');
  t.equal(formatUri(d.remoteTarget), 'sip:bob@192.0.2.4');
  t.equal(d.localSeq, 314159);
  const ack = d.createAck(314159);
  t.equal(ack.method, 'ACK');
  t.equal(ack.get('CSeq'), '314159 ACK');
  t.equal(d.localSeq, 314159, 'the ACK does not consume a sequence number');
  t.equal(d.createRequest('BYE').get('CSeq'), '314160 BYE');

  // A strict router first in the route set (no lr).
  const strictRes = ok(inv);
  strictRes.set('Record-Route', '<sip:p2.example.com;lr>', '<sip:strict.example.com;transport=udp>');
  const s = Dialog.asUac(inv, strictRes);
  const bye = s.createRequest('BYE');
  t.equal(formatUri(bye.uri), 'sip:strict.example.com;transport=udp', 'Request-URI = first route');
  t.same(bye.getAll('Route'), ['<sip:p2.example.com;lr>', '<sip:bob@192.0.2.4>'], 'remote target goes last');
  t.equal(s.secure, false);
});

t.test('early dialogs and errors', async (t) => {
  const inv = invite();
  const ringing = createResponse(inv, 180, { toTag: 'early1' });
  ringing.set('Contact', '<sip:bob@192.0.2.4>');
  const d = Dialog.asUac(inv, ringing);
  t.equal(d.state, 'early');
  const final = ok(inv);
  final.set('Contact', '<sip:bob@192.0.2.99>');
  d.updateFromResponse(final);
  t.equal(d.state, 'confirmed');
  t.equal(formatUri(d.remoteTarget), 'sip:bob@192.0.2.99');
  const reason = (fn: () => unknown): string => {
    try {
      fn();
    } catch (e) {
      return (e as { reason: string }).reason;
    }
    return 'ok';
  };
  t.equal(reason(() => Dialog.asUac(inv, createResponse(inv, 486, { toTag: 'x' }))), 'INVALID_ARGUMENT');
  t.equal(reason(() => Dialog.asUas(inv, createResponse(inv, 200))), 'INVALID_ARGUMENT', 'no To tag');
  const noContact = createResponse(inv, 200, { toTag: 'y' });
  t.equal(reason(() => Dialog.asUac(inv, noContact)), 'INVALID_ARGUMENT');
  t.equal(reason(() => d.createRequest('ACK')), 'INVALID_ARGUMENT');
  const bye = d.createRequest('BYE');
  const byeIn = parseMessage(
    crlf(
      `BYE sip:alice@pc33.atlanta.example.com SIP/2.0\nVia: SIP/2.0/UDP x;branch=z9hG4bKb\nTo: ${bye.get('From')}\nFrom: ${bye.get('To')}\nCall-ID: a84b4c76e66710\nCSeq: 7 BYE\n\n`,
    ),
  ) as SipRequest;
  t.same(d.acceptRequest(byeIn), { ok: true });
  t.equal(d.state, 'terminated');
});
