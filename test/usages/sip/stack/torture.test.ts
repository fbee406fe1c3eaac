/**
 * RFC 4475 torture messages through the parser: every valid message parses with the
 * right field values; every invalid one gives the SipParseError this stack documents (and
 * a 400 can be built where RFC 4475 asks for one); semantic round trip for all that parse.
 */
import { createHash } from 'node:crypto';
import t from 'tap';
import {
  type NameAddr,
  type SipMessage,
  SipParseError,
  SipRequest,
  SipResponse,
  SipStreamFramer,
  formatUri,
  getParam,
  getUriParam,
  isUnsafeResponseHop,
  maxForwardsExhausted,
  parseMessage,
  parseSipDate,
  removeOwnVia,
  salvageRequest,
  serializeMessage,
  uasPrecheck,
} from '../../../../usages/sip/stack/index.js';
import { TORTURE, torture } from './torture-cases.js';

const req = (name: string): SipRequest => {
  const m = parseMessage(torture(name));
  if (!(m instanceof SipRequest)) throw new Error(`${name} is not a request`);
  return m;
};
const res = (name: string): SipResponse => {
  const m = parseMessage(torture(name));
  if (!(m instanceof SipResponse)) throw new Error(`${name} is not a response`);
  return m;
};
const sipUri = (na: NameAddr) => {
  if (na.uri.kind !== 'sip') throw new Error('not a SIP URI');
  return na.uri;
};
const parseError = (data: Uint8Array): SipParseError => {
  try {
    parseMessage(data);
  } catch (e) {
    if (e instanceof SipParseError) return e;
    throw e;
  }
  throw new Error('parsed');
};
const utf8 = (s: string): Uint8Array => new TextEncoder().encode(s);

t.test('fixtures are the byte-exact RFC 4475 messages (49, pinned SHA-256)', async (t) => {
  t.equal(TORTURE.length, 49);
  for (const c of TORTURE) {
    t.equal(createHash('sha256').update(torture(c.name)).digest('hex'), c.sha256, c.name);
  }
});

t.test('every message gives its documented parse outcome, and no other exception', async (t) => {
  for (const c of TORTURE) {
    const data = torture(c.name);
    if (!c.parseError) {
      t.doesNotThrow(() => parseMessage(data), `${c.section} ${c.name} parses`);
      continue;
    }
    const e = parseError(data);
    t.equal(e.reason, c.parseError.reason, `${c.section} ${c.name}: ${e.message}`);
    t.equal(e.header, c.parseError.header, `${c.section} ${c.name} names the header`);
  }
});

t.test('a 400 can be built exactly where one is expected', async (t) => {
  for (const c of TORTURE.filter((c) => c.parseError)) {
    const s = salvageRequest(torture(c.name));
    t.equal(s !== undefined, c.answer === 400, `${c.name}: ${c.answer === 400 ? 'answerable' : 'dropped'}`);
  }
  const s = salvageRequest(torture('scalar02'))!;
  t.equal(s.method, 'REGISTER');
  t.equal(s.cseq, '36893488147419103232 REGISTER', 'the overlarge CSeq is copied as received');
  t.equal(s.callId, 'scalar02.23o0pd9vanlq3wnrlnewofjas9ui32');
  t.same(s.viaLines, ['SIP/2.0/TCP host129.example.com;branch=z9hG4bK342sdfoi3']);
  const b = salvageRequest(torture('badinv01'))!;
  t.equal(b.topVia.host, '192.0.2.15', 'sent-by is read from the malformed Via');
  t.equal(b.topVia.transport, 'UDP');
});

// ---------------------------------------------------------------------------------- 3.1.1

