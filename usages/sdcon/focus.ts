/**
 * The SIP side of one DisCo focus for one conference (RFC 4579 focus behaviour on the peer's
 * SIP front end): dial-in INVITEs to the conference URI are answered with 200 + an SDP
 * answer (sdp.ts) and `Contact: <conference GRUU>;isfocus`; ACK, BYE, re-INVITE, CANCEL and
 * OPTIONS within / for the conference; dial-out INVITEs that re-anchor participants of a
 * focus that went away; the local part of the conference roster (roster.ts) follows every
 * change.
 *
 * Addressing (decision): the focus' Contact is the conference URI with a `gr` parameter, a
 * RELOAD GRUU (RFC 7904 §6) whose destination list is this peer. Every front end routes a
 * GRUU straight to the peer it names (AppAttach, no Fetch), so in-dialog requests of a
 * participant that dialled in through any front end reach exactly the focus serving it,
 * while the user-visible address stays the one conference URI (RFC 4579 §5: the focus'
 * Contact carries `isfocus`). The participant's front end record-routes itself as usual.
 * Dial-out INVITEs (recovery) carry a Record-Route of this focus' UA-facing address, so the
 * participant's in-dialog requests come back here directly.
 *
 * 2xx retransmission: the front end's endpoint runs with `retransmit2xx: false` (it is a
 * proxy), so the focus, as UAS core, retransmits its 2xx to an INVITE itself (RFC 3261
 * §13.3.1.4: T1 doubling to T2) until the ACK, and gives the call up after 64·T1 without one.
 */
import type { Clock, TimerHandle } from '../../src/common/clock.js';
import type { Logger } from '../../src/common/log.js';
import { cryptoRandom } from '../../src/common/random.js';
import type { SipFrontEnd } from '../sip/front-end.js';
import {
  Dialog,
  type ServerTransaction,
  SipRequest,
  type SipResponse,
  type Uri,
  DEFAULT_TIMERS,
  destinationOf,
  dialogIdOf,
  dialogKey,
  formatNameAddr,
  formatUri,
  generateBranch,
  generateCallId,
  generateTag,
  parseUri,
} from '../sip/stack/index.js';
import type { Endpoint } from './conference-info.js';
import type { ConferenceRoster, UserInfo } from './roster.js';
import { SdpError, answerSdp, offerSdp } from './sdp.js';

/** Header a front end or focus adds when passing a participant's INVITE to a focus: the participant's peer (hex Node-ID). */
export const PARTICIPANT_NODE_HEADER = 'X-DisCo-Participant-Node';
/** Header a focus adds when it delegates an INVITE to another focus (its own Node-ID, hex): one hop of delegation only. */
export const DELEGATED_BY_HEADER = 'X-DisCo-Delegated-By';
const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, SUBSCRIBE, NOTIFY';

/** A participant this focus serves: one dialog. */
export interface Participant {
  /** The participant's AOR (From of its INVITE, or To of our dial-out): the roster user. */
  user: string;
  displayName: string | undefined;
  /** Roster endpoint entity: the participant's contact URI. */
  endpoint: string;
  /** The participant's peer (the front end it dialled in through), hex. */
  node: string;
  dialog: Dialog;
  joining: 'dialed-in' | 'dialed-out';
  /** Last SDP we sent (answer or offer), and the o= version counter. */
  sdpVersion: number;
  /** Until the ACK for our 2xx arrives. */
  retransmit: TimerHandle | undefined;
  acked: boolean;
}

export interface FocusSipInit {
  conferenceUri: string;
  /** The focus' Contact / roster focus entity: the conference GRUU of this peer. */
  gruu: string;
  frontEnd: SipFrontEnd;
  roster: ConferenceRoster;
  clock: Clock;
  log: Logger;
  /** Media receive port base for SDP answers. @default 40000 */
  mediaPortBase?: number;
  /** Called when the number of participants changes. */
  onLoadChange?: () => void;
}

/** A call to the conference that the focus accepted or refused, for tests and the status page. */
export interface FocusStats {
  accepted: number;
  delegated: number;
  reinvited: number;
  byes: number;
  /** ACKs for the focus' 2xx that reached it (one per answered INVITE). */
  acks: number;
  /** Calls given up because no ACK came within 64·T1 (RFC 3261 §13.3.1.4). */
  noAck: number;
  overCapacity: number;
}

