/**
 * The conference state document of the SIP conference event package (RFC 4575 §5),
 * `application/conference-info+xml`: a typed model, a strict parser, an encoder, and the
 * subscriber's merge of full / partial / deleted notifications with the version rules of
 * RFC 4575 §4.6.
 *
 * What is modelled: `<conference-info>` (entity, state, version), `<conference-description>`
 * (display-text, subject, free-text, keywords, conf-uris, service-uris, maximum-user-count,
 * available-media), `<host-info>`, `<conference-state>` (user-count, active, locked),
 * `<users>` / `<user>` (display-text, associated-aors, roles, languages, cascaded-focus) /
 * `<endpoint>` (display-text, referred, status, joining-method, joining-info,
 * disconnection-method, disconnection-info, media, call-info) / `<media>` (display-text, type,
 * label, src-id, status). Sidebars (`<sidebars-by-ref>`, `<sidebars-by-val>`) are not
 * modelled: DisCo does not use them, and they are skipped on parse.
 *
 * DisCo extension (decision): the DisCo draft says the SDCON work "extends the conference
 * event package by states" for multi-focus operation, but its XML (namespace, element
 * names) could not be verified (disco digest §6, UNCONFIRMED). We therefore define the
 * extension in a project namespace, {@link DISCO_INFO_NS}, as one element inside
 * `<endpoint>`: `<disco:focus entity="FOCUS-URI" node-id="HEX"/>`, naming the focus peer
 * that serves the endpoint. RFC 4575 §5 allows it: every complex type ends with
 * `<xs:any namespace="##other" processContents="lax"/>`. A subscriber that does not know
 * the namespace ignores it; our parser validates it (entity required). Elements of any
 * other foreign namespace are ignored.
 *
 * XML reader (decision): fast-xml-parser is a dependency, but it does not resolve
 * namespaces (it only keeps or strips prefixes), and this format is namespace-qualified
 * (a default namespace, the extension under any prefix, foreign elements to ignore). So
 * the parser uses the project's strict namespace-aware reader, src/config/xml.ts, which
 * also refuses DOCTYPE (no entity expansion) and bounds depth and element count.
 *
 * Strictness: wrong root element or namespace, a missing required attribute (entity on
 * conference-info / user / endpoint, version on conference-info, id on media, label on an
 * available-media entry), a value outside its enumeration or type, a repeated single
 * element, or non-blank text inside a structured element is a {@link ConferenceInfoError}
 * naming the element. Child order is not enforced (the XSD's sequence), duplicates are.
 * `entity` on `<user>` / `<endpoint>` is optional in the XSD but is the element key
 * (RFC 4575 §4.5); without it a partial notification cannot address the element, so it is
 * required here.
 */
import { isDeepStrictEqual } from 'node:util';
import { type XmlElement, XmlError, attributeValue, escapeXml, parseXml } from '../../src/config/xml.js';

/** XML namespace of the conference-info document (RFC 4575 §4.2). */
export const CONFERENCE_INFO_NS = 'urn:ietf:params:xml:ns:conference-info';
/** The body type of the `conference` event package (RFC 4575 §3.4). */
export const CONFERENCE_INFO_CONTENT_TYPE = 'application/conference-info+xml';
/** Project namespace of the DisCo focus extension (see the module comment). */
export const DISCO_INFO_NS = 'urn:x-reload-node:params:xml:ns:disco-conference-info';
/** Prefix the encoder binds {@link DISCO_INFO_NS} to. */
export const DISCO_INFO_PREFIX = 'disco';
/** Largest document the parser accepts by default, octets. */
export const MAX_CONFERENCE_INFO_BYTES = 256 * 1024;
/** Largest version number (xs:unsignedInt, RFC 4575 §5.2). */
export const MAX_CONFERENCE_INFO_VERSION = 0xffff_ffff;

/** `state` of the partial-notification mechanism (RFC 4575 §4.4). */
export type ElementState = 'full' | 'partial' | 'deleted';
export const ELEMENT_STATES: readonly ElementState[] = ['full', 'partial', 'deleted'];

/** endpoint-status-type (RFC 4575 §5.7.2). */
export const ENDPOINT_STATUSES = [
  'pending',
  'dialing-out',
  'dialing-in',
  'alerting',
  'on-hold',
  'connected',
  'muted-via-focus',
  'disconnecting',
  'disconnected',
] as const;
export type EndpointStatus = (typeof ENDPOINT_STATUSES)[number];
/** joining-type (RFC 4575 §5.7.3). */
export const JOINING_METHODS = ['dialed-in', 'dialed-out', 'focus-owner'] as const;
export type JoiningMethod = (typeof JOINING_METHODS)[number];
/** disconnection-type (RFC 4575 §5.7.5). */
export const DISCONNECTION_METHODS = ['departed', 'booted', 'failed', 'busy'] as const;
export type DisconnectionMethod = (typeof DISCONNECTION_METHODS)[number];
/** media-status-type (RFC 4575 §5.7.9), from the focus' point of view. */
export const MEDIA_STATUSES = ['recvonly', 'sendonly', 'sendrecv', 'inactive'] as const;
export type MediaStatus = (typeof MEDIA_STATUSES)[number];

/** An `<entry>` of a uris-type list (conf-uris, service-uris, associated-aors, host uris). */
export interface UriEntry {
  uri: string;
  displayText?: string;
  /** e.g. participation, streaming, event, recording, web-page (IANA registry). */
  purpose?: string;
}

