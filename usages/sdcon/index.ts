/**
 * DisCo — distributed conference control for SIP on RELOAD (draft-knauf-p2psip-disco, the
 * SDCON scheme; digest /work/shared/spec/disco.md) as a usage plugin, built on the public
 * usage API, ShaRe (RFC 8076), the capability directory (topology/landmarks) and the SIP
 * usage's front end (RFC 7904).
 *
 * - Identity and location split (disco.md §2, §3): a conference URI is the Resource Name of
 *   the DISCO-REGISTRATION Kind (registration.ts); every focus serving the conference stores
 *   its own entry there (key = its Node-ID) under USER-CHAIN-ACL. The creator (the Resource
 *   Owner: the URI matches `<label>-conf-<user>@<domain>`, RFC 8076 §5) stores the ACL root
 *   item and grants each focus it recruits write access with allow_delegation, so recruited
 *   foci can recruit further (RFC 8076 §6.1). Readers validate the chains (fetchShared).
 * - Focus advertisement: a focus-capable peer advertises the capability "disco-focus" in
 *   the CapabilityDirectory, data = u16 capacity, u16 free places.
 * - Calls (focus.ts, rules.ts): a participant calls the conference URI through any peer's
 *   SIP front end. The front end Fetches the registrations and forwards the INVITE to a
 *   focus (the primary while it has room, else the registered focus with room nearest to
 *   the caller's peer), adding `X-DisCo-Participant-Node: <hex Node-ID of this front-end
 *   peer>` — the participant's peer, which the selection rule measures distance to. A
 *   focus trusts that header only on requests from a peer (TLS connection authenticated by
 *   certificate); on a request straight from a UA the participant's peer is the focus itself.
 *   A full focus delegates (focusDecision): to a registered focus with room, or it recruits
 *   the focus-capable peer nearest to the participant (CapabilityDirectory.nearest +
 *   chooseSecondaryFocus), grants it ShaRe write access, and proxies the INVITE to it.
 * - Delegation by proxying, not 302 (decision): the INVITE is forwarded to the delegate's
 *   peer over the authenticated SIP connection, marked `X-DisCo-Delegated-By`, and the
 *   delegating focus does not record-route (it need not stay on the path). The caller sees
 *   one 200 from the conference, whose Contact is the serving focus' conference GRUU, so the
 *   conference URI stays the only address a user dials, and UAs that do not follow 3xx
 *   (sipp scenarios, many phones for INVITE) still work.
 * - State (roster.ts, event-package.ts): every focus keeps a ConferenceRoster, subscribes
 *   (`conference` event package) to every other registered focus, and serves SUBSCRIBE on the
 *   conference URI (and its GRUU) to participants with the merged roster.
 * - Churn: a focus whose subscription goes 'unreachable', or whose registration is gone
 *   (exists = false or expired), has left. Its participants (roster.removeFocus) are spread
 *   over the remaining foci by assignOrphans and re-INVITEd by the focus each falls to
 *   (focus.ts reinvite). If it was the primary, the live focus with the smallest Node-ID
 *   (electPrimary) stores its entry with role primary and term + 1, so the conference URI
 *   resolves to it (currentPrimary). A clean leave (stop) stores exists = false for the own
 *   entry and ends the subscriptions with `noresource`; the others treat it as a departure
 *   and re-INVITE its participants (no BYE: the participants' calls continue through the
 *   new focus; a BYE would hang them up).
 *
 * @example Three focus-capable peers; the first creates the conference:
 * ```ts
 * const sip = sipUsage({ frontEnd: { host: '127.0.0.1', port: 5060 } });
 * const disco = discoUsage({ sip, capacity: 3, conferences: ['sip:team-conf-alice@example.org'] });
 * const { node } = await createNodeFromIdentity('./alice-id', { usages: [sip, ...disco.plugins], ... });
 * await node.start();
 * disco.status(); // { conferences: [{ uri, role: 'primary', roster: [...] }] }
 * ```
 */
