import t from 'tap';
import {
  SipRequest,
  SipResponse,
  type Uri,
  addRecordRoute,
  createCancel,
  decrementMaxForwards,
  destinationOf,
  formatUri,
  isUnsafeResponseHop,
  maxForwardsExhausted,
  nextHop,
  parseMessage,
  parseSipUri,
  parseUri,
  preprocessRoute,
  prepareForward,
  removeOwnVia,
  uriEquals,
} from '../../../../usages/sip/stack/index.js';

const crlf = (s: string): Uint8Array => new TextEncoder().encode(s.replace(/\n/g, '\r\n'));
const ME = parseSipUri('sip:proxy.example.com;lr');
const isMe = (u: Uri): boolean => u.kind === 'sip' && u.host === 'proxy.example.com';

function req(ruri: string, extra = ''): SipRequest {
  return parseMessage(
    crlf(
      `INVITE ${ruri} SIP/2.0\nVia: SIP/2.0/UDP alice.example.com;branch=z9hG4bK1\nMax-Forwards: 5\n${extra}` +
        'To: <sip:bob@example.com>\nFrom: <sip:alice@example.com>;tag=1\nCall-ID: p1\nCSeq: 1 INVITE\n\n',
    ),
  ) as SipRequest;
}

const reason = (fn: () => unknown): string => {
  try {
    fn();
  } catch (e) {
    return (e as { reason: string }).reason;
  }
  return 'ok';
};

t.test('Max-Forwards (§16.3 step 3, §16.6 step 3)', async (t) => {
  const r = req('sip:bob@example.com');
  decrementMaxForwards(r);
  t.equal(r.maxForwards(), 4);
  r.remove('Max-Forwards');
  decrementMaxForwards(r);
  t.equal(r.maxForwards(), 70, 'added when absent');
  r.set('Max-Forwards', '0');
  t.equal(maxForwardsExhausted(r), true);
  t.equal(reason(() => decrementMaxForwards(r)), 'INVALID_ARGUMENT');
});

t.test('Record-Route gets lr (§16.6 step 4)', async (t) => {
  const r = req('sip:bob@example.com', 'Record-Route: <sip:other.example.com;lr>\n');
  addRecordRoute(r, parseSipUri('sip:proxy.example.com'));
  t.same(r.getAll('Record-Route'), ['<sip:proxy.example.com;lr>', '<sip:other.example.com;lr>']);
  addRecordRoute(r, ME);
  t.equal(r.get('Record-Route'), '<sip:proxy.example.com;lr>');
});

t.test('route preprocessing (§16.4): own top Route popped; strict-router fix-up reversed', async (t) => {
  const loose = req('sip:bob@example.com', 'Route: <sip:proxy.example.com;lr>, <sip:next.example.com;lr>\n');
  preprocessRoute(loose, isMe);
  t.same(loose.getAll('Route'), ['<sip:next.example.com;lr>']);
  t.equal(formatUri(loose.uri), 'sip:bob@example.com');
  // An upstream strict router put our Record-Route URI in the Request-URI and the real
  // target last in Route.
  const strict = req('sip:proxy.example.com;lr', 'Route: <sip:next.example.com;lr>, <sip:bob@example.com>\n');
  preprocessRoute(strict, isMe);
  t.equal(formatUri(strict.uri), 'sip:bob@example.com');
  t.same(strict.getAll('Route'), ['<sip:next.example.com;lr>']);
  const only = req('sip:proxy.example.com;lr', 'Route: <sip:bob@example.com>\n');
  preprocessRoute(only, isMe);
  t.equal(formatUri(only.uri), 'sip:bob@example.com');
  t.equal(only.has('Route'), false);
  const none = req('sip:bob@example.com');
  preprocessRoute(none, isMe);
  t.equal(none.has('Route'), false);
});

t.test('next hop (§16.6 steps 6-7, §16.12)', async (t) => {
  const plain = req('sip:bob@example.com');
  t.equal(formatUri(nextHop(plain)), 'sip:bob@example.com');
  const loose = req('sip:bob@example.com', 'Route: <sip:next.example.com;lr>\n');
  t.equal(formatUri(nextHop(loose)), 'sip:next.example.com;lr');
  t.equal(formatUri(loose.uri), 'sip:bob@example.com', 'Request-URI untouched');
  const strict = req('sip:bob@example.com', 'Route: <sip:strict.example.com>, <sip:after.example.com;lr>\n');
  t.equal(formatUri(nextHop(strict)), 'sip:strict.example.com');
  t.equal(formatUri(strict.uri), 'sip:strict.example.com');
  t.same(strict.getAll('Route'), ['<sip:after.example.com;lr>', '<sip:bob@example.com>'], 'Request-URI appended to Route');
});

