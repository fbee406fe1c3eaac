/**
 * SIP and SIPS URIs (RFC 3261 §19.1), tel URIs (RFC 3966) and any other absolute URI
 * (RFC 3261 §25.1 absoluteURI, carried opaquely): parse, format, compare.
 *
 * Components are held decoded (%HH expanded, RFC 3261 §19.1.2); {@link formatUri} escapes
 * them again, so `formatUri(parseUri(x))` is equivalent to `x` under the comparison rules
 * of RFC 3261 §19.1.4 (escaping may differ: "%75ser" comes back as "user").
 */
import { isIPv4, isIPv6 } from 'node:net';
import { describeChar, escapeComponent, unescapeComponent } from './charset.js';
import { DEFAULT_SIP_PORT, DEFAULT_SIPS_PORT } from './constants.js';
import { SipParseError } from './errors.js';

/** A URI parameter; `value` is null for a parameter without "=value" (e.g. ";lr"). */
export interface UriParam {
  name: string;
  value: string | null;
}

/** A header component of a SIP URI ("?Route=%3Csip:x%3E"). */
export interface UriHeader {
  name: string;
  value: string;
}

export interface SipUri {
  kind: 'sip';
  scheme: 'sip' | 'sips';
  /** User part, decoded; undefined when the URI has no userinfo. */
  user?: string;
  password?: string;
  /** hostname, IPv4 address, or IPv6 reference with its brackets ("[::1]"). */
  host: string;
  port?: number;
  params: UriParam[];
  headers: UriHeader[];
}

export interface TelUri {
  kind: 'tel';
  /** The telephone-subscriber number as written ("+1-201-555-0123"). */
  number: string;
  params: UriParam[];
}

/** A URI of any other scheme, kept as written after the colon. */
export interface AbsoluteUri {
  kind: 'absolute';
  /** Lower-case scheme. */
  scheme: string;
  opaque: string;
}

export type Uri = SipUri | TelUri | AbsoluteUri;

/** Where a URI appears; the Request-URI may carry no headers (RFC 3261 §19.1.1, Table 1). */
export type UriContext = 'request-uri' | 'header';

function fail(detail: string): never {
  throw new SipParseError('BAD_URI', detail);
}

/** scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ) */
function isScheme(s: string): boolean {
  return /^[A-Za-z][A-Za-z0-9+.-]*$/.test(s);
}

/** Parses any URI the SIP grammar admits. Throws SipParseError('BAD_URI'). */
export function parseUri(text: string, context: UriContext = 'header'): Uri {
  const colon = text.indexOf(':');
  if (colon <= 0) fail('no scheme');
  const schemeText = text.slice(0, colon);
  if (!isScheme(schemeText)) fail(`invalid scheme "${printable(schemeText)}"`);
  const scheme = schemeText.toLowerCase();
  const rest = text.slice(colon + 1);
  if (scheme === 'sip' || scheme === 'sips') return parseSipUriBody(scheme, rest, context);
  if (scheme === 'tel') return parseTelUriBody(rest);
  if (rest.length === 0) fail('empty URI after the scheme');
  // absoluteURI = scheme ":" ( hier-part / opaque-part ): uric characters and escapes only.
  unescapeComponent(rest, 'uric', `${scheme} URI`);
  return { kind: 'absolute', scheme, opaque: rest };
}

/** Parses a SIP or SIPS URI; throws SipParseError('BAD_URI') for any other scheme. */
export function parseSipUri(text: string, context: UriContext = 'header'): SipUri {
  const uri = parseUri(text, context);
  if (uri.kind !== 'sip') fail(`not a SIP or SIPS URI`);
  return uri;
}

function parseSipUriBody(scheme: 'sip' | 'sips', body: string, context: UriContext): SipUri {
  const uri: SipUri = { kind: 'sip', scheme, host: '', params: [], headers: [] };
  let rest = body;
  // userinfo: '@' cannot appear unescaped anywhere else in a SIP URI (RFC 3261 §25.1).
  const at = rest.indexOf('@');
  if (at >= 0) {
    if (rest.indexOf('@', at + 1) >= 0) fail('more than one "@"');
    const userinfo = rest.slice(0, at);
    rest = rest.slice(at + 1);
    const pc = userinfo.indexOf(':');
    const user = pc >= 0 ? userinfo.slice(0, pc) : userinfo;
    if (user.length === 0) fail('empty user part');
    uri.user = unescapeComponent(user, 'user', 'user part');
    if (pc >= 0) uri.password = unescapeComponent(userinfo.slice(pc + 1), 'password', 'password');
  }
  // hostport up to the first ";" (parameters) or "?" (headers).
  let end = rest.length;
  for (let i = 0; i < rest.length; i++) {
    const c = rest[i];
    if (c === ';' || c === '?') {
      end = i;
      break;
    }
  }
  const { host, port } = parseHostPort(rest.slice(0, end), 'URI');
  uri.host = host;
  if (port !== undefined) uri.port = port;
  rest = rest.slice(end);
  const q = rest.indexOf('?');
  const paramText = q >= 0 ? rest.slice(0, q) : rest;
  if (paramText.length > 0) uri.params = parseUriParams(paramText.slice(1), 'param');
  if (q >= 0) {
    if (context === 'request-uri') fail('headers are not allowed in a Request-URI');
    const hs = rest.slice(q + 1);
    if (hs.length === 0) fail('empty headers component');
    for (const part of hs.split('&')) {
      const eq = part.indexOf('=');
      if (eq <= 0) fail('URI header without "name="');
      uri.headers.push({
        name: unescapeComponent(part.slice(0, eq), 'header', 'URI header name'),
        value: unescapeComponent(part.slice(eq + 1), 'header', 'URI header value'),
      });
    }
  }
  return uri;
}

