/**
 * The SIP `conference` event package (RFC 4575 §3) on the project's SIP stack, with the
 * subscription rules of RFC 6665: a notifier that serves the merged conference roster to
 * subscribers (participants and other foci), and a subscriber that follows another focus'
 * state into the local {@link ConferenceRoster} (disco digest §6: every focus subscribes to
 * every other focus of the conference).
 *
 * Wiring (the focus / SIP front end owns the endpoint's one 'request' listener and routes
 * to these objects; they never add listeners to the endpoint themselves):
 *
 * ```ts
 * ep.on('request', (req, tx) => {
 *   if (!tx) return;                                              // ACK for a 2xx: not ours
 *   for (const s of subscribers) if (s.handleRequest(req, tx)) return; // NOTIFY in a subscription we made
 *   if (notifier.handleRequestInDialog(req, tx)) return;          // refresh / unsubscribe SUBSCRIBE, 481
 *   if (req.method === 'SUBSCRIBE' && isOurConference(req.uri)) return notifier.handleSubscribe(req, tx);
 *   // ... INVITE, BYE, REFER, other requests
 * });
 * ```
 *
 * What each consumes:
 * - `ConferenceEventSubscriber.handleRequest(req, tx)`: NOTIFY whose Call-ID and To tag are
 *   those of its SUBSCRIBE (the dialog may be created by the NOTIFY, RFC 6665 §4.1.2.4);
 *   returns false for anything else.
 * - `ConferenceEventNotifier.handleRequestInDialog(req, tx)`: any request with a To tag
 *   that belongs to one of its subscription dialogs, and every in-dialog SUBSCRIBE with
 *   `Event: conference` (481 when the subscription is unknown); false otherwise.
 * - `ConferenceEventNotifier.handleSubscribe(req, tx)`: a SUBSCRIBE addressed to the
 *   conference; always answers (489 for another package, 406, 423, 400, 200 + NOTIFY).
 *
 * Notifier rules: `Event: conference` (489 Bad Event with `Allow-Events: conference`
 * otherwise, RFC 6665 §8.2.1); an `Accept` that excludes application/conference-info+xml
 * gets 406 (RFC 4575 §3.4); Expires absent → 3600 s (RFC 4575 §3.3), below the minimum
 * → 423 with Min-Expires, above the maximum → shortened; Expires 0 on a new subscription
 * is a fetch (one NOTIFY, terminated). 200 (never 202, RFC 6665 §8.3.1) with Expires and
 * Contact (`;isfocus`, RFC 4579), then at once a NOTIFY with full state (RFC 4575 §3.2,
 * RFC 6665 §4.2.1.2); later NOTIFYs carry partial state, at most one per
 * `minNotifyIntervalMs` per subscription (RFC 4575 §3.9) and one at a time per dialog
 * (RFC 6665 §4.2.2); `version` +1 per NOTIFY on each subscription (RFC 4575 §4.6). A
 * refresh gets 200 and a full-state NOTIFY; Expires 0 ends the subscription with a
 * `terminated` NOTIFY; expiry sends `terminated;reason=timeout`; stop() sends
 * `terminated;reason=noresource` (RFC 4575 §3.3). A NOTIFY answered 481, 408, or timed out
 * or unsendable removes the subscription (RFC 6665 §4.2.2).
 *
 * Subscriber rules: SUBSCRIBE with Event, Accept, Expires, Contact (and a preloaded route
 * set when given); 423 → retry with Min-Expires; Timer N (64·T1) for the first NOTIFY
 * (RFC 6665 §4.1.2.4); every NOTIFY answered (200, or 481 / 489 / 400 / 415); documents
 * applied to the roster with RFC 4575 §4.6 — on a version gap a refresh SUBSCRIBE brings
 * full state; refresh before expiry; `terminated` with reason deactivated / timeout →
 * a new subscription at once, probation / giveup → after retry-after, others → ended.
 * 'unreachable' (the usage's failed-focus signal): the SUBSCRIBE or a refresh times out,
 * cannot be sent, or is answered 408 / 480 / 481 / 503 / 504, or Timer N fires.
 */
import type { Clock, TimerHandle } from '../../src/common/clock.js';
import { systemClock } from '../../src/common/clock.js';
import type { Logger } from '../../src/common/log.js';
import { silentLogger } from '../../src/common/log.js';
import { type Random, cryptoRandom } from '../../src/common/random.js';
import {
  Dialog,
  type HeaderParam,
  type ReceiveInfo,
  type ServerTransaction,
  type SipDestination,
  type SipEndpoint,
  SipParseError,
  SipRequest,
  type SipResponse,
  TypedEmitter,
  destinationOf,
  formatUri,
  generateCallId,
  SipStackError,
  type SipUri,
  generateTag,
  getParam,
  parseMediaType,
  parseNameAddr,
  parseParams,
  parseUri,
  splitList,
} from '../sip/stack/index.js';
import { isToken } from '../sip/stack/charset.js';
import {
  type ApplyResult,
  CONFERENCE_INFO_CONTENT_TYPE,
  type ConferenceInfo,
  ConferenceInfoError,
  encodeConferenceInfo,
  parseConferenceInfo,
} from './conference-info.js';
import type { ConferenceRoster, RosterSnapshot } from './roster.js';

/** The event package name (RFC 4575 §3.1). */
export const CONFERENCE_EVENT = 'conference';
/** Default subscription duration, s (RFC 4575 §3.3). */
export const DEFAULT_SUBSCRIPTION_EXPIRES_S = 3600;
/** Shortest subscription the notifier grants, s (shorter → 423). */
export const DEFAULT_MIN_SUBSCRIPTION_EXPIRES_S = 60;
/** Longest subscription the notifier grants, s (longer is shortened). */
export const DEFAULT_MAX_SUBSCRIPTION_EXPIRES_S = 7200;
/** At most one NOTIFY per subscription in this interval, ms (RFC 4575 §3.9 RECOMMENDS 5 s). */
export const DEFAULT_MIN_NOTIFY_INTERVAL_MS = 5000;
/** How long stop() waits for the final NOTIFYs / the unsubscribe answer, ms. */
export const DEFAULT_STOP_WAIT_MS = 2000;
/** Retry delay after `terminated;reason=probation|giveup` without retry-after, s. */
export const DEFAULT_RETRY_AFTER_S = 30;

// --------------------------------------------------------------------------- headers

/** A parsed Event header (RFC 6665 §8.2.1): package, `id` parameter, other parameters. */
export interface EventHeader {
  package: string;
  id?: string;
  params: HeaderParam[];
}