/** An `<entry label="">` of `<available-media>`. */
export interface AvailableMedia {
  label: string;
  displayText?: string;
  type?: string;
  status?: MediaStatus;
}

export interface ConferenceDescription {
  displayText?: string;
  subject?: string;
  freeText?: string;
  keywords?: string[];
  confUris?: UriEntry[];
  serviceUris?: UriEntry[];
  maximumUserCount?: number;
  availableMedia?: AvailableMedia[];
}

export interface HostInfo {
  displayText?: string;
  webPage?: string;
  uris?: UriEntry[];
}

/** `<conference-state>` (atomic: replaced as a whole). */
export interface ConferenceStateInfo {
  userCount?: number;
  active?: boolean;
  locked?: boolean;
}

/** execution-type: referred, joining-info, disconnection-info. */
export interface ExecutionInfo {
  /** xs:dateTime. */
  when?: string;
  reason?: string;
  /** anyURI. */
  by?: string;
}

/** `<call-info><sip>`: the focus-side dialog of an endpoint. */
export interface SipDialogInfo {
  displayText?: string;
  callId: string;
  fromTag: string;
  toTag: string;
}

export interface Media {
  /** Key (RFC 4575 §4.5). */
  id: string;
  displayText?: string;
  type?: string;
  label?: string;
  srcId?: string;
  status?: MediaStatus;
}

/** DisCo extension: the focus peer serving an endpoint. */
export interface FocusRef {
  /** The focus' URI (its GRUU / contact): the key the roster uses for the focus. */
  entity: string;
  /** The focus' RELOAD Node-ID, hex. */
  nodeId?: string;
}

export interface Endpoint {
  /** Key (RFC 4575 §4.5). */
  entity: string;
  state: ElementState;
  displayText?: string;
  referred?: ExecutionInfo;
  status?: EndpointStatus;
  joiningMethod?: JoiningMethod;
  joiningInfo?: ExecutionInfo;
  disconnectionMethod?: DisconnectionMethod;
  disconnectionInfo?: ExecutionInfo;
  media: Media[];
  callInfo?: SipDialogInfo;
  /** DisCo extension (see the module comment). */
  focus?: FocusRef;
}

export interface User {
  /** Key (RFC 4575 §4.5). */
  entity: string;
  state: ElementState;
  displayText?: string;
  associatedAors?: UriEntry[];
  roles?: string[];
  languages?: string[];
  cascadedFocus?: string;
  endpoints: Endpoint[];
}

export interface Users {
  state: ElementState;
  list: User[];
}

export interface ConferenceInfo {
  /** The conference URI (RFC 4575 §5.2). */
  entity: string;
  /** Document version, scoped to a subscription (RFC 4575 §4.3). */
  version: number;
  state: ElementState;
  description?: ConferenceDescription;
  hostInfo?: HostInfo;
  conferenceState?: ConferenceStateInfo;
  users?: Users;
}

export type ConferenceInfoErrorReason =
  /** Not well-formed XML or not UTF-8, or a refused construct (DOCTYPE). */
  | 'xml'
  /** Larger than the accepted size. */
  | 'too_large'
  /** The root is not `<conference-info>` in {@link CONFERENCE_INFO_NS}. */
  | 'root'
  /** A required attribute or element is missing. */
  | 'missing'
  /** A value is outside its enumeration or type. */
  | 'value'
  /** A repeated single element, text where only elements belong. */
  | 'structure';

/** What is wrong with a conference-info document; match on `reason`, never on the text. */
export class ConferenceInfoError extends Error {
  readonly code = 'ERR_CONFERENCE_INFO';
  constructor(
    readonly reason: ConferenceInfoErrorReason,
    /** The element the problem is in (local name), when there is one. */
    readonly element: string | undefined,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(element ? `<${element}>: ${message}` : message, options);
    this.name = 'ConferenceInfoError';
  }
}

// ------------------------------------------------------------------------------ parsing

export interface ParseConferenceInfoOptions {
  /** Largest document accepted, octets. @default MAX_CONFERENCE_INFO_BYTES */
  maxBytes?: number;
}

const utf8Decoder = new TextDecoder('utf-8', { fatal: true });
const utf8Encoder = new TextEncoder();

/** Parses a conference-info document. Throws {@link ConferenceInfoError}, nothing else. */
export function parseConferenceInfo(input: string | Uint8Array, options: ParseConferenceInfoOptions = {}): ConferenceInfo {
  const max = options.maxBytes ?? MAX_CONFERENCE_INFO_BYTES;
  let text: string;
  if (typeof input === 'string') {
    if (input.length > max || utf8Encoder.encode(input).length > max) {
      throw new ConferenceInfoError('too_large', undefined, `document is larger than ${max} octets`);
    }
    text = input;
  } else {
    if (input.length > max) throw new ConferenceInfoError('too_large', undefined, `document is ${input.length} octets, more than ${max}`);
    try {
      text = utf8Decoder.decode(input);
    } catch (e) {
      throw new ConferenceInfoError('xml', undefined, 'document is not valid UTF-8 (RFC 4575 §4.1)', { cause: e });
    }
  }
  let root: XmlElement;
  try {
    root = parseXml(text, { maxDepth: 32, maxElements: 50_000, maxAttributes: 64 });
  } catch (e) {
    if (e instanceof XmlError) throw new ConferenceInfoError('xml', undefined, e.message, { cause: e });
    throw e;
  }
  if (root.local !== 'conference-info' || root.namespace !== CONFERENCE_INFO_NS) {
    throw new ConferenceInfoError(
      'root',
      root.local,
      `root element is <${root.qname}> in ${root.namespace ?? 'no namespace'}, expected <conference-info> in ${CONFERENCE_INFO_NS}`,
    );
  }
  return readConferenceInfo(root);
}

