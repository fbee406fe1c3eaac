/**
 * Shared material of the conference-state tests: the RFC 4575 digest's example documents
 * (shared/spec/rfc4575-conference-info.md §4, reproduced verbatim) and a seeded generator
 * of random conference states.
 */
import type { Random } from '../../../src/common/random.js';
import {
  type ConferenceInfo,
  DISCONNECTION_METHODS,
  ENDPOINT_STATUSES,
  type Endpoint,
  JOINING_METHODS,
  MEDIA_STATUSES,
  type Media,
  type UriEntry,
  type User,
} from '../../../usages/sdcon/conference-info.js';

/** Digest §4: full state, sent as the first NOTIFY of a subscription. */
export const EXAMPLE_FULL = `<?xml version="1.0" encoding="UTF-8"?>
<conference-info xmlns="urn:ietf:params:xml:ns:conference-info"
                 entity="sip:standup-conf-alice@dht.example.org"
                 state="full" version="1">
  <conference-description>
    <subject>Daily stand-up</subject>
    <conf-uris>
      <entry>
        <uri>sip:standup-conf-alice@dht.example.org</uri>
        <purpose>participation</purpose>
      </entry>
    </conf-uris>
    <available-media>
      <entry label="a1"><type>audio</type><status>sendrecv</status></entry>
    </available-media>
  </conference-description>
  <conference-state>
    <user-count>2</user-count>
    <active>true</active>
    <locked>false</locked>
  </conference-state>
  <users>
    <user entity="sip:alice@dht.example.org" state="full">
      <display-text>Alice</display-text>
      <endpoint entity="sip:alice@dht.example.org;gr=QUxJQ0U~">
        <status>connected</status>
        <joining-method>focus-owner</joining-method>
        <media id="1"><type>audio</type><label>a1</label><status>sendrecv</status></media>
      </endpoint>
    </user>
    <user entity="sip:bob@dht.example.org" state="full">
      <display-text>Bob</display-text>
      <endpoint entity="sip:bob@dht.example.org">
        <status>connected</status>
        <joining-method>dialed-in</joining-method>
        <media id="2"><type>audio</type><status>sendrecv</status></media>
      </endpoint>
    </user>
  </users>
</conference-info>
`;

/** Digest §4: the next change (Bob leaves), partial state. */
export const EXAMPLE_PARTIAL = `<conference-info xmlns="urn:ietf:params:xml:ns:conference-info"
                 entity="sip:standup-conf-alice@dht.example.org"
                 state="partial" version="2">
  <conference-state><user-count>1</user-count><active>true</active><locked>false</locked></conference-state>
  <users state="partial">
    <user entity="sip:bob@dht.example.org" state="partial">
      <endpoint entity="sip:bob@dht.example.org" state="partial">
        <status>disconnected</status>
        <disconnection-method>departed</disconnection-method>
      </endpoint>
    </user>
  </users>
</conference-info>
`;

const pick = <T>(r: Random, xs: readonly T[]): T => xs[r.int(xs.length)]!;
const maybe = (r: Random, p = 0.5): boolean => r.float() < p;

/** Text with markup characters, quotes, non-ASCII and an astral character (no XML-forbidden controls). */
export function randomText(r: Random): string {
  const alphabet = ['a', 'B', ' ', '<', '>', '&', '"', "'", 'é', 'ß', '中', '😀', '\t', '\n', '\r', ']]>', '&amp;', '1'];
  let s = '';
  const n = r.int(12);
  for (let i = 0; i < n; i++) s += pick(r, alphabet);
  return s;
}

/** A token/URI-like value: no white space at all (values that are trimmed or split on white space). */
export function randomToken(r: Random, prefix = 'x'): string {
  const alphabet = 'abcXYZ019-._~%;=&<>"\'é';
  let s = prefix;
  const n = 1 + r.int(10);
  for (let i = 0; i < n; i++) s += alphabet[r.int(alphabet.length)];
  return s;
}

function randomUris(r: Random, label: string): UriEntry[] {
  const out: UriEntry[] = [];
  const n = r.int(3);
  for (let i = 0; i < n; i++) {
    const e: UriEntry = { uri: randomToken(r, `sip:${label}${i}@`) };
    if (maybe(r)) e.displayText = randomText(r);
    if (maybe(r)) e.purpose = pick(r, ['participation', 'streaming', 'event', 'recording', 'web-page']);
    out.push(e);
  }
  return out;
}

export function randomMedia(r: Random, id: string): Media {
  const m: Media = { id };
  if (maybe(r)) m.displayText = randomText(r);
  if (maybe(r)) m.type = pick(r, ['audio', 'video', 'text', 'message']);
  if (maybe(r)) m.label = randomToken(r, 'l');
  if (maybe(r)) m.srcId = String(r.int(2 ** 31));
  if (maybe(r)) m.status = pick(r, MEDIA_STATUSES);
  return m;
}

