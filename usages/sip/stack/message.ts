/**
 * The SIP message model (RFC 3261 §7): a request or a response with an ordered list of
 * header fields and an opaque body.
 *
 * Header fields are kept as text, one entry per value: the parser splits the
 * comma-separated list headers (Via, Route, Contact ...; RFC 3261 §7.3.1) so that proxies
 * can push and pop single values, and keeps unknown header fields exactly as received
 * (folds replaced by one SP). Names are canonical (compact forms expanded). Typed views
 * (Via, name-addr, CSeq ...) are parsed on demand by the accessor methods; bodies (SDP
 * included) are octets passed through untouched.
 */
import { trimWsp } from './charset.js';
import { LIST_HEADERS, SIP_VERSION, canonicalHeaderName } from './constants.js';
import {
  type CSeq,
  type ContactValue,
  type MediaType,
  type NameAddr,
  type Via,
  getParam,
  parseCSeq,
  parseCallId,
  parseContact,
  parseDeltaSeconds,
  parseMaxForwards,
  parseMediaType,
  parseNameAddr,
  parseVia,
  splitList,
} from './header-values.js';
import { SipParseError } from './errors.js';
import { type Uri, formatUri } from './uri.js';

export interface HeaderField {
  /** Canonical header name ("Call-ID", "Via", or an unknown name as received). */
  name: string;
  /** One value, unfolded and trimmed. */
  value: string;
}

/** Where a received message came from (RFC 3261 §18.2.1 needs the source address). */
export interface ReceiveInfo {
  transport: 'UDP' | 'TCP' | 'TLS';
  source: { host: string; port: number };
  local: { host: string; port: number };
  /** The stream connection it arrived on (TCP, TLS). */
  connectionId?: string;
}

const EMPTY = new Uint8Array(0);

/** A case-insensitive test for a header name, compact forms included (RFC 3261 §7.3.1). */
function nameMatcher(name: string): (candidate: string) => boolean {
  const lower = canonicalHeaderName(name).toLowerCase();
  return (candidate) => candidate.length === lower.length && candidate.toLowerCase() === lower;
}
const utf8 = new TextEncoder();
const utf8Decoder = new TextDecoder();

abstract class SipMessageBase {
  /** "SIP/2.0" (as received; the stack answers other versions with 505). */
  version = SIP_VERSION;
  headers: HeaderField[];
  /** The message body, octets. */
  body: Uint8Array;
  /** Set by the transport on received messages. */
  received?: ReceiveInfo;

  constructor(headers: HeaderField[] = [], body: Uint8Array = EMPTY) {
    this.headers = headers;
    this.body = body;
  }

  abstract isRequest(): this is SipRequest;

  /** The first value of a header field, or undefined. Names are case-insensitive. */
  get(name: string): string | undefined {
    const is = nameMatcher(name);
    return this.headers.find((h) => is(h.name))?.value;
  }

  /** Every value of a header field, in order. */
  getAll(name: string): string[] {
    const is = nameMatcher(name);
    return this.headers.filter((h) => is(h.name)).map((h) => h.value);
  }

  has(name: string): boolean {
    return this.get(name) !== undefined;
  }

  /**
   * Replaces every value of a header field with `values`, at the position of its first
   * occurrence (or at the end). List values given in one string are split.
   */
  set(name: string, ...values: string[]): this {
    const n = canonicalHeaderName(name);
    const is = nameMatcher(name);
    const at = this.headers.findIndex((h) => is(h.name));
    const rest = this.headers.filter((h) => !is(h.name));
    const fields = values.flatMap((v) => this.fieldsOf(n, v));
    if (at < 0) rest.push(...fields);
    else rest.splice(this.headers.slice(0, at).filter((h) => !is(h.name)).length, 0, ...fields);
    this.headers = rest;
    return this;
  }

  /** Adds values after the last value of the header field (or at the end). */
  append(name: string, ...values: string[]): this {
    const n = canonicalHeaderName(name);
    const is = nameMatcher(name);
    let at = -1;
    this.headers.forEach((h, i) => {
      if (is(h.name)) at = i;
    });
    const fields = values.flatMap((v) => this.fieldsOf(n, v));
    if (at < 0) this.headers.push(...fields);
    else this.headers.splice(at + 1, 0, ...fields);
    return this;
  }

  /** Adds values before the first value of the header field (or at the top). */
  prepend(name: string, ...values: string[]): this {
    const n = canonicalHeaderName(name);
    const is = nameMatcher(name);
    const at = this.headers.findIndex((h) => is(h.name));
    const fields = values.flatMap((v) => this.fieldsOf(n, v));
    this.headers.splice(at < 0 ? 0 : at, 0, ...fields);
    return this;
  }

  /** Removes every value of a header field; returns how many were removed. */
  remove(name: string): number {
    const is = nameMatcher(name);
    const before = this.headers.length;
    this.headers = this.headers.filter((h) => !is(h.name));
    return before - this.headers.length;
  }

  /** Removes and returns the first value of a header field. */
  removeFirst(name: string): string | undefined {
    const is = nameMatcher(name);
    const at = this.headers.findIndex((h) => is(h.name));
    if (at < 0) return undefined;
    return this.headers.splice(at, 1)[0]!.value;
  }