const isOurs = (el: XmlElement): boolean => el.namespace === CONFERENCE_INFO_NS;
const isDisco = (el: XmlElement): boolean => el.namespace === DISCO_INFO_NS;

/** Children in the RFC 4575 namespace, grouped by local name; foreign ones dropped; no stray text. */
function childMap(el: XmlElement): Map<string, XmlElement[]> {
  if (el.text.trim() !== '') throw new ConferenceInfoError('structure', el.local, 'unexpected text content');
  const map = new Map<string, XmlElement[]>();
  for (const c of el.children) {
    if (!isOurs(c)) continue;
    const list = map.get(c.local);
    if (list) list.push(c);
    else map.set(c.local, [c]);
  }
  return map;
}

function single(map: Map<string, XmlElement[]>, name: string): XmlElement | undefined {
  const list = map.get(name);
  if (!list) return undefined;
  if (list.length > 1) throw new ConferenceInfoError('structure', name, 'element appears more than once');
  return list[0];
}

/** Text of a leaf element (no child elements of our namespace). */
function leafText(el: XmlElement): string {
  if (el.children.some(isOurs)) throw new ConferenceInfoError('structure', el.local, 'expected text, found child elements');
  return el.text;
}

function optString(map: Map<string, XmlElement[]>, name: string): string | undefined {
  const el = single(map, name);
  return el === undefined ? undefined : leafText(el);
}

/** xs:anyURI / xs:token-like values: whitespace collapsed at the ends; must not be empty. */
function tokenText(el: XmlElement): string {
  const v = leafText(el).trim();
  if (v === '') throw new ConferenceInfoError('value', el.local, 'empty value');
  return v;
}

function optToken(map: Map<string, XmlElement[]>, name: string): string | undefined {
  const el = single(map, name);
  return el === undefined ? undefined : tokenText(el);
}

function optEnum<T extends string>(map: Map<string, XmlElement[]>, name: string, values: readonly T[]): T | undefined {
  const el = single(map, name);
  if (el === undefined) return undefined;
  const v = leafText(el).trim();
  if (!(values as readonly string[]).includes(v)) {
    throw new ConferenceInfoError('value', name, `"${v.slice(0, 40)}" is not one of ${values.join(', ')}`);
  }
  return v as T;
}

function parseUnsignedInt(v: string, element: string): number {
  const s = v.trim();
  if (!/^\+?[0-9]{1,10}$/.test(s)) throw new ConferenceInfoError('value', element, `"${s.slice(0, 20)}" is not an unsigned integer`);
  const n = Number(s);
  if (n > MAX_CONFERENCE_INFO_VERSION) throw new ConferenceInfoError('value', element, `${s} is larger than 4294967295`);
  return n;
}

function optUnsigned(map: Map<string, XmlElement[]>, name: string): number | undefined {
  const el = single(map, name);
  return el === undefined ? undefined : parseUnsignedInt(leafText(el), name);
}

function optBoolean(map: Map<string, XmlElement[]>, name: string): boolean | undefined {
  const el = single(map, name);
  if (el === undefined) return undefined;
  const v = leafText(el).trim();
  // xs:boolean lexical space.
  if (v === 'true' || v === '1') return true;
  if (v === 'false' || v === '0') return false;
  throw new ConferenceInfoError('value', name, `"${v.slice(0, 20)}" is not a boolean`);
}

function stateOf(el: XmlElement): ElementState {
  const v = attributeValue(el, 'state');
  if (v === undefined) return 'full'; // default="full" (RFC 4575 §4.4)
  if (!(ELEMENT_STATES as readonly string[]).includes(v)) {
    throw new ConferenceInfoError('value', el.local, `state "${v.slice(0, 20)}" is not full, partial or deleted`);
  }
  return v as ElementState;
}

function requiredAttribute(el: XmlElement, name: string): string {
  const v = attributeValue(el, name);
  if (v === undefined || v.trim() === '') throw new ConferenceInfoError('missing', el.local, `attribute "${name}" is required`);
  return v.trim();
}

function set<T extends object, K extends keyof T>(obj: T, key: K, value: T[K] | undefined): void {
  if (value !== undefined) obj[key] = value;
}

function readConferenceInfo(root: XmlElement): ConferenceInfo {
  const entity = requiredAttribute(root, 'entity');
  const versionText = attributeValue(root, 'version');
  // RFC 4575 §4.3: the version is mandatory in the conference-info document itself.
  if (versionText === undefined) throw new ConferenceInfoError('missing', 'conference-info', 'attribute "version" is required');
  const info: ConferenceInfo = { entity, version: parseUnsignedInt(versionText, 'conference-info'), state: stateOf(root) };
  const map = childMap(root);
  const desc = single(map, 'conference-description');
  if (desc) info.description = readDescription(desc);
  const host = single(map, 'host-info');
  if (host) info.hostInfo = readHostInfo(host);
  const cs = single(map, 'conference-state');
  if (cs) info.conferenceState = readConferenceState(cs);
  const users = single(map, 'users');
  if (users) info.users = readUsers(users);
  return info;
}