export function randomEndpoint(r: Random, entity: string, focusIds: readonly string[] = []): Endpoint {
  const e: Endpoint = { entity, state: 'full', media: [] };
  if (maybe(r)) e.displayText = randomText(r);
  if (maybe(r, 0.3)) e.referred = { when: '2026-11-28T17:00:00Z', by: randomToken(r, 'sip:ref@') };
  if (maybe(r, 0.8)) e.status = pick(r, ENDPOINT_STATUSES);
  if (maybe(r)) e.joiningMethod = pick(r, JOINING_METHODS);
  if (maybe(r, 0.3)) e.joiningInfo = { when: '2026-11-28T17:00:01.250+01:00', reason: randomText(r) };
  if (maybe(r, 0.3)) e.disconnectionMethod = pick(r, DISCONNECTION_METHODS);
  if (maybe(r, 0.2)) e.disconnectionInfo = {};
  const nm = r.int(3);
  for (let i = 0; i < nm; i++) e.media.push(randomMedia(r, `m${i}`));
  if (maybe(r, 0.3)) e.callInfo = { callId: randomToken(r, 'c'), fromTag: randomToken(r, 'f'), toTag: randomToken(r, 't') };
  if (focusIds.length > 0 && maybe(r, 0.7)) {
    e.focus = { entity: pick(r, focusIds) };
    if (maybe(r)) e.focus.nodeId = Buffer.from(r.bytes(16)).toString('hex');
  }
  return e;
}

export function randomUser(r: Random, entity: string, focusIds: readonly string[] = []): User {
  const u: User = { entity, state: 'full', endpoints: [] };
  if (maybe(r)) u.displayText = randomText(r);
  if (maybe(r, 0.3)) u.associatedAors = randomUris(r, 'aor');
  if (maybe(r, 0.3)) u.roles = Array.from({ length: r.int(3) }, () => randomText(r));
  if (maybe(r, 0.3)) u.languages = Array.from({ length: r.int(3) }, () => pick(r, ['en', 'de', 'en-GB', 'zh-Hant-TW']));
  if (maybe(r, 0.2)) u.cascadedFocus = randomToken(r, 'sip:cascade@');
  const ne = r.int(4);
  for (let i = 0; i < ne; i++) u.endpoints.push(randomEndpoint(r, `${entity};ep=${i}`, focusIds));
  return u;
}

/** A random full-state document; users drawn from a small name pool so that two draws overlap. */
export function randomConferenceInfo(r: Random, version = 1 + r.int(1000), focusIds: readonly string[] = []): ConferenceInfo {
  const info: ConferenceInfo = { entity: 'sip:conf@dht.example.org', version, state: 'full' };
  info.description = {};
  if (maybe(r)) info.description.subject = randomText(r);
  if (maybe(r)) info.description.displayText = randomText(r);
  if (maybe(r, 0.3)) info.description.freeText = randomText(r);
  if (maybe(r, 0.3)) info.description.keywords = Array.from({ length: r.int(3) }, () => randomToken(r, 'k'));
  if (maybe(r, 0.5)) info.description.confUris = randomUris(r, 'conf');
  if (maybe(r, 0.2)) info.description.serviceUris = randomUris(r, 'svc');
  if (maybe(r, 0.5)) info.description.maximumUserCount = r.int(100);
  if (maybe(r, 0.5)) {
    info.description.availableMedia = [{ label: 'a1', type: 'audio', status: pick(r, MEDIA_STATUSES) }];
  }
  if (maybe(r, 0.2)) info.hostInfo = { displayText: randomText(r), webPage: randomToken(r, 'https://h/'), uris: randomUris(r, 'host') };
  info.conferenceState = { userCount: r.int(10), active: maybe(r), locked: maybe(r) };
  const list: User[] = [];
  for (let i = 0; i < 8; i++) if (maybe(r)) list.push(randomUser(r, `sip:user${i}@dht.example.org`, focusIds));
  info.users = { state: 'full', list };
  return info;
}

/** A variation of `base`: some users changed, some removed, some added. */
export function mutateConferenceInfo(r: Random, base: ConferenceInfo, focusIds: readonly string[] = []): ConferenceInfo {
  const next = structuredClone(base);
  if (maybe(r, 0.3)) next.description = { ...next.description, subject: randomText(r) };
  if (maybe(r, 0.5)) next.conferenceState = { userCount: r.int(10), active: maybe(r), locked: maybe(r) };
  const list: User[] = [];
  for (const u of next.users?.list ?? []) {
    const roll = r.float();
    if (roll < 0.2) continue; // removed
    if (roll < 0.5) {
      // changed in place: fields, endpoints and media
      if (maybe(r)) u.displayText = randomText(r);
      else if (maybe(r)) delete u.displayText;
      const eps: Endpoint[] = [];
      for (const e of u.endpoints) {
        const er = r.float();
        if (er < 0.2) continue;
        if (er < 0.6) {
          if (maybe(r)) e.status = pick(r, ENDPOINT_STATUSES);
          if (maybe(r, 0.3)) delete e.joiningMethod;
          if (maybe(r)) e.media = e.media.map((m) => (maybe(r) ? randomMedia(r, m.id) : m)).filter(() => maybe(r, 0.8));
          if (maybe(r, 0.3)) e.media.push(randomMedia(r, `m${e.media.length + 5}`));
        }
        eps.push(e);
      }
      if (maybe(r, 0.3)) eps.push(randomEndpoint(r, `${u.entity};ep=new${r.int(1000)}`, focusIds));
      u.endpoints = eps;
    }
    list.push(u);
  }
  for (let i = 8; i < 12; i++) if (maybe(r, 0.2)) list.push(randomUser(r, `sip:user${i}@dht.example.org`, focusIds));
  next.users = { state: 'full', list };
  next.version = base.version + 1;
  return next;
}
