import t from 'tap';
import {
  type FramerEvent,
  SipParseError,
  SipRequest,
  SipResponse,
  SipStreamFramer,
  isSupportedVersion,
  parseMessage,
  salvageRequest,
} from '../../../../usages/sip/stack/index.js';

const crlf = (s: string): Uint8Array => new TextEncoder().encode(s.replace(/\n/g, '\r\n'));
const BASE =
  'Via: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\nTo: <sip:b@example.com>\nFrom: <sip:a@example.com>;tag=1\nCall-ID: id1\n';

function fail(data: Uint8Array, options?: Parameters<typeof parseMessage>[1]): SipParseError {
  try {
    parseMessage(data, options);
  } catch (e) {
    if (e instanceof SipParseError) return e;
    throw e;
  }
  throw new Error('parsed');
}

t.test('requests: compact names, folding, leading CRLFs, version case', async (t) => {
  const m = parseMessage(
    crlf(`\n\nOPTIONS sip:b@example.com sip/2.0\nv: SIP/2.0/UDP h.example.com;branch=z9hG4bK1\nt: <sip:b@example.com>\nf: <sip:a@example.com>;tag=1\ni: id1\nCSeq: 1\n  OPTIONS\nk: 100rel,\n timer\nl: 0\n\n`),
  ) as SipRequest;
  t.ok(m instanceof SipRequest);
  t.equal(m.version, 'SIP/2.0', 'SIP-Version is case-insensitive, normalised');
  t.same(m.cseq(), { seq: 1, method: 'OPTIONS' });
  t.same(m.getAll('Supported'), ['100rel', 'timer']);
  t.same(
    m.headers.map((h) => h.name),
    ['Via', 'To', 'From', 'Call-ID', 'CSeq', 'Supported', 'Supported', 'Content-Length'],
  );
  t.ok(isSupportedVersion('sip/2.0'));
  t.notOk(isSupportedVersion('SIP/2.1'));
});

t.test('responses: status line forms', async (t) => {
  const r = parseMessage(crlf(`SIP/2.0 486 Busy Here\n${BASE}CSeq: 1 INVITE\nContent-Length: 0\n\n`)) as SipResponse;
  t.ok(r instanceof SipResponse);
  t.equal(r.status, 486);
  t.equal(r.reason, 'Busy Here');
  const bare = parseMessage(crlf(`SIP/2.0 100\n${BASE}CSeq: 1 INVITE\n\n`)) as SipResponse;
  t.equal(bare.reason, '', 'no SP after the code is accepted (RFC 4475 §3.1.1.13)');
  t.equal(fail(crlf(`SIP/2.0 099 Low\n${BASE}CSeq: 1 INVITE\n\n`)).reason, 'BAD_STATUS_CODE');
  t.equal(fail(crlf(`SIP/2.0 700 High\n${BASE}CSeq: 1 INVITE\n\n`)).reason, 'BAD_STATUS_CODE');
  t.equal(fail(crlf(`SIP/2 200 OK\n${BASE}CSeq: 1 INVITE\n\n`)).reason, 'BAD_VERSION');
  t.equal(fail(crlf(`SIP/2.0 200 O\x7fK\n${BASE}CSeq: 1 INVITE\n\n`)).reason, 'BAD_REASON_PHRASE');
  const noCseqMatch = parseMessage(crlf(`SIP/2.0 200 OK\n${BASE}CSeq: 1 BYE\n\n`)) as SipResponse;
  t.equal(noCseqMatch.cseq().method, 'BYE', 'responses carry any CSeq method');
});

t.test('start line errors', async (t) => {
  const e = (line: string): string => fail(crlf(`${line}\n${BASE}CSeq: 1 INVITE\n\n`)).reason;
  t.equal(e('INVITE sip:b@example.com SIP/2.0 '), 'MALFORMED_START_LINE');
  t.equal(e('INVITE\tsip:b@example.com\tSIP/2.0'), 'MALFORMED_START_LINE');
  t.equal(e('INV@ITE sip:b@example.com SIP/2.0'), 'BAD_METHOD');
  t.equal(e('INVITE sip:b@example.com HTTP/1.1'), 'BAD_VERSION');
  t.equal(e('INVITE sip:b@exa mple.com SIP/2.0'), 'MALFORMED_START_LINE');
  t.equal(e('INVITE sip:b@example.com?x=y SIP/2.0'), 'BAD_REQUEST_URI');
  t.equal(fail(crlf(`INVITE sip:b@example.com SIP/2.0\n\tfolded\n${BASE}\n`)).reason, 'MALFORMED_HEADER_LINE');
  t.equal(fail(crlf(`INVITE sip:b@example.com\x01 SIP/2.0\n${BASE}\n`)).reason, 'MALFORMED_START_LINE');
});

