/**
 * The SIP message parser (RFC 3261 §7, §18.3, §25) for datagrams and for messages cut from
 * a stream by {@link SipStreamFramer}.
 *
 * The parser is strict where a lenient reading would be ambiguous or unsafe (request-line
 * spacing, <> around URIs, quoting, scalar ranges, Content-Length framing) and validates
 * every header field the stack interprets, so a message that parses can be used without
 * further checks. Every failure is a {@link SipParseError} saying what is wrong; the parser
 * throws nothing else and runs in time linear in its input.
 *
 * {@link salvageRequest} is the second chance for a request that failed to parse: if the
 * fields a response needs (Via, From, To, Call-ID, CSeq) are readable, the endpoint can
 * still answer 400 (RFC 3261 §8.2, §18.3; RFC 4475 §3.1.2).
 */
import { describeChar, isToken, isWsp, trimWsp } from './charset.js';
import { DEFAULT_MAX_MESSAGE_BYTES, LIST_HEADERS, SIP_VERSION, canonicalHeaderName } from './constants.js';
import { SipParseError } from './errors.js';
import {
  type Via,
  parseCSeq,
  parseCallId,
  parseContact,
  parseDeltaSeconds,
  parseMaxForwards,
  parseMediaType,
  parseNameAddr,
  parseTokenValue,
  parseVia,
  splitList,
} from './header-values.js';
import { type HeaderField, type SipMessage, SipRequest, SipResponse } from './message.js';
import { parseUri } from './uri.js';

export interface ParseOptions {
  /** Largest message accepted, octets. @default 65535 */
  maxMessageBytes?: number;
  /**
   * How the message was framed. 'datagram': Content-Length may be absent (the body is the
   * rest of the datagram) and extra octets after the body are discarded; 'stream': the
   * input is exactly one message cut by the framer and Content-Length is mandatory
   * (RFC 3261 §18.3). @default 'datagram'
   */
  framing?: 'datagram' | 'stream';
}

const fatalUtf8 = new TextDecoder('utf-8', { fatal: true });

/** List headers whose value may be empty ("Accept:" means no body type is acceptable). */
const EMPTY_ALLOWED = new Set(['Accept', 'Accept-Encoding', 'Accept-Language', 'Allow', 'Supported', 'Unsupported']);

/** Single-valued header fields the stack interprets: a second occurrence is an error. */
const STRICT_SINGLE = ['Call-ID', 'CSeq', 'From', 'To', 'Max-Forwards', 'Content-Length', 'Content-Type', 'Expires', 'Min-Expires'];

/** Per-header validators: each throws SipParseError when the value does not match. */
const VALIDATORS: Record<string, (value: string) => unknown> = {
  Via: parseVia,
  From: (v) => parseNameAddr(v, 'From'),
  To: (v) => parseNameAddr(v, 'To'),
  Contact: parseContact,
  Route: (v) => parseNameAddr(v, 'Route', true),
  'Record-Route': (v) => parseNameAddr(v, 'Record-Route', true),
  Path: (v) => parseNameAddr(v, 'Path', true),
  'Service-Route': (v) => parseNameAddr(v, 'Service-Route', true),
  'Reply-To': (v) => parseNameAddr(v, 'Reply-To'),
  'Refer-To': (v) => parseNameAddr(v, 'Refer-To'),
  'Call-ID': parseCallId,
  CSeq: parseCSeq,
  'Max-Forwards': parseMaxForwards,
  'Content-Type': (v) => parseMediaType(v),
  Accept: (v) => v === '' || parseMediaType(v, 'Accept', true),
  Expires: (v) => parseDeltaSeconds(v, 'Expires'),
  'Min-Expires': (v) => parseDeltaSeconds(v, 'Min-Expires'),
  Require: (v) => parseTokenValue(v, 'Require'),
  'Proxy-Require': (v) => parseTokenValue(v, 'Proxy-Require'),
  Supported: (v) => v === '' || parseTokenValue(v, 'Supported'),
  Unsupported: (v) => v === '' || parseTokenValue(v, 'Unsupported'),
  Allow: (v) => v === '' || parseTokenValue(v, 'Allow'),
};

