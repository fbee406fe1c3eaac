import t from 'tap';
import {
  SipParseError,
  effectivePort,
  formatUri,
  getUriParam,
  isValidHost,
  parseHostPort,
  parseSipUri,
  parseUri,
  uriEquals,
  withUriParam,
  withoutUriParams,
} from '../../../../usages/sip/stack/index.js';

const detail = (text: string, ctx: 'request-uri' | 'header' = 'header'): string => {
  try {
    parseUri(text, ctx);
  } catch (e) {
    if (e instanceof SipParseError && e.reason === 'BAD_URI') return e.detail;
    throw e;
  }
  return 'parsed';
};

t.test('SIP URI components', async (t) => {
  const u = parseSipUri('sips:alice:secret@[2001:db8::1]:5071;transport=tcp;lr;maddr=239.255.255.1?subject=project%20x&priority=urgent');
  t.same(u, {
    kind: 'sip',
    scheme: 'sips',
    user: 'alice',
    password: 'secret',
    host: '[2001:db8::1]',
    port: 5071,
    params: [
      { name: 'transport', value: 'tcp' },
      { name: 'lr', value: null },
      { name: 'maddr', value: '239.255.255.1' },
    ],
    headers: [
      { name: 'subject', value: 'project x' },
      { name: 'priority', value: 'urgent' },
    ],
  });
  t.equal(formatUri(u), 'sips:alice:secret@[2001:db8::1]:5071;transport=tcp;lr;maddr=239.255.255.1?subject=project%20x&priority=urgent');
  t.equal(effectivePort(u), 5071);
  t.equal(effectivePort(parseSipUri('sips:example.com')), 5061);
  t.equal(effectivePort(parseSipUri('SIP:example.com')), 5060);
  t.equal(parseSipUri('SIP:example.com').scheme, 'sip', 'scheme is case-insensitive');
  t.equal(getUriParam(u, 'TRANSPORT'), 'tcp');
  t.equal(getUriParam(u, 'nope'), undefined);
  t.same(withUriParam(u, 'lr', null).params.filter((p) => p.name === 'lr').length, 1);
  t.same(withoutUriParams(u, 'lr', 'MADDR').params, [{ name: 'transport', value: 'tcp' }]);
  t.equal(u.params.length, 3, 'helpers copy, never mutate');
});

t.test('escapes: decoded once, re-escaped as the component requires, octets kept', async (t) => {
  const u = parseSipUri('sip:%61lice%20x@example.com;n%61me=v%2541');
  t.equal(u.user, 'alice x');
  t.same(u.params, [{ name: 'name', value: 'v%41' }]);
  t.equal(formatUri(u), 'sip:alice%20x@example.com;name=v%2541');
  const utf = parseSipUri('sip:%C3%A9t%C3%A9@example.com');
  t.equal(utf.user, 'été', 'UTF-8 octets decode to text');
  t.equal(formatUri(utf), 'sip:%C3%A9t%C3%A9@example.com');
  const bin = parseSipUri('sip:a%FFb%C3@example.com');
  t.equal(bin.user!.length, 4, 'octets that are not UTF-8 survive as escapes');
  t.equal(formatUri(bin), 'sip:a%FFb%C3@example.com', 'and come back unchanged');
  t.equal(formatUri(parseSipUri('sip:+1-212-555-0100;phone-context=x@example.com;user=phone')), 'sip:+1-212-555-0100;phone-context=x@example.com;user=phone');
  const astral = parseSipUri('sip:%F0%9F%98%80@example.com');
  t.equal(astral.user, '😀', 'a 4-octet UTF-8 sequence');
  t.equal(formatUri(astral), 'sip:%F0%9F%98%80@example.com');
  t.equal(formatUri({ ...astral, user: 'a\ud800b' }), 'sip:a%EF%BF%BDb@example.com', 'a lone surrogate becomes U+FFFD');
  t.equal(formatUri({ ...astral, user: 'x;y?z' }), 'sip:x;y?z@example.com', 'user-unreserved stays as is');
  t.equal(formatUri({ ...astral, user: 'a@b:c' }), 'sip:a%40b%3Ac@example.com');
});

t.test('tel and other absolute URIs', async (t) => {
  t.same(parseUri('tel:+1-201-555-0123;ext=45'), { kind: 'tel', number: '+1-201-555-0123', params: [{ name: 'ext', value: '45' }] });
  t.same(parseUri('tel:7042;phone-context=example.com'), {
    kind: 'tel',
    number: '7042',
    params: [{ name: 'phone-context', value: 'example.com' }],
  });
  t.equal(detail('tel:7042'), 'local tel number without phone-context');
  t.equal(detail('tel:+'), 'invalid global number in tel URI');
  t.equal(formatUri(parseUri('tel:+1-201-555-0123;ext=45')), 'tel:+1-201-555-0123;ext=45');
  t.same(parseUri('urn:service:sos'), { kind: 'absolute', scheme: 'urn', opaque: 'service:sos' });
  t.same(parseUri('HTTP://www.example.com/a?b=c'), { kind: 'absolute', scheme: 'http', opaque: '//www.example.com/a?b=c' });
  t.equal(formatUri(parseUri('mailto:a@example.com')), 'mailto:a@example.com');
});