t.test('3.1.1.1 wsinv: folding, escapes, compact and odd-case names, leading zeros', async (t) => {
  const m = req('wsinv');
  t.equal(m.method, 'INVITE');
  t.equal(formatUri(m.uri), 'sip:vivekg@chair-dnrc.example.com;unknownparam');
  t.equal(m.uri.kind === 'sip' && getUriParam(m.uri, 'unknownparam'), null, 'valueless URI parameter');
  const to = m.to();
  t.equal(to.displayName, undefined);
  t.equal(formatUri(to.uri), 'sip:vivekg@chair-dnrc.example.com');
  t.equal(getParam(to.params, 'tag'), '1918181833n');
  const from = m.from();
  t.equal(from.displayName, 'J Rosenberg \\"', 'quoted-pairs unescaped');
  t.equal(m.fromTag(), '98asjd8');
  t.equal(m.maxForwards(), 68);
  t.equal(m.callId(), 'wsinv.ndaksdj@192.0.2.1');
  t.same(m.cseq(), { seq: 9, method: 'INVITE' });
  const vias = m.vias();
  t.equal(vias.length, 3);
  t.same(
    vias.map((v) => [v.protocol, v.version, v.transport, v.host, v.port, getParam(v.params, 'branch')]),
    [
      ['SIP', '2.0', 'UDP', '192.0.2.2', undefined, '390skdjuw'],
      ['SIP', '2.0', 'TCP', 'spindle.example.com', undefined, 'z9hG4bK9ikj8'],
      ['SIP', '2.0', 'UDP', '192.168.255.111', undefined, 'z9hG4bK30239'],
    ],
  );
  t.equal(m.get('Subject'), '', 'empty Subject (compact "s")');
  t.equal(m.get('newfangledheader'), 'newfangled value continued newfangled value', 'fold becomes one SP');
  t.equal(m.get('UnknownHeaderWithUnusualValue'), ';;,,;;,;', 'unknown header kept verbatim, not split');
  t.same(m.contentType(), { type: 'application', subtype: 'sdp', params: [] });
  const route = m.routes();
  t.equal(route.length, 1);
  t.same(sipUri(route[0]!).params, [
    { name: 'lr', value: null },
    { name: 'unknownwith', value: 'value' },
    { name: 'unknown-no-value', value: null },
  ]);
  const contacts = m.contacts();
  t.equal(contacts.length, 1);
  const c = contacts[0] as NameAddr;
  t.equal(c.displayName, 'Quoted string ""');
  t.equal(formatUri(c.uri), 'sip:jdrosen@example.com');
  t.same(c.params, [
    { name: 'newparam', value: 'newvalue' },
    { name: 'secondparam', value: null },
    { name: 'q', value: '0.33' },
  ]);
  t.equal(m.body.length, 150);
  t.ok(m.bodyText().startsWith('v=0\r\no=mhandley 29739 7272939 IN IP4 192.0.2.3\r\n'));
});

