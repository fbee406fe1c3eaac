import t from 'tap';
import {
  SipParseError,
  formatCSeq,
  formatMediaType,
  formatNameAddr,
  formatParams,
  formatVia,
  getParam,
  isRfc3261Branch,
  parseCSeq,
  parseCallId,
  parseContact,
  parseDeltaSeconds,
  parseMaxForwards,
  parseMediaType,
  parseNameAddr,
  parseParams,
  parseTokenValue,
  parseVia,
  setParam,
  splitList,
  viaSentBy,
} from '../../../../usages/sip/stack/index.js';

/** The detail of the SipParseError `fn` throws, or 'ok'. */
function err(fn: () => unknown): string {
  try {
    fn();
  } catch (e) {
    if (e instanceof SipParseError) return e.message;
    throw e;
  }
  return 'ok';
}

t.test('comma lists split outside quotes and <>', async (t) => {
  t.same(splitList('<sip:a@b;x=1,2>, "Doe, J" <sip:c@d> ,sip:e@f', 'Contact'), ['<sip:a@b;x=1,2>', '"Doe, J" <sip:c@d>', 'sip:e@f']);
  t.same(splitList('a;p="x,\\"y,"', 'Via'), ['a;p="x,\\"y,"']);
  t.same(splitList('  ', 'Accept', true), []);
  t.equal(err(() => splitList('a,,b', 'Via')), 'Via: empty element in comma-separated list');
  t.equal(err(() => splitList('', 'Via')), 'Via: empty element in comma-separated list');
  t.equal(err(() => splitList('"abc', 'To')), 'To: unterminated quoted string');
});

t.test('generic parameters: SWS around ; and =, quoted values, host values', async (t) => {
  t.same(parseParams(' ;  tag = 1918181833n ; lr;x="a \\"b\\"" ;received=[2001:db8::1]', 0, 'X'), [
    { name: 'tag', value: '1918181833n' },
    { name: 'lr', value: null },
    { name: 'x', value: 'a "b"', quoted: true },
    { name: 'received', value: '[2001:db8::1]' },
  ]);
  t.equal(formatParams([{ name: 'a', value: 'b c' }, { name: 'lr', value: null }, { name: 'q', value: 'x', quoted: true }]), ';a="b c";lr;q="x"');
  t.equal(err(() => parseParams(';=1', 0, 'X')), 'X: parameter without a name');
  t.equal(err(() => parseParams(';a=', 0, 'X')), 'X: parameter "a" has "=" but no value');
  t.equal(err(() => parseParams(' junk', 0, 'X')), 'X: unexpected "j" where ";" or end of value was expected');
  const ps = [{ name: 'Tag', value: 'a' }];
  setParam(ps, 'tag', 'b');
  setParam(ps, 'lr', null);
  t.same(ps, [{ name: 'Tag', value: 'b' }, { name: 'lr', value: null }]);
  t.equal(getParam(ps, 'TAG'), 'b');
});

t.test('name-addr and addr-spec', async (t) => {
  t.same(parseNameAddr('"A \\"B\\"" <sip:a@b.com>;tag=1', 'From'), {
    displayName: 'A "B"',
    uri: { kind: 'sip', scheme: 'sip', user: 'a', host: 'b.com', params: [], headers: [] },
    params: [{ name: 'tag', value: '1' }],
  });
  const bare = parseNameAddr('sip:a@b.com;tag=9', 'To');
  t.equal(bare.displayName, undefined);
  t.same(bare.params, [{ name: 'tag', value: '9' }], 'addr-spec: ;params belong to the header');
  t.equal(parseNameAddr('Joe  Q   Public <sip:j@x.org>', 'From').displayName, 'Joe Q Public');
  t.equal(parseNameAddr('"" <sip:j@x.org>', 'From').displayName, '');
  t.equal(formatNameAddr(parseNameAddr('sip:a@b.com;tag=9', 'To')), '<sip:a@b.com>;tag=9');
  t.equal(formatNameAddr(parseNameAddr('"x\\\\y" <sip:a@b.com>', 'To')), '"x\\\\y" <sip:a@b.com>');
  t.equal(
    formatNameAddr({ displayName: 'line\r\nbreak "q" \x01', uri: parseNameAddr('<sip:a@b.com>', 'To').uri, params: [] }),
    '"line  break \\"q\\" \\\x01" <sip:a@b.com>',
    'CR/LF cannot be quoted: replaced; DQUOTE and controls escaped',
  );
  t.equal(err(() => parseNameAddr('"A" sip:a@b', 'To')), 'To: quoted display name not followed by <URI>');
  t.equal(err(() => parseNameAddr('<sip:a@b', 'To')), 'To: missing ">"');
  t.equal(err(() => parseNameAddr('<>', 'To')), 'To: empty URI');
  t.equal(err(() => parseNameAddr('sip:a@b', 'Route', true)), 'Route: the address must be enclosed in <>');
  t.equal(err(() => parseNameAddr('A B C', 'To')), 'To: display name must be a quoted string or tokens followed by <URI> (found end of value)');
  t.equal(err(() => parseNameAddr('<sip:a@b c>', 'To')), 'To: white space inside <URI> (RFC 4475 §3.1.2.14)');
  t.equal(err(() => parseNameAddr('<nonsense>', 'To')), 'To: no scheme');
  t.equal(err(() => parseNameAddr('sip:a@b?x=y', 'Contact')), 'Contact: a URI with "?" or "," must be enclosed in <> (RFC 3261 §20.10)');
});

