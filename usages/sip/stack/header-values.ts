/**
 * Grammar of the header field values the stack interprets (RFC 3261 §20, §25.1): comma
 * lists, generic parameters, name-addr / addr-spec, Via, CSeq, Call-ID, Max-Forwards,
 * Content-Length, Content-Type, Accept, option-tag lists. Every parse function takes one
 * unfolded value (line folds already replaced by SP) and throws SipParseError naming the
 * header; every format function writes the canonical form.
 */
import { isIPv4, isIPv6 } from 'node:net';
import { describeChar, isToken, isTokenChar, isWord, isWsp, quoteString, readQuotedString, trimWsp } from './charset.js';
import { MAX_CSEQ, MAX_MAX_FORWARDS, MAGIC_COOKIE } from './constants.js';
import { SipParseError } from './errors.js';
import { type Uri, formatUri, isValidHost, parsePort, parseUri, printable } from './uri.js';

/** A header parameter (generic-param); `value` is unquoted; null when there is no "=". */
export interface HeaderParam {
  name: string;
  value: string | null;
  /** The value was (and will be written as) a quoted-string. */
  quoted?: boolean;
}

function bad(header: string, detail: string): never {
  throw new SipParseError('BAD_HEADER_VALUE', detail, header);
}

function skipWsp(s: string, i: number): number {
  while (i < s.length && isWsp(s.charCodeAt(i))) i++;
  return i;
}

/**
 * Splits a list header value at top-level commas (not inside a quoted-string or <...>),
 * trimming LWS around each element. An empty element (",,") is an error; an empty value
 * gives no elements when `allowEmpty`.
 */
export function splitList(value: string, header: string, allowEmpty = false): string[] {
  const out: string[] = [];
  let start = 0;
  let inQuote = false;
  let inAngle = false;
  for (let i = 0; i <= value.length; i++) {
    const c = value.charCodeAt(i);
    if (i === value.length || (c === 0x2c && !inQuote && !inAngle)) {
      const part = trimWsp(value.slice(start, i));
      if (part.length === 0) {
        if (allowEmpty && trimWsp(value).length === 0) return [];
        bad(header, 'empty element in comma-separated list');
      }
      out.push(part);
      start = i + 1;
      continue;
    }
    if (inQuote) {
      if (c === 0x5c) i++;
      else if (c === 0x22) inQuote = false;
    } else if (c === 0x22) inQuote = true;
    else if (c === 0x3c) inAngle = true;
    else if (c === 0x3e) inAngle = false;
  }
  if (inQuote) bad(header, 'unterminated quoted string');
  return out;
}

/** gen-value characters beyond token: host forms (IPv6 references and IPv6 addresses). */
const isParamValueChar = (c: number): boolean => isTokenChar(c) || c === 0x3a || c === 0x5b || c === 0x5d;

/**
 * Reads `*( SEMI generic-param )` from s[i..]; the rest of the value after the last
 * parameter must be white space. generic-param = token [ EQUAL gen-value ],
 * gen-value = token / host / quoted-string; SEMI and EQUAL allow white space around.
 */
export function parseParams(s: string, i: number, header: string): HeaderParam[] {
  const params: HeaderParam[] = [];
  for (;;) {
    i = skipWsp(s, i);
    if (i >= s.length) return params;
    if (s[i] !== ';') bad(header, `unexpected ${describeChar(s.charCodeAt(i))} where ";" or end of value was expected`);
    i = skipWsp(s, i + 1);
    const nameStart = i;
    while (i < s.length && isTokenChar(s.charCodeAt(i))) i++;
    if (i === nameStart) bad(header, 'parameter without a name');
    const name = s.slice(nameStart, i);
    i = skipWsp(s, i);
    if (s[i] !== '=') {
      params.push({ name, value: null });
      continue;
    }
    i = skipWsp(s, i + 1);
    if (s[i] === '"') {
      const q = readQuotedString(s, i, header);
      params.push({ name, value: q.value, quoted: true });
      i = q.end;
      continue;
    }
    const valueStart = i;
    while (i < s.length && isParamValueChar(s.charCodeAt(i))) i++;
    if (i === valueStart) bad(header, `parameter "${printable(name)}" has "=" but no value`);
    params.push({ name, value: s.slice(valueStart, i) });
  }
}

/** Writes `;name[=value]` for each parameter, quoting values that are not tokens or hosts. */
export function formatParams(params: readonly HeaderParam[]): string {
  let s = '';
  for (const p of params) {
    s += ';' + p.name;
    if (p.value === null) continue;
    const plain = p.value.length > 0 && [...p.value].every((ch) => isParamValueChar(ch.charCodeAt(0)));
    s += '=' + (p.quoted || !plain ? quoteString(p.value) : p.value);
  }
  return s;
}