export class FocusSip {
  readonly participants = new Map<string, Participant>();
  readonly stats: FocusStats = { accepted: 0, delegated: 0, reinvited: 0, byes: 0, acks: 0, noAck: 0, overCapacity: 0 };
  private ports = 0;
  private readonly sessionId = Math.floor(cryptoRandom.float() * 1e9);
  private stopped = false;

  constructor(private readonly init: FocusSipInit) {}

  get count(): number {
    return this.participants.size;
  }

  private get address(): string {
    return this.init.frontEnd.uaAddress.host;
  }

  private sdp(offer: string | undefined, version: number, port: number): string {
    const o = { address: this.address, port, sessionId: this.sessionId, sessionVersion: version };
    return offer !== undefined && offer.trim() !== '' ? answerSdp(offer, o) : offerSdp(o);
  }

  private nextPort(): number {
    return (this.init.mediaPortBase ?? 40000) + 4 * (this.ports++ % 5000);
  }

  private contact(): string {
    return `<${this.init.gruu}>;isfocus`;
  }

  /** The participant of an in-dialog request (by dialog id), if this focus serves it. */
  dialogOf(req: SipRequest): Participant | undefined {
    // As UAS (dial-in) and as UAC (dial-out) alike, the participant's requests carry our tag in To.
    const id = dialogIdOf(req, 'uas');
    return id ? this.participants.get(dialogKey(id)) : undefined;
  }

  /** Accepts a dial-in INVITE (RFC 4579 §5.1): 200 + SDP answer, Contact with isfocus. */
  accept(req: SipRequest, tx: ServerTransaction, participantNode: string, overCapacity: boolean): void {
    if (overCapacity) this.stats.overCapacity++;
    let body: string;
    const port = this.nextPort();
    try {
      body = this.sdp(req.body.length > 0 ? req.bodyText() : undefined, 1, port);
    } catch (e) {
      if (!(e instanceof SdpError)) throw e;
      const res = tx.createResponse(488, `Not Acceptable Here - ${e.message}`);
      tx.respond(res);
      return;
    }
    const ok = tx.createResponse(200);
    ok.set('Contact', this.contact());
    ok.set('Allow', ALLOW);
    ok.set('Allow-Events', 'conference');
    ok.setBody(body, 'application/sdp');
    const dialog = Dialog.asUas(req, ok, this.contact());
    const from = req.from();
    const contact = req.contacts()[0];
    const endpoint = contact && contact !== '*' ? formatUri(contact.uri) : formatUri(from.uri);
    const p: Participant = {
      user: formatUri(from.uri),
      displayName: from.displayName,
      endpoint,
      node: participantNode,
      dialog,
      joining: 'dialed-in',
      sdpVersion: 1,
      retransmit: undefined,
      acked: false,
    };
    this.add(p, ok, tx);
    this.stats.accepted++;
  }

  private add(p: Participant, ok: SipResponse | undefined, tx: ServerTransaction | undefined): void {
    const key = p.dialog.key;
    // A participant re-anchored here replaces any older dialog of the same endpoint.
    for (const [k, other] of this.participants) if (other.endpoint === p.endpoint && k !== key) this.drop(k, false);
    this.participants.set(key, p);
    this.init.roster.setEndpoint(this.userInfo(p), this.endpointOf(p, 'connected'));
    this.init.onLoadChange?.();
    if (ok && tx) {
      tx.respond(ok);
      this.retransmit2xx(p, ok, tx);
    }
  }

  private userInfo(p: Participant): UserInfo {
    return p.displayName ? { entity: p.user, displayText: p.displayName } : { entity: p.user };
  }

  private endpointOf(p: Participant, status: Endpoint['status']): Omit<Endpoint, 'state' | 'focus'> {
    return {
      entity: p.endpoint,
      ...(status ? { status } : {}),
      joiningMethod: p.joining,
      // The participant's peer, as the URI form the front ends use for peers (node-<hex>);
      // other foci need it to spread this participant by the selection rule if we fail.
      joiningInfo: { when: new Date(this.init.clock.now()).toISOString(), by: `sip:node-${p.node}@${hostOf(this.init.conferenceUri)}` },
      media: [{ id: '1', type: 'audio', status: 'sendrecv' }],
      callInfo: { callId: p.dialog.id.callId, fromTag: p.dialog.id.remoteTag, toTag: p.dialog.id.localTag },
    };
  }