  private fieldsOf(name: string, value: string): HeaderField[] {
    if (LIST_HEADERS.has(name) && trimWsp(value).length > 0) {
      return splitList(value, name).map((v) => ({ name, value: v }));
    }
    return [{ name, value: trimWsp(value) }];
  }

  // ------------------------------------------------------------------ typed accessors

  /** All Via values, top first. */
  vias(): Via[] {
    return this.getAll('Via').map(parseVia);
  }

  topVia(): Via | undefined {
    const v = this.get('Via');
    return v === undefined ? undefined : parseVia(v);
  }

  from(): NameAddr {
    return parseNameAddr(this.required('From'), 'From');
  }

  to(): NameAddr {
    return parseNameAddr(this.required('To'), 'To');
  }

  fromTag(): string | undefined {
    return getParam(this.from().params, 'tag') ?? undefined;
  }

  toTag(): string | undefined {
    return getParam(this.to().params, 'tag') ?? undefined;
  }

  callId(): string {
    return parseCallId(this.required('Call-ID'));
  }

  cseq(): CSeq {
    return parseCSeq(this.required('CSeq'));
  }

  /** Max-Forwards, or undefined when absent. */
  maxForwards(): number | undefined {
    const v = this.get('Max-Forwards');
    return v === undefined ? undefined : parseMaxForwards(v);
  }

  /** Expires (delta-seconds), or undefined when absent. */
  expires(): number | undefined {
    const v = this.get('Expires');
    return v === undefined ? undefined : parseDeltaSeconds(v, 'Expires');
  }

  contacts(): ContactValue[] {
    return this.getAll('Contact').map(parseContact);
  }

  routes(): NameAddr[] {
    return this.getAll('Route').map((v) => parseNameAddr(v, 'Route', true));
  }

  recordRoutes(): NameAddr[] {
    return this.getAll('Record-Route').map((v) => parseNameAddr(v, 'Record-Route', true));
  }

  contentType(): MediaType | undefined {
    const v = this.get('Content-Type');
    return v === undefined ? undefined : parseMediaType(v);
  }

  /** Option tags of Require / Proxy-Require / Supported / Unsupported. */
  optionTags(name: 'Require' | 'Proxy-Require' | 'Supported' | 'Unsupported'): string[] {
    return this.getAll(name).filter((v) => v.length > 0);
  }

  /** The body decoded as UTF-8 (SDP and other text bodies). */
  bodyText(): string {
    return utf8Decoder.decode(this.body);
  }

  /** Sets the body (text is encoded as UTF-8) and, when given, Content-Type. */
  setBody(body: string | Uint8Array, contentType?: string): this {
    this.body = typeof body === 'string' ? utf8.encode(body) : body;
    if (contentType !== undefined) this.set('Content-Type', contentType);
    return this;
  }

  protected required(name: string): string {
    const v = this.get(name);
    if (v === undefined) throw new SipParseError('MISSING_HEADER', 'header field is missing', name);
    return v;
  }

  protected copyInto<T extends SipMessageBase>(m: T): T {
    m.version = this.version;
    m.headers = this.headers.map((h) => ({ ...h }));
    m.body = this.body.slice();
    if (this.received) m.received = { ...this.received, source: { ...this.received.source }, local: { ...this.received.local } };
    return m;
  }
}

export class SipRequest extends SipMessageBase {
  constructor(
    /** Method, case-sensitive (RFC 3261 §7.1). */
    public method: string,
    public uri: Uri,
    headers?: HeaderField[],
    body?: Uint8Array,
  ) {
    super(headers, body);
  }

  isRequest(): this is SipRequest {
    return true;
  }

  /** A deep copy. */
  clone(): SipRequest {
    return this.copyInto(new SipRequest(this.method, structuredClone(this.uri)));
  }

  /** The Request-Line (without CRLF). */
  startLine(): string {
    return `${this.method} ${formatUri(this.uri)} ${this.version}`;
  }
}

export class SipResponse extends SipMessageBase {
  constructor(
    public status: number,
    public reason: string,
    headers?: HeaderField[],
    body?: Uint8Array,
  ) {
    super(headers, body);
  }

  isRequest(): this is SipRequest {
    return false;
  }

  clone(): SipResponse {
    return this.copyInto(new SipResponse(this.status, this.reason));
  }

  /** The Status-Line (without CRLF). */
  startLine(): string {
    return `${this.version} ${this.status} ${this.reason}`;
  }
}

export type SipMessage = SipRequest | SipResponse;

/**
 * Serializes a message: start line, one line per header value, Content-Length set to the
 * body's real length (RFC 3261 §18.3, §20.14), an empty line, the body.
 */
export function serializeMessage(msg: SipMessage): Uint8Array {
  let head = msg.startLine() + '\r\n';
  let sawLength = false;
  for (const h of msg.headers) {
    if (h.name === 'Content-Length') {
      if (sawLength) continue;
      sawLength = true;
      head += `Content-Length: ${msg.body.length}\r\n`;
      continue;
    }
    head += `${h.name}: ${h.value}\r\n`;
  }
  if (!sawLength) head += `Content-Length: ${msg.body.length}\r\n`;
  head += '\r\n';
  const headBytes = utf8.encode(head);
  const out = new Uint8Array(headBytes.length + msg.body.length);
  out.set(headBytes, 0);
  out.set(msg.body, headBytes.length);
  return out;
}
