import t from 'tap';
import {
  SipParseError,
  SipRequest,
  SipResponse,
  canonicalHeaderName,
  parseMessage,
  parseUri,
  reasonPhrase,
  serializeMessage,
} from '../../../../usages/sip/stack/index.js';

const dec = (b: Uint8Array): string => new TextDecoder().decode(b);

function sample(): SipRequest {
  const r = new SipRequest('INVITE', parseUri('sip:bob@example.com'));
  r.headers = [
    { name: 'Via', value: 'SIP/2.0/UDP a.example.com;branch=z9hG4bK1' },
    { name: 'Via', value: 'SIP/2.0/UDP b.example.com;branch=z9hG4bK2' },
    { name: 'To', value: '<sip:bob@example.com>' },
    { name: 'From', value: '<sip:alice@example.com>;tag=1' },
    { name: 'Call-ID', value: 'c@x' },
    { name: 'CSeq', value: '1 INVITE' },
    { name: 'X-Custom', value: 'a, b' },
  ];
  return r;
}

t.test('header access is case-insensitive and knows compact forms', async (t) => {
  const r = sample();
  t.equal(r.get('via'), 'SIP/2.0/UDP a.example.com;branch=z9hG4bK1');
  t.equal(r.get('v'), 'SIP/2.0/UDP a.example.com;branch=z9hG4bK1');
  t.same(r.getAll('V'), ['SIP/2.0/UDP a.example.com;branch=z9hG4bK1', 'SIP/2.0/UDP b.example.com;branch=z9hG4bK2']);
  t.equal(r.get('i'), 'c@x');
  t.equal(r.get('x-custom'), 'a, b', 'unknown headers match case-insensitively');
  t.equal(r.has('Route'), false);
  t.equal(canonicalHeaderName('cseq'), 'CSeq');
  t.equal(canonicalHeaderName('WWW-authenticate'), 'WWW-Authenticate');
  t.equal(canonicalHeaderName('o'), 'Event');
  t.equal(canonicalHeaderName('My-Header'), 'My-Header');
});

t.test('set / append / prepend / remove keep header order and split list values', async (t) => {
  const r = sample();
  r.prepend('v', 'SIP/2.0/TCP top.example.com;branch=z9hG4bK0');
  t.equal(r.headers[0]!.value, 'SIP/2.0/TCP top.example.com;branch=z9hG4bK0');
  t.equal(r.headers[0]!.name, 'Via', 'canonical name stored');
  t.equal(r.removeFirst('Via'), 'SIP/2.0/TCP top.example.com;branch=z9hG4bK0');
  r.append('Route', '<sip:p1.example.com;lr>, <sip:p2.example.com;lr>');
  t.same(r.getAll('Route'), ['<sip:p1.example.com;lr>', '<sip:p2.example.com;lr>'], 'a list value is split');
  r.append('Route', '<sip:p3.example.com;lr>');
  t.same(r.getAll('Route').length, 3);
  r.set('CSeq', '2 INVITE');
  t.equal(r.headers.findIndex((h) => h.name === 'CSeq'), 5, 'set replaces in place');
  r.set('Via', 'SIP/2.0/UDP only.example.com;branch=z9hG4bK9');
  t.same(r.getAll('Via'), ['SIP/2.0/UDP only.example.com;branch=z9hG4bK9']);
  t.equal(r.headers[0]!.name, 'Via', 'at the position of the first Via');
  r.set('X-Custom', '  spaced  ');
  t.equal(r.get('X-Custom'), 'spaced');
  t.equal(r.remove('route'), 3);
  t.equal(r.removeFirst('Route'), undefined);
  r.set('Route');
  t.equal(r.has('Route'), false, 'set with no value removes');
  r.prepend('Record-Route', '<sip:rr@x;lr>');
  t.equal(r.headers[0]!.name, 'Record-Route', 'prepend without an existing value goes on top');
});