function readUriList(el: XmlElement): UriEntry[] {
  const map = childMap(el);
  return (map.get('entry') ?? []).map((e) => {
    const m = childMap(e);
    const uriEl = single(m, 'uri');
    if (!uriEl) throw new ConferenceInfoError('missing', 'entry', `<uri> is required in an entry of <${el.local}>`);
    const entry: UriEntry = { uri: tokenText(uriEl) };
    set(entry, 'displayText', optString(m, 'display-text'));
    set(entry, 'purpose', optToken(m, 'purpose'));
    return entry;
  });
}

function optUriList(map: Map<string, XmlElement[]>, name: string): UriEntry[] | undefined {
  const el = single(map, name);
  return el === undefined ? undefined : readUriList(el);
}

function readDescription(el: XmlElement): ConferenceDescription {
  const map = childMap(el);
  const d: ConferenceDescription = {};
  set(d, 'displayText', optString(map, 'display-text'));
  set(d, 'subject', optString(map, 'subject'));
  set(d, 'freeText', optString(map, 'free-text'));
  const kw = single(map, 'keywords');
  if (kw) d.keywords = leafText(kw).split(/[ \t\r\n]+/).filter((k) => k.length > 0);
  set(d, 'confUris', optUriList(map, 'conf-uris'));
  set(d, 'serviceUris', optUriList(map, 'service-uris'));
  set(d, 'maximumUserCount', optUnsigned(map, 'maximum-user-count'));
  const am = single(map, 'available-media');
  if (am) {
    d.availableMedia = (childMap(am).get('entry') ?? []).map((e) => {
      const m = childMap(e);
      const entry: AvailableMedia = { label: requiredAttribute(e, 'label') };
      set(entry, 'displayText', optString(m, 'display-text'));
      set(entry, 'type', optToken(m, 'type'));
      set(entry, 'status', optEnum(m, 'status', MEDIA_STATUSES));
      return entry;
    });
  }
  return d;
}

function readHostInfo(el: XmlElement): HostInfo {
  const map = childMap(el);
  const h: HostInfo = {};
  set(h, 'displayText', optString(map, 'display-text'));
  set(h, 'webPage', optToken(map, 'web-page'));
  set(h, 'uris', optUriList(map, 'uris'));
  return h;
}

function readConferenceState(el: XmlElement): ConferenceStateInfo {
  const map = childMap(el);
  const s: ConferenceStateInfo = {};
  set(s, 'userCount', optUnsigned(map, 'user-count'));
  set(s, 'active', optBoolean(map, 'active'));
  set(s, 'locked', optBoolean(map, 'locked'));
  return s;
}

function uniqueKeys<T>(items: T[], key: (t: T) => string, element: string): T[] {
  const seen = new Set<string>();
  for (const it of items) {
    const k = key(it);
    // RFC 4575 §4.5: keys are unique among siblings of the same type.
    if (seen.has(k)) throw new ConferenceInfoError('structure', element, `key "${k.slice(0, 80)}" appears twice`);
    seen.add(k);
  }
  return items;
}

function readUsers(el: XmlElement): Users {
  const map = childMap(el);
  const list = (map.get('user') ?? []).map(readUser);
  return { state: stateOf(el), list: uniqueKeys(list, (u) => u.entity, 'user') };
}

function readUser(el: XmlElement): User {
  const user: User = { entity: requiredAttribute(el, 'entity'), state: stateOf(el), endpoints: [] };
  const map = childMap(el);
  set(user, 'displayText', optString(map, 'display-text'));
  set(user, 'associatedAors', optUriList(map, 'associated-aors'));
  const roles = single(map, 'roles');
  if (roles) user.roles = (childMap(roles).get('entry') ?? []).map((e) => leafText(e));
  const langs = single(map, 'languages');
  if (langs) {
    user.languages = leafText(langs).split(/[ \t\r\n]+/).filter((l) => l.length > 0);
    for (const l of user.languages) {
      if (!/^[A-Za-z]{1,8}(-[A-Za-z0-9]{1,8})*$/.test(l)) throw new ConferenceInfoError('value', 'languages', `"${l.slice(0, 20)}" is not a language tag`);
    }
  }
  set(user, 'cascadedFocus', optToken(map, 'cascaded-focus'));
  user.endpoints = uniqueKeys((map.get('endpoint') ?? []).map(readEndpoint), (e) => e.entity, 'endpoint');
  return user;
}

function readExecution(map: Map<string, XmlElement[]>, name: string): ExecutionInfo | undefined {
  const el = single(map, name);
  if (!el) return undefined;
  const m = childMap(el);
  const x: ExecutionInfo = {};
  const when = optToken(m, 'when');
  if (when !== undefined && !/^-?[0-9]{4,}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]+)?(Z|[+-][0-9]{2}:[0-9]{2})?$/.test(when)) {
    throw new ConferenceInfoError('value', 'when', `"${when.slice(0, 40)}" is not an xs:dateTime`);
  }
  set(x, 'when', when);
  set(x, 'reason', optString(m, 'reason'));
  set(x, 'by', optToken(m, 'by'));
  return x;
}