t.test('prepareForward combines the steps on a copy', async (t) => {
  const r = req('sip:bob@example.com', 'Route: <sip:next.example.com;lr>\n');
  r.received = { transport: 'UDP', source: { host: '192.0.2.1', port: 5060 }, local: { host: '127.0.0.1', port: 5060 } };
  const { request, nextHop: hop } = prepareForward(r, { target: parseUri('sip:bob@192.0.2.9'), recordRoute: ME });
  t.equal(formatUri(request.uri), 'sip:bob@192.0.2.9');
  t.equal(request.maxForwards(), 4);
  t.equal(request.get('Record-Route'), '<sip:proxy.example.com;lr>');
  t.ok(uriEquals(hop, parseUri('sip:next.example.com;lr')));
  t.equal(request.received, undefined);
  t.equal(r.maxForwards(), 5, 'the original is untouched');
  t.same(destinationOf(hop), { transport: 'UDP', host: 'next.example.com', port: 5060 });
  t.same(destinationOf(parseUri('sips:a@[::1]')), { transport: 'TCP', host: '::1', port: 5061 });
  t.same(destinationOf(parseUri('sip:a@b.example.com:5080;transport=TCP;maddr=192.0.2.5')), {
    transport: 'TCP',
    host: '192.0.2.5',
    port: 5080,
  });
  t.same(destinationOf(parseUri('sip:a@b.example.com'), 'TCP').transport, 'TCP');
  t.equal(reason(() => destinationOf(parseUri('tel:+12015550123'))), 'INVALID_ARGUMENT');
});

t.test('responses: own Via removed (§16.7 step 3), unsafe next hops refused', async (t) => {
  const res = new SipResponse(200, 'OK', [
    { name: 'Via', value: 'SIP/2.0/UDP proxy.example.com;branch=z9hG4bKp' },
    { name: 'Via', value: 'SIP/2.0/UDP alice.example.com;branch=z9hG4bK1' },
  ]);
  const mine = (v: { host: string }) => v.host === 'proxy.example.com';
  t.equal(removeOwnVia(res.clone(), (v) => v.host === 'someone.else'), false, 'not ours: drop');
  t.equal(removeOwnVia(res, mine), true);
  t.same(res.getAll('Via'), ['SIP/2.0/UDP alice.example.com;branch=z9hG4bK1']);
  t.equal(removeOwnVia(res, (v) => v.host === 'alice.example.com'), false, 'no Via left: the response was for us');
  const hop = (via: string) => isUnsafeResponseHop(new SipResponse(200, 'OK', [{ name: 'Via', value: via }]));
  t.equal(hop('SIP/2.0/UDP 255.255.255.255;branch=z9hG4bK1'), true);
  t.equal(hop('SIP/2.0/UDP 0.0.0.0'), true);
  t.equal(hop('SIP/2.0/UDP 192.0.2.1;received=255.255.255.255'), true, 'received wins');
  t.equal(hop('SIP/2.0/UDP 224.0.1.75'), true, 'multicast without maddr');
  t.equal(hop('SIP/2.0/UDP 192.0.2.1;maddr=224.0.1.75'), false, 'explicit maddr multicast');
  t.equal(hop('SIP/2.0/UDP host.example.com'), false);
  t.equal(hop('SIP/2.0/UDP [::]'), true);
  t.equal(isUnsafeResponseHop(new SipResponse(200, 'OK')), true, 'no Via at all');
});

t.test('CANCEL built per §9.1', async (t) => {
  const r = req('sip:bob@example.com', 'Route: <sip:next.example.com;lr>\n');
  const c = createCancel(r, 'SIP;cause=200;text="Call completed elsewhere"');
  t.equal(c.method, 'CANCEL');
  t.equal(formatUri(c.uri), 'sip:bob@example.com');
  t.same(c.getAll('Via'), ['SIP/2.0/UDP alice.example.com;branch=z9hG4bK1']);
  t.equal(c.get('CSeq'), '1 CANCEL');
  t.same(c.getAll('Route'), ['<sip:next.example.com;lr>']);
  t.equal(c.get('Reason'), 'SIP;cause=200;text="Call completed elsewhere"');
  const ack = new SipRequest('ACK', parseUri('sip:x@y'));
  t.equal(reason(() => createCancel(ack)), 'INVALID_ARGUMENT');
});