t.test('Contact values', async (t) => {
  t.equal(parseContact(' * '), '*');
  t.equal(err(() => parseContact('<sip:a@b>;q=1.5')), 'Contact: invalid q value');
  t.equal(err(() => parseContact('<sip:a@b>;expires=soon')), 'Contact: invalid expires parameter');
  const c = parseContact('<sip:a@b>;q=0.7;expires=60');
  t.equal(c !== '*' && getParam(c.params, 'q'), '0.7');
});

t.test('Via', async (t) => {
  const v = parseVia('SIP / 2.0 / udp  [2001:db8::9:1] : 5062 ;received=2001:db8::9:255;rport;branch=z9hG4bKx;ttl=16;maddr=224.2.0.1');
  t.same(
    [v.protocol, v.version, v.transport, v.host, v.port],
    ['SIP', '2.0', 'UDP', '[2001:db8::9:1]', 5062],
  );
  t.equal(getParam(v.params, 'received'), '2001:db8::9:255', 'IPv6 received without brackets (RFC 5118 §4.5)');
  t.equal(getParam(v.params, 'rport'), null);
  t.equal(formatVia(v), 'SIP/2.0/UDP [2001:db8::9:1]:5062;received=2001:db8::9:255;rport;branch=z9hG4bKx;ttl=16;maddr=224.2.0.1');
  t.equal(viaSentBy(v), '[2001:db8::9:1]:5062');
  t.equal(viaSentBy(parseVia('SIP/2.0/TCP Example.COM')), 'example.com:5060');
  t.ok(isRfc3261Branch('z9hG4bK1'));
  t.notOk(isRfc3261Branch('z9hG4bK'));
  t.notOk(isRfc3261Branch('1234'));
  t.notOk(isRfc3261Branch(undefined));
  for (const [value, why] of [
    ['SIP/2.0 host', 'Via: malformed sent-protocol (expected "/")'],
    ['SIP/2.0/UDP', 'Via: missing white space before sent-by'],
    ['SIP/2.0/UDPhost', 'Via: missing white space before sent-by'],
    ['SIP/2.0/UDP ho_st', 'Via: invalid sent-by host "ho_st"'],
    ['SIP/2.0/UDP host:99999', 'Via: invalid sent-by port'],
    ['SIP/2.0/UDP [::1', 'Via: unterminated IPv6 reference in sent-by'],
    ['SIP/2.0/UDP host;branch', 'Via: invalid branch parameter'],
    ['SIP/2.0/UDP host;received=host.example.com', 'Via: received parameter is not an IP address'],
    ['SIP/2.0/UDP host;rport=x1', 'Via: invalid rport parameter'],
    ['SIP/2.0/UDP host;ttl=256', 'Via: invalid ttl parameter'],
    ['SIP/2.0/UDP host;maddr=a_b', 'Via: invalid maddr parameter'],
    ['/2.0/UDP host', 'Via: missing protocol name'],
  ] as const) {
    t.equal(err(() => parseVia(value)), why, value);
  }
});

t.test('scalars: CSeq, Max-Forwards, delta-seconds, Call-ID, tokens', async (t) => {
  t.same(parseCSeq(' 0009  INVITE '), { seq: 9, method: 'INVITE' });
  t.equal(formatCSeq(parseCSeq(' 0009  INVITE ')), '9 INVITE');
  t.same(parseCSeq('4294967295 BYE'), { seq: 4294967295, method: 'BYE' });
  t.equal(err(() => parseCSeq('4294967296 BYE')), 'CSeq: sequence number larger than 2**32-1');
  t.equal(err(() => parseCSeq('1')), 'CSeq: expected "number method"');
  t.equal(err(() => parseCSeq('1 IN"VITE')), 'CSeq: method is not a token');
  t.equal(parseMaxForwards('0068'), 68);
  t.equal(parseMaxForwards('255'), 255);
  t.equal(err(() => parseMaxForwards('256')), 'Max-Forwards: value larger than 255');
  t.equal(err(() => parseMaxForwards('-1')), 'Max-Forwards: expected a non-negative decimal number');
  t.equal(parseDeltaSeconds('3600', 'Expires'), 3600);
  t.equal(err(() => parseDeltaSeconds('1h', 'Expires')), 'Expires: expected delta-seconds');
  t.equal(parseCallId(' a84b4c76e66710@pc33.atlanta.com '), 'a84b4c76e66710@pc33.atlanta.com');
  t.equal(err(() => parseCallId('a b')), 'Call-ID: not word [ "@" word ]');
  t.equal(err(() => parseCallId('a@b@c')), 'Call-ID: not word [ "@" word ]');
  t.equal(parseTokenValue(' 100rel ', 'Require'), '100rel');
  t.equal(err(() => parseTokenValue('a b', 'Require')), 'Require: "a b" is not a token');
});

t.test('media types', async (t) => {
  const mt = parseMediaType('Multipart/Mixed ; boundary="x y";charset=utf-8');
  t.same(mt, {
    type: 'multipart',
    subtype: 'mixed',
    params: [
      { name: 'boundary', value: 'x y', quoted: true },
      { name: 'charset', value: 'utf-8' },
    ],
  });
  t.equal(formatMediaType(mt), 'multipart/mixed;boundary="x y";charset=utf-8');
  t.same(parseMediaType('*/*', 'Accept', true), { type: '*', subtype: '*', params: [] });
  t.same(parseMediaType('text/*;q=0.5', 'Accept', true).subtype, '*');
  t.equal(err(() => parseMediaType('text/pl"ain')), 'Content-Type: media type and subtype must be tokens');
  t.equal(err(() => parseMediaType('*/sdp', 'Accept', true)), 'Accept: invalid media range');
  t.equal(err(() => parseMediaType('sdp')), 'Content-Type: expected type/subtype');
});