/** Parses `event-type *( SEMI event-param )`; throws SipParseError naming Event. */
export function parseEventHeader(value: string): EventHeader {
  const m = /^[ \t]*([^ \t;]+)/.exec(value);
  if (!m || !isToken(m[1]!)) throw new SipParseError('BAD_HEADER_VALUE', 'expected an event type token', 'Event');
  const params = parseParams(value, m[0].length, 'Event');
  const id = getParam(params, 'id');
  const out: EventHeader = { package: m[1]!, params };
  if (typeof id === 'string') out.id = id;
  return out;
}

/** A parsed Subscription-State header (RFC 6665 §8.2.3). */
export interface SubscriptionState {
  state: 'active' | 'pending' | 'terminated' | string;
  expires?: number;
  reason?: string;
  retryAfter?: number;
}

export function parseSubscriptionState(value: string): SubscriptionState {
  const m = /^[ \t]*([^ \t;]+)/.exec(value);
  if (!m || !isToken(m[1]!)) throw new SipParseError('BAD_HEADER_VALUE', 'expected a substate value', 'Subscription-State');
  const params = parseParams(value, m[0].length, 'Subscription-State');
  const out: SubscriptionState = { state: m[1]!.toLowerCase() };
  const num = (name: string): number | undefined => {
    const v = getParam(params, name);
    if (v === undefined || v === null) return undefined;
    if (!/^[0-9]{1,10}$/.test(v)) throw new SipParseError('BAD_HEADER_VALUE', `${name} is not delta-seconds`, 'Subscription-State');
    return Number(v);
  };
  const expires = num('expires');
  if (expires !== undefined) out.expires = expires;
  const retryAfter = num('retry-after');
  if (retryAfter !== undefined) out.retryAfter = retryAfter;
  const reason = getParam(params, 'reason');
  if (typeof reason === 'string') out.reason = reason.toLowerCase();
  return out;
}

/** Whether an Accept header set admits application/conference-info+xml (absent Accept does, RFC 4575 §3.4). */
export function acceptsConferenceInfo(req: SipRequest): boolean {
  if (!req.has('Accept')) return true;
  // An empty Accept means "no body acceptable" (RFC 3261 §20.1).
  const values = req.getAll('Accept').filter((v) => v.trim().length > 0);
  const ranges = values.flatMap((v) => splitList(v, 'Accept')).map((v) => parseMediaType(v, 'Accept', true));
  return ranges.some(
    (r) => (r.type === '*' || r.type === 'application') && (r.subtype === '*' || r.subtype === 'conference-info+xml'),
  );
}

/** Whether a request is an in-dialog or initial SUBSCRIBE/NOTIFY of the conference package. */
export function isConferenceEvent(req: SipRequest): boolean {
  const v = req.get('Event');
  if (v === undefined) return false;
  try {
    return parseEventHeader(v).package === CONFERENCE_EVENT;
  } catch {
    return false;
  }
}

function respond(tx: ServerTransaction, status: number, reason?: string, headers: [string, string][] = []): void {
  const res = tx.createResponse(status, reason);
  for (const [n, v] of headers) res.set(n, v);
  tx.respond(res);
}