  /**
   * RFC 3261 §13.3.1.4: the UAS core retransmits its 2xx (T1 doubling to T2) until the ACK;
   * gives up at 64·T1. Over a reliable hop (a peer's TLS connection, TCP) nothing is
   * retransmitted, but the call is still given up without an ACK by then ("the session SHOULD
   * be terminated"): a participant whose ACK went astray would otherwise hold a place forever.
   */
  private retransmit2xx(p: Participant, ok: SipResponse, tx: ServerTransaction): void {
    const info = tx.request.received;
    const started = this.init.clock.now();
    const giveUp = (): boolean => {
      if (this.init.clock.now() - started < 64 * DEFAULT_TIMERS.T1_MS) return false;
      this.init.log.debug('no ACK for the focus 2xx: the call is given up', { participant: p.endpoint });
      this.stats.noAck++;
      void this.bye(p);
      return true;
    };
    if (!info || info.transport !== 'UDP') {
      p.retransmit = this.init.clock.setTimeout(() => {
        if (!p.acked && !this.stopped && this.participants.has(p.dialog.key)) giveUp();
      }, 64 * DEFAULT_TIMERS.T1_MS);
      return;
    }
    let interval = DEFAULT_TIMERS.T1_MS;
    const tick = (): void => {
      if (p.acked || this.stopped || !this.participants.has(p.dialog.key)) return;
      if (giveUp()) return;
      void this.init.frontEnd.endpoint.sendResponse(ok, info).catch(() => undefined);
      interval = Math.min(interval * 2, DEFAULT_TIMERS.T2_MS);
      p.retransmit = this.init.clock.setTimeout(tick, interval);
    };
    p.retransmit = this.init.clock.setTimeout(tick, interval);
  }

  /** An in-dialog request for one of our dialogs (ACK, BYE, re-INVITE, OPTIONS...); tx undefined for an ACK. */
  inDialog(p: Participant, req: SipRequest, tx: ServerTransaction | undefined): void {
    if (req.method === 'ACK') {
      if (!p.acked) this.stats.acks++;
      p.acked = true;
      p.retransmit?.cancel();
      return;
    }
    if (!tx) return;
    const check = p.dialog.acceptRequest(req);
    if (!check.ok) {
      tx.respond(tx.createResponse(500, 'Server Internal Error - CSeq out of order'));
      return;
    }
    switch (req.method) {
      case 'BYE': {
        tx.respond(tx.createResponse(200));
        this.stats.byes++;
        this.drop(p.dialog.key, true);
        return;
      }
      case 'INVITE': {
        // Re-INVITE (RFC 3261 §14.2): a new answer to the new offer (o= version + 1).
        p.sdpVersion++;
        let body: string;
        try {
          body = this.sdp(req.body.length > 0 ? req.bodyText() : undefined, p.sdpVersion, this.nextPort());
        } catch (e) {
          if (!(e instanceof SdpError)) throw e;
          tx.respond(tx.createResponse(488, `Not Acceptable Here - ${e.message}`));
          return;
        }
        const ok = tx.createResponse(200);
        ok.set('Contact', this.contact());
        ok.set('Allow', ALLOW);
        ok.setBody(body, 'application/sdp');
        p.acked = false;
        tx.respond(ok);
        this.retransmit2xx(p, ok, tx);
        return;
      }
      case 'OPTIONS':
      case 'INFO':
      case 'UPDATE': {
        const res = tx.createResponse(200);
        res.set('Allow', ALLOW);
        tx.respond(res);
        return;
      }
      default: {
        const res = tx.createResponse(405, 'Method Not Allowed');
        res.set('Allow', ALLOW);
        tx.respond(res);
      }
    }
  }