t.test('header section errors', async (t) => {
  const req = (extra: string, cseq = 'CSeq: 1 OPTIONS\n'): Uint8Array => crlf(`OPTIONS sip:b@example.com SIP/2.0\n${BASE}${cseq}${extra}\n`);
  t.equal(fail(req('No colon here\n')).reason, 'MALFORMED_HEADER_LINE');
  t.equal(fail(req('Bad Name: x\n')).reason, 'MALFORMED_HEADER_LINE');
  t.equal(fail(req('X: a\x01b\n')).reason, 'INVALID_CHARACTER');
  t.equal(fail(req('Max-Forwards: 1\nMax-Forwards: 2\n')).reason, 'DUPLICATE_HEADER');
  t.equal(fail(req('', '')).message, 'CSeq: mandatory header field is missing');
  t.equal(fail(req('', 'CSeq: 1 INVITE\n')).reason, 'CSEQ_METHOD_MISMATCH');
  t.equal(fail(crlf('OPTIONS sip:b@example.com SIP/2.0\nTo: <sip:b@x>\n\n')).message, 'Via: mandatory header field is missing');
  t.equal(fail(new Uint8Array([...crlf(`OPTIONS sip:b@example.com SIP/2.0\n${BASE}`), 0x58, 0x3a, 0x20, 0xc3, 0x28, 0x0d, 0x0a, 0x0d, 0x0a])).reason, 'INVALID_UTF8');
  t.equal(fail(new TextEncoder().encode(`OPTIONS sip:b@example.com SIP/2.0\r\nX: a\nb\r\n\r\n`)).reason, 'BARE_LINE_ENDING');
  t.equal(fail(new TextEncoder().encode(`OPTIONS sip:b@example.com SIP/2.0\r\nX: a\rb\r\n\r\n`)).reason, 'BARE_LINE_ENDING');
  t.equal(fail(crlf('\n\n')).reason, 'EMPTY_MESSAGE');
  t.equal(fail(new Uint8Array(0)).reason, 'EMPTY_MESSAGE');
  t.equal(fail(crlf(`OPTIONS sip:b@example.com SIP/2.0\n${BASE}`)).reason, 'NO_HEADER_TERMINATOR');
  // Control characters are allowed only as quoted-pairs.
  const qp = parseMessage(crlf(`OPTIONS sip:b@example.com SIP/2.0\n${BASE}CSeq: 1 OPTIONS\nX: "a\\\x01b"\n\n`));
  t.equal(qp.get('X'), '"a\\\x01b"');
});

t.test('body framing: datagram and stream', async (t) => {
  const head = `MESSAGE sip:b@example.com SIP/2.0\n${BASE}CSeq: 1 MESSAGE\n`;
  const noLength = parseMessage(crlf(`${head}\nhello`));
  t.equal(new TextDecoder().decode(noLength.body), 'hello', 'no Content-Length: the rest of the datagram');
  t.equal(fail(crlf(`${head}\nhello`), { framing: 'stream' }).message, 'Content-Length: Content-Length is mandatory on stream transports');
  t.equal(parseMessage(crlf(`${head}Content-Length: 00003\n\nhello`)).body.length, 3, 'extra octets discarded');
  t.equal(fail(crlf(`${head}Content-Length: 3x\n\nhello`)).message, 'Content-Length: Content-Length is not a number');
  t.equal(fail(crlf(`${head}Content-Length: 99999999999999999999\n\nhello`)).message, 'Content-Length: Content-Length larger than 65535');
  t.equal(fail(crlf(`${head}Content-Length: 100\n\nhello`), { maxMessageBytes: 80 }).reason, 'MESSAGE_TOO_LARGE');
  t.equal(fail(crlf(`${head}Content-Length: 300\n\nhello`), { maxMessageBytes: 200 }).message, 'Content-Length: Content-Length larger than 200');
  t.equal(fail(crlf(`${head}Content-Length: 100\n\nhello`), { maxMessageBytes: 200 }).reason, 'BODY_TRUNCATED');
});