const CR = 0x0d;
const LF = 0x0a;

/** Index after any CRLFs at the start of `data` (RFC 3261 §7.5: ignored before a start-line). */
function skipLeadingCrlf(data: Uint8Array): number {
  let i = 0;
  while (i + 1 < data.length && data[i] === CR && data[i + 1] === LF) i += 2;
  return i;
}

/** Index of the first CRLFCRLF at or after `from`, or -1. */
export function findHeaderEnd(data: Uint8Array, from: number, to = data.length): number {
  for (let i = Math.max(0, from); i + 3 < to; i++) {
    if (data[i] === CR && data[i + 1] === LF && data[i + 2] === CR && data[i + 3] === LF) return i;
  }
  return -1;
}

/** Splits a header section into logical lines: CRLF followed by SP/HTAB continues a line. */
function unfoldLines(text: string): string[] {
  const groups: string[][] = [];
  for (const line of text.split('\r\n')) {
    if (line.length > 0 && isWsp(line.charCodeAt(0))) {
      if (groups.length <= 1) throw new SipParseError('MALFORMED_HEADER_LINE', 'first header line starts with white space');
      groups[groups.length - 1]!.push(line);
    } else {
      groups.push([line]);
    }
  }
  // LWS = [*WSP CRLF] 1*WSP: a fold and the white space around it become one SP.
  return groups.map((parts) => (parts.length === 1 ? parts[0]! : parts.map((p, i) => (i === 0 ? trimEndWsp(p) : trimWsp(p))).join(' ')));
}

function trimEndWsp(s: string): string {
  let b = s.length;
  while (b > 0 && isWsp(s.charCodeAt(b - 1))) b--;
  return s.slice(0, b);
}

function checkNoBareLineEndings(section: Uint8Array): void {
  for (let i = 0; i < section.length; i++) {
    const c = section[i];
    if (c === CR && section[i + 1] !== LF) throw new SipParseError('BARE_LINE_ENDING', 'CR not followed by LF in the header section');
    if (c === LF && section[i - 1] !== CR) throw new SipParseError('BARE_LINE_ENDING', 'LF not preceded by CR in the header section');
  }
}

/** Control characters are not allowed in a header value except after "\" (a quoted-pair). */
function checkValueCharacters(name: string, value: string): void {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (((c < 0x20 && c !== 0x09) || c === 0x7f) && value.charCodeAt(i - 1) !== 0x5c) {
      throw new SipParseError('INVALID_CHARACTER', `control character ${describeChar(c)} in value`, name);
    }
  }
}

const VERSION_RE = /^SIP\/[0-9]+\.[0-9]+$/i;

function normalizeVersion(v: string): string {
  return 'SIP/' + v.slice(4);
}