t.test('malformed URIs say what is wrong', async (t) => {
  t.equal(detail('example.com'), 'no scheme');
  t.equal(detail('<sip:a@b>'), 'invalid scheme "<sip"');
  t.equal(detail('sip:a@b@c'), 'more than one "@"');
  t.equal(detail('sip:@example.com'), 'empty user part');
  t.equal(detail('sip:a b@example.com'), 'user part: character 0x20 not allowed');
  t.equal(detail('sip:a%4@example.com'), 'user part: "%" not followed by two hex digits');
  t.equal(detail('sip:example.com:99999'), 'URI: port 99999 out of range');
  t.equal(detail('sip:example.com:'), 'URI: invalid port ""');
  t.equal(detail('sip:exa_mple.com'), 'URI: invalid host "exa_mple.com"');
  t.equal(detail('sip:[::1'), 'URI: unterminated IPv6 reference');
  t.equal(detail('sip:example.com;;lr'), 'empty URI parameter');
  t.equal(detail('sip:example.com;x='), 'URI parameter "x" has "=" but no value');
  t.equal(detail('sip:example.com?h'), 'URI header without "name="');
  t.equal(detail('sip:example.com?a=b', 'request-uri'), 'headers are not allowed in a Request-URI');
  t.equal(detail('sip:example.com?'), 'empty headers component');
  t.equal(detail('http:'), 'empty URI after the scheme');
  t.equal(detail('http:a b'), 'http URI: character 0x20 not allowed');
  t.equal(detail('tel:+1;x y=1'), 'URI parameter name: character 0x20 not allowed');
  t.equal(detail('sip:1.2.3.999'), 'URI: invalid host "1.2.3.999"');
});

t.test('hosts', async (t) => {
  for (const h of ['example.com', 'a.b-c.example.', 'x1', '192.0.2.1', '[::1]', '[2001:db8::9:1]']) t.ok(isValidHost(h), h);
  for (const h of ['', '-a.com', 'a-.com', 'a..b', '1.2.3', '256.1.1.1', '[::g]', 'example.123', 'a_b']) t.notOk(isValidHost(h), h);
  t.same(parseHostPort('[::1]:5060', 'x'), { host: '[::1]', port: 5060 });
  t.same(parseHostPort('example.com', 'x'), { host: 'example.com' });
});

t.test('URI comparison (RFC 3261 §19.1.4 examples)', async (t) => {
  const eq = (a: string, b: string): boolean => uriEquals(parseUri(a), parseUri(b)) && uriEquals(parseUri(b), parseUri(a));
  t.ok(eq('sip:%61lice@atlanta.com;transport=TCP', 'sip:alice@AtLanTa.CoM;Transport=tcp'));
  t.ok(eq('sip:carol@chicago.com', 'sip:carol@chicago.com;newparam=5'));
  t.ok(eq('sip:carol@chicago.com', 'sip:carol@chicago.com;security=on'));
  t.ok(eq('sip:carol@chicago.com;newparam=5', 'sip:carol@chicago.com;security=on'));
  t.ok(eq('sip:biloxi.com;transport=tcp;method=REGISTER?to=sip:bob%40biloxi.com', 'sip:biloxi.com;method=REGISTER;transport=tcp?to=sip:bob%40biloxi.com'));
  t.ok(eq('sip:alice@atlanta.com?subject=project%20x&priority=urgent', 'sip:alice@atlanta.com?priority=urgent&subject=project%20x'));
  t.notOk(eq('SIP:ALICE@AtLanTa.CoM;Transport=udp', 'sip:alice@AtLanTa.CoM;Transport=UDP'), 'user names differ in case');
  t.notOk(eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com:5060'), 'explicit default port');
  t.notOk(eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com;transport=udp'), 'explicit default transport');
  t.notOk(eq('sip:bob@biloxi.com', 'sip:bob@biloxi.com:6000;transport=tcp'));
  t.notOk(eq('sip:carol@chicago.com', 'sip:carol@chicago.com?Subject=next%20meeting'));
  t.notOk(eq('sip:bob@phone21.boxesbybob.com', 'sip:bob@192.0.2.4'));
  t.notOk(eq('sip:carol@chicago.com;security=on', 'sip:carol@chicago.com;security=off'));
  t.notOk(eq('sips:carol@chicago.com', 'sip:carol@chicago.com'));
  t.ok(eq('tel:+1-201-555-0123', 'tel:+1.201.555.0123'), 'tel: visual separators ignored');
  t.notOk(eq('tel:+1-201-555-0123', 'sip:+12015550123@example.com'));
  t.ok(eq('urn:a:b', 'URN:a:b'));
  t.notOk(eq('urn:a:b', 'urn:a:c'));
});