/** An error as Reason-Phrase text: only characters the grammar allows (RFC 3261 §25.1), short. */
function reasonText(e: unknown): string {
  const text = (e instanceof Error ? e.message : String(e)).replace(/[<>]/g, '').replace(/[^A-Za-z0-9;/?:@&=+$,\-_.!~*'() ]/g, '?');
  return text.length > 100 ? text.slice(0, 97) + '...' : text;
}

/** Next hop of an in-dialog request: the first route, else the remote target (RFC 3261 §12.2.1.1, §8.1.2). */
function dialogDestination(dialog: Dialog): SipDestination {
  const first = dialog.routeSet[0];
  if (first !== undefined) return destinationOf(parseNameAddr(first, 'Route', true).uri);
  return destinationOf(dialog.remoteTarget);
}

// --------------------------------------------------------------------------- notifier

/** What the notifier tells about one subscription. */
export interface ConferenceSubscriptionInfo {
  /** Dialog key (Call-ID, local tag, remote tag). */
  key: string;
  /** The subscriber (From URI of the SUBSCRIBE). */
  subscriber: string;
  /** The dialog (route set, remote target). */
  dialog: Dialog;
  /** Event `id` parameter, if any. */
  eventId?: string;
  /** Where the SUBSCRIBE came from. */
  received?: ReceiveInfo;
  /** Absolute expiry, ms on the clock. */
  expiresAt: number;
  /** Version of the last document sent. */
  version: number;
}

export type NotifierTerminationReason = 'timeout' | 'unsubscribed' | 'noresource' | 'rejected' | 'unreachable';

export type ConferenceEventNotifierEvents = {
  /** A new subscription was accepted and its full-state NOTIFY sent. */
  subscribed: [ConferenceSubscriptionInfo];
  /** A subscription ended: expired, unsubscribed, stop(), or its NOTIFY failed (481 → rejected; 408 / Timer F / transport → unreachable). */
  terminated: [ConferenceSubscriptionInfo, NotifierTerminationReason];
};

export interface ConferenceEventNotifierInit {
  endpoint: SipEndpoint;
  roster: ConferenceRoster;
  /** @default the endpoint's clock */
  clock?: Clock;
  /** Accepted for symmetry with the subscriber; the notifier's tags and branches come from the endpoint's random. */
  random?: Random;
  log?: Logger;
  /**
   * Contact of the subscription dialogs (RFC 4579: with `isfocus`). @default
   * `<sip:USER@VIAHOST:PORT;transport=T>;isfocus` for the transport the SUBSCRIBE came
   * on, USER being the conference URI's user part
   */
  contact?: string | ((req: SipRequest) => string);
  /** Granted when the SUBSCRIBE has no Expires, s. @default 3600 */
  defaultExpiresS?: number;
  /** Shorter requests get 423, s. @default 60 */
  minExpiresS?: number;
  /** Longer requests are shortened to this, s. @default 7200 */
  maxExpiresS?: number;
  /** At most one NOTIFY per subscription per interval, ms. @default 5000 */
  minNotifyIntervalMs?: number;
  /**
   * Where a subscription's NOTIFYs go. @default the first Route of the dialog, else its
   * remote target; over the SUBSCRIBE's TCP/TLS connection when it came on one
   */
  nextHop?: (sub: ConferenceSubscriptionInfo) => SipDestination;
  /** How long stop() waits for the final NOTIFYs to be answered, ms. @default 2000 */
  stopWaitMs?: number;
}

interface NotifierSubscription extends ConferenceSubscriptionInfo {
  expiryTimer?: TimerHandle;
  notifyTimer?: TimerHandle;
  lastSent?: RosterSnapshot;
  lastNotifyAt: number;
  inFlight: boolean;
  /** What to send once the NOTIFY in flight is answered. */
  pending: 'none' | 'partial' | 'full';
  /** Set once the subscription is over (its last NOTIFY may still be in flight). */
  ended: boolean;
}

export class ConferenceEventNotifier extends TypedEmitter<ConferenceEventNotifierEvents> {
  private readonly ep: SipEndpoint;
  private readonly roster: ConferenceRoster;
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly defaultExpiresS: number;
  private readonly minExpiresS: number;
  private readonly maxExpiresS: number;
  private readonly minNotifyIntervalMs: number;
  private readonly subs = new Map<string, NotifierSubscription>();
  private readonly inFlight = new Set<Promise<unknown>>();
  private stopped = false;
  private readonly onChanged = (): void => {
    for (const sub of this.subs.values()) this.schedulePartial(sub);
  };

  constructor(private readonly init: ConferenceEventNotifierInit) {
    super();
    this.ep = init.endpoint;
    this.roster = init.roster;
    this.clock = init.clock ?? init.endpoint.clock ?? systemClock;
    this.log = init.log ?? silentLogger;
    this.defaultExpiresS = init.defaultExpiresS ?? DEFAULT_SUBSCRIPTION_EXPIRES_S;
    this.minExpiresS = init.minExpiresS ?? DEFAULT_MIN_SUBSCRIPTION_EXPIRES_S;
    this.maxExpiresS = init.maxExpiresS ?? DEFAULT_MAX_SUBSCRIPTION_EXPIRES_S;
    this.minNotifyIntervalMs = init.minNotifyIntervalMs ?? DEFAULT_MIN_NOTIFY_INTERVAL_MS;
    this.roster.on('changed', this.onChanged);
  }

  /** The live subscriptions. */
  subscriptions(): ConferenceSubscriptionInfo[] {
    return [...this.subs.values()].filter((s) => !s.ended).map((s) => this.view(s));
  }

  get subscriptionCount(): number {
    return this.subscriptions().length;
  }

  /**
   * Handles a SUBSCRIBE addressed to the conference (initial or in-dialog). Always
   * answers the transaction.
   */
  handleSubscribe(req: SipRequest, tx: ServerTransaction): void {
    try {
      if (req.toTag() !== undefined) {
        if (!this.handleRequestInDialog(req, tx)) respond(tx, 481, 'Subscription Does Not Exist');
        return;
      }
      this.initialSubscribe(req, tx);
    } catch (e) {
      if (e instanceof SipParseError) return respond(tx, 400, `Bad Request - ${reasonText(e)}`);
      this.log.error('conference notifier: SUBSCRIBE failed', { error: reasonText(e) });
      respond(tx, 500, 'Server Internal Error');
    }
  }

  /**
   * Handles a request with a To tag if it belongs to a subscription dialog of this notifier
   * (or is a conference SUBSCRIBE for an unknown one: 481). Returns false when the request
   * is not the notifier's.
   */
  handleRequestInDialog(req: SipRequest, tx: ServerTransaction): boolean {
    let toTag: string | undefined;
    let fromTag: string | undefined;
    try {
      toTag = req.toTag();
      fromTag = req.fromTag();
    } catch {
      return false;
    }
    if (toTag === undefined) return false;
    const key = `${req.callId()}\u0000${toTag}\u0000${fromTag ?? ''}`;
    const sub = this.subs.get(key);
    if (!sub || sub.ended) {
      if (req.method === 'SUBSCRIBE' && isConferenceEvent(req)) {
        respond(tx, 481, 'Subscription Does Not Exist');
        return true;
      }
      return false;
    }
    try {
      if (req.method !== 'SUBSCRIBE') {
        respond(tx, 405, 'Method Not Allowed', [['Allow', 'SUBSCRIBE']]);
        return true;
      }
      const ok = sub.dialog.acceptRequest(req);
      if (!ok.ok) {
        respond(tx, 500, 'Server Internal Error - CSeq out of order');
        return true;
      }
      const event = this.checkEvent(req, tx);
      if (!event) return true;
      if ((event.id ?? '') !== (sub.eventId ?? '')) {
        respond(tx, 481, 'Subscription Does Not Exist');
        return true;
      }
      if (!acceptsConferenceInfo(req)) {
        respond(tx, 406, 'Not Acceptable', [['Accept', CONFERENCE_INFO_CONTENT_TYPE]]);
        return true;
      }
      const expires = this.grantExpires(req, tx);
      if (expires === undefined) return true;
      if (req.has('Contact')) {
        const c = req.contacts()[0];
        if (c && c !== '*') sub.dialog.remoteTarget = c.uri; // a refresh is a target refresh (RFC 6665 §4.1.2.2)
      }
      const res = tx.createResponse(200);
      res.set('Expires', String(expires));
      res.set('Contact', this.contactFor(req));
      tx.respond(res);
      if (expires === 0) {
        this.end(sub, 'unsubscribed', undefined);
        return true;
      }
      this.armExpiry(sub, expires);
      // RFC 4575 §3.2 / §4.6: the NOTIFY answering a (re-)SUBSCRIBE carries full state.
      this.requestNotify(sub, 'full', true);
    } catch (e) {
      if (e instanceof SipParseError) respond(tx, 400, `Bad Request - ${reasonText(e)}`);
      else {
        this.log.error('conference notifier: in-dialog request failed', { error: reasonText(e) });
        respond(tx, 500, 'Server Internal Error');
      }
    }
    return true;
  }

  /** Sends every subscription with unsent changes its partial NOTIFY now (ignoring the rate limit). */
  notifyAll(): void {
    for (const sub of this.subs.values()) {
      if (sub.ended) continue;
      sub.notifyTimer?.cancel();
      sub.notifyTimer = undefined;
      this.requestNotify(sub, 'partial', true);
    }
  }

  /**
   * Ends every subscription with `terminated;reason=noresource` (the conference is gone at
   * this focus, RFC 4575 §3.3) and stops following the roster. Resolves when the final
   * NOTIFYs are answered, or after `stopWaitMs`.
   */
  async stop(reason: 'noresource' | 'deactivated' = 'noresource'): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    this.roster.off('changed', this.onChanged);
    for (const sub of [...this.subs.values()]) if (!sub.ended) this.end(sub, 'noresource', reason);
    await this.drain();
  }

  private async drain(): Promise<void> {
    if (this.inFlight.size === 0) return;
    let timer: TimerHandle | undefined;
    await Promise.race([
      Promise.allSettled([...this.inFlight]),
      new Promise<void>((resolve) => {
        timer = this.clock.setTimeout(resolve, this.init.stopWaitMs ?? DEFAULT_STOP_WAIT_MS);
      }),
    ]);
    timer?.cancel();
  }

  // --------------------------------------------------------------- initial SUBSCRIBE

  private initialSubscribe(req: SipRequest, tx: ServerTransaction): void {
    if (this.stopped) return respond(tx, 480, 'Temporarily Unavailable');
    const event = this.checkEvent(req, tx);
    if (!event) return;
    if (!acceptsConferenceInfo(req)) return respond(tx, 406, 'Not Acceptable', [['Accept', CONFERENCE_INFO_CONTENT_TYPE]]);
    const c = req.contacts();
    if (c.length !== 1 || c[0] === '*') return respond(tx, 400, 'Bad Request - SUBSCRIBE needs one Contact (RFC 6665 §4.1.2.1)');
    const expires = this.grantExpires(req, tx);
    if (expires === undefined) return;
    const res = tx.createResponse(200);
    res.set('Expires', String(expires));
    res.set('Contact', this.contactFor(req));
    res.set('Allow-Events', CONFERENCE_EVENT);
    const dialog = Dialog.asUas(req, res, this.contactFor(req));
    tx.respond(res);
    const sub: NotifierSubscription = {
      key: dialog.key,
      subscriber: formatUri(req.from().uri),
      dialog,
      expiresAt: this.clock.now() + expires * 1000,
      version: 0,
      lastNotifyAt: -Infinity,
      inFlight: false,
      pending: 'none',
      ended: false,
    };
    if (event.id !== undefined) sub.eventId = event.id;
    if (req.received) sub.received = req.received;
    this.subs.set(sub.key, sub);
    this.log.debug('conference notifier: subscription', { subscriber: sub.subscriber, expires });
    if (expires === 0) {
      // RFC 6665 §4.2.1.1: a fetch — one NOTIFY with the state, terminated.
      this.end(sub, 'timeout', 'timeout');
      return;
    }
    this.armExpiry(sub, expires);
    this.requestNotify(sub, 'full', true);
    // After the first NOTIFY is on its way: a change a listener makes goes in the next one.
    this.emit('subscribed', this.view(sub));
  }

  /** 489 for a missing or different package; the parsed Event otherwise. */
  private checkEvent(req: SipRequest, tx: ServerTransaction): EventHeader | undefined {
    const v = req.get('Event');
    let event: EventHeader | undefined;
    if (v !== undefined) event = parseEventHeader(v);
    // RFC 6665 §8.2.1: event-type tokens are compared case-sensitively.
    if (event === undefined || event.package !== CONFERENCE_EVENT) {
      respond(tx, 489, 'Bad Event', [['Allow-Events', CONFERENCE_EVENT]]);
      return undefined;
    }
    return event;
  }

  /** The granted duration, or undefined after sending 423. */
  private grantExpires(req: SipRequest, tx: ServerTransaction): number | undefined {
    const requested = req.expires();
    // RFC 6665 §4.2.1.1: no Expires means the package default (3600 s, RFC 4575 §3.3),
    // for a refresh as for a new subscription.
    if (requested === undefined) return Math.min(this.defaultExpiresS, this.maxExpiresS);
    if (requested === 0) return 0;
    if (requested < this.minExpiresS) {
      respond(tx, 423, 'Interval Too Brief', [['Min-Expires', String(this.minExpiresS)]]);
      return undefined;
    }
    return Math.min(requested, this.maxExpiresS);
  }

  private contactFor(req: SipRequest): string {
    const c = this.init.contact;
    if (typeof c === 'string') return c;
    if (typeof c === 'function') return c(req);
    const transport = req.received?.transport ?? 'UDP';
    const addr = transport === 'UDP' ? this.ep.udpAddress : transport === 'TCP' ? this.ep.tcpAddress : this.ep.tlsAddress;
    let user = 'conference';
    try {
      const u = parseUri(this.roster.conferenceUri);
      if (u.kind === 'sip' && u.user) user = u.user;
    } catch {
      // keep the default user part
    }
    const uri: SipUri = {
      kind: 'sip',
      scheme: transport === 'TLS' ? 'sips' : 'sip',
      user,
      host: this.ep.viaHost,
      port: addr?.port ?? 5060,
      params: transport === 'UDP' ? [] : [{ name: 'transport', value: transport.toLowerCase() }],
      headers: [],
    };
    return `<${formatUri(uri)}>;isfocus`;
  }

  private armExpiry(sub: NotifierSubscription, expiresS: number): void {
    sub.expiryTimer?.cancel();
    sub.expiresAt = this.clock.now() + expiresS * 1000;
    sub.expiryTimer = this.clock.setTimeout(() => {
      if (!sub.ended) this.end(sub, 'timeout', 'timeout');
    }, expiresS * 1000);
  }

  // --------------------------------------------------------------- NOTIFY

  private schedulePartial(sub: NotifierSubscription): void {
    if (sub.ended || sub.notifyTimer) return;
    const wait = Math.max(0, sub.lastNotifyAt + this.minNotifyIntervalMs - this.clock.now());
    sub.notifyTimer = this.clock.setTimeout(() => {
      sub.notifyTimer = undefined;
      this.requestNotify(sub, 'partial', false);
    }, wait);
  }

  /** Sends a NOTIFY now, or after the one in flight (RFC 6665 §4.2.2: one at a time per dialog). */
  private requestNotify(sub: NotifierSubscription, kind: 'full' | 'partial', now: boolean): void {
    if (sub.ended) return;
    if (sub.inFlight) {
      if (kind === 'full' || sub.pending === 'none') sub.pending = kind;
      return;
    }
    if (!now && this.clock.now() < sub.lastNotifyAt + this.minNotifyIntervalMs) {
      this.schedulePartial(sub);
      return;
    }
    let doc: ConferenceInfo | undefined;
    const snap = this.roster.snapshot();
    if (kind === 'full' || !sub.lastSent) doc = this.roster.fullDocument(sub.version + 1);
    else doc = this.roster.partialDocument(sub.lastSent, sub.version + 1);
    if (!doc) return; // nothing changed since the last NOTIFY
    sub.version++;
    sub.lastSent = snap;
    this.sendNotify(sub, `active;expires=${this.remaining(sub)}`, doc);
  }

  private remaining(sub: NotifierSubscription): number {
    return Math.max(0, Math.ceil((sub.expiresAt - this.clock.now()) / 1000));
  }

  /** Ends a subscription; sends the final NOTIFY (full state) unless it is unreachable. */
  private end(sub: NotifierSubscription, why: NotifierTerminationReason, reasonParam: string | undefined): void {
    if (sub.ended) return;
    sub.ended = true;
    sub.expiryTimer?.cancel();
    sub.notifyTimer?.cancel();
    sub.pending = 'none';
    if (why !== 'rejected' && why !== 'unreachable') {
      sub.version++;
      sub.lastSent = this.roster.snapshot();
      const state = reasonParam === undefined ? 'terminated' : `terminated;reason=${reasonParam}`;
      // The last NOTIFY goes even while another is in flight: the subscription is over.
      this.sendNotify(sub, state, this.roster.fullDocument(sub.version));
    } else {
      this.subs.delete(sub.key);
    }
    this.emit('terminated', this.view(sub), why);
  }

  private destination(sub: NotifierSubscription): SipDestination {
    if (this.init.nextHop) return this.init.nextHop(this.view(sub));
    const r = sub.received;
    if (r && r.transport !== 'UDP' && r.connectionId && sub.dialog.routeSet.length === 0) {
      const conn = this.ep.connection(r.connectionId);
      if (conn?.open) return { transport: r.transport, host: r.source.host, port: r.source.port, connectionId: r.connectionId };
    }
    const d = dialogDestination(sub.dialog);
    if (r && r.transport !== 'UDP' && d.transport === 'UDP') return { ...d, transport: r.transport };
    return d;
  }

  private sendNotify(sub: NotifierSubscription, subscriptionState: string, doc: ConferenceInfo): void {
    const notify = sub.dialog.createRequest('NOTIFY');
    notify.set('Event', sub.eventId === undefined ? CONFERENCE_EVENT : `${CONFERENCE_EVENT};id=${sub.eventId}`);
    notify.set('Subscription-State', subscriptionState);
    notify.setBody(encodeConferenceInfo(doc), CONFERENCE_INFO_CONTENT_TYPE);
    sub.inFlight = true;
    sub.lastNotifyAt = this.clock.now();
    let ctx;
    try {
      ctx = this.ep.sendRequest(notify, this.destination(sub));
    } catch (e) {
      this.log.warn('conference notifier: NOTIFY not sent', { subscriber: sub.subscriber, error: reasonText(e) });
      sub.inFlight = false;
      this.fail(sub, 'unreachable');
      return;
    }
    ctx.finalResponse().then(
      (res) => this.onNotifyResponse(sub, res),
      (e: unknown) => {
        this.log.info('conference notifier: NOTIFY failed', { subscriber: sub.subscriber, error: reasonText(e) });
        sub.inFlight = false;
        this.fail(sub, 'unreachable');
      },
    );
    // Settled by the answer, a failure, or the transaction ending without one (the
    // endpoint stopped): what stop() waits for.
    const tx = ctx;
    const p = new Promise<void>((resolve) => {
      tx.once('final', () => resolve());
      tx.once('timeout', resolve);
      tx.once('transportError', () => resolve());
      tx.once('terminated', resolve);
    });
    this.inFlight.add(p);
    void p.then(() => {
      this.inFlight.delete(p);
      if (!tx.finalResponseReceived && sub.inFlight && tx.terminated) sub.inFlight = false;
    });
  }

  private onNotifyResponse(sub: NotifierSubscription, res: SipResponse): void {
    sub.inFlight = false;
    if (res.status === 481) return this.fail(sub, 'rejected');
    if (res.status === 408) return this.fail(sub, 'unreachable');
    if (res.status >= 300) this.log.info('conference notifier: NOTIFY refused', { subscriber: sub.subscriber, status: res.status });
    if (sub.ended) {
      this.subs.delete(sub.key);
      return;
    }
    const next = sub.pending;
    sub.pending = 'none';
    if (next === 'full') this.requestNotify(sub, 'full', true);
    else if (next === 'partial') this.requestNotify(sub, 'partial', false);
    else if (sub.lastSent && sub.lastSent.revision !== this.roster.revision) this.schedulePartial(sub);
  }

  /** RFC 6665 §4.2.2: a NOTIFY answered 481, 408 or timed out removes the subscription. */
  private fail(sub: NotifierSubscription, why: 'rejected' | 'unreachable'): void {
    this.subs.delete(sub.key);
    sub.expiryTimer?.cancel();
    sub.notifyTimer?.cancel();
    if (sub.ended) return;
    sub.ended = true;
    this.emit('terminated', this.view(sub), why);
  }

  private view(sub: NotifierSubscription): ConferenceSubscriptionInfo {
    const v: ConferenceSubscriptionInfo = {
      key: sub.key,
      subscriber: sub.subscriber,
      dialog: sub.dialog,
      expiresAt: sub.expiresAt,
      version: sub.version,
    };
    if (sub.eventId !== undefined) v.eventId = sub.eventId;
    if (sub.received) v.received = sub.received;
    return v;
  }
}

// --------------------------------------------------------------------------- subscriber

export type SubscriberState = 'idle' | 'subscribing' | 'active' | 'terminating' | 'terminated';

/** Why a subscription to a remote focus is considered failed. */
export interface UnreachableReport {
  /** 'timeout' (no answer), 'transport' (could not send), 'status' (408/480/481/503/504), 'timer-n' (no NOTIFY). */
  cause: 'timeout' | 'transport' | 'status' | 'timer-n';
  /** The response status when cause is 'status'. */
  status?: number;
  /** Which request failed. */
  during: 'subscribe' | 'refresh' | 'notify-wait';
}

/** Why a subscription ended without the focus being unreachable. */
export interface TerminatedReport {
  /** 'rejected' (a final error to SUBSCRIBE), 'notifier' (terminated NOTIFY), 'deleted' (conference deleted), 'stopped'. */
  cause: 'rejected' | 'notifier' | 'deleted' | 'stopped';
  status?: number;
  /** Subscription-State reason of a terminated NOTIFY. */
  reason?: string;
}

export type ConferenceEventSubscriberEvents = {
  /** A document was applied to the roster (outcome 'applied' or 'deleted'). */
  updated: [ApplyResult];
  /** The remote focus does not answer: the usage's failed-focus signal. */
  unreachable: [UnreachableReport];
  /** The subscription ended for another reason. */
  terminated: [TerminatedReport];
};

export interface ConferenceEventSubscriberInit {
  endpoint: SipEndpoint;
  roster: ConferenceRoster;
  /** @default the endpoint's clock */
  clock?: Clock;
  /** @default the endpoint's random */
  random?: Random;
  log?: Logger;
  /** Request-URI and To of the SUBSCRIBE: the remote focus (its GRUU, or the conference URI). */
  focusUri: string;
  /** The remote focus' key in the roster (its `<disco:focus entity>`). @default focusUri */
  focusId?: string;
  /**
   * Next hop of every request of this subscription (an outbound proxy, or the peer's SIP
   * address / connection). @default by the route set, else the Request-URI / remote target
   */
  target?: SipDestination;
  /** Preloaded route set (Route values, in order) of the initial SUBSCRIBE (RFC 3261 §8.1.2). */
  routeSet?: string[];
  /** From of the SUBSCRIBE. @default the roster's local focus entity */
  localUri?: string;
  /** Contact of the SUBSCRIBE. @default `<sip:focus@VIAHOST:PORT;transport=T>` for the transport used */
  contact?: string;
  /** Requested duration, s. @default 3600 */
  expiresS?: number;
  /** How long stop() waits for the unsubscribe's answer and terminated NOTIFY, ms. @default 2000 */
  stopWaitMs?: number;
}

export type SubscribeOutcome = { ok: true } | { ok: false; report: UnreachableReport | TerminatedReport };

const UNREACHABLE_STATUSES = new Set([408, 480, 481, 503, 504]);

export class ConferenceEventSubscriber extends TypedEmitter<ConferenceEventSubscriberEvents> {
  readonly focusUri: string;
  readonly focusId: string;
  private readonly ep: SipEndpoint;
  private readonly roster: ConferenceRoster;
  private readonly clock: Clock;
  private readonly random: Random;
  private readonly log: Logger;
  private readonly localUri: string;
  private readonly contact: string;
  private expiresS: number;
  private st: SubscriberState = 'idle';
  private callId = '';
  private localTag = '';
  private cseq = 0;
  private dialog: Dialog | undefined;
  private refreshTimer: TimerHandle | undefined;
  private timerN: TimerHandle | undefined;
  private retryTimer: TimerHandle | undefined;
  private gotNotify = false;
  private refreshing = false;
  private waiters: Array<(o: SubscribeOutcome) => void> = [];
  private stopWaiters: Array<() => void> = [];

  constructor(private readonly init: ConferenceEventSubscriberInit) {
    super();
    this.ep = init.endpoint;
    this.roster = init.roster;
    this.clock = init.clock ?? init.endpoint.clock ?? systemClock;
    this.random = init.random ?? init.endpoint.random ?? cryptoRandom;
    this.log = init.log ?? silentLogger;
    this.focusUri = init.focusUri;
    this.focusId = init.focusId ?? init.focusUri;
    this.localUri = init.localUri ?? init.roster.localFocus.entity;
    this.expiresS = init.expiresS ?? DEFAULT_SUBSCRIPTION_EXPIRES_S;
    parseUri(this.focusUri); // throws SipParseError('BAD_URI') early
    this.contact = init.contact ?? this.defaultContact();
  }

  get state(): SubscriberState {
    return this.st;
  }

  /** The subscription dialog, once established. */
  get dialogInfo(): Dialog | undefined {
    return this.dialog;
  }

  /**
   * Subscribes. Resolves when the first document has been applied ({ ok: true }) or the
   * subscription failed (the same report is also emitted as 'unreachable' / 'terminated').
   * Never rejects.
   */
  start(): Promise<SubscribeOutcome> {
    if (this.st === 'active') return Promise.resolve({ ok: true });
    const p = new Promise<SubscribeOutcome>((resolve) => this.waiters.push(resolve));
    if (this.st === 'idle' || this.st === 'terminated') this.subscribe();
    return p;
  }

  /**
   * Unsubscribes (SUBSCRIBE Expires: 0 in the dialog) and forgets the subscription.
   * Resolves when the notifier answered, or after `stopWaitMs`.
   */
  async stop(): Promise<void> {
    this.cancelTimers();
    if (this.st === 'idle' || this.st === 'terminated') {
      this.st = 'terminated';
      return;
    }
    const wasSubscribing = this.st === 'subscribing' && !this.dialog;
    this.st = 'terminating';
    if (wasSubscribing) return; // the 2xx (or NOTIFY) will create the dialog; unsubscribe then
    await new Promise<void>((resolve) => {
      this.stopWaiters.push(resolve);
      const t = this.clock.setTimeout(() => this.finishStop(), this.init.stopWaitMs ?? DEFAULT_STOP_WAIT_MS);
      this.stopWaiters.push(() => t.cancel());
      this.sendInDialog(0);
    });
  }

  /**
   * Handles a NOTIFY of this subscription (see the module comment). Returns false when the
   * request is not for it.
   */
  handleRequest(req: SipRequest, tx: ServerTransaction): boolean {
    if (req.method !== 'NOTIFY' || this.callId === '') return false;
    let toTag: string | undefined;
    let fromTag: string | undefined;
    try {
      if (req.callId() !== this.callId) return false;
      toTag = req.toTag();
      fromTag = req.fromTag();
    } catch {
      return false;
    }
    if (toTag !== this.localTag) return false;
    try {
      this.onNotify(req, tx, fromTag);
    } catch (e) {
      if (e instanceof SipParseError) respond(tx, 400, `Bad Request - ${reasonText(e)}`);
      else {
        this.log.error('conference subscriber: NOTIFY failed', { error: reasonText(e) });
        respond(tx, 500, 'Server Internal Error');
      }
    }
    return true;
  }

  // --------------------------------------------------------------- requests

  private defaultContact(): string {
    const transport = this.init.target?.transport ?? this.firstHop().transport;
    const addr = transport === 'UDP' ? this.ep.udpAddress : transport === 'TCP' ? this.ep.tcpAddress : this.ep.tlsAddress;
    const scheme = transport === 'TLS' ? 'sips' : 'sip';
    const tp = transport === 'UDP' ? '' : `;transport=${transport.toLowerCase()}`;
    return `<${scheme}:focus@${this.ep.viaHost}:${addr?.port ?? 5060}${tp}>`;
  }

  private firstHop(): SipDestination {
    if (this.init.target) return this.init.target;
    const first = this.init.routeSet?.[0];
    if (first !== undefined) return destinationOf(parseNameAddr(first, 'Route', true).uri);
    return destinationOf(parseUri(this.focusUri));
  }

  private subscribe(): void {
    this.st = 'subscribing';
    this.dialog = undefined;
    this.gotNotify = false;
    this.callId = generateCallId(this.random, this.ep.viaHost);
    this.localTag = generateTag(this.random);
    this.cseq = 0;
    // A new dialog restarts the notifier's version numbers (RFC 4575 §4.6 scope).
    this.roster.resetRemoteVersion(this.focusId);
    this.sendInitial(this.expiresS);
    // RFC 6665 §4.1.2.4: Timer N (64·T1) for the first NOTIFY.
    this.timerN?.cancel();
    this.timerN = this.clock.setTimeout(() => {
      this.timerN = undefined;
      if (!this.gotNotify && this.st === 'subscribing') this.unreachable({ cause: 'timer-n', during: 'notify-wait' });
    }, 64 * this.ep.timers.T1_MS);
  }

  private sendInitial(expires: number): SipRequest {
    const req = new SipRequest('SUBSCRIBE', parseUri(this.focusUri, 'request-uri'));
    req.set('To', `<${this.focusUri}>`);
    req.set('From', `<${this.localUri}>;tag=${this.localTag}`);
    req.set('Call-ID', this.callId);
    req.set('CSeq', `${++this.cseq} SUBSCRIBE`);
    for (const r of this.init.routeSet ?? []) req.append('Route', r);
    this.addSubscribeHeaders(req, expires);
    req.set('Contact', this.contact);
    this.send(req, this.firstHop(), 'subscribe', expires);
    return req;
  }

  private addSubscribeHeaders(req: SipRequest, expires: number): void {
    req.set('Event', CONFERENCE_EVENT);
    req.set('Accept', CONFERENCE_INFO_CONTENT_TYPE);
    req.set('Expires', String(expires));
    req.set('Allow-Events', CONFERENCE_EVENT);
  }

  /** A refresh (expires > 0) or unsubscribe (0) within the dialog. */
  private sendInDialog(expires: number): void {
    const d = this.dialog;
    if (!d) return;
    const req = d.createRequest('SUBSCRIBE');
    this.cseq = d.localSeq ?? this.cseq;
    this.addSubscribeHeaders(req, expires);
    let dest: SipDestination;
    try {
      dest = this.init.target ?? dialogDestination(d);
    } catch (e) {
      this.log.warn('conference subscriber: no route for the refresh', { error: reasonText(e) });
      if (expires === 0) this.finishStop();
      else this.unreachable({ cause: 'transport', during: 'refresh' });
      return;
    }
    this.send(req, dest, expires === 0 ? 'unsubscribe' : 'refresh', expires);
  }

  private send(req: SipRequest, dest: SipDestination, what: 'subscribe' | 'refresh' | 'unsubscribe', expires: number): void {
    let ctx;
    try {
      ctx = this.ep.sendRequest(req, dest);
    } catch (e) {
      this.log.warn('conference subscriber: SUBSCRIBE not sent', { error: reasonText(e) });
      if (what === 'unsubscribe') this.finishStop();
      else this.unreachable({ cause: 'transport', during: what === 'subscribe' ? 'subscribe' : 'refresh' });
      return;
    }
    if (what === 'refresh') this.refreshing = true;
    if (what === 'unsubscribe') {
      const tx = ctx;
      // The endpoint stopped under us: nothing more will come.
      tx.once('terminated', () => {
        if (!tx.finalResponseReceived) this.finishStop();
      });
    }
    ctx.finalResponse().then(
      (res) => this.onSubscribeResponse(req, res, what, expires),
      (e: unknown) => {
        if (what === 'refresh') this.refreshing = false;
        const cause = e instanceof SipStackError && e.reason === 'TIMEOUT' ? 'timeout' : 'transport';
        if (what === 'unsubscribe' || this.st === 'terminating') return this.finishStop();
        if (this.st === 'terminated') return;
        this.unreachable({ cause, during: what === 'subscribe' ? 'subscribe' : 'refresh' });
      },
    );
  }

  private onSubscribeResponse(req: SipRequest, res: SipResponse, what: 'subscribe' | 'refresh' | 'unsubscribe', expires: number): void {
    if (what === 'refresh') this.refreshing = false;
    if (what === 'unsubscribe') {
      // The terminated NOTIFY may follow; keep answering it for a little while.
      if (res.status >= 300 || this.stopWaiters.length === 0) return this.finishStop();
      return;
    }
    if (this.st === 'terminated') return;
    if (res.status >= 200 && res.status < 300) {
      if (what === 'subscribe' && !this.dialog) {
        try {
          this.dialog = Dialog.asUac(req, res, this.contact);
        } catch (e) {
          this.log.warn('conference subscriber: 2xx without a usable dialog', { error: reasonText(e) });
          return this.terminate({ cause: 'rejected', status: res.status });
        }
      } else if (what === 'subscribe' && this.dialog) {
        this.dialog.updateFromResponse(res);
      }
      if (this.st === 'terminating') {
        // stop() came before the dialog existed: unsubscribe now.
        if (what === 'subscribe') this.stopNow();
        return;
      }
      let granted = expires;
      try {
        granted = res.expires() ?? expires;
      } catch {
        // a malformed Expires: keep what we asked for
      }
      this.scheduleRefresh(granted);
      return;
    }
    if (res.status === 423 && this.st !== 'terminating') {
      let min: number | undefined;
      try {
        const v = res.get('Min-Expires');
        if (v !== undefined && /^[0-9]{1,10}$/.test(v.trim())) min = Number(v.trim());
      } catch {
        min = undefined;
      }
      if (min !== undefined && min > expires) {
        this.expiresS = min;
        if (what === 'subscribe') this.sendInitial(min);
        else this.sendInDialog(min);
        return;
      }
    }
    if (UNREACHABLE_STATUSES.has(res.status)) {
      this.unreachable({ cause: 'status', status: res.status, during: what === 'subscribe' ? 'subscribe' : 'refresh' });
      return;
    }
    this.terminate({ cause: 'rejected', status: res.status });
  }

  private stopNow(): void {
    void new Promise<void>((resolve) => {
      this.stopWaiters.push(resolve);
      const t = this.clock.setTimeout(() => this.finishStop(), this.init.stopWaitMs ?? DEFAULT_STOP_WAIT_MS);
      this.stopWaiters.push(() => t.cancel());
      this.sendInDialog(0);
    });
  }

  private scheduleRefresh(expiresS: number): void {
    this.refreshTimer?.cancel();
    if (expiresS <= 0) return;
    // Refresh well before expiry: halfway for short subscriptions, 32 s (a Timer F) ahead otherwise.
    const at = expiresS > 64 ? expiresS - 32 : expiresS / 2;
    this.refreshTimer = this.clock.setTimeout(() => {
      this.refreshTimer = undefined;
      if (this.st === 'active' || this.st === 'subscribing') this.sendInDialog(this.expiresS);
    }, at * 1000);
  }

  /** Asks for full state (RFC 4575 §4.6: a refresh brings a full NOTIFY). */
  private resync(): void {
    if (this.refreshing || this.st === 'terminating' || this.st === 'terminated') return;
    this.sendInDialog(this.expiresS);
  }

  // --------------------------------------------------------------- NOTIFY

  private onNotify(req: SipRequest, tx: ServerTransaction, fromTag: string | undefined): void {
    if (this.st === 'terminated' || (this.st === 'idle' && !this.dialog)) return respond(tx, 481, 'Subscription Does Not Exist');
    if (this.dialog && fromTag !== this.dialog.id.remoteTag) {
      // RFC 4575 §3.8: no second dialog from a forked SUBSCRIBE.
      return respond(tx, 481, 'Subscription Does Not Exist');
    }
    const ev = req.get('Event');
    if (ev === undefined || parseEventHeader(ev).package !== CONFERENCE_EVENT) {
      return respond(tx, 489, 'Bad Event', [['Allow-Events', CONFERENCE_EVENT]]);
    }
    const ssValue = req.get('Subscription-State');
    if (ssValue === undefined) return respond(tx, 400, 'Bad Request - Subscription-State missing (RFC 6665 §8.2.3)');
    const ss = parseSubscriptionState(ssValue);
    let doc: ConferenceInfo | undefined;
    if (req.body.length > 0) {
      const ct = req.contentType();
      if (!ct || `${ct.type}/${ct.subtype}` !== CONFERENCE_INFO_CONTENT_TYPE) {
        return respond(tx, 415, 'Unsupported Media Type', [['Accept', CONFERENCE_INFO_CONTENT_TYPE]]);
      }
      try {
        doc = parseConferenceInfo(req.body);
      } catch (e) {
        if (!(e instanceof ConferenceInfoError)) throw e;
        respond(tx, 400, `Bad Request - conference-info ${reasonText(e)}`);
        this.log.info('conference subscriber: bad document, asking for full state', { focus: this.focusId, error: reasonText(e) });
        if (this.dialog) this.resync();
        return;
      }
    }
    if (!this.dialog) {
      // RFC 6665 §4.1.2.4: the NOTIFY came before the 2xx; it creates the dialog.
      if (!req.has('Contact')) return respond(tx, 400, 'Bad Request - NOTIFY without Contact');
      const res = tx.createResponse(200);
      this.dialog = Dialog.asUas(req, res, this.contact);
      this.dialog.localSeq = this.cseq;
      tx.respond(res);
    } else {
      const ok = this.dialog.acceptRequest(req);
      if (!ok.ok) return respond(tx, 500, 'Server Internal Error - CSeq out of order');
      if (req.has('Contact')) {
        const c = req.contacts()[0];
        if (c && c !== '*') this.dialog.remoteTarget = c.uri;
      }
      respond(tx, 200);
    }
    this.gotNotify = true;
    this.timerN?.cancel();
    this.timerN = undefined;
    if (this.st === 'terminating') {
      if (ss.state === 'terminated') this.finishStop();
      return;
    }
    if (ss.state === 'active' || ss.state === 'pending') this.st = 'active';
    if (doc) this.applyDocument(doc);
    if (ss.state === 'terminated') this.onTerminated(ss);
    else if (ss.expires !== undefined && this.st === 'active' && !this.refreshing) this.scheduleRefresh(ss.expires);
  }

  private applyDocument(doc: ConferenceInfo): void {
    let result: ApplyResult;
    try {
      result = this.roster.applyRemote(this.focusId, doc);
    } catch (e) {
      this.log.warn('conference subscriber: document not applied', { focus: this.focusId, error: reasonText(e) });
      return;
    }
    if (result.outcome === 'applied' || result.outcome === 'deleted') {
      this.emit('updated', result);
      this.settle({ ok: true });
    }
    if (result.outcome === 'resync') {
      this.log.info('conference subscriber: version gap, refreshing for full state', { focus: this.focusId, reason: result.reason });
      this.resync();
    }
    if (result.outcome === 'deleted') {
      // RFC 4575 §4.6: the conference is gone at the notifier; unsubscribe.
      this.cancelTimers();
      this.st = 'terminating';
      this.emit('terminated', { cause: 'deleted' });
      this.stopNow();
    }
  }

  /** RFC 6665 §4.1.3: what a terminated NOTIFY's reason asks of the subscriber. */
  private onTerminated(ss: SubscriptionState): void {
    this.cancelTimers();
    this.dialog = undefined;
    const reason = ss.reason;
    if (reason === 'deactivated' || reason === 'timeout') {
      this.log.info('conference subscriber: subscription ended, subscribing again', { focus: this.focusId, reason });
      this.subscribe();
      return;
    }
    if (reason === 'probation' || reason === 'giveup') {
      this.st = 'idle';
      this.retryTimer = this.clock.setTimeout(() => {
        this.retryTimer = undefined;
        if (this.st === 'idle') this.subscribe();
      }, (ss.retryAfter ?? DEFAULT_RETRY_AFTER_S) * 1000);
      return;
    }
    const report: TerminatedReport = { cause: 'notifier' };
    if (reason !== undefined) report.reason = reason;
    this.terminate(report);
  }

  // --------------------------------------------------------------- endings

  private settle(o: SubscribeOutcome): void {
    const w = this.waiters;
    this.waiters = [];
    for (const f of w) f(o);
  }

  private unreachable(report: UnreachableReport): void {
    if (this.st === 'terminated') return;
    this.cancelTimers();
    this.st = 'terminated';
    this.log.info('conference subscriber: focus unreachable', { focus: this.focusId, ...report });
    this.settle({ ok: false, report });
    this.emit('unreachable', report);
  }

  private terminate(report: TerminatedReport): void {
    if (this.st === 'terminated') return;
    this.cancelTimers();
    this.st = 'terminated';
    this.settle({ ok: false, report });
    this.emit('terminated', report);
  }

  private finishStop(): void {
    const wasTerminating = this.st === 'terminating';
    this.cancelTimers();
    this.st = 'terminated';
    this.dialog = undefined;
    this.callId = '';
    const w = this.stopWaiters;
    this.stopWaiters = [];
    for (const f of w) f();
    if (wasTerminating) this.settle({ ok: false, report: { cause: 'stopped' } });
  }

  private cancelTimers(): void {
    for (const t of [this.refreshTimer, this.timerN, this.retryTimer]) t?.cancel();
    this.refreshTimer = this.timerN = this.retryTimer = undefined;
  }
}