t.test('typed accessors', async (t) => {
  const r = sample();
  t.equal(r.vias().length, 2);
  t.equal(r.topVia()!.host, 'a.example.com');
  t.equal(r.fromTag(), '1');
  t.equal(r.toTag(), undefined);
  t.same(r.cseq(), { seq: 1, method: 'INVITE' });
  t.equal(r.maxForwards(), undefined);
  t.equal(r.expires(), undefined);
  r.set('Expires', '60');
  t.equal(r.expires(), 60);
  t.equal(r.contentType(), undefined);
  r.set('Record-Route', '<sip:p1.example.com;lr>, <sip:p2.example.com;lr>');
  t.same(r.recordRoutes().map((na) => na.uri.kind === 'sip' && na.uri.host), ['p1.example.com', 'p2.example.com']);
  r.set('Require', '100rel, timer');
  t.same(r.optionTags('Require'), ['100rel', 'timer']);
  r.remove('To');
  let reason = '';
  try {
    r.to();
  } catch (e) {
    reason = (e as SipParseError).reason;
  }
  t.equal(reason, 'MISSING_HEADER');
  t.equal(new SipResponse(200, 'OK').topVia(), undefined);
});

t.test('serialization: CRLF lines, Content-Length from the body, body octets untouched', async (t) => {
  const r = sample();
  r.set('Content-Length', '999');
  r.setBody('v=0\r\n', 'application/sdp');
  const text = dec(serializeMessage(r));
  t.equal(
    text,
    'INVITE sip:bob@example.com SIP/2.0\r\n' +
      'Via: SIP/2.0/UDP a.example.com;branch=z9hG4bK1\r\nVia: SIP/2.0/UDP b.example.com;branch=z9hG4bK2\r\n' +
      'To: <sip:bob@example.com>\r\nFrom: <sip:alice@example.com>;tag=1\r\nCall-ID: c@x\r\nCSeq: 1 INVITE\r\nX-Custom: a, b\r\n' +
      'Content-Length: 5\r\nContent-Type: application/sdp\r\n\r\nv=0\r\n',
  );
  const res = new SipResponse(180, 'Ringing', [{ name: 'Via', value: 'SIP/2.0/UDP x' }], new Uint8Array([0, 1, 2]));
  const bytes = serializeMessage(res);
  t.same([...bytes.subarray(bytes.length - 3)], [0, 1, 2]);
  t.match(dec(bytes), /^SIP\/2\.0 180 Ringing\r\nVia: SIP\/2\.0\/UDP x\r\nContent-Length: 3\r\n\r\n/);
});

t.test('clone is deep', async (t) => {
  const r = parseMessage(new TextEncoder().encode(dec(serializeMessage(sample())))) as SipRequest;
  r.received = { transport: 'UDP', source: { host: '1.2.3.4', port: 5 }, local: { host: '127.0.0.1', port: 6 } };
  const c = r.clone();
  c.headers[0]!.value = 'changed';
  c.received!.source.port = 99;
  if (c.uri.kind === 'sip') c.uri.host = 'other.example.com';
  c.body[0] = 1;
  t.equal(r.get('Via'), 'SIP/2.0/UDP a.example.com;branch=z9hG4bK1');
  t.equal(r.received.source.port, 5);
  t.equal(r.uri.kind === 'sip' && r.uri.host, 'example.com');
  const res = new SipResponse(200, 'OK', [{ name: 'Via', value: 'x' }]);
  const rc = res.clone();
  rc.status = 500;
  t.equal(res.status, 200);
  t.equal(rc.startLine(), 'SIP/2.0 500 OK');
});

t.test('reason phrases', async (t) => {
  t.equal(reasonPhrase(481), 'Call/Transaction Does Not Exist');
  t.equal(reasonPhrase(499), 'Client Error');
  t.equal(reasonPhrase(299), 'Success');
  t.equal(reasonPhrase(699), 'Global Failure');
});