function readEndpoint(el: XmlElement): Endpoint {
  const ep: Endpoint = { entity: requiredAttribute(el, 'entity'), state: stateOf(el), media: [] };
  const map = childMap(el);
  set(ep, 'displayText', optString(map, 'display-text'));
  set(ep, 'referred', readExecution(map, 'referred'));
  set(ep, 'status', optEnum(map, 'status', ENDPOINT_STATUSES));
  set(ep, 'joiningMethod', optEnum(map, 'joining-method', JOINING_METHODS));
  set(ep, 'joiningInfo', readExecution(map, 'joining-info'));
  set(ep, 'disconnectionMethod', optEnum(map, 'disconnection-method', DISCONNECTION_METHODS));
  set(ep, 'disconnectionInfo', readExecution(map, 'disconnection-info'));
  ep.media = uniqueKeys((map.get('media') ?? []).map(readMedia), (m) => m.id, 'media');
  const ci = single(map, 'call-info');
  if (ci) {
    const sip = single(childMap(ci), 'sip');
    if (sip) {
      const m = childMap(sip);
      const need = (name: string): string => {
        const v = optToken(m, name);
        if (v === undefined) throw new ConferenceInfoError('missing', 'sip', `<${name}> is required in <call-info><sip>`);
        return v;
      };
      const call: SipDialogInfo = { callId: need('call-id'), fromTag: need('from-tag'), toTag: need('to-tag') };
      set(call, 'displayText', optString(m, 'display-text'));
      ep.callInfo = call;
    }
  }
  const focusEls = el.children.filter((c) => isDisco(c) && c.local === 'focus');
  if (focusEls.length > 1) throw new ConferenceInfoError('structure', 'focus', 'element appears more than once');
  const f = focusEls[0];
  if (f) {
    const focus: FocusRef = { entity: requiredAttribute(f, 'entity') };
    const nodeId = attributeValue(f, 'node-id');
    if (nodeId !== undefined) {
      if (!/^[0-9a-fA-F]{2,128}$/.test(nodeId) || nodeId.length % 2 !== 0) {
        throw new ConferenceInfoError('value', 'focus', `node-id "${nodeId.slice(0, 40)}" is not hex`);
      }
      focus.nodeId = nodeId.toLowerCase();
    }
    ep.focus = focus;
  }
  return ep;
}

function readMedia(el: XmlElement): Media {
  const m: Media = { id: requiredAttribute(el, 'id') };
  const map = childMap(el);
  set(m, 'displayText', optString(map, 'display-text'));
  set(m, 'type', optToken(map, 'type'));
  set(m, 'label', optToken(map, 'label'));
  set(m, 'srcId', optToken(map, 'src-id'));
  set(m, 'status', optEnum(map, 'status', MEDIA_STATUSES));
  return m;
}

// ------------------------------------------------------------------------------ encoding

export interface EncodeConferenceInfoOptions {
  /** Indent nested elements by two spaces per level and end lines with LF. @default true */
  pretty?: boolean;
}

/**
 * Writes the document in the XSD's element order (RFC 4575 §5), every text and attribute
 * value escaped. Throws ConferenceInfoError('value') for a version or count outside
 * xs:unsignedInt or an empty key.
 */
export function encodeConferenceInfo(info: ConferenceInfo, options: EncodeConferenceInfoOptions = {}): string {
  const pretty = options.pretty ?? true;
  const w = new XmlWriter(pretty);
  checkUnsigned(info.version, 'conference-info');
  const usesDisco = info.users?.list.some((u) => u.endpoints.some((e) => e.focus !== undefined)) ?? false;
  const rootAttrs: [string, string][] = [['xmlns', CONFERENCE_INFO_NS]];
  if (usesDisco) rootAttrs.push([`xmlns:${DISCO_INFO_PREFIX}`, DISCO_INFO_NS]);
  rootAttrs.push(['entity', nonEmpty(info.entity, 'conference-info')], ['state', info.state], ['version', String(info.version)]);
  w.open('conference-info', rootAttrs);
  if (info.description) writeDescription(w, info.description);
  if (info.hostInfo) {
    const h = info.hostInfo;
    w.open('host-info');
    w.leaf('display-text', h.displayText);
    w.leaf('web-page', h.webPage);
    if (h.uris) writeUriList(w, 'uris', h.uris);
    w.close('host-info');
  }
  if (info.conferenceState) {
    const s = info.conferenceState;
    w.open('conference-state');
    if (s.userCount !== undefined) w.leaf('user-count', String(checkUnsigned(s.userCount, 'user-count')));
    if (s.active !== undefined) w.leaf('active', String(s.active));
    if (s.locked !== undefined) w.leaf('locked', String(s.locked));
    w.close('conference-state');
  }
  if (info.users) {
    const attrs: [string, string][] = info.users.state === 'full' ? [] : [['state', info.users.state]];
    if (info.users.list.length === 0) w.empty('users', attrs);
    else {
      w.open('users', attrs);
      for (const u of info.users.list) writeUser(w, u);
      w.close('users');
    }
  }
  w.close('conference-info');
  return w.result();
}

function checkUnsigned(n: number, element: string): number {
  if (!Number.isInteger(n) || n < 0 || n > MAX_CONFERENCE_INFO_VERSION) {
    throw new ConferenceInfoError('value', element, `${n} is not an xs:unsignedInt`);
  }
  return n;
}

function nonEmpty(s: string, element: string): string {
  if (s.trim() === '') throw new ConferenceInfoError('missing', element, 'empty entity');
  return s;
}

class XmlWriter {
  private out = '<?xml version="1.0" encoding="UTF-8"?>\n';
  private depth = 0;
  constructor(private readonly pretty: boolean) {}