import type { TimerHandle } from '../../src/common/clock.js';
import { ReloadError } from '../../src/common/errors.js';
import type { UsageApi, UsagePlugin, UsageStatus } from '../../src/node/usage.js';
import type { KindDefinition } from '../../src/storage/kinds.js';
import { bytesEqual, fromHex, toHex } from '../../src/wire/codec.js';
import type { Destination } from '../../src/wire/destination.js';
import { CAPABILITY_KIND, CapabilityDirectory, DEFAULT_CAPABILITY_DEPTHS, bucketName, decodeAdvertisement } from '../../topology/landmarks/capabilities.js';
import { ShareUsage, USER_CHAIN_ACL_NAME } from '../share/index.js';
import type { RequestClaim, RequestOrigin, SipFrontEnd } from '../sip/front-end.js';
import { decodeGruuParam, gruuUri } from '../sip/gruu.js';
import type { SipUsage } from '../sip/index.js';
import { type ServerTransaction, type SipRequest, type SipUri, formatUri, getUriParam, parseUri } from '../sip/stack/index.js';
import { Conference, PENDING, type RegisteredFocus, decodeFocusAdvertisement, encodeFocusAdvertisement, registeredFoci } from './conference.js';
import { isConferenceEvent } from './event-package.js';
import { DELEGATED_BY_HEADER, type FocusSip, PARTICIPANT_NODE_HEADER } from './focus.js';
import { DISCO_CONFERENCE_PATTERN, DISCO_REGISTRATION_KIND, DISCO_REGISTRATION_NAME, conferenceResourceName } from './registration.js';
import type { ConferenceRoster } from './roster.js';
import { chooseForFrontEnd, currentPrimary, focusDecision, freePlaces } from './rules.js';
import type { FocusCandidate } from './selection.js';

export * from './registration.js';
export * from './rules.js';
export { chooseSecondaryFocus, type FocusCandidate } from './selection.js';
export { FocusSip, PARTICIPANT_NODE_HEADER, DELEGATED_BY_HEADER, participantNodeOf } from './focus.js';
export { answerSdp, offerSdp, SdpError } from './sdp.js';
export { type RegisteredFocus, registeredFoci, encodeFocusAdvertisement, decodeFocusAdvertisement } from './conference.js';

/** The capability focus-capable peers advertise. */
export const DISCO_FOCUS_CAPABILITY = 'disco-focus';
/** Defaults (tunables carry their unit). */
export const DEFAULT_FOCUS_CAPACITY = 10;
export const DEFAULT_REGISTRATION_LIFETIME_S = 60;
export const DEFAULT_POLL_INTERVAL_MS = 5000;
export const DEFAULT_FOCUS_SUBSCRIPTION_EXPIRES_S = 120;
export const DEFAULT_DISCO_MIN_NOTIFY_INTERVAL_MS = 1000;
/** How many registered foci a front end tries for one call before answering 480. */
export const FRONT_END_ATTEMPTS = 3;
/** How many focus-capable peers a full focus considers when recruiting. */
export const RECRUIT_CANDIDATES = 4;

export interface DiscoUsageOptions {
  /** The SIP usage; it must run a front end (`--sip`). */
  sip: SipUsage;
  /** ShaRe (one per node); created when absent and listed in `plugins` (one given here is loaded by the caller, before this usage). */
  share?: ShareUsage;
  /** The capability directory (one per node); created when absent and listed in `plugins` (one given here is loaded by the caller, before this usage). */
  directory?: CapabilityDirectory;
  /** Advertise "disco-focus" and accept recruitment (`--focus`). @default true */
  focus?: boolean;
  /** Participants this peer serves before delegating (`--focus-capacity`). @default DEFAULT_FOCUS_CAPACITY */
  capacity?: number;
  /** Conference URIs created here with this peer as primary (`--conference`). */
  conferences?: string[];
  /** This peer's relative network position (landmark bin label) for registrations. @default '' */
  coordinate?: string;
  /** Lifetime of the own DISCO-REGISTRATION entries, s (refreshed at a third). @default 60 */
  registrationLifetimeS?: number;
  /** How often a focus re-reads the registrations of its conferences, ms. @default 5000 */
  pollIntervalMs?: number;
  /** Duration of focus-to-focus subscriptions (refreshed before expiry: the liveness probe), s. @default 120 */
  subscriptionExpiresS?: number;
  /** At most one NOTIFY per subscription per interval, ms (RFC 4575 §3.9 recommends 5000). @default 1000 */
  minNotifyIntervalMs?: number;
  /** Variable resource names of the Kind when no configuration kind-block declares it. @default [DISCO_CONFERENCE_PATTERN] */
  patterns?: string[];
}

export class DiscoUsageError extends Error {
  readonly code = 'ERR_DISCO_USAGE';
  constructor(
    readonly reason: 'not-started' | 'no-front-end' | 'not-owner' | 'not-a-focus' | 'unknown-conference' | 'bad-uri',
    message: string,
  ) {
    super(message);
    this.name = 'DiscoUsageError';
  }
}