  /** Removes a participant (BYE received or sent, or replaced). */
  drop(key: string, notify: boolean): Participant | undefined {
    const p = this.participants.get(key);
    if (!p) return undefined;
    p.retransmit?.cancel();
    this.participants.delete(key);
    this.init.roster.removeEndpoint(p.user, p.endpoint);
    if (notify) this.init.onLoadChange?.();
    return p;
  }

  /** Ends a participant's call from the focus side. */
  async bye(p: Participant): Promise<void> {
    this.drop(p.dialog.key, true);
    const bye = p.dialog.createRequest('BYE');
    try {
      await this.init.frontEnd.endpoint.sendRequest(bye, destinationOf(bye.uri)).finalResponse();
    } catch {
      /* the participant is gone already */
    }
  }

  /**
   * Dial-out (SDCON "re-INVITE on departure"): an INVITE to a participant of a focus that went
   * away, From = the conference URI, Contact = this focus' GRUU with isfocus, Record-Route =
   * this focus' UA-facing address. Resolves true when the participant accepted.
   */
  async reinvite(entity: { user: string; displayName?: string; endpoint: string; node: string }): Promise<boolean> {
    let target: Uri;
    try {
      target = parseUri(entity.endpoint, 'request-uri');
    } catch {
      this.init.log.debug('a participant contact does not parse: not re-INVITEd', { endpoint: entity.endpoint });
      return false;
    }
    const fe = this.init.frontEnd;
    const req = new SipRequest('INVITE', target);
    req.set('From', `<${this.init.conferenceUri}>;tag=${generateTag(cryptoRandom)}`);
    req.set('To', formatNameAddr({ uri: parseUri(entity.user), params: [], ...(entity.displayName ? { displayName: entity.displayName } : {}) }));
    req.set('Call-ID', generateCallId(cryptoRandom, this.address));
    req.set('CSeq', '1 INVITE');
    req.set('Contact', this.contact());
    req.set('Record-Route', `<${formatUri(fe.uaRouteUri('UDP'))}>`);
    req.set('Allow', ALLOW);
    req.set('Allow-Events', 'conference');
    req.setBody(this.sdp(undefined, 1, this.nextPort()), 'application/sdp');
    let res: SipResponse;
    let sent: SipRequest;
    try {
      const ctx = fe.endpoint.sendRequest(req, destinationOf(target));
      sent = ctx.request;
      res = await ctx.finalResponse();
    } catch (e) {
      this.init.log.debug('re-INVITE failed', { endpoint: entity.endpoint, error: (e as Error).message });
      return false;
    }
    if (res.status < 200 || res.status >= 300) return false;
    const dialog = Dialog.asUac(sent, res, this.contact());
    // Our own Record-Route comes back in the 2xx: we are the UAC, not a hop on our route set.
    dialog.routeSet.length = 0;
    const ack = dialog.createAck(1);
    await fe.endpoint.sendStateless(ack, destinationOf(dialog.remoteTarget), { branch: generateBranch(cryptoRandom) }).catch(() => undefined);
    const p: Participant = {
      user: entity.user,
      displayName: entity.displayName,
      endpoint: entity.endpoint,
      node: entity.node,
      dialog,
      joining: 'dialed-out',
      sdpVersion: 1,
      retransmit: undefined,
      acked: true,
    };
    this.add(p, undefined, undefined);
    this.stats.reinvited++;
    return true;
  }

  /** Ends every call (the conference ends here) and stops timers. */
  async stop(sendBye: boolean): Promise<void> {
    this.stopped = true;
    const all = [...this.participants.values()];
    for (const p of all) p.retransmit?.cancel();
    if (sendBye) await Promise.all(all.map((p) => this.bye(p)));
    this.participants.clear();
  }
}

function hostOf(uri: string): string {
  const s = uri.replace(/^sips?:/i, '').split(/[;?]/, 1)[0]!;
  const at = s.lastIndexOf('@');
  return at < 0 ? s : s.slice(at + 1);
}

/** The Node-ID hex in a roster endpoint's joining-info `by` (`sip:node-<hex>@...`), if any. */
export function participantNodeOf(e: Endpoint): string | undefined {
  const m = /^sip:node-([0-9a-f]{32,40})@/i.exec(e.joiningInfo?.by ?? '');
  return m ? m[1]!.toLowerCase() : undefined;
}