t.test('3.1.1.2 intmeth: every token character, quoted NUL/BEL/DEL, UTF-8', async (t) => {
  const m = req('intmeth');
  t.equal(m.method, "!interesting-Method0123456789_*+`.%indeed'~");
  const u = m.uri;
  if (u.kind !== 'sip') throw new Error('not sip');
  t.equal(u.user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  t.equal(u.password, "&it+has=1,weird!*pas$wo~d_too.(doesn't-it)");
  t.equal(u.host, 'example.com');
  t.same(u.params, []);
  t.equal(getParam(m.topVia()!.params, 'branch'), "z9hG4bK-.!%66*_+`'~");
  t.equal(m.to().displayName, 'BEL:\x07 NUL:\x00 DEL:\x7f');
  t.equal(sipUri(m.to()).user, "1_unusual.URI~(to-be!sure)&isn't+it$/crazy?,/;;*");
  const from = m.from();
  t.equal(from.displayName, "token1~` token2'+_ token3*%!.-");
  t.same(from.params, [
    { name: "fromParam''~+*_!.-%", value: 'работающий', quoted: true },
    { name: 'tag', value: "_token~1'+`*%!-." },
  ]);
  t.equal(m.callId(), "intmeth.word%ZK-!.*_+'@word`~)(><:\\/\"][?}{");
  t.same(m.cseq(), { seq: 139122385, method: "!interesting-Method0123456789_*+`.%indeed'~" });
  t.equal(m.maxForwards(), 255);
  t.equal(m.get("extensionHeader-!.%*+_`'~"), '\ufeff大停電', 'UTF-8 value with its BOM kept');
});

t.test('3.1.1.3 esc01: %HH decoded in SIP URI components only', async (t) => {
  const m = req('esc01');
  if (m.uri.kind !== 'sip') throw new Error('not sip');
  t.equal(m.uri.user, 'sips:user@example.com');
  t.equal(m.uri.host, 'example.net');
  t.equal(sipUri(m.to()).user, 'user');
  t.equal(sipUri(m.from()).user, 'I have spaces');
  t.equal(m.callId(), 'esc01.239409asdfakjkn23onasd0-3234', 'compact "i"');
  t.equal(m.contentType()?.subtype, 'sdp', 'compact "C" (upper case)');
  const c = m.contacts()[0] as NameAddr;
  t.equal(sipUri(c).user, 'caller');
  t.same(sipUri(c).params, [
    { name: 'lr', value: null },
    { name: 'name', value: 'value%41' },
  ], 'value%2541 unescapes once, to value%41 (never recursively)');
  t.equal(formatUri(m.uri), 'sip:sips%3Auser%40example.com@example.net', 're-escaped on output');
});

t.test('3.1.1.4 escnull: escaped NUL octets in user parts', async (t) => {
  const m = req('escnull');
  t.equal(sipUri(m.to()).user, 'null-\x00-null');
  t.equal(sipUri(m.from()).user, 'null-\x00-null');
  const cs = m.contacts() as NameAddr[];
  t.same(cs.map((c) => sipUri(c).user), ['\x00', '\x00\x00']);
  t.equal(formatUri(cs[1]!.uri), 'sip:%00%00@host5.example.com');
});

t.test('3.1.1.5 esc02: % is no escape in methods, display names, header names', async (t) => {
  const m = req('esc02');
  t.equal(m.method, 'RE%47IST%45R', 'not REGISTER');
  t.equal(m.cseq().method, 'RE%47IST%45R');
  t.equal(m.to().displayName, '%Z%45');
  t.equal(m.from().displayName, '%Z%45');
  t.equal(m.contacts().length, 2, 'two Contact values, not three');
  t.equal(m.get('C%6Fntact'), '<sip:alias2@host2.example.com>', 'C%6Fntact is another header');
  t.equal(getParam(m.topVia()!.params, 'branch'), 'z9hG4bK209%fzsnel234');
});

t.test('3.1.1.6 lwsdisp: no LWS between display name and <', async (t) => {
  const m = req('lwsdisp');
  t.equal(m.from().displayName, 'caller');
  t.equal(m.fromTag(), '323');
});

t.test('3.1.1.7 longreq: long names, values and many Via values', async (t) => {
  const m = req('longreq');
  const to = m.to();
  t.equal(to.displayName, 'I have a user name of ' + 'extreme'.repeat(10) + ' proportion');
  const tu = sipUri(to);
  t.equal(tu.port, 6000);
  t.equal(getUriParam(tu, 'unknownparam1'), 'very' + 'long'.repeat(20) + 'value');
  t.equal(getUriParam(tu, 'longparam' + 'name'.repeat(25)), 'shortvalue');
  t.equal(getUriParam(tu, 'very' + 'long'.repeat(25) + 'ParameterNameWithNoValue'), null);
  t.equal(m.fromTag(), '12' + '982'.repeat(50) + '424');
  t.equal(sipUri(m.from()).user, 'amazinglylongcallername'.repeat(5));
  t.equal(m.callId(), 'longreq.one' + 'really'.repeat(20) + 'longcallid');
  t.equal(m.vias().length, 34);
  t.equal(m.vias()[0]!.host, 'sip33.example.com', 'Via in every spelling: v, V, ViA, "Via  :" ...');
  const last = m.vias()[33]!;
  t.equal(last.host, 'host.example.com');
  t.equal(getParam(last.params, 'received'), '192.0.2.5');
  t.equal(getParam(last.params, 'branch'), 'very' + 'long'.repeat(50) + 'branchvalue');
  t.equal(m.body.length, 150);
});

t.test('3.1.1.8 dblreq: trailing octets after the body are discarded', async (t) => {
  const m = req('dblreq');
  t.equal(m.method, 'REGISTER');
  t.equal(m.callId(), 'dblreq.0ha0isndaksdj99sdfafnl3lk233412', 'compact "I"');
  t.equal(m.body.length, 0, 'Content-Length 0: the INVITE after it is noise');
});

t.test('3.1.1.9 semiuri: ";" in the user part', async (t) => {
  const m = req('semiuri');
  if (m.uri.kind !== 'sip') throw new Error('not sip');
  t.equal(m.uri.user, 'user;par=u@example.net');
  t.equal(m.uri.host, 'example.com');
  t.same(m.uri.params, []);
  t.same(m.getAll('Accept'), [
    'application/sdp',
    'application/pkcs7-mime',
    'multipart/mixed',
    'multipart/signed',
    'message/sip',
    'message/sipfrag',
  ], 'folded Accept list split into six values');
});

t.test('3.1.1.10 transports: every transport token, known or not', async (t) => {
  const m = req('transports');
  t.same(m.vias().map((v) => v.transport), ['UDP', 'SCTP', 'TLS', 'UNKNOWN', 'TCP']);
  t.equal(m.callId(), 'transports.kijh4akdnaqjkwendsasfdj');
});

t.test('3.1.1.11 mpart01: binary body with NULs and bare CRs is framed by Content-Length', async (t) => {
  const data = torture('mpart01');
  const m = req('mpart01');
  t.equal(m.method, 'MESSAGE');
  t.equal(m.body.length, 553);
  t.same(Buffer.from(m.body), Buffer.from(data.subarray(data.length - 553)), 'body octets untouched');
  t.ok(m.body.includes(0), 'body contains NUL octets');
  const ct = m.contentType()!;
  t.equal(`${ct.type}/${ct.subtype}`, 'multipart/mixed');
  t.equal(getParam(ct.params, 'boundary'), '7a9cbec02ceef655');
});

t.test('3.1.1.12 unreason / 3.1.1.13 noreason: reason phrases', async (t) => {
  const a = res('unreason');
  t.equal(a.status, 200);
  t.equal(a.reason, '= 2**3 * 5**2 но сто девяносто девять - простое');
  t.equal(a.body.length, 154);
  const b = res('noreason');
  t.equal(b.status, 100);
  t.equal(b.reason, '');
  t.equal(b.toTag(), '902jndnke3');
});

// ---------------------------------------------------------------------------------- 3.1.2

t.test('3.1.2 invalid messages: the error says what is wrong', async (t) => {
  const detail = (name: string): string => parseError(torture(name)).message;
  t.equal(detail('badinv01'), 'Via: empty element in comma-separated list');
  t.equal(detail('clerr'), 'Content-Length: Content-Length 9999 but only 154 body octets');
  t.equal(detail('ncl'), 'Content-Length: negative Content-Length');
  t.equal(detail('scalar02'), 'CSeq: sequence number larger than 2**32-1');
  t.equal(detail('scalarlg'), 'CSeq: sequence number larger than 2**32-1');
  t.equal(detail('quotbal'), 'To: unterminated quoted string');
  t.equal(detail('ltgtruri'), 'Request-URI: invalid scheme "<sip"');
  t.match(detail('lwsruri'), /white space in the Request-URI/);
  t.match(detail('lwsstart'), /single SP/);
  t.match(detail('trws'), /none at the end/);
  t.equal(detail('escruri'), 'Request-URI: headers are not allowed in a Request-URI');
  t.match(detail('regbadct'), /^Contact: a URI with "\?" or "," must be enclosed in <>/);
  t.match(detail('badaspec'), /^To: white space inside <URI>/);
  t.equal(detail('baddn'), 'header section does not end with an empty line', 'the archived baddn has no empty line');
  t.equal(detail('mismatch01'), 'CSeq: CSeq method "INVITE" does not match the request method');
  t.equal(detail('mismatch02'), 'CSeq: CSeq method "INVITE" does not match the request method');
  t.equal(detail('bigcode'), 'Status-Code is not three digits in 100..699');
  t.equal(detail('multi01'), 'Call-ID: header field appears more than once');
  t.equal(detail('mcl01'), 'Content-Length: more than one Content-Length');
  t.equal(detail('insuf'), 'From: mandatory header field is missing');
});

t.test('3.1.2.15 baddn with its empty line restored: the display names are the error', async (t) => {
  const fixed = new Uint8Array([...torture('baddn'), 0x0d, 0x0a]);
  const e = parseError(fixed);
  t.equal(e.reason, 'BAD_HEADER_VALUE');
  t.equal(e.header, 'From');
  t.equal(e.detail, 'expected a URI or a display name followed by <URI> (found "Bell,")');
  const named = parseError(new TextEncoder().encode(new TextDecoder().decode(fixed).replace('Bell, Alexander', 'Bell Alexander')));
  t.equal(named.header, 'To', 'with the From fixed, the To display name is the error');
  t.equal(named.detail, 'expected a URI or a display name followed by <URI> (found "Watson,")');
});

t.test('3.1.2.12 baddate parses (Date is not used); the SIP-date check rejects EST', async (t) => {
  const m = req('baddate');
  t.equal(m.get('Date'), 'Fri, 01 Jan 2010 16:00:00 EST');
  const dateError = (v: string): string => {
    try {
      parseSipDate(v);
    } catch (e) {
      if (e instanceof SipParseError && e.reason === 'BAD_HEADER_VALUE' && e.header === 'Date') return e.detail;
      throw e;
    }
    return 'accepted';
  };
  t.equal(dateError(m.get('Date')!), 'time zone must be GMT, not EST');
  t.equal(parseSipDate('Fri, 01 Jan 2010 16:00:00 GMT'), Date.UTC(2010, 0, 1, 16));
  t.equal(dateError('Sat, 01 Jan 2010 16:00:00 GMT'), 'day of week does not match the date');
  t.equal(dateError('Fri, 01 Jan 2010 16:00:00 UT'), 'time zone must be GMT, not UT');
  t.equal(dateError('Fri, 32 Jan 2010 16:00:00 GMT'), 'date out of range');
  t.equal(dateError('yesterday'), 'not an RFC 1123 date');
});

t.test('3.1.2.16 badvers parses with version SIP/7.0 (the endpoint answers 505)', async (t) => {
  const m = req('badvers');
  t.equal(m.version, 'SIP/7.0');
  t.equal(m.topVia()!.version, '7.0');
});

t.test('3.1.2.2 clerr on a stream: the framer waits for the rest of the body', async (t) => {
  const f = new SipStreamFramer();
  t.same(f.push(torture('clerr')), []);
  t.equal(f.buffered, torture('clerr').length);
});

t.test('3.1.2.3 ncl and 3.3.9 mcl01 on a stream: unrecoverable framing errors', async (t) => {
  for (const [name, detail] of [
    ['ncl', 'negative Content-Length'],
    ['mcl01', 'more than one Content-Length'],
  ] as const) {
    const f = new SipStreamFramer();
    const ev = f.push(torture(name));
    t.equal(ev.length, 1);
    t.equal(ev[0]!.type, 'error');
    if (ev[0]!.type === 'error') {
      t.equal(ev[0].error.detail, detail);
      t.ok(ev[0].headerBytes && salvageRequest(ev[0].headerBytes), 'the header section still allows a 400');
    }
    t.same(f.push(utf8('OPTIONS sip:x SIP/2.0\r\n\r\n')), [], 'nothing after the error');
  }
});

// ---------------------------------------------------------------------------------- 3.2-3.4

t.test('3.2.1 badbranch parses; the branch is the bare magic cookie', async (t) => {
  const m = req('badbranch');
  t.equal(getParam(m.topVia()!.params, 'branch'), 'z9hG4bK');
});

const uas = { methods: ['INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS'] };

t.test('3.3 application-layer messages parse and get the RFC 4475 answer from uasPrecheck', async (t) => {
  const status = (name: string): number | undefined => uasPrecheck(req(name), uas)?.status;
  t.equal(status('unkscm'), 416);
  t.equal(status('novelsc'), 416);
  const unk = req('unkscm');
  t.same(unk.uri, { kind: 'absolute', scheme: 'nobodyknowsthisscheme', opaque: 'totallyopaquecontent' });
  t.same(req('novelsc').uri, { kind: 'absolute', scheme: 'soap.beep', opaque: '//192.0.2.103:3002' });
  const bext = uasPrecheck(req('bext01'), uas)!;
  t.equal(bext.status, 420);
  t.same(bext.headers, [{ name: 'Unsupported', value: 'nothingSupportsThis, nothingSupportsThisEither' }]);
  t.same(req('bext01').optionTags('Proxy-Require'), ['noProxiesSupportThis', 'norDoAnyProxiesSupportThis']);
  const invut = uasPrecheck(req('invut'), uas)!;
  t.equal(invut.status, 415);
  t.same(invut.headers, [{ name: 'Accept', value: 'application/sdp' }]);
  t.equal(status('sdp01'), 406);
  t.equal(status('regaut01'), 405, 'REGISTER at a non-registrar');
  t.equal(req('regaut01').get('Authorization'), 'NoOneKnowsThisScheme opaque-data=here', 'kept verbatim');
  t.equal(status('zeromf'), undefined, 'a UAS processes Max-Forwards: 0');
  t.equal(status('wsinv'), undefined);
  t.equal(status('intmeth'), 501);
  t.equal(status('esc02'), 501);
});

t.test('3.3.4 unksm2: other URI schemes in To, From, Contact', async (t) => {
  const m = req('unksm2');
  t.same(m.to().uri, { kind: 'absolute', scheme: 'isbn', opaque: '2983792873' });
  t.same(m.from().uri, { kind: 'absolute', scheme: 'http', opaque: '//www.example.com' });
  t.equal(m.fromTag(), '3234233');
  t.same((m.contacts()[0] as NameAddr).uri, { kind: 'absolute', scheme: 'name', opaque: 'John_Smith' });
});

t.test('3.3.10 bcast: an endpoint drops it, a proxy must not forward it', async (t) => {
  const m = res('bcast');
  t.equal(m.vias()[1]!.host, '255.255.255.255');
  const copy = m.clone();
  t.equal(removeOwnVia(copy, (v) => v.host === '192.0.2.198'), true);
  t.equal(isUnsafeResponseHop(copy), true);
  t.equal(isUnsafeResponseHop(res('unreason')), false);
});

t.test('3.3.11 zeromf: a proxy may not forward Max-Forwards 0', async (t) => {
  t.equal(maxForwardsExhausted(req('zeromf')), true);
  t.equal(maxForwardsExhausted(req('wsinv')), false);
});

t.test('3.3.12-14: contact-param versus URI parameter versus URI header', async (t) => {
  const c1 = req('cparam01').contacts()[0] as NameAddr;
  t.same(sipUri(c1).params, [], 'cparam01: no URI parameter');
  t.same(c1.params, [{ name: 'unknownparam', value: null }], 'cparam01: a contact-param');
  t.equal(sipUri(c1).user, '+19725552222');
  const c2 = req('cparam02').contacts()[0] as NameAddr;
  t.same(sipUri(c2).params, [{ name: 'unknownparam', value: null }], 'cparam02: a URI parameter');
  t.same(c2.params, []);
  const c3 = req('regescrt').contacts()[0] as NameAddr;
  t.same(sipUri(c3).headers, [{ name: 'Route', value: '<sip:sip.example.com>' }], 'regescrt: escaped URI header');
  t.equal(formatUri(c3.uri), 'sip:user@example.com?Route=%3Csip:sip.example.com%3E');
});

t.test('3.4.1 inv2543: no branch, no From tag, no Content-Length, no Max-Forwards', async (t) => {
  const m = req('inv2543');
  t.equal(getParam(m.topVia()!.params, 'branch'), undefined);
  t.equal(m.fromTag(), undefined);
  t.equal(m.maxForwards(), undefined);
  t.equal(m.get('Content-Length'), undefined);
  t.equal(m.body.length, 105, 'the body is the rest of the datagram');
  t.equal(getParam(m.to().params, 'user'), 'phone', 'addr-spec form: ";user=phone" is a header parameter');
  t.equal(getUriParam(sipUri(m.from()), 'user'), 'phone', 'inside <>: a URI parameter');
});

// ---------------------------------------------------------------------------------- round trip

/** Semantic view: start line, header values (Content-Length aside), body. */
function semantic(m: SipMessage): unknown {
  const start = m instanceof SipRequest ? [m.method, formatUri(m.uri), m.version] : [m.status, m.reason, m.version];
  return { start, headers: m.headers.filter((h) => h.name !== 'Content-Length'), body: Buffer.from(m.body).toString('hex') };
}

t.test('round trip: parse(serialize(parse(x))) equals parse(x) for every message that parses', async (t) => {
  let n = 0;
  for (const c of TORTURE.filter((c) => !c.parseError)) {
    const m = parseMessage(torture(c.name));
    const again = parseMessage(serializeMessage(m), { framing: 'stream' });
    t.same(semantic(again), semantic(m), c.name);
    t.equal(again.get('Content-Length'), String(m.body.length), `${c.name}: Content-Length is the body length`);
    n++;
  }
  t.equal(n, 29);
});