function parseStartLine(line: string): SipRequest | SipResponse {
  for (let i = 0; i < line.length; i++) {
    const c = line.charCodeAt(i);
    if (c < 0x20 && c !== 0x09) throw new SipParseError('MALFORMED_START_LINE', `control character ${describeChar(c)} in the start line`);
  }
  if (/^SIP\//i.test(line)) {
    // Status-Line = SIP-Version SP Status-Code SP Reason-Phrase (RFC 3261 §7.2)
    const sp1 = line.indexOf(' ');
    const version = sp1 < 0 ? line : line.slice(0, sp1);
    if (!VERSION_RE.test(version)) throw new SipParseError('BAD_VERSION', 'malformed SIP-Version in the Status-Line');
    const rest = sp1 < 0 ? '' : line.slice(sp1 + 1);
    const sp2 = rest.indexOf(' ');
    // A missing SP after an empty reason is accepted (RFC 4475 §3.1.1.13: "a liberal
    // receiver would accept it").
    const code = sp2 < 0 ? rest : rest.slice(0, sp2);
    const reason = sp2 < 0 ? '' : rest.slice(sp2 + 1);
    if (!/^[1-6][0-9]{2}$/.test(code)) throw new SipParseError('BAD_STATUS_CODE', 'Status-Code is not three digits in 100..699');
    if (/[\x00-\x08\x0a-\x1f\x7f]/.test(reason)) throw new SipParseError('BAD_REASON_PHRASE', 'control character in the Reason-Phrase');
    const res = new SipResponse(Number(code), reason);
    res.version = normalizeVersion(version);
    return res;
  }
  // Request-Line = Method SP Request-URI SP SIP-Version (RFC 3261 §7.1): exactly one SP
  // between elements and none at the end (RFC 4475 §3.1.2.8-10).
  const parts = line.split(' ');
  if (parts.length !== 3 || parts.some((p) => p.length === 0)) {
    const why = parts.some((p) => p.length === 0)
      ? 'Request-Line elements must be separated by single SP characters, with none at the end'
      : 'Request-Line must be "Method SP Request-URI SP SIP-Version" (white space in the Request-URI?)';
    throw new SipParseError('MALFORMED_START_LINE', why);
  }
  const [method, uriText, version] = parts as [string, string, string];
  if (!isToken(method)) throw new SipParseError('BAD_METHOD', 'Method is not a token');
  if (!VERSION_RE.test(version)) throw new SipParseError('BAD_VERSION', 'malformed SIP-Version in the Request-Line');
  let uri;
  try {
    uri = parseUri(uriText, 'request-uri');
  } catch (e) {
    if (e instanceof SipParseError) throw new SipParseError('BAD_REQUEST_URI', `Request-URI: ${e.detail}`);
    throw e;
  }
  const req = new SipRequest(method, uri);
  req.version = normalizeVersion(version);
  return req;
}

/** Parses one header line "name HCOLON value" (HCOLON = *( SP / HTAB ) ":" SWS). */
function parseHeaderLine(line: string): { name: string; value: string } {
  const colon = line.indexOf(':');
  if (colon < 0) throw new SipParseError('MALFORMED_HEADER_LINE', 'header line without ":"');
  const name = line.slice(0, colon).replace(/[ \t]+$/, '');
  if (!isToken(name)) throw new SipParseError('MALFORMED_HEADER_LINE', 'header name is not a token');
  return { name, value: trimWsp(line.slice(colon + 1)) };
}

/**
 * Parses one SIP message. For datagrams pass the whole datagram; for streams, one message
 * cut by {@link SipStreamFramer}. Throws SipParseError.
 */
