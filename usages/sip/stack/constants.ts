/**
 * Protocol numbers and names of the SIP stack, one table per family (STYLE.md practice 7).
 */

/** Timer base values (RFC 3261 §17.1.1.1, Table 4 of §A). */
export interface SipTimerValues {
  /** RTT estimate, ms (default 500). */
  T1_MS: number;
  /** Maximum retransmit interval for non-INVITE requests and INVITE responses, ms (default 4000). */
  T2_MS: number;
  /** Maximum time a message remains in the network, ms (default 5000). */
  T4_MS: number;
}

export const DEFAULT_TIMERS: Readonly<SipTimerValues> = Object.freeze({ T1_MS: 500, T2_MS: 4000, T4_MS: 5000 });

/** Timer D on an unreliable transport: "at least 32 seconds" (RFC 3261 §17.1.1.2). */
export const TIMER_D_UNRELIABLE_MS = 32_000;

/** The branch prefix that marks an RFC 3261 transaction identifier (RFC 3261 §8.1.1.7). */
export const MAGIC_COOKIE = 'z9hG4bK';

/** The only protocol version this stack speaks. */
export const SIP_VERSION = 'SIP/2.0';

/** Default largest message the parser accepts, octets (a UDP datagram's payload limit). */
export const DEFAULT_MAX_MESSAGE_BYTES = 65_535;

/** Default SIP ports (RFC 3261 §19.1.2). */
export const DEFAULT_SIP_PORT = 5060;
export const DEFAULT_SIPS_PORT = 5061;

/** Largest CSeq sequence number: 32 bits (RFC 3261 §8.1.1.5; RFC 4475 §3.1.2.4). */
export const MAX_CSEQ = 2 ** 32 - 1;
/** Largest Max-Forwards value (RFC 3261 §20.22, RFC 4475 §3.1.2.4). */
export const MAX_MAX_FORWARDS = 255;
/** Max-Forwards a UAC or proxy inserts when the request has none (RFC 3261 §8.1.1.6). */
export const DEFAULT_MAX_FORWARDS = 70;

/**
 * Compact header names (RFC 3261 §7.3.3 and §20; o, u from RFC 6665; r, b from RFC 3515 and
 * RFC 3892; x from RFC 4028; a, j, d from RFC 3841; y, n from RFC 8224 / RFC 4474).
 */
export const COMPACT_FORMS: Readonly<Record<string, string>> = Object.freeze({
  a: 'Accept-Contact',
  b: 'Referred-By',
  c: 'Content-Type',
  d: 'Request-Disposition',
  e: 'Content-Encoding',
  f: 'From',
  i: 'Call-ID',
  j: 'Reject-Contact',
  k: 'Supported',
  l: 'Content-Length',
  m: 'Contact',
  n: 'Identity-Info',
  o: 'Event',
  r: 'Refer-To',
  s: 'Subject',
  t: 'To',
  u: 'Allow-Events',
  v: 'Via',
  x: 'Session-Expires',
  y: 'Identity',
});

/** Canonical spelling of header names the stack knows, keyed by lower-case name. */
const KNOWN_NAMES = [
  'Accept', 'Accept-Contact', 'Accept-Encoding', 'Accept-Language', 'Alert-Info', 'Allow',
  'Allow-Events', 'Authentication-Info', 'Authorization', 'Call-ID', 'Call-Info', 'Contact',
  'Content-Disposition', 'Content-Encoding', 'Content-Language', 'Content-Length',
  'Content-Type', 'CSeq', 'Date', 'Error-Info', 'Event', 'Expires', 'From', 'Identity',
  'Identity-Info', 'In-Reply-To', 'Max-Forwards', 'MIME-Version', 'Min-Expires',
  'Organization', 'Path', 'Priority', 'Proxy-Authenticate', 'Proxy-Authorization',
  'Proxy-Require', 'Reason', 'Record-Route', 'Refer-To', 'Referred-By', 'Reject-Contact',
  'Reply-To', 'Request-Disposition', 'Require', 'Retry-After', 'Route', 'RSeq', 'RAck',
  'Server', 'Service-Route', 'Session-Expires', 'SIP-ETag', 'SIP-If-Match', 'Subject',
  'Subscription-State', 'Supported', 'Timestamp', 'To', 'Unsupported', 'User-Agent', 'Via',
  'Warning', 'WWW-Authenticate',
];
const CANONICAL = new Map(KNOWN_NAMES.map((n) => [n.toLowerCase(), n]));