/** The DisCo usage plugin; `plugins` lists what to load with it (ShaRe, the directory, itself). */
export class DiscoUsage implements UsagePlugin {
  readonly name = 'disco';
  readonly kinds: readonly Omit<KindDefinition, 'source'>[];
  readonly share: ShareUsage;
  readonly directory: CapabilityDirectory;
  readonly capacity: number;
  readonly coordinate: string;
  readonly registrationLifetimeS: number;
  readonly pollIntervalMs: number;
  readonly subscriptionExpiresS: number;
  readonly minNotifyIntervalMs: number;
  readonly isFocus: boolean;
  private readonly ownShare: boolean;
  private readonly ownDirectory: boolean;
  private usageApi: UsageApi | undefined;
  private fe: SipFrontEnd | undefined;
  private removeHandler: (() => void) | undefined;
  private readonly conferences = new Map<string, Conference>();
  private readonly joining = new Map<string, Promise<Conference | undefined>>();
  private adTimer: TimerHandle | undefined;
  private crashed = false;
  /** Front-end decisions, for tests and the status page. */
  readonly stats = { resolved: 0, forwarded: 0, delegated: 0, recruited: 0 };

  constructor(private readonly options: DiscoUsageOptions) {
    this.share = options.share ?? new ShareUsage();
    this.directory = options.directory ?? new CapabilityDirectory();
    this.ownShare = options.share === undefined;
    this.ownDirectory = options.directory === undefined;
    this.capacity = options.capacity ?? DEFAULT_FOCUS_CAPACITY;
    if (!Number.isInteger(this.capacity) || this.capacity < 1 || this.capacity > 0xffff) throw new RangeError('capacity must be an integer in 1..65535');
    this.coordinate = options.coordinate ?? '';
    this.registrationLifetimeS = options.registrationLifetimeS ?? DEFAULT_REGISTRATION_LIFETIME_S;
    this.pollIntervalMs = options.pollIntervalMs ?? DEFAULT_POLL_INTERVAL_MS;
    this.subscriptionExpiresS = options.subscriptionExpiresS ?? DEFAULT_FOCUS_SUBSCRIPTION_EXPIRES_S;
    this.minNotifyIntervalMs = options.minNotifyIntervalMs ?? DEFAULT_DISCO_MIN_NOTIFY_INTERVAL_MS;
    this.isFocus = options.focus ?? true;
    this.kinds = [
      {
        id: DISCO_REGISTRATION_KIND,
        name: DISCO_REGISTRATION_NAME,
        dataModel: 'dictionary',
        accessControl: USER_CHAIN_ACL_NAME,
        maxCount: 64,
        maxSize: 1024,
        params: { variableResourceNames: { enable: true, patterns: options.patterns ?? [DISCO_CONFERENCE_PATTERN] } },
      },
    ];
  }

  /** The usages to load (after the SIP usage): ShaRe and the directory when created here, then this. */
  get plugins(): UsagePlugin[] {
    return [...(this.ownShare ? [this.share] : []), ...(this.ownDirectory ? [this.directory] : []), this];
  }

  api(): UsageApi {
    if (!this.usageApi) throw new DiscoUsageError('not-started', 'the DisCo usage is not started');
    return this.usageApi;
  }

  frontEnd(): SipFrontEnd {
    if (!this.fe) throw new DiscoUsageError('no-front-end', 'the DisCo usage needs the SIP usage with a front end (--sip)');
    return this.fe;
  }

  async start(api: UsageApi): Promise<void> {
    this.usageApi = api;
    this.crashed = false;
    const fe = this.options.sip.frontEnd;
    if (!fe) throw new DiscoUsageError('no-front-end', 'the DisCo usage needs the SIP usage with a front end (--sip), loaded before it');
    this.fe = fe;
    this.removeHandler = fe.addRequestHandler((req, tx, origin) => this.onRequest(req, tx, origin));
    if (this.isFocus) await this.advertise();
    for (const uri of this.options.conferences ?? []) await this.createConference(uri);
  }

  async stop(): Promise<void> {
    this.adTimer?.cancel();
    const graceful = !this.crashed;
    await Promise.allSettled([...this.conferences.values()].map((c) => c.stop(graceful)));
    this.conferences.clear();
    if (graceful && this.isFocus && this.usageApi) await this.directory.withdraw(DISCO_FOCUS_CAPABILITY).catch(() => undefined);
    this.removeHandler?.();
    this.usageApi = undefined;
  }

  /**
   * Simulates a crash for tests (a peer stopped abruptly): every timer stops and nothing is
   * sent — no BYE, no removal of the registrations, no unsubscribe; the node's stop() then
   * closes the sockets.
   */
  crash(): void {
    this.crashed = true;
    for (const c of this.conferences.values()) {
      c.stopped = true;
      c.refreshTimer?.cancel();
      c.pollTimer?.cancel();
      c.writeTimer?.cancel();
      c.subscribers.clear();
    }
    this.adTimer?.cancel();
    this.removeHandler?.();
  }

