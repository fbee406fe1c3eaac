/**
 * The focus' SDP offer/answer (usages/sdcon/sdp.ts, RFC 3264 §6): same media lines and
 * formats, a receive port of the focus, the opposite direction, rejected streams kept at
 * port 0, and errors for what is not SDP.
 */
import t from 'tap';
import { SdpError, answerSdp, offerSdp } from '../../../usages/sdcon/sdp.js';

const O = { address: '127.0.0.1', port: 40000, sessionId: 42, sessionVersion: 1 };

t.test('an answer mirrors the offered streams (RFC 3264 §6)', async (t) => {
  const offer =
    'v=0\r\no=bob 1 1 IN IP4 10.0.0.1\r\ns=-\r\nc=IN IP4 10.0.0.1\r\nt=0 0\r\n' +
    'm=audio 6000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=sendonly\r\na=x-private:1\r\n' +
    'm=video 0 RTP/AVP 96\r\na=rtpmap:96 H264/90000\r\n' +
    'm=video 6002 RTP/AVP 97\r\na=rtpmap:97 VP8/90000\r\n';
  const a = answerSdp(offer, O);
  t.equal(
    a,
    'v=0\r\no=disco-focus 42 1 IN IP4 127.0.0.1\r\ns=DisCo conference\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\n' +
      'm=audio 40000 RTP/AVP 0 8 101\r\na=rtpmap:0 PCMU/8000\r\na=rtpmap:101 telephone-event/8000\r\na=fmtp:101 0-15\r\na=recvonly\r\n' +
      'm=video 0 RTP/AVP 96\r\n' +
      'm=video 40004 RTP/AVP 97\r\na=rtpmap:97 VP8/90000\r\na=sendrecv\r\n',
  );
  t.equal(a.match(/^m=/gm)?.length, 3, 'as many media lines as offered, in order');
});

t.test('session-level direction, IPv6, offers', async (t) => {
  const a = answerSdp('v=0\nc=IN IP4 1.2.3.4\na=inactive\nm=audio 5 RTP/AVP 0\n', { ...O, address: '::1' });
  t.match(a, /c=IN IP6 ::1/);
  t.match(a, /m=audio 40000 RTP\/AVP 0\r\na=inactive/);
  t.match(offerSdp(O), /^v=0\r\n[\s\S]*m=audio 40000 RTP\/AVP 0 8 101\r\n[\s\S]*a=sendrecv\r\n$/);
});

t.test('what is not an offer', async (t) => {
  t.throws(() => answerSdp('hello', O), SdpError);
  t.throws(() => answerSdp('v=0\r\ns=-\r\n', O), SdpError, 'no media line');
  t.throws(() => answerSdp('v=0\r\nm=audio 5\r\n', O), SdpError, 'a malformed media line');
});