/** A parameter by case-insensitive name: value, null if valueless, undefined if absent. */
export function getParam(params: readonly HeaderParam[], name: string): string | null | undefined {
  const lower = name.toLowerCase();
  return params.find((p) => p.name.toLowerCase() === lower)?.value;
}

/** Sets (replacing) a parameter in place. */
export function setParam(params: HeaderParam[], name: string, value: string | null): void {
  const lower = name.toLowerCase();
  const at = params.findIndex((p) => p.name.toLowerCase() === lower);
  if (at >= 0) params[at] = { name: params[at]!.name, value };
  else params.push({ name, value });
}

// ----------------------------------------------------------------------------------------
// name-addr / addr-spec (From, To, Contact, Route, Record-Route, Reply-To, Refer-To ...)

export interface NameAddr {
  /** Display name, unquoted; undefined when absent. */
  displayName?: string;
  uri: Uri;
  /** Header parameters after the address (tag, expires, q, lr on Route is a URI param). */
  params: HeaderParam[];
}

/**
 * Parses `( name-addr / addr-spec ) *( SEMI generic-param )` (RFC 3261 §20.10, §20.20,
 * §20.39). name-addr = [ display-name ] LAQUOT addr-spec RAQUOT, display-name =
 * *(token LWS) / quoted-string. In the addr-spec form the URI ends at the first ";" (header
 * parameters follow) and may not contain "?" or "," (RFC 3261 §20.10, RFC 4475 §3.1.2.13).
 * `requireBrackets` for Route / Record-Route / Path (rec-route = name-addr ...).
 */
export function parseNameAddr(value: string, header: string, requireBrackets = false): NameAddr {
  const s = value;
  let i = skipWsp(s, 0);
  let displayName: string | undefined;
  let bracketed = false;
  if (s[i] === '"') {
    const q = readQuotedString(s, i, header);
    displayName = q.value;
    i = skipWsp(s, q.end);
    if (s[i] !== '<') bad(header, 'quoted display name not followed by <URI>');
    bracketed = true;
  } else {
    // Either *(token LWS) "<" or an addr-spec; look for "<" after tokens and white space.
    const tokens: string[] = [];
    let j = i;
    for (;;) {
      const start = j;
      while (j < s.length && isTokenChar(s.charCodeAt(j))) j++;
      if (j > start) tokens.push(s.slice(start, j));
      const afterToken = j;
      j = skipWsp(s, j);
      if (s[j] === '<') {
        bracketed = true;
        if (tokens.length > 0) displayName = tokens.join(' ');
        i = j;
        break;
      }
      if (j === afterToken || j >= s.length || !isTokenChar(s.charCodeAt(j))) break;
    }
    if (!bracketed && tokens.length > 1) {
      // Several words not followed by "<": a display name with a non-token character or
      // a missing "<" (RFC 4475 §3.1.2.15).
      const stop = j < s.length ? describeChar(s.charCodeAt(j)) : 'end of value';
      bad(header, `display name must be a quoted string or tokens followed by <URI> (found ${stop})`);
    }
  }
  let uriText: string;
  let end: number;
  if (bracketed) {
    const close = s.indexOf('>', i + 1);
    if (close < 0) bad(header, 'missing ">"');
    uriText = s.slice(i + 1, close);
    end = close + 1;
    for (let k = 0; k < uriText.length; k++) {
      const c = uriText.charCodeAt(k);
      if (isWsp(c)) bad(header, 'white space inside <URI> (RFC 4475 §3.1.2.14)');
    }
  } else {
    if (requireBrackets) bad(header, 'the address must be enclosed in <>');
    let k = i;
    while (k < s.length && s[k] !== ';' && !isWsp(s.charCodeAt(k))) k++;
    uriText = s.slice(i, k);
    end = k;
    if (uriText.length > 0 && !uriText.includes(':')) {
      bad(header, `expected a URI or a display name followed by <URI> (found "${printable(uriText)}")`);
    }
    if (uriText.includes('?') || uriText.includes(',')) {
      bad(header, 'a URI with "?" or "," must be enclosed in <> (RFC 3261 §20.10)');
    }
  }
  if (uriText.length === 0) bad(header, 'empty URI');
  let uri: Uri;
  try {
    uri = parseUri(uriText, 'header');
  } catch (e) {
    if (e instanceof SipParseError) bad(header, e.detail);
    throw e;
  }
  const params = parseParams(s, end, header);
  const out: NameAddr = { uri, params };
  if (displayName !== undefined) out.displayName = displayName;
  return out;
}

/** Writes a name-addr, always with <> (valid for every header that takes an address). */
export function formatNameAddr(na: NameAddr): string {
  const name = na.displayName !== undefined ? quoteString(na.displayName) + ' ' : '';
  return `${name}<${formatUri(na.uri)}>${formatParams(na.params)}`;
}