  // ------------------------------------------------------------------ conferences

  /** Creates a conference with this peer as the primary focus (the Resource Owner of its URI). */
  async createConference(uri: string): Promise<void> {
    const api = this.api();
    const name = conferenceResourceName(uri);
    if (!name.includes('@')) throw new DiscoUsageError('bad-uri', `${uri} is not a SIP URI with a user part`);
    if (!this.share.isOwner(name, DISCO_REGISTRATION_KIND)) {
      throw new DiscoUsageError('not-owner', `${api.userName ?? 'this peer'} may not create ${name}: the name must match the Kind's variable-resource-name patterns with this peer's user name (e.g. label-conf-${api.userName})`);
    }
    await this.share.createRoot(name, DISCO_REGISTRATION_KIND, { lifetimeS: Math.max(3600, this.registrationLifetimeS) });
    const existing = await this.fetchFoci(name).catch(() => [] as RegisteredFocus[]);
    const term = Math.max(0, ...existing.map((f) => f.term)) + 1;
    const c = this.open(name, 'primary', term);
    await c.writeRegistration();
    c.registered = await this.fetchFoci(name).catch(() => []);
    c.scheduleRefresh();
    c.schedulePoll();
  }

  private open(name: string, role: 'primary' | 'secondary', term: number): Conference {
    const api = this.api();
    const uri = `sip:${name}`;
    const c = new Conference(this, uri, name, gruuUri(name, [{ type: 'node', id: api.nodeId }]), role, term);
    this.conferences.set(name, c);
    return c;
  }

  /**
   * Joins a conference as a secondary focus after a focus delegated a call here: the store
   * of the own entry succeeds only if a focus granted this peer write access (RFC 8076 §6.3,
   * checked by the storing peer).
   */
  private join(name: string): Promise<Conference | undefined> {
    const running = this.joining.get(name);
    if (running) return running;
    const p = (async () => {
      const foci = await this.fetchFoci(name);
      const primary = currentPrimary(foci);
      const c = this.open(name, 'secondary', primary?.term ?? 1);
      try {
        await c.writeRegistration();
      } catch (e) {
        this.conferences.delete(name);
        await c.stop(false);
        this.api().log.warn('DisCo: joining as a focus refused', { conference: name, error: (e as Error).message });
        return undefined;
      }
      c.registered = await this.fetchFoci(name).catch(() => foci);
      c.scheduleRefresh();
      void c.poll().catch(() => undefined);
      c.schedulePoll();
      return c;
    })().finally(() => this.joining.delete(name));
    this.joining.set(name, p);
    return p;
  }

  /** The registered foci of a conference, validated against its ACL (RFC 8076 §6.5). */
  async fetchFoci(name: string): Promise<RegisteredFocus[]> {
    const api = this.api();
    let r;
    try {
      r = await this.share.fetchShared(name, DISCO_REGISTRATION_KIND);
    } catch (e) {
      if (e instanceof ReloadError && e.errorCode === 0x03) return [];
      throw e;
    }
    return registeredFoci(
      r.values.map((v) => ({ key: v.key, exists: v.exists, payload: v.payload, signer: v.signer, lifetimeS: v.value.data.lifetime, storageTimeMs: Number(v.storageTime) })),
      api.nodeId.length,
    );
  }

  // ------------------------------------------------------------------ advertisement

  /** Total participants this peer serves, over all conferences. */
  private load(): number {
    let n = 0;
    for (const c of this.conferences.values()) n += c.sip.count;
    return n;
  }

  private async advertise(): Promise<void> {
    await this.directory.advertise(DISCO_FOCUS_CAPABILITY, encodeFocusAdvertisement(this.capacity, this.capacity - this.load()));
  }

  /** Re-advertises the free places (debounced: an advertisement is one Store per directory depth). */
  loadChanged(): void {
    if (!this.isFocus || this.adTimer || !this.usageApi) return;
    this.adTimer = this.usageApi.clock.setTimeout(() => {
      this.adTimer = undefined;
      if (!this.usageApi || this.crashed) return;
      this.advertise().catch((e: Error) => this.usageApi?.log.debug('re-advertising disco-focus failed', { error: e.message }));
    }, 1000);
  }