t.test('salvage needs a request line, a readable top Via and From, To, Call-ID, CSeq', async (t) => {
  const s = salvageRequest(crlf(`INVITE sip:b SIP/2.0\nVia: SIP/2.0/UDP h.example.com:5070;branch=z9hG4bKs;;x\nVia: SIP/2.0/UDP second\nTo: <sip:b@x>\nFrom: <sip:a@x>;tag=1\nCall-ID: s1\nCall-ID: s2\nCSeq: 5 INVITE\n\n`))!;
  t.equal(s.method, 'INVITE');
  t.equal(s.topVia.host, 'h.example.com');
  t.equal(s.topVia.port, 5070);
  t.same(s.viaLines, ['SIP/2.0/UDP h.example.com:5070;branch=z9hG4bKs;;x', 'SIP/2.0/UDP second']);
  t.equal(s.callId, 's1', 'the first of duplicate values');
  t.equal(salvageRequest(crlf(`ACK sip:b SIP/2.0\n${BASE}CSeq: 1 ACK\n\n`)), undefined, 'an ACK is never answered');
  t.equal(salvageRequest(crlf(`SIP/2.0 200 OK\n${BASE}CSeq: 1 ACK\n\n`)), undefined, 'nor a response');
  t.equal(salvageRequest(crlf(`INVITE sip:b SIP/2.0\nVia: garbage\nTo: <sip:b@x>\nFrom: <sip:a@x>\nCall-ID: x\nCSeq: 1 INVITE\n\n`)), undefined);
  t.equal(salvageRequest(crlf(`INVITE sip:b SIP/2.0\n${BASE}CSeq: INVITE\n\n`)), undefined, 'CSeq must be "number method"');
  t.equal(salvageRequest(crlf(`INVITE sip:b SIP/2.0\n${BASE.replace('Call-ID: id1', 'Call-ID: a\x01b')}CSeq: 1 INVITE\n\n`)), undefined, 'no control characters copied');
  t.ok(salvageRequest(crlf(`IN VITE  sip:b SIP/2.0\n${BASE}CSeq: 1 INVITE\nX: a\n \tfolded\n\n`)), 'a broken request line is fine');
});

t.test('stream framer: keep-alives, chunking, limits', async (t) => {
  const msg = crlf(`OPTIONS sip:b@example.com SIP/2.0\n${BASE}CSeq: 1 OPTIONS\nContent-Length: 4\n\nbody`);
  const f = new SipStreamFramer();
  const kinds = (evs: FramerEvent[]): string[] => evs.map((e) => e.type);
  t.same(kinds(f.push(crlf('\n'))), [], 'a lone CRLF may become a ping');
  t.same(kinds(f.push(crlf('\n'))), ['keepalive'], 'CRLFCRLF is a ping');
  t.same(kinds(f.push(new Uint8Array([...crlf('\n'), ...msg.subarray(0, 10)]))), [], 'a lone CRLF before a message is skipped');
  const rest = f.push(new Uint8Array([...msg.subarray(10), ...msg, ...crlf('\n\n')]));
  t.same(kinds(rest), ['message', 'message', 'keepalive']);
  const m = rest[0]!;
  t.ok(m.type === 'message' && new TextDecoder().decode(parseMessage(m.bytes, { framing: 'stream' }).body) === 'body');
  t.equal(f.buffered, 0);
  // Byte by byte.
  const g = new SipStreamFramer();
  let n = 0;
  for (const b of msg) n += g.push(new Uint8Array([b])).length;
  t.equal(n, 1);

  const big = new SipStreamFramer({ maxMessageBytes: 100 });
  const ev = big.push(new Uint8Array(200).fill(0x41));
  t.equal(ev[0]!.type === 'error' && ev[0].error.reason, 'MESSAGE_TOO_LARGE');
  const body = new SipStreamFramer({ maxMessageBytes: 300 });
  const ev2 = body.push(crlf(`OPTIONS sip:b@example.com SIP/2.0\n${BASE}CSeq: 1 OPTIONS\nContent-Length: 500\n\n`));
  t.equal(ev2[0]!.type === 'error' && ev2[0].error.reason, 'MESSAGE_TOO_LARGE');
  const huge = new SipStreamFramer();
  const ev3 = huge.push(crlf(`OPTIONS sip:b SIP/2.0\nl:\n 99999999999999999\n\n`));
  t.equal(ev3[0]!.type === 'error' && ev3[0].error.message, 'Content-Length: Content-Length too large', 'folded compact l: found');
  const missing = new SipStreamFramer();
  const ev4 = missing.push(crlf(`OPTIONS sip:b SIP/2.0\nX: 1\n\n`));
  t.equal(ev4[0]!.type === 'error' && ev4[0].error.reason, 'MISSING_HEADER');
  t.equal(ev4[0]!.type === 'error' && ev4[0].headerBytes?.length, 31);
  const nan = new SipStreamFramer();
  const ev5 = nan.push(crlf(`OPTIONS sip:b SIP/2.0\nContent-Length: five\n\n`));
  t.equal(ev5[0]!.type === 'error' && ev5[0].error.message, 'Content-Length: Content-Length is not a number');
});
