import t from 'tap';
import { type SipRequest, parseMessage, uasPrecheck } from '../../../../usages/sip/stack/index.js';

const crlf = (s: string): Uint8Array => new TextEncoder().encode(s.replace(/\n/g, '\r\n'));
const POLICY = { methods: ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS'], extensions: ['100rel', 'Timer'] };

function req(method: string, ruri = 'sip:b@example.com', extra = '', body = ''): SipRequest {
  return parseMessage(
    crlf(
      `${method} ${ruri} SIP/2.0\nVia: SIP/2.0/UDP h;branch=z9hG4bK1\nTo: <sip:b@example.com>\nFrom: <sip:a@example.com>;tag=1\n` +
        `Call-ID: v1\nCSeq: 1 ${method}\n${extra}Content-Length: ${body.length}\n\n${body}`,
    ),
  ) as SipRequest;
}

t.test('§8.2.1: 405 with Allow for a known method, 501 for an unknown one', async (t) => {
  t.same(uasPrecheck(req('REGISTER'), POLICY), {
    status: 405,
    reason: 'Method Not Allowed',
    headers: [{ name: 'Allow', value: 'INVITE, ACK, BYE, CANCEL, OPTIONS' }],
  });
  t.equal(uasPrecheck(req('FROBNICATE'), POLICY)?.status, 501);
  t.equal(uasPrecheck(req('ACK', 'nobody:x'), POLICY), undefined, 'never reject an ACK');
});

t.test('§8.2.2: 416 for schemes, 420 listing only unsupported option tags', async (t) => {
  t.equal(uasPrecheck(req('OPTIONS', 'tel:+12015550123'), POLICY)?.status, 416);
  t.equal(uasPrecheck(req('OPTIONS', 'tel:+12015550123'), { ...POLICY, uriSchemes: ['sip', 'tel'] }), undefined);
  t.equal(uasPrecheck(req('OPTIONS', 'sips:b@example.com'), POLICY), undefined);
  const r = uasPrecheck(req('OPTIONS', undefined, 'Require: timer, foo\nRequire: 100rel\nProxy-Require: bar\n'), POLICY);
  t.same(r, { status: 420, reason: 'Bad Extension', headers: [{ name: 'Unsupported', value: 'foo' }] }, 'option tags case-insensitive');
  t.equal(uasPrecheck(req('CANCEL', undefined, 'Require: foo\n'), POLICY), undefined, 'CANCEL ignores Require');
});

t.test('§8.2.3: 415 for an unknown or missing Content-Type; 406 when Accept excludes the answer type', async (t) => {
  t.same(uasPrecheck(req('INVITE', undefined, 'Content-Type: text/plain\n', 'hi'), POLICY), {
    status: 415,
    reason: 'Unsupported Media Type',
    headers: [{ name: 'Accept', value: 'application/sdp' }],
  });
  t.equal(uasPrecheck(req('INVITE', undefined, '', 'hi'), POLICY)?.status, 415, 'a body without Content-Type');
  t.equal(uasPrecheck(req('INVITE', undefined, 'Content-Type: Application/SDP\n', 'v=0'), POLICY), undefined);
  t.equal(uasPrecheck(req('INVITE', undefined, 'Accept: text/plain\n'), POLICY)?.status, 406);
  t.equal(uasPrecheck(req('INVITE', undefined, 'Accept: application/*\n'), POLICY), undefined);
  t.equal(uasPrecheck(req('INVITE', undefined, 'Accept: text/plain, */*;q=0.1\n'), POLICY), undefined);
  t.equal(uasPrecheck(req('INVITE', undefined, 'Accept:\n'), POLICY)?.status, 406, 'an empty Accept accepts nothing');
  t.equal(uasPrecheck(req('OPTIONS', undefined, 'Accept: text/plain\n'), POLICY), undefined, 'OPTIONS answers carry no body here');
});