  private indent(): string {
    return this.pretty ? '  '.repeat(this.depth) : '';
  }
  private nl(): string {
    return this.pretty ? '\n' : '';
  }
  private attrs(attrs: readonly [string, string][]): string {
    return attrs.map(([k, v]) => ` ${k}="${escapeXml(v)}"`).join('');
  }
  open(name: string, attrs: readonly [string, string][] = []): void {
    this.out += `${this.indent()}<${name}${this.attrs(attrs)}>${this.nl()}`;
    this.depth++;
  }
  close(name: string): void {
    this.depth--;
    this.out += `${this.indent()}</${name}>${this.nl()}`;
  }
  empty(name: string, attrs: readonly [string, string][] = []): void {
    this.out += `${this.indent()}<${name}${this.attrs(attrs)}/>${this.nl()}`;
  }
  leaf(name: string, text: string | undefined, attrs: readonly [string, string][] = []): void {
    if (text === undefined) return;
    this.out += `${this.indent()}<${name}${this.attrs(attrs)}>${escapeText(text)}</${name}>${this.nl()}`;
  }
  result(): string {
    return this.out;
  }
}

/** Element content: escape markup; keep CR as a reference so it survives end-of-line normalization. */
function escapeText(text: string): string {
  return text.replace(/[<>&\r]/g, (c) => (c === '<' ? '&lt;' : c === '>' ? '&gt;' : c === '&' ? '&amp;' : '&#13;'));
}

function writeUriList(w: XmlWriter, name: string, list: readonly UriEntry[]): void {
  if (list.length === 0) return w.empty(name);
  w.open(name);
  for (const e of list) {
    w.open('entry');
    w.leaf('uri', nonEmpty(e.uri, 'uri'));
    w.leaf('display-text', e.displayText);
    w.leaf('purpose', e.purpose);
    w.close('entry');
  }
  w.close(name);
}

function writeDescription(w: XmlWriter, d: ConferenceDescription): void {
  if (Object.values(d).every((v) => v === undefined)) return w.empty('conference-description');
  w.open('conference-description');
  w.leaf('display-text', d.displayText);
  w.leaf('subject', d.subject);
  w.leaf('free-text', d.freeText);
  if (d.keywords) w.leaf('keywords', d.keywords.join(' '));
  if (d.confUris) writeUriList(w, 'conf-uris', d.confUris);
  if (d.serviceUris) writeUriList(w, 'service-uris', d.serviceUris);
  if (d.maximumUserCount !== undefined) w.leaf('maximum-user-count', String(checkUnsigned(d.maximumUserCount, 'maximum-user-count')));
  if (d.availableMedia) {
    if (d.availableMedia.length === 0) w.empty('available-media');
    else {
      w.open('available-media');
      for (const m of d.availableMedia) {
        w.open('entry', [['label', nonEmpty(m.label, 'entry')]]);
        w.leaf('display-text', m.displayText);
        w.leaf('type', m.type);
        w.leaf('status', m.status);
        w.close('entry');
      }
      w.close('available-media');
    }
  }
  w.close('conference-description');
}

function stateAttrs(entity: string, state: ElementState, element: string): [string, string][] {
  return [['entity', nonEmpty(entity, element)], ['state', state]];
}

function writeUser(w: XmlWriter, u: User): void {
  const attrs = stateAttrs(u.entity, u.state, 'user');
  const hasContent =
    u.displayText !== undefined || u.associatedAors || u.roles || u.languages || u.cascadedFocus !== undefined || u.endpoints.length > 0;
  if (!hasContent) return w.empty('user', attrs);
  w.open('user', attrs);
  w.leaf('display-text', u.displayText);
  if (u.associatedAors) writeUriList(w, 'associated-aors', u.associatedAors);
  if (u.roles) {
    if (u.roles.length === 0) w.empty('roles');
    else {
      w.open('roles');
      for (const r of u.roles) w.leaf('entry', r);
      w.close('roles');
    }
  }
  if (u.languages) w.leaf('languages', u.languages.join(' '));
  w.leaf('cascaded-focus', u.cascadedFocus);
  for (const e of u.endpoints) writeEndpoint(w, e);
  w.close('user');
}

function writeExecution(w: XmlWriter, name: string, x: ExecutionInfo | undefined): void {
  if (!x) return;
  if (x.when === undefined && x.reason === undefined && x.by === undefined) return w.empty(name);
  w.open(name);
  w.leaf('when', x.when);
  w.leaf('reason', x.reason);
  w.leaf('by', x.by);
  w.close(name);
}

function writeEndpoint(w: XmlWriter, e: Endpoint): void {
  const attrs = stateAttrs(e.entity, e.state, 'endpoint');
  const hasContent =
    e.displayText !== undefined ||
    e.referred ||
    e.status !== undefined ||
    e.joiningMethod !== undefined ||
    e.joiningInfo ||
    e.disconnectionMethod !== undefined ||
    e.disconnectionInfo ||
    e.media.length > 0 ||
    e.callInfo ||
    e.focus;
  if (!hasContent) return w.empty('endpoint', attrs);
  w.open('endpoint', attrs);
  w.leaf('display-text', e.displayText);
  writeExecution(w, 'referred', e.referred);
  w.leaf('status', e.status);
  w.leaf('joining-method', e.joiningMethod);
  writeExecution(w, 'joining-info', e.joiningInfo);
  w.leaf('disconnection-method', e.disconnectionMethod);
  writeExecution(w, 'disconnection-info', e.disconnectionInfo);
  for (const m of e.media) {
    w.open('media', [['id', nonEmpty(m.id, 'media')]]);
    w.leaf('display-text', m.displayText);
    w.leaf('type', m.type);
    w.leaf('label', m.label);
    w.leaf('src-id', m.srcId);
    w.leaf('status', m.status);
    w.close('media');
  }
  if (e.callInfo) {
    w.open('call-info');
    w.open('sip');
    w.leaf('display-text', e.callInfo.displayText);
    w.leaf('call-id', e.callInfo.callId);
    w.leaf('from-tag', e.callInfo.fromTag);
    w.leaf('to-tag', e.callInfo.toTag);
    w.close('sip');
    w.close('call-info');
  }
  if (e.focus) {
    const fa: [string, string][] = [['entity', nonEmpty(e.focus.entity, 'focus')]];
    if (e.focus.nodeId !== undefined) fa.push(['node-id', e.focus.nodeId]);
    w.empty(`${DISCO_INFO_PREFIX}:focus`, fa);
  }
  w.close('endpoint');
}