export function parseMessage(data: Uint8Array, options: ParseOptions = {}): SipMessage {
  const max = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  const stream = options.framing === 'stream';
  if (data.length > max) throw new SipParseError('MESSAGE_TOO_LARGE', `message larger than ${max} octets`);
  const start = skipLeadingCrlf(data);
  if (start >= data.length) throw new SipParseError('EMPTY_MESSAGE', 'no start line');
  const end = findHeaderEnd(data, start);
  if (end < 0) throw new SipParseError('NO_HEADER_TERMINATOR', 'header section does not end with an empty line');
  const section = data.subarray(start, end);
  checkNoBareLineEndings(section);
  let text: string;
  try {
    text = fatalUtf8.decode(section);
  } catch {
    throw new SipParseError('INVALID_UTF8', 'header section is not well-formed UTF-8');
  }
  const lines = unfoldLines(text);
  const msg = parseStartLine(lines[0]!);

  const fields: HeaderField[] = [];
  for (let n = 1; n < lines.length; n++) {
    const { name: rawName, value } = parseHeaderLine(lines[n]!);
    const name = canonicalHeaderName(rawName);
    checkValueCharacters(name, value);
    if (LIST_HEADERS.has(name)) {
      const values = splitList(value, name, EMPTY_ALLOWED.has(name));
      if (values.length === 0) fields.push({ name, value: '' });
      for (const v of values) fields.push({ name, value: v });
    } else {
      fields.push({ name, value });
    }
  }
  msg.headers = fields;

  // Header fields the stack interprets must match their grammar.
  const counts = new Map<string, number>();
  for (const f of fields) {
    counts.set(f.name, (counts.get(f.name) ?? 0) + 1);
    const validate = VALIDATORS[f.name];
    if (validate) validate(f.value);
  }
  for (const name of STRICT_SINGLE) {
    if ((counts.get(name) ?? 0) > 1) {
      if (name === 'Content-Length') throw new SipParseError('BAD_CONTENT_LENGTH', 'more than one Content-Length', name);
      throw new SipParseError('DUPLICATE_HEADER', 'header field appears more than once', name);
    }
  }
  for (const name of ['Via', 'From', 'To', 'Call-ID', 'CSeq']) {
    if (!counts.has(name)) throw new SipParseError('MISSING_HEADER', 'mandatory header field is missing', name);
  }
  if (msg instanceof SipRequest) {
    const cseq = parseCSeq(msg.get('CSeq')!);
    if (cseq.method !== msg.method) {
      throw new SipParseError('CSEQ_METHOD_MISMATCH', `CSeq method "${cseq.method.slice(0, 20)}" does not match the request method`, 'CSeq');
    }
  }

  // Body framing (RFC 3261 §18.3).
  const bodyStart = end + 4;
  const available = data.length - bodyStart;
  const clText = msg.get('Content-Length');
  let length: number;
  if (clText === undefined) {
    if (stream) throw new SipParseError('MISSING_HEADER', 'Content-Length is mandatory on stream transports', 'Content-Length');
    length = available;
  } else {
    const v = trimWsp(clText);
    if (!/^[0-9]+$/.test(v)) {
      throw new SipParseError('BAD_CONTENT_LENGTH', v.startsWith('-') ? 'negative Content-Length' : 'Content-Length is not a number', 'Content-Length');
    }
    const digits = v.replace(/^0+(?=[0-9])/, '');
    length = digits.length > 15 ? Infinity : Number(digits);
    if (length > max) throw new SipParseError('BAD_CONTENT_LENGTH', `Content-Length larger than ${max}`, 'Content-Length');
    if (length > available) {
      throw new SipParseError('BODY_TRUNCATED', `Content-Length ${length} but only ${available} body octets`, 'Content-Length');
    }
  }
  msg.body = data.slice(bodyStart, bodyStart + length);
  return msg;
}

// ------------------------------------------------------------------------------------------
// Salvage: enough of a malformed request to answer it.

/** The parts of an unparseable request that a 400 response needs. */
export interface SalvagedRequest {
  method: string;
  /** The Via header lines as received (the response copies them, RFC 3261 §8.2.6.2). */
  viaLines: string[];
  /** The topmost via-parm, parsed leniently: where to send the response. */
  topVia: Via;
  from: string;
  to: string;
  callId: string;
  cseq: string;
}

/**
 * Reads what a response needs from a request that failed to parse: a request start line
 * (not ACK, which is never answered), a parseable topmost Via sent-protocol and sent-by,
 * and From, To, Call-ID and CSeq ("number method"). Returns undefined when any is missing,
 * in which case the request can only be dropped.
 */