function parseUriParams(text: string, component: 'param'): UriParam[] {
  const params: UriParam[] = [];
  for (const part of text.split(';')) {
    if (part.length === 0) fail('empty URI parameter');
    const eq = part.indexOf('=');
    const name = eq >= 0 ? part.slice(0, eq) : part;
    if (name.length === 0) fail('URI parameter without a name');
    const value = eq >= 0 ? part.slice(eq + 1) : null;
    if (value !== null && value.length === 0) fail(`URI parameter "${printable(name)}" has "=" but no value`);
    params.push({
      name: unescapeComponent(name, component, 'URI parameter name'),
      value: value === null ? null : unescapeComponent(value, component, 'URI parameter value'),
    });
  }
  return params;
}

function parseTelUriBody(body: string): TelUri {
  const semi = body.indexOf(';');
  const number = semi >= 0 ? body.slice(0, semi) : body;
  const params = semi >= 0 ? parseUriParams(body.slice(semi + 1), 'param') : [];
  // RFC 3966 §3: global-number-digits = "+" *phonedigit DIGIT *phonedigit;
  // local-number-digits = *phonedigit-hex (HEXDIG / "*" / "#") *phonedigit-hex.
  if (number.startsWith('+')) {
    if (!/^\+[0-9().-]*[0-9][0-9().-]*$/.test(number)) fail('invalid global number in tel URI');
  } else {
    if (!/^[0-9A-Fa-f*#().-]*[0-9A-Fa-f*#][0-9A-Fa-f*#().-]*$/.test(number)) fail('invalid local number in tel URI');
    // RFC 3966 §5.1.5: a local number MUST carry a phone-context.
    if (!params.some((p) => p.name.toLowerCase() === 'phone-context')) fail('local tel number without phone-context');
  }
  for (const p of params) if (!/^[A-Za-z0-9-]+$/.test(p.name)) fail('invalid tel URI parameter name');
  return { kind: 'tel', number, params };
}

/**
 * hostport = host [ ":" port ] (RFC 3261 §25.1). host is a hostname, an IPv4 address or an
 * IPv6 reference in brackets. Throws SipParseError('BAD_URI').
 */
export function parseHostPort(text: string, what: string): { host: string; port?: number } {
  let host: string;
  let portText: string | undefined;
  if (text.startsWith('[')) {
    const close = text.indexOf(']');
    if (close < 0) fail(`${what}: unterminated IPv6 reference`);
    host = text.slice(0, close + 1);
    const after = text.slice(close + 1);
    if (after.length > 0) {
      if (after[0] !== ':') fail(`${what}: unexpected ${describeChar(after.charCodeAt(0))} after IPv6 reference`);
      portText = after.slice(1);
    }
  } else {
    const c = text.indexOf(':');
    host = c >= 0 ? text.slice(0, c) : text;
    if (c >= 0) portText = text.slice(c + 1);
  }
  if (!isValidHost(host)) fail(`${what}: invalid host "${printable(host)}"`);
  if (portText === undefined) return { host };
  return { host, port: parsePort(portText, what) };
}

/** port = 1*DIGIT, in 0..65535. */
export function parsePort(text: string, what: string): number {
  if (!/^[0-9]{1,5}$/.test(text)) fail(`${what}: invalid port "${printable(text)}"`);
  const port = Number(text);
  if (port > 65535) fail(`${what}: port ${port} out of range`);
  return port;
}

/** host = hostname / IPv4address / IPv6reference (RFC 3261 §25.1). */
export function isValidHost(host: string): boolean {
  if (host.length === 0) return false;
  if (host.startsWith('[')) return host.endsWith(']') && isIPv6(host.slice(1, -1));
  if (/^[0-9.]+$/.test(host)) return isIPv4(host);
  // hostname = *( domainlabel "." ) toplabel [ "." ]
  const labels = (host.endsWith('.') ? host.slice(0, -1) : host).split('.');
  for (const label of labels) {
    if (!/^[A-Za-z0-9](?:[A-Za-z0-9-]*[A-Za-z0-9])?$/.test(label)) return false;
  }
  return /^[A-Za-z]/.test(labels[labels.length - 1]!);
}

/** Formats a URI; components are escaped as their grammar requires. */
export function formatUri(uri: Uri): string {
  switch (uri.kind) {
    case 'sip': {
      let s = `${uri.scheme}:`;
      if (uri.user !== undefined) {
        s += escapeComponent(uri.user, 'user');
        if (uri.password !== undefined) s += ':' + escapeComponent(uri.password, 'password');
        s += '@';
      }
      s += uri.host;
      if (uri.port !== undefined) s += `:${uri.port}`;
      s += formatUriParams(uri.params);
      if (uri.headers.length > 0) {
        s += '?' + uri.headers.map((h) => `${escapeComponent(h.name, 'header')}=${escapeComponent(h.value, 'header')}`).join('&');
      }
      return s;
    }
    case 'tel':
      return `tel:${uri.number}${formatUriParams(uri.params)}`;
    case 'absolute':
      return `${uri.scheme}:${uri.opaque}`;
  }
}

function formatUriParams(params: UriParam[]): string {
  let s = '';
  for (const p of params) {
    s += ';' + escapeComponent(p.name, 'param');
    if (p.value !== null) s += '=' + escapeComponent(p.value, 'param');
  }
  return s;
}

/** A URI parameter by case-insensitive name: its value, null if valueless, undefined if absent. */
export function getUriParam(uri: SipUri | TelUri, name: string): string | null | undefined {
  const lower = name.toLowerCase();
  return uri.params.find((p) => p.name.toLowerCase() === lower)?.value;
}

/** Returns a copy of the URI with the parameter set (replacing any of the same name). */
export function withUriParam<T extends SipUri | TelUri>(uri: T, name: string, value: string | null): T {
  const lower = name.toLowerCase();
  return { ...uri, params: [...uri.params.filter((p) => p.name.toLowerCase() !== lower), { name, value }] };
}

/** Returns a copy of the URI without the named parameters. */
export function withoutUriParams<T extends SipUri | TelUri>(uri: T, ...names: string[]): T {
  const lower = new Set(names.map((n) => n.toLowerCase()));
  return { ...uri, params: uri.params.filter((p) => !lower.has(p.name.toLowerCase())) };
}

/** The port a SIP URI designates: explicit, or 5060/5061 by scheme (RFC 3261 §19.1.2). */
export function effectivePort(uri: SipUri): number {
  return uri.port ?? (uri.scheme === 'sips' ? DEFAULT_SIPS_PORT : DEFAULT_SIP_PORT);
}

const SIGNIFICANT_PARAMS = ['user', 'ttl', 'method', 'maddr', 'transport'];

/**
 * URI equality (RFC 3261 §19.1.4): user and password case-sensitive, host and parameter
 * names case-insensitive, escapes compared decoded; user/ttl/method/maddr/transport must
 * match if either URI has them, other parameters only if both have them; headers must
 * match. A component omitted on one side and present with its default on the other does
 * not match.
 */
export function uriEquals(a: Uri, b: Uri): boolean {
  if (a.kind !== b.kind) return false;
  if (a.kind === 'absolute' && b.kind === 'absolute') return a.scheme === b.scheme && a.opaque === b.opaque;
  if (a.kind === 'tel' && b.kind === 'tel') {
    return a.number.replace(/[().-]/g, '') === b.number.replace(/[().-]/g, '') && paramsEqual(a.params, b.params, []);
  }
  if (a.kind !== 'sip' || b.kind !== 'sip') return false;
  if (a.scheme !== b.scheme || a.user !== b.user || a.password !== b.password) return false;
  if (a.host.toLowerCase() !== b.host.toLowerCase() || a.port !== b.port) return false;
  if (!paramsEqual(a.params, b.params, SIGNIFICANT_PARAMS)) return false;
  if (a.headers.length !== b.headers.length) return false;
  const hb = new Map(b.headers.map((h) => [h.name.toLowerCase(), h.value]));
  return a.headers.every((h) => hb.get(h.name.toLowerCase()) === h.value);
}

function paramsEqual(pa: UriParam[], pb: UriParam[], mustMatch: string[]): boolean {
  const ma = new Map(pa.map((p) => [p.name.toLowerCase(), p.value]));
  const mb = new Map(pb.map((p) => [p.name.toLowerCase(), p.value]));
  for (const name of mustMatch) {
    if (ma.has(name) !== mb.has(name)) return false;
  }
  for (const [name, va] of ma) {
    if (!mb.has(name)) continue;
    const vb = mb.get(name)!;
    if ((va ?? '').toLowerCase() !== (vb ?? '').toLowerCase()) return false;
  }
  return true;
}

/** Text safe to quote in an error message: controls and non-ASCII replaced, length capped. */
export function printable(s: string): string {
  const t = s.replace(/[^\x20-\x7e]/g, '?');
  return t.length > 40 ? t.slice(0, 37) + '...' : t;
}
