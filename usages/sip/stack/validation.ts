/**
 * The UAS checks of RFC 3261 §8.2.1-§8.2.3 on a request that parsed: method (405 / 501),
 * Request-URI scheme (416), Require (420 with Unsupported), Content-Type (415 with
 * Accept), and Accept against the body types the UAS answers with (406). Plus the SIP-date
 * of the Date header (RFC 3261 §20.17: RFC 1123 form, "GMT" only).
 */
import { isToken, trimWsp } from './charset.js';
import { SipParseError } from './errors.js';
import { type MediaType, parseMediaType } from './header-values.js';
import type { HeaderField, SipRequest } from './message.js';

/** Methods of RFC 3261 and the extensions in common use (a method outside this set gets 501). */
export const KNOWN_METHODS: ReadonlySet<string> = new Set([
  'INVITE', 'ACK', 'BYE', 'CANCEL', 'OPTIONS', 'REGISTER', 'PRACK', 'SUBSCRIBE', 'NOTIFY',
  'PUBLISH', 'INFO', 'REFER', 'MESSAGE', 'UPDATE',
]);

export interface UasPolicy {
  /** Methods this UAS handles. */
  methods: readonly string[];
  /** URI schemes it accepts in the Request-URI. @default ['sip', 'sips'] */
  uriSchemes?: readonly string[];
  /** Option tags it supports (a Require naming another gets 420). @default [] */
  extensions?: readonly string[];
  /** Body types it understands (a body of another type gets 415). @default ['application/sdp'] */
  contentTypes?: readonly string[];
  /**
   * Body types its responses to each method carry; a request whose Accept admits none of
   * them gets 406 (RFC 4475 §3.3.15). @default { INVITE: ['application/sdp'] }
   */
  responseBodyTypes?: Readonly<Record<string, readonly string[]>>;
}

/** A rejection the UAS sends instead of processing the request. */
export interface PrecheckRejection {
  status: number;
  reason: string;
  /** Header fields the response must carry (Allow, Unsupported, Accept). */
  headers: HeaderField[];
}

const matches = (range: MediaType, type: string): boolean => {
  const [t, s] = type.toLowerCase().split('/') as [string, string];
  return (range.type === '*' || range.type === t) && (range.subtype === '*' || range.subtype === s);
};

/**
 * Runs the RFC 3261 §8.2 checks in their order; returns the rejection to send, or
 * undefined when the request may be processed. ACK is never rejected (it gets no response).
 */
export function uasPrecheck(req: SipRequest, policy: UasPolicy): PrecheckRejection | undefined {
  if (req.method === 'ACK') return undefined;
  // §8.2.1 method inspection.
  if (!policy.methods.includes(req.method)) {
    const allow = [{ name: 'Allow', value: policy.methods.join(', ') }];
    if (KNOWN_METHODS.has(req.method)) return { status: 405, reason: 'Method Not Allowed', headers: allow };
    return { status: 501, reason: 'Not Implemented', headers: allow };
  }
  // §8.2.2.1 Request-URI scheme.
  const schemes = policy.uriSchemes ?? ['sip', 'sips'];
  const scheme = req.uri.kind === 'sip' ? req.uri.scheme : req.uri.kind === 'tel' ? 'tel' : req.uri.scheme;
  if (!schemes.includes(scheme)) return { status: 416, reason: 'Unsupported URI Scheme', headers: [] };
  // §8.2.2.3 Require (not for CANCEL, RFC 3261 §8.2.2.3).
  if (req.method !== 'CANCEL') {
    const supported = new Set((policy.extensions ?? []).map((e) => e.toLowerCase()));
    const unsupported = req.optionTags('Require').filter((tag) => !supported.has(tag.toLowerCase()));
    if (unsupported.length > 0) {
      return { status: 420, reason: 'Bad Extension', headers: [{ name: 'Unsupported', value: unsupported.join(', ') }] };
    }
  }
  // §8.2.3 content processing.
  const contentTypes = policy.contentTypes ?? ['application/sdp'];
  if (req.body.length > 0) {
    const ct = req.contentType();
    const ok = ct !== undefined && contentTypes.some((t) => t.toLowerCase() === `${ct.type}/${ct.subtype}`);
    if (!ok) return { status: 415, reason: 'Unsupported Media Type', headers: [{ name: 'Accept', value: contentTypes.join(', ') }] };
  }
  // Accept (§20.1): the response body types must be acceptable to the client.
  const bodyTypes = (policy.responseBodyTypes ?? { INVITE: ['application/sdp'] })[req.method];
  if (bodyTypes && bodyTypes.length > 0 && req.has('Accept')) {
    const ranges = req.getAll('Accept').filter((v) => v.length > 0).map((v) => parseMediaType(v, 'Accept', true));
    if (!bodyTypes.some((t) => ranges.some((r) => matches(r, t)))) {
      return { status: 406, reason: 'Not Acceptable', headers: [{ name: 'Accept', value: bodyTypes.join(', ') }] };
    }
  }
  return undefined;
}

const MONTHS = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
const WKDAYS = ['Sun', 'Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat'];

/**
 * SIP-date = rfc1123-date (RFC 3261 §20.17, §25.1): `wkday "," SP 2DIGIT SP month SP
 * 4DIGIT SP time SP "GMT"`. Any other zone ("EST", "UT", "UTC") is invalid (RFC 4475
 * §3.1.2.12). Returns milliseconds since the epoch; throws SipParseError.
 */
export function parseSipDate(value: string): number {
  const m = /^([A-Za-z]{3}), ([0-9]{2}) ([A-Za-z]{3}) ([0-9]{4}) ([0-9]{2}):([0-9]{2}):([0-9]{2}) ([A-Za-z]+)$/.exec(trimWsp(value));
  if (!m) throw new SipParseError('BAD_HEADER_VALUE', 'not an RFC 1123 date', 'Date');
  const [, wkday, day, mon, year, hh, mm, ss, zone] = m as unknown as string[];
  if (zone !== 'GMT') throw new SipParseError('BAD_HEADER_VALUE', `time zone must be GMT, not ${isToken(zone!) ? zone : '?'}`, 'Date');
  const month = MONTHS.indexOf(mon!);
  if (month < 0 || !WKDAYS.includes(wkday!)) throw new SipParseError('BAD_HEADER_VALUE', 'invalid day or month name', 'Date');
  const t = Date.UTC(Number(year), month, Number(day), Number(hh), Number(mm), Number(ss));
  const d = new Date(t);
  if (d.getUTCDate() !== Number(day) || Number(hh) > 23 || Number(mm) > 59 || Number(ss) > 59) {
    throw new SipParseError('BAD_HEADER_VALUE', 'date out of range', 'Date');
  }
  if (WKDAYS[d.getUTCDay()] !== wkday) throw new SipParseError('BAD_HEADER_VALUE', 'day of week does not match the date', 'Date');
  return t;
}
