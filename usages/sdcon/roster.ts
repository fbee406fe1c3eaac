/**
 * The conference roster of one DisCo focus: the shared conference state that all foci of a
 * conference keep in sync with the conference event package (RFC 4575; disco digest §6).
 *
 * - Local part: the participants this focus serves (users and their endpoints), each
 *   endpoint tagged with this focus (the `<disco:focus>` extension, conference-info.ts).
 *   Every change bumps the local version.
 * - Remote parts: for every other focus this focus subscribes to, that focus' last document
 *   (as merged by RFC 4575 §4.6 in {@link applyNotification}) and its version.
 * - The merged view: all users of all foci, every endpoint tagged with the focus serving
 *   it, plus the conference description and a computed `<conference-state>`.
 *
 * Which endpoints of a remote document count (decision): every focus publishes the merged
 * view to all its subscribers (participants and foci alike, one document type), so a
 * remote focus' document also lists endpoints served by third foci. The roster takes from
 * focus F's document only the endpoints F serves itself (tagged with F, or untagged); the
 * rest it learns from those foci directly. DisCo foci subscribe to each other in a full
 * mesh (disco digest §6, §12 step 4), so nothing is lost, nothing is counted twice, and a
 * focus removed as failed takes exactly its own endpoints with it.
 *
 * The merged view has a revision that increases by one with every change that alters it
 * (`changed` event). Subscribers' documents are built from snapshots of it: a full document
 * on (re)subscription, then {@link ConferenceRoster.partialDocument} diffs between the
 * snapshot a subscription last received and the current one. Document versions are scoped
 * to a subscription (each gets +1 per NOTIFY, RFC 4575 §4.6), so they are chosen by the
 * caller (the notifier), not by the roster.
 */
import { isDeepStrictEqual } from 'node:util';
import { TypedEmitter } from '../sip/stack/emitter.js';
import {
  type ApplyResult,
  type ConferenceDescription,
  type ConferenceInfo,
  type Endpoint,
  type FocusRef,
  type User,
  applyNotification,
  diffConferenceInfo,
} from './conference-info.js';

/** User-level information kept with a user (everything of `<user>` but its endpoints). */
export type UserInfo = Omit<User, 'endpoints' | 'state'>;

/** An endpoint with the user it belongs to. */
export interface RosterEndpoint {
  user: UserInfo;
  /** The endpoint as in the merged roster (state "full", focus tag set). */
  endpoint: Endpoint;
}

/** A point in the merged roster's history: what a subscription was last sent. */
export interface RosterSnapshot {
  readonly revision: number;
  /** Full state (version = revision). Do not modify. */
  readonly info: ConferenceInfo;
}

export interface ConferenceRosterInit {
  /** The conference URI (`entity` of the documents). */
  conferenceUri: string;
  /** This focus: the tag its endpoints carry. */
  localFocus: FocusRef;
  /** `<conference-description>` of the merged document. */
  description?: ConferenceDescription;
  /** `<locked>` of `<conference-state>`. @default false */
  locked?: boolean;
}

export type ConferenceRosterEvents = {
  /** The merged roster changed; the new revision. */
  changed: [number];
};

interface LocalUser {
  info: UserInfo;
  endpoints: Map<string, Endpoint>;
}

export class ConferenceRoster extends TypedEmitter<ConferenceRosterEvents> {
  readonly conferenceUri: string;
  readonly localFocus: FocusRef;
  private description: ConferenceDescription | undefined;
  private locked: boolean;
  private readonly local = new Map<string, LocalUser>();
  private localVer = 0;
  private readonly remote = new Map<string, ConferenceInfo>();
  private readonly needsFull = new Set<string>();
  private rev = 0;
  private cached: RosterSnapshot | undefined;

  constructor(init: ConferenceRosterInit) {
    super();
    this.conferenceUri = init.conferenceUri;
    this.localFocus = { ...init.localFocus };
    this.description = init.description === undefined ? undefined : structuredClone(init.description);
    this.locked = init.locked ?? false;
  }

  /** Revision of the merged roster: +1 per change. */
  get revision(): number {
    return this.rev;
  }

  /** Version of this focus' own part: +1 per local change. */
  get localVersion(): number {
    return this.localVer;
  }

  setDescription(description: ConferenceDescription | undefined): void {
    if (isDeepStrictEqual(description, this.description)) return;
    this.description = description === undefined ? undefined : structuredClone(description);
    this.bump(false);
  }