  /**
   * Focus-capable peers near `target` that serve nothing of this conference, with their free
   * places and user names (read from their advertisement at the deepest directory bucket).
   */
  private async candidates(target: Uint8Array, exclude: Uint8Array[]): Promise<(FocusCandidate & { userName: string | undefined })[]> {
    const api = this.api();
    const near = await this.directory.nearest(DISCO_FOCUS_CAPABILITY, target, RECRUIT_CANDIDATES, exclude);
    const depth = this.directory.depths[this.directory.depths.length - 1] ?? DEFAULT_CAPABILITY_DEPTHS[0]!;
    const out = await Promise.all(
      near.map(async (m) => {
        try {
          const f = await api.fetch(bucketName(DISCO_FOCUS_CAPABILITY, depth, m.nodeId), CAPABILITY_KIND, { keys: [m.nodeId] });
          const v = f.values.find((x) => !x.synthetic && x.signer && x.data.value.model === 'dictionary' && x.data.value.value.exists);
          if (!v || v.data.value.model !== 'dictionary') return undefined;
          const ad = decodeAdvertisement(v.data.value.value.value);
          const { free } = decodeFocusAdvertisement(ad.data);
          return { nodeId: m.nodeId, free, userName: v.signer!.certificate.userName };
        } catch {
          return undefined;
        }
      }),
    );
    return out.filter((x): x is NonNullable<typeof x> => x !== undefined);
  }

  // ------------------------------------------------------------------ SIP

  /** Which conference a Request-URI names (by Resource Name), and its GRUU target if any. */
  private conferenceOf(uri: SipUri): { name: string; gruuNode: Uint8Array | undefined } | undefined {
    if (uri.user === undefined) return undefined;
    const name = conferenceResourceName(formatUri({ ...uri, params: [], headers: [] }));
    const known = this.conferences.has(name);
    if (!known && !this.mayBeConference(name)) return undefined;
    const gr = getUriParam(uri, 'gr');
    let gruuNode: Uint8Array | undefined;
    if (gr) {
      try {
        const list = decodeGruuParam(gr);
        const last = list[list.length - 1];
        if (last?.type === 'node') gruuNode = last.id;
      } catch {
        return undefined;
      }
    }
    return { name, gruuNode };
  }

  /** Whether a name can be a conference: it matches one of the Kind's variable-name patterns (any user). */
  private mayBeConference(name: string): boolean {
    const def = this.api().kind(DISCO_REGISTRATION_KIND);
    const v = def?.params?.variableResourceNames as { enable?: boolean; patterns?: string[] } | undefined;
    if (!v?.enable || !v.patterns?.length) return false;
    return v.patterns.some((p) => {
      const src = p.replace(/[$]USER/g, '\u0001').replace(/[$]DOMAIN/g, '\u0002');
      try {
        return new RegExp(`^(?:${src.replace(/\u0001/g, '[^@]+').replace(/\u0002/g, '[^@]+')})$`).test(name);
      } catch {
        return false;
      }
    });
  }

  private async onRequest(req: SipRequest, tx: ServerTransaction | undefined, origin: RequestOrigin): Promise<RequestClaim | undefined> {
    if (this.crashed || req.uri.kind !== 'sip') return undefined;
    const api = this.api();
    // NOTIFYs of our own subscriptions to other foci (sent to our GRUU).
    if (tx && req.method === 'NOTIFY') {
      for (const c of this.conferences.values()) for (const s of c.subscribers.values()) if (s !== PENDING && s.handleRequest(req, tx)) return { action: 'handled' };
    }
    const conf = this.conferenceOf(req.uri);
    if (!conf) return undefined;
    // A GRUU of another peer: straight to it (RFC 7904 §6; also for a 2xx's ACK).
    if (conf.gruuNode && !bytesEqual(conf.gruuNode, api.nodeId)) return { action: 'forward', targets: [{ nodeId: conf.gruuNode }] };
    const c = this.conferences.get(conf.name);
    if (c) return this.asFocus(c, req, tx, origin);
    if (conf.gruuNode) {
      // Our GRUU for a conference we no longer serve.
      if (tx) tx.respond(tx.createResponse(req.toTag() !== undefined ? 481 : 404, req.toTag() !== undefined ? 'Call/Transaction Does Not Exist' : 'Not Found - not a focus of this conference'));
      return { action: 'handled' };
    }
    // An ACK in a dialog of the conference that no focus here serves and the front end did not
    // carry (it steers those of its UAs' dialogs before asking us): to the primary, as a BYE.
    if (!tx) return req.toTag() !== undefined ? this.inDialogAsFrontEnd(conf.name, req, undefined, origin) : undefined;
    // A delegated INVITE for a conference we do not serve yet: recruited.
    if (req.method === 'INVITE' && origin.peer && req.has(DELEGATED_BY_HEADER) && this.isFocus) {
      const joined = await this.join(conf.name);
      if (joined) return this.asFocus(joined, req, tx, origin);
      tx.respond(tx.createResponse(403, 'Forbidden - no write access to the conference registration'));
      return { action: 'handled' };
    }
    return this.asFrontEnd(conf.name, req, tx, origin);
  }