// ------------------------------------------------------------------- applying notifications

/** What {@link applyNotification} did with a received document. */
export type ApplyResult =
  /** The document was merged; `info` is the new local state (state "full"). */
  | { outcome: 'applied'; info: ConferenceInfo }
  /**
   * `<conference-info state="deleted">`: the conference is gone at the notifier; `info` is the
   * (empty) new state. The subscriber SHOULD unsubscribe (RFC 4575 §4.6).
   */
  | { outcome: 'deleted'; info: ConferenceInfo }
  /** version <= local version: discarded (RFC 4575 §4.6 step 2); `info` is unchanged. */
  | { outcome: 'stale'; info: ConferenceInfo | undefined }
  /**
   * The document cannot be applied: a version gap (version > local + 1), or a partial
   * document with no full state to apply it to. The subscriber MUST refresh its
   * subscription to get full state (RFC 4575 §4.6); `info` is unchanged.
   */
  | { outcome: 'resync'; reason: 'gap' | 'no-full-state'; info: ConferenceInfo | undefined };

/**
 * The subscriber's merge (RFC 4575 §4.6). `current` is the local state (undefined before
 * the first full document). Pure: neither argument is modified.
 */
export function applyNotification(current: ConferenceInfo | undefined, doc: ConferenceInfo): ApplyResult {
  if (current !== undefined && doc.version <= current.version) return { outcome: 'stale', info: current };
  if (doc.state === 'full') return { outcome: 'applied', info: normalizeFull(doc) };
  if (doc.state === 'deleted') return { outcome: 'deleted', info: { entity: doc.entity, version: doc.version, state: 'full' } };
  if (current === undefined) return { outcome: 'resync', reason: 'no-full-state', info: undefined };
  if (doc.version > current.version + 1) return { outcome: 'resync', reason: 'gap', info: current };
  const next = structuredClone(current);
  next.version = doc.version;
  next.state = 'full';
  // conference-description, host-info and conference-state are atomic: replaced wholesale.
  if (doc.description !== undefined) next.description = structuredClone(doc.description);
  if (doc.hostInfo !== undefined) next.hostInfo = structuredClone(doc.hostInfo);
  if (doc.conferenceState !== undefined) next.conferenceState = structuredClone(doc.conferenceState);
  if (doc.users !== undefined) {
    if (doc.users.state === 'full') next.users = { state: 'full', list: doc.users.list.map(fullUser) };
    else if (doc.users.state === 'deleted') delete next.users;
    else next.users = { state: 'full', list: mergeUsers(next.users?.list ?? [], doc.users.list) };
  }
  return { outcome: 'applied', info: next };
}

/** A full document as local state: every state attribute "full", deleted rows dropped. */
function normalizeFull(doc: ConferenceInfo): ConferenceInfo {
  const out = structuredClone(doc);
  out.state = 'full';
  if (out.users) out.users = { state: 'full', list: out.users.list.filter((u) => u.state !== 'deleted').map(fullUser) };
  return out;
}

function fullUser(u: User): User {
  return { ...structuredClone(u), state: 'full', endpoints: u.endpoints.filter((e) => e.state !== 'deleted').map(fullEndpoint) };
}

function fullEndpoint(e: Endpoint): Endpoint {
  return { ...structuredClone(e), state: 'full' };
}

const USER_ATOMIC = ['displayText', 'associatedAors', 'roles', 'languages', 'cascadedFocus'] as const;
const ENDPOINT_ATOMIC = [
  'displayText',
  'referred',
  'status',
  'joiningMethod',
  'joiningInfo',
  'disconnectionMethod',
  'disconnectionInfo',
  'callInfo',
  'focus',
] as const;

function mergeUsers(current: User[], changes: User[]): User[] {
  const out = current.map((u) => u);
  for (const ch of changes) {
    const at = out.findIndex((u) => u.entity === ch.entity);
    if (ch.state === 'deleted') {
      if (at >= 0) out.splice(at, 1);
    } else if (ch.state === 'full' || at < 0) {
      // A full element is flushed and repopulated; an unknown key is added (§4.6 step 4.3).
      if (at >= 0) out[at] = fullUser(ch);
      else out.push(fullUser(ch));
    } else {
      const u = out[at]!;
      for (const k of USER_ATOMIC) if (ch[k] !== undefined) (u as unknown as Record<string, unknown>)[k] = structuredClone(ch[k]);
      u.endpoints = mergeEndpoints(u.endpoints, ch.endpoints);
    }
  }
  return out;
}