export function salvageRequest(data: Uint8Array): SalvagedRequest | undefined {
  const start = skipLeadingCrlf(data);
  let end = findHeaderEnd(data, start);
  if (end < 0) end = data.length;
  const text = Buffer.from(data.buffer, data.byteOffset + start, end - start).toString('latin1');
  const rawLines = text.split(/\r\n|\n/);
  const lines: string[] = [];
  for (const l of rawLines) {
    if (l.length > 0 && isWsp(l.charCodeAt(0)) && lines.length > 1) lines[lines.length - 1] += ' ' + trimWsp(l);
    else lines.push(l);
  }
  const startLine = lines[0] ?? '';
  if (/^SIP\//i.test(startLine)) return undefined;
  const method = startLine.split(/[ \t]/, 1)[0]!;
  if (!isToken(method) || method === 'ACK') return undefined;
  const found = new Map<string, string[]>();
  for (const line of lines.slice(1)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const rawName = trimWsp(line.slice(0, colon));
    if (!isToken(rawName)) continue;
    const value = trimWsp(line.slice(colon + 1));
    // Never copy octets into a response that could break its framing or its peer.
    if (/[\x00-\x08\x0a-\x1f\x7f-\xff]/.test(value)) continue;
    const name = canonicalHeaderName(rawName);
    const list = found.get(name) ?? [];
    list.push(value);
    found.set(name, list);
  }
  const first = (n: string): string | undefined => found.get(n)?.[0];
  const viaLines = found.get('Via') ?? [];
  const from = first('From');
  const to = first('To');
  const callId = first('Call-ID');
  const cseq = first('CSeq');
  if (viaLines.length === 0 || !from || !to || !callId || !cseq) return undefined;
  if (!/^[0-9]+[ \t]+[^ \t]+$/.test(cseq)) return undefined;
  const topVia = lenientTopVia(viaLines[0]!);
  if (!topVia) return undefined;
  return { method, viaLines, topVia, from, to, callId, cseq };
}

function lenientTopVia(line: string): Via | undefined {
  let first: string;
  try {
    first = splitList(line, 'Via')[0]!;
  } catch {
    first = line.split(',')[0]!;
  }
  try {
    return parseVia(first);
  } catch {
    // Keep sent-protocol and sent-by; drop parameters that do not parse.
    try {
      return parseVia(first.split(';')[0]!);
    } catch {
      return undefined;
    }
  }
}

// ------------------------------------------------------------------------------------------
// Stream framing (RFC 3261 §18.3; keep-alive RFC 5626 §3.5.1)

export type FramerEvent =
  | { type: 'message'; bytes: Uint8Array }
  /** A double-CRLF "ping" between messages; the transport answers with a CRLF "pong". */
  | { type: 'keepalive' }
  /** The stream cannot be framed any further; `headerBytes` holds the offending header section. */
  | { type: 'error'; error: SipParseError; headerBytes?: Uint8Array };

/**
 * Cuts a byte stream into SIP messages using Content-Length. A framing error (missing,
 * negative, conflicting or oversized Content-Length, or a header section past the size
 * limit) is not recoverable on a stream (RFC 4475 §3.1.2.3, §3.3.9): the framer reports it
 * once and ignores everything after.
 */
export class SipStreamFramer {
  private buf: Uint8Array = new Uint8Array(4096);
  private len = 0;
  private scanFrom = 0;
  private need = -1; // total length of the message being read, once its header is known
  private failed = false;
  readonly maxMessageBytes: number;

  constructor(options: { maxMessageBytes?: number } = {}) {
    this.maxMessageBytes = options.maxMessageBytes ?? DEFAULT_MAX_MESSAGE_BYTES;
  }

  /** Bytes received but not yet part of a complete message. */
  get buffered(): number {
    return this.len;
  }

  push(chunk: Uint8Array): FramerEvent[] {
    if (this.failed) return [];
    this.append(chunk);
    const events: FramerEvent[] = [];
    for (;;) {
      if (this.need < 0) {
        // Leading CRLFs: a CRLFCRLF is a keep-alive ping, a lone CRLF is ignored (§7.5).
        let i = 0;
        while (i + 1 < this.len && this.buf[i] === CR && this.buf[i + 1] === LF) {
          if (i + 3 < this.len) {
            if (this.buf[i + 2] === CR && this.buf[i + 3] === LF) {
              events.push({ type: 'keepalive' });
              i += 4;
            } else {
              i += 2;
            }
          } else if (i + 2 < this.len && this.buf[i + 2] !== CR) {
            i += 2;
          } else {
            break; // a CRLF that may yet become a ping
          }
        }
        if (i > 0) this.consume(i);
        if (this.len === 0) return events;
        const h = findHeaderEnd(this.buf, this.scanFrom - 3, this.len);
        if (h < 0) {
          if (this.len > this.maxMessageBytes) return this.fail(events, new SipParseError('MESSAGE_TOO_LARGE', `header section larger than ${this.maxMessageBytes} octets`));
          this.scanFrom = this.len;
          return events;
        }
        const header = this.buf.slice(0, h + 4);
        let cl: number;
        try {
          cl = contentLengthOf(header);
        } catch (e) {
          return this.fail(events, e as SipParseError, header);
        }
        if (h + 4 + cl > this.maxMessageBytes) {
          return this.fail(events, new SipParseError('MESSAGE_TOO_LARGE', `message larger than ${this.maxMessageBytes} octets`), header);
        }
        this.need = h + 4 + cl;
      }
      if (this.len < this.need) return events;
      events.push({ type: 'message', bytes: this.buf.slice(0, this.need) });
      this.consume(this.need);
      this.need = -1;
    }
  }

  private fail(events: FramerEvent[], error: SipParseError, headerBytes?: Uint8Array): FramerEvent[] {
    this.failed = true;
    this.len = 0;
    events.push(headerBytes ? { type: 'error', error, headerBytes } : { type: 'error', error });
    return events;
  }

  private append(chunk: Uint8Array): void {
    if (this.len + chunk.length > this.buf.length) {
      let cap = this.buf.length;
      while (cap < this.len + chunk.length) cap *= 2;
      const next = new Uint8Array(cap);
      next.set(this.buf.subarray(0, this.len));
      this.buf = next;
    }
    this.buf.set(chunk, this.len);
    this.len += chunk.length;
  }

  private consume(n: number): void {
    this.buf.copyWithin(0, n, this.len);
    this.len -= n;
    this.scanFrom = 0;
  }
}

/**
 * The Content-Length of a header section (with its final CRLFCRLF) for stream framing: it
 * must be present once (RFC 3261 §18.3, §20.14) and be a non-negative decimal number.
 */
function contentLengthOf(header: Uint8Array): number {
  const text = Buffer.from(header.buffer, header.byteOffset, header.length).toString('latin1');
  const values: string[] = [];
  let current: { name: string; value: string } | undefined;
  const flush = (): void => {
    if (current && /^(content-length|l)$/i.test(current.name)) values.push(trimWsp(current.value));
  };
  for (const line of text.split('\r\n').slice(1)) {
    if (line.length > 0 && isWsp(line.charCodeAt(0)) && current) {
      current.value += ' ' + line;
      continue;
    }
    flush();
    const colon = line.indexOf(':');
    current = colon > 0 ? { name: trimWsp(line.slice(0, colon)), value: line.slice(colon + 1) } : undefined;
  }
  flush();
  if (values.length === 0) throw new SipParseError('MISSING_HEADER', 'Content-Length is mandatory on stream transports', 'Content-Length');
  if (values.length > 1) throw new SipParseError('BAD_CONTENT_LENGTH', 'more than one Content-Length', 'Content-Length');
  const v = values[0]!;
  if (!/^[0-9]+$/.test(v)) {
    throw new SipParseError('BAD_CONTENT_LENGTH', v.startsWith('-') ? 'negative Content-Length' : 'Content-Length is not a number', 'Content-Length');
  }
  const digits = v.replace(/^0+(?=[0-9])/, '');
  if (digits.length > 15) throw new SipParseError('BAD_CONTENT_LENGTH', 'Content-Length too large', 'Content-Length');
  return Number(digits);
}

/** True if the version is the one this stack implements. */
export function isSupportedVersion(version: string): boolean {
  return version.toUpperCase() === SIP_VERSION;
}