  setLocked(locked: boolean): void {
    if (locked === this.locked) return;
    this.locked = locked;
    this.bump(false);
  }

  // ------------------------------------------------------------------------ local part

  /**
   * Adds or replaces an endpoint this focus serves (its state is stored as "full" and its
   * focus tag set to this focus). `user` fields replace the user's current ones.
   */
  setEndpoint(user: UserInfo, endpoint: Omit<Endpoint, 'state' | 'focus'> & { state?: Endpoint['state']; focus?: FocusRef }): void {
    const ep: Endpoint = { ...structuredClone(endpoint), state: 'full', focus: { ...this.localFocus } };
    let lu = this.local.get(user.entity);
    const info = structuredClone(user);
    if (lu && isDeepStrictEqual(lu.info, info) && isDeepStrictEqual(lu.endpoints.get(ep.entity), ep)) return;
    if (!lu) {
      lu = { info, endpoints: new Map() };
      this.local.set(user.entity, lu);
    }
    lu.info = info;
    lu.endpoints.set(ep.entity, ep);
    this.bump(true);
  }

  /**
   * Changes fields of a local endpoint (undefined values remove the field). Returns false
   * when this focus serves no such endpoint.
   */
  updateEndpoint(userEntity: string, endpointEntity: string, patch: Partial<Omit<Endpoint, 'entity' | 'state' | 'focus'>>): boolean {
    const lu = this.local.get(userEntity);
    const old = lu?.endpoints.get(endpointEntity);
    if (!lu || !old) return false;
    const next: Endpoint = { ...old, ...structuredClone(patch) };
    for (const [k, v] of Object.entries(next)) if (v === undefined) delete (next as unknown as Record<string, unknown>)[k];
    if (!Array.isArray(next.media)) next.media = [];
    if (isDeepStrictEqual(next, old)) return true;
    lu.endpoints.set(endpointEntity, next);
    this.bump(true);
    return true;
  }

  /** Removes a local endpoint (and its user when it was the last one); returns it. */
  removeEndpoint(userEntity: string, endpointEntity: string): Endpoint | undefined {
    const lu = this.local.get(userEntity);
    const ep = lu?.endpoints.get(endpointEntity);
    if (!lu || !ep) return undefined;
    lu.endpoints.delete(endpointEntity);
    if (lu.endpoints.size === 0) this.local.delete(userEntity);
    this.bump(true);
    return ep;
  }

  /** The endpoints this focus serves. */
  localEndpoints(): RosterEndpoint[] {
    const out: RosterEndpoint[] = [];
    for (const lu of this.local.values()) for (const e of lu.endpoints.values()) out.push({ user: structuredClone(lu.info), endpoint: structuredClone(e) });
    return out;
  }

  /** Number of endpoints this focus serves (its load, for delegation decisions). */
  get localEndpointCount(): number {
    let n = 0;
    for (const lu of this.local.values()) n += lu.endpoints.size;
    return n;
  }

  /** This focus' own participants as a full document (version = local version). */
  localDocument(): ConferenceInfo {
    const list: User[] = [];
    for (const lu of this.local.values()) {
      list.push({ ...structuredClone(lu.info), state: 'full', endpoints: [...lu.endpoints.values()].map((e) => structuredClone(e)) });
    }
    const doc: ConferenceInfo = { entity: this.conferenceUri, version: this.localVer, state: 'full', users: { state: 'full', list } };
    if (this.description !== undefined) doc.description = structuredClone(this.description);
    return doc;
  }

  // ------------------------------------------------------------------------ remote parts

  /**
   * Applies a document received from a remote focus (RFC 4575 §4.6 against that focus'
   * last state). On 'resync' the caller must refresh the subscription for full state; on
   * 'deleted' the focus' part is emptied (and the caller should unsubscribe).
   */
  applyRemote(focus: string, doc: ConferenceInfo): ApplyResult {
    if (focus === this.localFocus.entity) throw new RangeError('a remote focus cannot have the local focus\' entity');
    const current = this.remote.get(focus);
    let result: ApplyResult;
    if (this.needsFull.has(focus)) {
      // A new dialog: its first document must be full; the old version does not count.
      if (doc.state === 'partial') return { outcome: 'resync', reason: 'no-full-state', info: current };
      result = applyNotification(undefined, doc);
      this.needsFull.delete(focus);
    } else {
      result = applyNotification(current, doc);
    }
    if (result.outcome === 'applied' || result.outcome === 'deleted') {
      const before = current === undefined ? [] : this.ownedBy(focus, current);
      this.remote.set(focus, result.info);
      const after = this.ownedBy(focus, result.info);
      if (!isDeepStrictEqual(before, after)) this.bump(false);
    }
    return result;
  }