/**
 * The canonical name of a header field: compact forms expanded, known names in their RFC
 * spelling, unknown names as written (header names are case-insensitive, RFC 3261 §7.3.1).
 */
export function canonicalHeaderName(name: string): string {
  const lower = name.toLowerCase();
  const full = COMPACT_FORMS[lower];
  if (full) return full;
  return CANONICAL.get(lower) ?? name;
}

/**
 * Header fields whose grammar is a comma-separated list (RFC 3261 §7.3.1), split into one
 * value each by the parser. Authorization-type headers are not listed: their commas
 * separate auth-params, not values.
 */
export const LIST_HEADERS: ReadonlySet<string> = new Set([
  'Accept', 'Accept-Contact', 'Accept-Encoding', 'Accept-Language', 'Alert-Info', 'Allow',
  'Allow-Events', 'Call-Info', 'Contact', 'Content-Encoding', 'Content-Language',
  'Error-Info', 'In-Reply-To', 'Path', 'Proxy-Require', 'Reason', 'Record-Route',
  'Reject-Contact', 'Require', 'Route', 'Service-Route', 'Supported', 'Unsupported', 'Via',
  'Warning',
]);

/** Header fields that may appear at most once (RFC 3261 §20, Table 2/3). */
export const SINGLE_HEADERS: ReadonlySet<string> = new Set([
  'Call-ID', 'Content-Disposition', 'Content-Length', 'Content-Type', 'CSeq', 'Date',
  'Expires', 'From', 'Max-Forwards', 'MIME-Version', 'Min-Expires', 'Organization',
  'Priority', 'Reply-To', 'Retry-After', 'Server', 'Subject', 'Timestamp', 'To',
  'User-Agent',
]);

/** Reason phrases of RFC 3261 §21 (and RFC 3265/3329/4412/6086 additions in use). */
export const REASON_PHRASES: Readonly<Record<number, string>> = Object.freeze({
  100: 'Trying',
  180: 'Ringing',
  181: 'Call Is Being Forwarded',
  182: 'Queued',
  183: 'Session Progress',
  200: 'OK',
  202: 'Accepted',
  300: 'Multiple Choices',
  301: 'Moved Permanently',
  302: 'Moved Temporarily',
  305: 'Use Proxy',
  380: 'Alternative Service',
  400: 'Bad Request',
  401: 'Unauthorized',
  402: 'Payment Required',
  403: 'Forbidden',
  404: 'Not Found',
  405: 'Method Not Allowed',
  406: 'Not Acceptable',
  407: 'Proxy Authentication Required',
  408: 'Request Timeout',
  410: 'Gone',
  413: 'Request Entity Too Large',
  414: 'Request-URI Too Long',
  415: 'Unsupported Media Type',
  416: 'Unsupported URI Scheme',
  420: 'Bad Extension',
  421: 'Extension Required',
  423: 'Interval Too Brief',
  480: 'Temporarily Unavailable',
  481: 'Call/Transaction Does Not Exist',
  482: 'Loop Detected',
  483: 'Too Many Hops',
  484: 'Address Incomplete',
  485: 'Ambiguous',
  486: 'Busy Here',
  487: 'Request Terminated',
  488: 'Not Acceptable Here',
  489: 'Bad Event',
  491: 'Request Pending',
  493: 'Undecipherable',
  500: 'Server Internal Error',
  501: 'Not Implemented',
  502: 'Bad Gateway',
  503: 'Service Unavailable',
  504: 'Server Time-out',
  505: 'Version Not Supported',
  513: 'Message Too Large',
  600: 'Busy Everywhere',
  603: 'Decline',
  604: 'Does Not Exist Anywhere',
  606: 'Not Acceptable',
});

/** The default reason phrase for a status code (class default for unknown codes). */
export function reasonPhrase(status: number): string {
  const known = REASON_PHRASES[status];
  if (known) return known;
  const cls = Math.floor(status / 100);
  return ['', 'Provisional', 'Success', 'Redirection', 'Client Error', 'Server Error', 'Global Failure'][cls] ?? '';
}