function mergeEndpoints(current: Endpoint[], changes: Endpoint[]): Endpoint[] {
  const out = current.map((e) => e);
  for (const ch of changes) {
    const at = out.findIndex((e) => e.entity === ch.entity);
    if (ch.state === 'deleted') {
      if (at >= 0) out.splice(at, 1);
    } else if (ch.state === 'full' || at < 0) {
      if (at >= 0) out[at] = fullEndpoint(ch);
      else out.push(fullEndpoint(ch));
    } else {
      const e = out[at]!;
      for (const k of ENDPOINT_ATOMIC) if (ch[k] !== undefined) (e as unknown as Record<string, unknown>)[k] = structuredClone(ch[k]);
      // <media> is keyed by id and has no state attribute: a listed medium replaces its row.
      for (const m of ch.media) {
        const mi = e.media.findIndex((x) => x.id === m.id);
        if (mi >= 0) e.media[mi] = structuredClone(m);
        else e.media.push(structuredClone(m));
      }
    }
  }
  return out;
}

// ------------------------------------------------------------------------------ diffs

/**
 * The partial document that takes a subscriber from `from` to `to` (both full states), with
 * version `version`; undefined when nothing changed. Atomic elements (description,
 * host-info, conference-state) are resent whole when they changed; users and endpoints
 * that appeared are sent `full`, those gone `deleted`; a changed user or endpoint is sent
 * `partial` with only its changed children, or `full` when a child disappeared (absence
 * cannot be expressed in a partial element, RFC 4575 §4.6).
 */
export function diffConferenceInfo(from: ConferenceInfo, to: ConferenceInfo, version: number): ConferenceInfo | undefined {
  const doc: ConferenceInfo = { entity: to.entity, version, state: 'partial' };
  let changed = false;
  const atomic = (k: 'description' | 'hostInfo' | 'conferenceState'): void => {
    if (isDeepStrictEqual(from[k], to[k])) return;
    changed = true;
    // An atomic element that disappeared is sent empty (its content is replaced by nothing).
    (doc as unknown as Record<string, unknown>)[k] = structuredClone(to[k] ?? {});
  };
  atomic('description');
  atomic('hostInfo');
  atomic('conferenceState');
  const before = new Map((from.users?.list ?? []).map((u) => [u.entity, u]));
  const after = new Map((to.users?.list ?? []).map((u) => [u.entity, u]));
  const list: User[] = [];
  for (const [entity, u] of after) {
    const old = before.get(entity);
    if (!old) list.push(fullUser(u));
    else {
      const d = diffUser(old, u);
      if (d) list.push(d);
    }
  }
  for (const entity of before.keys()) if (!after.has(entity)) list.push({ entity, state: 'deleted', endpoints: [] });
  if (list.length > 0) {
    changed = true;
    doc.users = { state: 'partial', list };
  }
  return changed ? doc : undefined;
}

function removedAny<T extends object>(old: T, now: T, keys: readonly (keyof T)[]): boolean {
  return keys.some((k) => old[k] !== undefined && now[k] === undefined);
}

function diffUser(old: User, now: User): User | undefined {
  if (isDeepStrictEqual({ ...old, state: 'full' }, { ...now, state: 'full' })) return undefined;
  if (removedAny(old, now, USER_ATOMIC)) return fullUser(now);
  const d: User = { entity: now.entity, state: 'partial', endpoints: [] };
  for (const k of USER_ATOMIC) {
    if (!isDeepStrictEqual(old[k], now[k])) (d as unknown as Record<string, unknown>)[k] = structuredClone(now[k]);
  }
  const before = new Map(old.endpoints.map((e) => [e.entity, e]));
  const after = new Set(now.endpoints.map((e) => e.entity));
  for (const e of now.endpoints) {
    const o = before.get(e.entity);
    if (!o) d.endpoints.push(fullEndpoint(e));
    else {
      const de = diffEndpoint(o, e);
      if (de) d.endpoints.push(de);
    }
  }
  for (const e of old.endpoints) if (!after.has(e.entity)) d.endpoints.push({ entity: e.entity, state: 'deleted', media: [] });
  return d;
}

function diffEndpoint(old: Endpoint, now: Endpoint): Endpoint | undefined {
  if (isDeepStrictEqual({ ...old, state: 'full' }, { ...now, state: 'full' })) return undefined;
  const nowIds = new Set(now.media.map((m) => m.id));
  if (removedAny(old, now, ENDPOINT_ATOMIC) || old.media.some((m) => !nowIds.has(m.id))) return fullEndpoint(now);
  const d: Endpoint = { entity: now.entity, state: 'partial', media: [] };
  for (const k of ENDPOINT_ATOMIC) {
    if (!isDeepStrictEqual(old[k], now[k])) (d as unknown as Record<string, unknown>)[k] = structuredClone(now[k]);
  }
  const oldMedia = new Map(old.media.map((m) => [m.id, m]));
  for (const m of now.media) if (!isDeepStrictEqual(oldMedia.get(m.id), m)) d.media.push(structuredClone(m));
  return d;
}

/**
 * A canonical form for comparisons: users, endpoints and media sorted by key. Two states
 * that differ only in sibling order are equal after this.
 */
export function canonicalConferenceInfo(info: ConferenceInfo): ConferenceInfo {
  const out = structuredClone(info);
  const byKey = <T>(key: (t: T) => string) => (a: T, b: T) => (key(a) < key(b) ? -1 : key(a) > key(b) ? 1 : 0);
  if (out.users) {
    out.users.list.sort(byKey((u: User) => u.entity));
    for (const u of out.users.list) {
      u.endpoints.sort(byKey((e: Endpoint) => e.entity));
      for (const e of u.endpoints) e.media.sort(byKey((m: Media) => m.id));
    }
  }
  return out;
}