  /** The remote foci the roster holds state for. */
  remoteFoci(): string[] {
    return [...this.remote.keys()];
  }

  /** The version of a remote focus' last applied document. */
  remoteVersion(focus: string): number | undefined {
    return this.remote.get(focus)?.version;
  }

  /**
   * A new subscription dialog to `focus` starts (its versions restart, RFC 4575 §4.6): the
   * next document must be full and is applied whatever its version. The focus' last state
   * stays in the merged view until then.
   */
  resetRemoteVersion(focus: string): void {
    if (this.remote.has(focus)) this.needsFull.add(focus);
  }

  /** The endpoints a remote focus serves, from its last document. */
  remoteEndpoints(focus: string): RosterEndpoint[] {
    const doc = this.remote.get(focus);
    return doc === undefined ? [] : this.ownedBy(focus, doc);
  }

  /**
   * Drops a remote focus that left or failed: its endpoints leave the merged roster and
   * are returned (so the usage can re-INVITE them through another focus).
   */
  removeFocus(focus: string): RosterEndpoint[] {
    const doc = this.remote.get(focus);
    if (doc === undefined) return [];
    const owned = this.ownedBy(focus, doc);
    this.remote.delete(focus);
    this.needsFull.delete(focus);
    if (owned.length > 0) this.bump(false);
    return owned;
  }

  /** Endpoints of `doc` served by `focus` (tagged with it, or untagged), tagged. */
  private ownedBy(focus: string, doc: ConferenceInfo): RosterEndpoint[] {
    const out: RosterEndpoint[] = [];
    for (const u of doc.users?.list ?? []) {
      const { endpoints, state: _state, ...info } = u;
      for (const e of endpoints) {
        if (e.focus !== undefined && e.focus.entity !== focus) continue;
        out.push({ user: structuredClone(info), endpoint: { ...structuredClone(e), state: 'full', focus: e.focus ?? { entity: focus } } });
      }
    }
    return out;
  }

  // ------------------------------------------------------------------------ merged view

  /**
   * The merged roster as a full document (version = revision): local users first, then
   * each remote focus' in the order they were first heard of. A user with endpoints at
   * several foci appears once with all of them (user fields from the first focus); an
   * endpoint entity claimed by several foci is taken from the first (local wins).
   */
  merged(): ConferenceInfo {
    return structuredClone(this.snapshot().info);
  }

  /** The current merged state, cached until the next change. */
  snapshot(): RosterSnapshot {
    if (this.cached && this.cached.revision === this.rev) return this.cached;
    const users = new Map<string, User>();
    const add = (info: UserInfo, e: Endpoint): void => {
      let u = users.get(info.entity);
      if (!u) {
        u = { ...structuredClone(info), state: 'full', endpoints: [] };
        users.set(info.entity, u);
      }
      if (!u.endpoints.some((x) => x.entity === e.entity)) u.endpoints.push(structuredClone(e));
    };
    for (const lu of this.local.values()) for (const e of lu.endpoints.values()) add(lu.info, e);
    for (const [focus, doc] of this.remote) for (const r of this.ownedBy(focus, doc)) add(r.user, r.endpoint);
    const list = [...users.values()];
    const info: ConferenceInfo = {
      entity: this.conferenceUri,
      version: this.rev,
      state: 'full',
      description: structuredClone(this.description ?? {}),
      conferenceState: { userCount: list.length, active: list.length > 0, locked: this.locked },
      users: { state: 'full', list },
    };
    this.cached = { revision: this.rev, info };
    return this.cached;
  }

  /** The merged roster as a full document with the given (subscription-scoped) version. */
  fullDocument(version: number): ConferenceInfo {
    return { ...structuredClone(this.snapshot().info), version };
  }

  /**
   * The partial document from `since` (what a subscription last received) to now, with the
   * given version; undefined when nothing changed.
   */
  partialDocument(since: RosterSnapshot, version: number): ConferenceInfo | undefined {
    const now = this.snapshot();
    if (now.revision === since.revision) return undefined;
    return diffConferenceInfo(since.info, now.info, version);
  }

  private bump(local: boolean): void {
    if (local) this.localVer++;
    this.rev++;
    this.emit('changed', this.rev);
  }
}