  /** A front end that serves no focus of the conference: resolve it through the overlay and forward. */
  private async asFrontEnd(name: string, req: SipRequest, tx: ServerTransaction, origin: RequestOrigin): Promise<RequestClaim | undefined> {
    const api = this.api();
    if (req.toTag() !== undefined) return this.inDialogAsFrontEnd(name, req, tx, origin);
    let foci: RegisteredFocus[];
    try {
      foci = await this.fetchFoci(name);
    } catch (e) {
      api.log.debug('resolving a conference failed', { conference: name, error: (e as Error).message });
      return undefined;
    }
    if (foci.length === 0) return undefined; // not a conference: the SIP usage's 404 / resolution
    // Only peers say that a call was delegated (a UA's claim would skip load balancing).
    if (!origin.peer) req.remove(DELEGATED_BY_HEADER);
    this.stats.resolved++;
    const participant = this.participantNode(req, origin);
    // A focus that cannot be reached (failed, its entry not yet expired) is skipped: the SIP
    // connection is set up before the INVITE is forwarded, and reused by it.
    const unreachable: Uint8Array[] = [];
    for (let attempt = 0; attempt < FRONT_END_ATTEMPTS; attempt++) {
      const choice = chooseForFrontEnd(foci, participant, unreachable);
      if (!choice) break;
      const destinations = choice.focus.registration.ext!.destinations;
      if (!(await this.reachable(choice.focus.nodeId, destinations))) {
        unreachable.push(choice.focus.nodeId);
        continue;
      }
      req.set(PARTICIPANT_NODE_HEADER, toHex(participant));
      this.stats.forwarded++;
      return { action: 'forward', targets: [{ nodeId: choice.focus.nodeId, destinations }] };
    }
    tx.respond(tx.createResponse(480, 'Temporarily Unavailable - no focus of the conference can be reached'));
    return { action: 'handled' };
  }

  /**
   * In-dialog, for the conference URI itself rather than the serving focus' GRUU: a UA that
   * ignored the route set, at a front end that did not carry the dialog (it steers those it
   * did). Decision: asked of the primary, whose merged roster knows which focus serves which
   * call (call-id and tags, RFC 4575 §5.6.2) and which passes it on (asFocus); with no primary
   * to ask, 481 as for any request of an unknown dialog (RFC 3261 §12.2.2) — never the 404 a
   * fresh resolution of the URI would give.
   */
  private async inDialogAsFrontEnd(name: string, req: SipRequest, tx: ServerTransaction | undefined, origin: RequestOrigin): Promise<RequestClaim> {
    if (!origin.peer) req.remove(DELEGATED_BY_HEADER);
    const primary = currentPrimary(await this.fetchFoci(name).catch(() => [] as RegisteredFocus[]));
    const destinations = primary?.registration.ext?.destinations;
    if (primary && destinations && (await this.reachable(primary.nodeId, destinations))) {
      return { action: 'forward', targets: [{ nodeId: primary.nodeId, destinations }] };
    }
    // An ACK has no response: it is absorbed.
    tx?.respond(tx.createResponse(481, 'Call/Transaction Does Not Exist'));
    return { action: 'handled' };
  }

  /**
   * The focus serving an in-dialog request's call, by the merged roster's call-info (the
   * dialog's Call-ID and tags): the request passed on to its GRUU, marked with
   * DELEGATED_BY_HEADER so that it is passed on once only. Undefined when no other live
   * focus serves it, or when another focus passed it here already.
   */
  private servingFocus(c: Conference, req: SipRequest, origin: RequestOrigin): RequestClaim | undefined {
    if (origin.peer && req.has(DELEGATED_BY_HEADER)) return undefined;
    const callId = req.callId();
    const fromTag = req.fromTag();
    const toTag = req.toTag();
    for (const focus of c.roster.remoteFoci()) {
      const serves = c.roster.remoteEndpoints(focus).some(({ endpoint: e }) => e.callInfo?.callId === callId && e.callInfo.fromTag === fromTag && e.callInfo.toTag === toTag);
      if (!serves) continue;
      const reg = c.registered.find((f) => f.sipContact === focus && !c.dead.has(f.nodeHex));
      if (!reg || bytesEqual(reg.nodeId, this.api().nodeId)) return undefined;
      let requestUri: SipUri | undefined;
      try {
        const u = parseUri(focus, 'request-uri');
        if (u.kind === 'sip') requestUri = u;
      } catch {
        /* a focus contact that does not parse: the Request-URI stays */
      }
      req.set(DELEGATED_BY_HEADER, toHex(this.api().nodeId));
      const destinations = reg.registration.ext?.destinations;
      return { action: 'forward', targets: [{ nodeId: reg.nodeId, ...(destinations ? { destinations } : {}), ...(requestUri ? { requestUri } : {}) }] };
    }
    return undefined;
  }