/** Contact: "*" or a list of addresses with contact-params (RFC 3261 §20.10). */
export type ContactValue = '*' | NameAddr;

export function parseContact(value: string): ContactValue {
  if (trimWsp(value) === '*') return '*';
  const na = parseNameAddr(value, 'Contact');
  const q = getParam(na.params, 'q');
  // qvalue = ( "0" [ "." 0*3DIGIT ] ) / ( "1" [ "." 0*3("0") ] )
  if (q !== undefined && (q === null || !/^(0(\.[0-9]{0,3})?|1(\.0{0,3})?)$/.test(q))) bad('Contact', 'invalid q value');
  const expires = getParam(na.params, 'expires');
  if (expires !== undefined && (expires === null || !/^[0-9]+$/.test(expires))) bad('Contact', 'invalid expires parameter');
  return na;
}

// ----------------------------------------------------------------------------------------
// Via (RFC 3261 §20.42, §18.2.1; rport RFC 3581)

export interface Via {
  /** protocol-name, "SIP" for this protocol. */
  protocol: string;
  /** protocol-version, "2.0". */
  version: string;
  /** Transport in upper case: UDP, TCP, TLS, SCTP, WS, or an extension token. */
  transport: string;
  host: string;
  port?: number;
  params: HeaderParam[];
}

/**
 * via-parm = sent-protocol LWS sent-by *( SEMI via-params ); sent-protocol =
 * protocol-name SLASH protocol-version SLASH transport, SLASH and COLON allowing white
 * space around.
 */
export function parseVia(value: string): Via {
  const s = value;
  const H = 'Via';
  let i = skipWsp(s, 0);
  const readToken = (what: string): string => {
    const start = i;
    while (i < s.length && isTokenChar(s.charCodeAt(i))) i++;
    if (i === start) bad(H, `missing ${what}`);
    return s.slice(start, i);
  };
  const slash = (): void => {
    i = skipWsp(s, i);
    if (s[i] !== '/') bad(H, 'malformed sent-protocol (expected "/")');
    i = skipWsp(s, i + 1);
  };
  const protocol = readToken('protocol name');
  slash();
  const version = readToken('protocol version');
  slash();
  const transport = readToken('transport').toUpperCase();
  const beforeHost = i;
  i = skipWsp(s, i);
  if (i === beforeHost) bad(H, 'missing white space before sent-by');
  // sent-by = host [ COLON port ]
  const hostStart = i;
  let host: string;
  if (s[i] === '[') {
    const close = s.indexOf(']', i);
    if (close < 0) bad(H, 'unterminated IPv6 reference in sent-by');
    host = s.slice(i, close + 1);
    i = close + 1;
  } else {
    while (i < s.length && s[i] !== ':' && s[i] !== ';' && !isWsp(s.charCodeAt(i))) i++;
    host = s.slice(hostStart, i);
  }
  if (!isValidHost(host)) bad(H, `invalid sent-by host "${printable(host)}"`);
  const via: Via = { protocol, version, transport, host, params: [] };
  const afterHost = i;
  i = skipWsp(s, i);
  if (s[i] === ':') {
    i = skipWsp(s, i + 1);
    const ps = i;
    while (i < s.length && s.charCodeAt(i) >= 0x30 && s.charCodeAt(i) <= 0x39) i++;
    try {
      via.port = parsePort(s.slice(ps, i), 'sent-by');
    } catch {
      bad(H, 'invalid sent-by port');
    }
  } else {
    i = afterHost;
  }
  via.params = parseParams(s, i, H);
  for (const p of via.params) {
    const name = p.name.toLowerCase();
    const v = p.value;
    if (name === 'branch' && (v === null || !isToken(v))) bad(H, 'invalid branch parameter');
    if (name === 'received' && (v === null || !(isIPv4(v) || isIPv6(v) || (v.startsWith('[') && isValidHost(v))))) {
      bad(H, 'received parameter is not an IP address');
    }
    if (name === 'rport' && v !== null && !/^[0-9]{1,5}$/.test(v)) bad(H, 'invalid rport parameter');
    if (name === 'ttl' && (v === null || !/^[0-9]{1,3}$/.test(v) || Number(v) > 255)) bad(H, 'invalid ttl parameter');
    if (name === 'maddr' && (v === null || !isValidHost(v))) bad(H, 'invalid maddr parameter');
  }
  return via;
}

export function formatVia(via: Via): string {
  const port = via.port !== undefined ? `:${via.port}` : '';
  return `${via.protocol}/${via.version}/${via.transport} ${via.host}${port}${formatParams(via.params)}`;
}