  /** Whether a SIP connection to a peer exists or can be set up (AppAttach, RFC 7904 §5.1). */
  private async reachable(nodeId: Uint8Array, destinations: Destination[]): Promise<boolean> {
    if (bytesEqual(nodeId, this.api().nodeId)) return false;
    try {
      await this.frontEnd().destinationFor({ kind: 'peer', nodeId, destinations });
      return true;
    } catch (e) {
      this.api().log.debug('a focus cannot be reached', { focus: toHex(nodeId), error: (e as Error).message });
      return false;
    }
  }

  /** The participant's peer: from a peer's header, else this front end. */
  private participantNode(req: SipRequest, origin: RequestOrigin): Uint8Array {
    const api = this.api();
    const h = req.get(PARTICIPANT_NODE_HEADER);
    if (origin.peer && h && /^[0-9a-f]+$/i.test(h.trim()) && h.trim().length === api.nodeId.length * 2) return fromHex(h.trim().toLowerCase());
    // From a UA: whatever it claims is ignored (only peers may say which peer a caller is at).
    if (!origin.peer) req.remove(PARTICIPANT_NODE_HEADER);
    return api.nodeId;
  }

  private async asFocus(c: Conference, req: SipRequest, tx: ServerTransaction | undefined, origin: RequestOrigin): Promise<RequestClaim | undefined> {
    // In-dialog requests of our calls (ACK without a transaction included).
    const p = c.sip.dialogOf(req);
    if (p) {
      c.sip.inDialog(p, req, tx);
      return { action: 'handled' };
    }
    if (tx && c.notifier.handleRequestInDialog(req, tx)) return { action: 'handled' };
    if (req.toTag() !== undefined) {
      // A call another focus serves (the UA ignored the route set, or reached us through a
      // front end that did not carry its dialog): passed on to that focus.
      const elsewhere = this.servingFocus(c, req, origin);
      if (elsewhere) return elsewhere;
    }
    if (!tx) return req.method === 'ACK' ? { action: 'handled' } : undefined;
    if (req.toTag() !== undefined) {
      tx.respond(tx.createResponse(481, 'Call/Transaction Does Not Exist'));
      return { action: 'handled' };
    }
    switch (req.method) {
      case 'INVITE':
        return this.invite(c, req, tx, origin);
      case 'SUBSCRIBE':
        if (isConferenceEvent(req)) {
          // A focus we do not know yet subscribes: read the registrations now.
          if (origin.peer) void c.poll().catch(() => undefined);
        }
        c.notifier.handleSubscribe(req, tx);
        return { action: 'handled' };
      case 'OPTIONS': {
        const res = tx.createResponse(200);
        res.set('Allow', 'INVITE, ACK, CANCEL, BYE, OPTIONS, SUBSCRIBE, NOTIFY');
        res.set('Allow-Events', 'conference');
        res.set('Accept', 'application/sdp');
        tx.respond(res);
        return { action: 'handled' };
      }
      default: {
        const res = tx.createResponse(405, 'Method Not Allowed');
        res.set('Allow', 'INVITE, ACK, CANCEL, BYE, OPTIONS, SUBSCRIBE, NOTIFY');
        tx.respond(res);
        return { action: 'handled' };
      }
    }
  }

  /** A dial-in INVITE at a focus: accept, or delegate (rules.focusDecision). */
  private async invite(c: Conference, req: SipRequest, tx: ServerTransaction, origin: RequestOrigin): Promise<RequestClaim | undefined> {
    const api = this.api();
    const participant = this.participantNode(req, origin);
    const delegated = origin.peer !== undefined && req.has(DELEGATED_BY_HEADER);
    // CANCEL while the decision is pending (RFC 3261 §9.2): 487 here; once the call is
    // accepted or forwarded, the answer or the proxy's CANCEL handling takes over.
    let cancelled = false;
    let decided = false;
    tx.on('cancelled', () => {
      if (decided) return;
      cancelled = true;
      if (tx.state === 'proceeding' || tx.state === 'trying') tx.respond(tx.createResponse(487, 'Request Terminated'));
    });
    const acceptHere = (overCapacity: boolean): RequestClaim => {
      if (!cancelled) {
        decided = true;
        c.sip.accept(req, tx, toHex(participant), overCapacity);
      }
      return { action: 'handled' };
    };
    let directory: (FocusCandidate & { userName: string | undefined })[] = [];
    const needHelp = c.sip.count >= this.capacity && !delegated;
    if (needHelp) {
      const registered = c.alive();
      const anyRoom = registered.some((f) => !bytesEqual(f.nodeId, api.nodeId) && freePlaces(f) > 0);
      if (!anyRoom) {
        try {
          directory = await this.candidates(participant, [api.nodeId, ...c.registered.map((f) => f.nodeId), ...[...c.dead.keys()].map(fromHex)]);
        } catch (e) {
          api.log.debug('disco-focus directory lookup failed', { error: (e as Error).message });
        }
      }
    }
    if (cancelled) return { action: 'handled' };
    const decision = focusDecision({
      self: api.nodeId,
      capacity: this.capacity,
      participants: c.sip.count,
      delegated,
      participant,
      registered: c.alive(),
      directory,
    });
    if (decision.action === 'accept') return acceptHere(decision.overCapacity);
    if (decision.recruit) {
      const cand = directory.find((d) => bytesEqual(d.nodeId, decision.to));
      if (!cand?.userName) return acceptHere(true);
      try {
        // RFC 8076 §6.1: an ACL item for the new focus, with allow_delegation so it can recruit too.
        await this.share.grant(c.resourceName, DISCO_REGISTRATION_KIND, cand.userName, true, { lifetimeS: Math.max(3600, this.registrationLifetimeS) });
        this.stats.recruited++;
      } catch (e) {
        api.log.warn('DisCo: granting a new focus write access failed', { error: (e as Error).message });
        return acceptHere(true);
      }
    }
    const reg = c.registered.find((f) => bytesEqual(f.nodeId, decision.to));
    const destinations: Destination[] = reg?.registration.ext?.destinations ?? [{ type: 'node', id: decision.to }];
    if (!(await this.reachable(decision.to, destinations))) {
      // The delegate does not answer: keep the caller here rather than fail the call.
      return acceptHere(true);
    }
    if (cancelled) return { action: 'handled' };
    decided = true;
    this.stats.delegated++;
    c.sip.stats.delegated++;
    req.set(PARTICIPANT_NODE_HEADER, toHex(participant));
    req.set(DELEGATED_BY_HEADER, toHex(api.nodeId));
    return { action: 'forward', targets: [{ nodeId: decision.to, destinations, recordRoute: false }] };
  }

  // ------------------------------------------------------------------ status

  /** The conferences this peer serves (by Resource Name). */
  conferenceNames(): string[] {
    return [...this.conferences.keys()];
  }

  /** Details of one conference served here, for tests and the status page. */
  conference(uri: string):
    | { role: 'primary' | 'secondary'; term: number; gruu: string; participants: number; roster: ConferenceRoster; foci: RegisteredFocus[]; subscribers: string[]; dead: string[]; reinvited: number; focus: FocusSip }
    | undefined {
    const c = this.conferences.get(conferenceResourceName(uri));
    if (!c) return undefined;
    return {
      role: c.role,
      term: c.term,
      gruu: c.gruu,
      participants: c.sip.count,
      roster: c.roster,
      foci: c.registered,
      subscribers: [...c.subscribers.keys()],
      dead: [...c.dead.keys()],
      reinvited: c.sip.stats.reinvited,
      focus: c.sip,
    };
  }

  status(): UsageStatus {
    const conferences = [...this.conferences.values()].map((c) => {
      const merged = c.roster.merged();
      const roster = (merged.users?.list ?? []).map((u) => {
        const e = u.endpoints[0];
        return { user: u.entity, ...(e?.status ? { state: e.status } : {}), focus: e?.focus?.nodeId ?? '' };
      });
      return {
        uri: c.uri,
        role: c.role,
        term: c.term,
        participants: c.sip.count,
        capacity: this.capacity,
        coordinate: this.coordinate,
        foci: c.registered.filter((f) => !c.dead.has(f.nodeHex)).map((f) => `${f.nodeHex.slice(0, 8)} ${f.role} ${f.participants}/${f.capacity}${f.coordinate ? ` @${f.coordinate}` : ''}`),
        roster,
      };
    });
    return { title: 'Conferences (DisCo)', focus: this.isFocus, capacity: this.capacity, load: this.load(), ...this.stats, conferences };
  }
}

/** The DisCo usage (load `disco.plugins` after the SIP usage). Also the module's default export. */
export function discoUsage(options: DiscoUsageOptions): DiscoUsage {
  return new DiscoUsage(options);
}

export default discoUsage;