/** The branch parameter of a Via, or undefined. */
export function viaBranch(via: Via): string | undefined {
  return getParam(via.params, 'branch') ?? undefined;
}

/** True if the branch carries an RFC 3261 transaction id: the magic cookie and more. */
export function isRfc3261Branch(branch: string | undefined): branch is string {
  return branch !== undefined && branch.startsWith(MAGIC_COOKIE) && branch.length > MAGIC_COOKIE.length;
}

/** sent-by as "host:port" with the default port filled in, for comparisons. */
export function viaSentBy(via: Via, defaultPort = 5060): string {
  return `${via.host.toLowerCase()}:${via.port ?? defaultPort}`;
}

// ----------------------------------------------------------------------------------------
// Scalars

export interface CSeq {
  seq: number;
  method: string;
}

/** CSeq = 1*DIGIT LWS Method; the number must fit 32 bits (RFC 3261 §8.1.1.5). */
export function parseCSeq(value: string): CSeq {
  const m = /^[ \t]*([0-9]+)[ \t]+([^ \t]+)[ \t]*$/.exec(value);
  if (!m) bad('CSeq', 'expected "number method"');
  const digits = m[1]!.replace(/^0+(?=[0-9])/, '');
  if (digits.length > 10 || Number(digits) > MAX_CSEQ) bad('CSeq', 'sequence number larger than 2**32-1');
  if (!isToken(m[2]!)) bad('CSeq', 'method is not a token');
  return { seq: Number(digits), method: m[2]! };
}

export function formatCSeq(c: CSeq): string {
  return `${c.seq} ${c.method}`;
}

/** A non-negative decimal number; `max` bounds it (RFC 3261 1*DIGIT fields). */
export function parseDigits(value: string, header: string, max: number): number {
  const v = trimWsp(value);
  if (!/^[0-9]+$/.test(v)) bad(header, 'expected a non-negative decimal number');
  const digits = v.replace(/^0+(?=[0-9])/, '');
  if (digits.length > 16 || Number(digits) > max) bad(header, `value larger than ${max}`);
  return Number(digits);
}

/** Max-Forwards = 1*DIGIT, 0..255 (RFC 3261 §20.22; RFC 4475 §3.1.2.4). */
export function parseMaxForwards(value: string): number {
  return parseDigits(value, 'Max-Forwards', MAX_MAX_FORWARDS);
}

/**
 * delta-seconds = 1*DIGIT (Expires, Min-Expires, Retry-After). Syntax is checked; a value
 * beyond 2**32-1 is returned as is and left to the TU (RFC 4475 §3.1.2.4 allows treating
 * it as absent).
 */
export function parseDeltaSeconds(value: string, header: string): number {
  const v = trimWsp(value);
  if (!/^[0-9]+$/.test(v)) bad(header, 'expected delta-seconds');
  return Number(v);
}

/** callid = word [ "@" word ] (RFC 3261 §25.1). */
export function parseCallId(value: string): string {
  const v = trimWsp(value);
  const at = v.indexOf('@');
  const ok = at < 0 ? isWord(v) : isWord(v.slice(0, at)) && isWord(v.slice(at + 1));
  if (!ok) bad('Call-ID', 'not word [ "@" word ]');
  return v;
}

export interface MediaType {
  /** Lower-case type, e.g. "application". */
  type: string;
  /** Lower-case subtype, e.g. "sdp". */
  subtype: string;
  params: HeaderParam[];
}

/** media-type = m-type SLASH m-subtype *( SEMI m-parameter ) (RFC 3261 §20.15). */
export function parseMediaType(value: string, header = 'Content-Type', allowWildcard = false): MediaType {
  const m = /^[ \t]*([^ \t/;]+)[ \t]*\/[ \t]*([^ \t;]+)/.exec(value);
  if (!m) bad(header, 'expected type/subtype');
  const type = m[1]!;
  const subtype = m[2]!;
  const wildOk = allowWildcard && ((type === '*' && subtype === '*') || subtype === '*');
  if (!wildOk && (!isToken(type) || !isToken(subtype))) bad(header, 'media type and subtype must be tokens');
  if (allowWildcard && type === '*' && subtype !== '*') bad(header, 'invalid media range');
  return { type: type.toLowerCase(), subtype: subtype.toLowerCase(), params: parseParams(value, m[0].length, header) };
}

export function formatMediaType(mt: MediaType): string {
  return `${mt.type}/${mt.subtype}${formatParams(mt.params)}`;
}

/** option-tag or method lists (Require, Proxy-Require, Supported, Unsupported, Allow). */
export function parseTokenValue(value: string, header: string): string {
  const v = trimWsp(value);
  if (!isToken(v)) bad(header, `"${printable(v)}" is not a token`);
  return v;
}
