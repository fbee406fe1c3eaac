/**
 * A peer's SIP front end for ordinary SIP user agents (phones that know nothing of
 * RELOAD): a registrar and a transaction-stateful proxy (RFC 3261 §10.3, §16) on UDP and
 * TCP, whose location service is the overlay (RFC 7904).
 *
 * - REGISTER: see registrar.ts (stores the AOR's SIP-REGISTRATION, keyed by the user's
 *   Node-ID, pointing at this peer).
 * - A request for an AOR from a local UA: resolved through the overlay (RFC 7904 §4: GRUU
 *   → its destination list; otherwise Fetch, follow forwarding, de-duplicate), then for
 *   each target an AppAttach (application 5060) along its destination list and a TLS
 *   connection to that peer, authenticated by its certificate (connector.ts), and the
 *   request forwarded over it. Targets ending at this peer are its own UAs. Parallel
 *   forking with RFC 3261 §16.7 response selection; the first 2xx cancels the others.
 * - A request arriving from a peer over such a connection, for an AOR: handed to the UAs
 *   registered here for it (480 when there are none any more).
 * - Record-Route (RFC 3261 §16.6 step 4) on initial INVITE / SUBSCRIBE / REFER / NOTIFY, two
 *   entries when the request changes transport (RFC 5658), so in-dialog requests (ACK,
 *   BYE, re-INVITE) come back through both peers; the peer-facing entry names this peer's
 *   Node-ID (`sip:node-<hex>@host:port;transport=tls;lr`), so a peer reaches it over the
 *   authenticated connection, or a new one by AppAttach to that Node-ID.
 * - A UA that ignores the route set (stock `sipp -sn uac` sends ACK and BYE to the initial
 *   Request-URI, To tag, no Route): its in-dialog requests are steered to the remote target
 *   along the rest of the route set of the dialog this front end carried (dialog-memory.ts).
 * - CANCEL (hop by hop, RFC 3261 §9.2, §16.10), ACK for 2xx forwarded statelessly
 *   (§16.11), 2xx retransmissions forwarded by the client transactions (RFC 6026), stray
 *   responses dropped (RFC 6026 §7.3.1: a proxy does not forward them).
 * - Malformed input: the endpoint answers 400 or drops (RFC 3261 §8.2, §18.3); a request
 *   that parses but fails later checks gets 400 naming the header; nothing ends the socket.
 *
 * - Usages claim requests for URIs they serve with addRequestHandler (e.g. the DisCo focus
 *   its conference URIs): asked for every request left without Route, they answer it
 *   themselves or name the peers to proxy it to.
 *
 * Domains outside the overlay (RFC 7904 §4.1 step 3) get 404: the front end does no DNS
 * (RFC 3263). A Request-URI with an IP address is forwarded to it directly (the remote
 * target of an in-dialog request).
 */
import { createHash } from 'node:crypto';
import { createSocket } from 'node:dgram';
import { isIP } from 'node:net';
import type { Logger } from '../../src/common/log.js';
import { cryptoRandom } from '../../src/common/random.js';
import type { TimerHandle } from '../../src/common/clock.js';
import type { UsageApi } from '../../src/node/usage.js';
import type { Credentials } from '../../src/security/credentials.js';
import { DecodeError, bytesEqual, fromHex, toHex } from '../../src/wire/codec.js';
import type { Destination } from '../../src/wire/destination.js';
import { BindingTable, type ContactBinding } from './bindings.js';
import { DEFAULT_ATTACH_WAIT_MS, PeerConnector, SipConnectError, advertisedHost } from './connector.js';
import { DEFAULT_DIALOG_IDLE_S, DialogMemory } from './dialog-memory.js';
import type { DomainPolicy } from './domain.js';
import { decodeGruuParam, gruuUri } from './gruu.js';
import { type HeldIdentity, Registrar, aorKey, aorKeyOfName, contactPrefsOf, reasonText } from './registrar.js';
import { SIP_REGISTRATION_KIND, encodeSipRegistration } from './registration.js';
import { type RegistrationTarget, type ResolveOptions, resolveAor } from './resolver.js';
import {
  type ClientTransaction,
  type InviteServerTransaction,
  MAGIC_COOKIE,
  type ServerTransaction,
  type SipDestination,
  SipEndpoint,
  type SipEndpointInit,
  SipParseError,
  type SipRequest,
  type SipResponse,
  SipStackError,
  type SipTimerValues,
  type SipUri,
  type Uri,
  addRecordRoute,
  badRequestReason,
  decrementMaxForwards,
  destinationOf,
  effectivePort,
  formatUri,
  getUriParam,
  prepareForward,
  preprocessRoute,
  uasPrecheck,
  viaBranch,
} from './stack/index.js';

export interface SipFrontEndOptions {
  /** Where user agents reach the front end: UDP and TCP on this host and port (`--sip HOST:PORT`). */
  host: string;
  port: number;
  /** TLS port for other peers' SIP connections (same host). @default 0 (any free port) */
  peerPort?: number;
  /** Address written into Via, Record-Route and AppAttach candidates. @default the bind host (an interface address for a wildcard bind) */
  advertiseHost?: string;
  /** Identities besides the peer's own whose AORs this front end registers (`--sip-user DIR`). */
  users?: readonly Credentials[];
  /** Registration intervals, seconds (RFC 3261 §10.2.1.1, §10.3 step 7). @default 3600, 3600, 1 */
  defaultExpiresS?: number;
  maxExpiresS?: number;
  minExpiresS?: number;
  /** Forwarding depth and fork limit of AOR resolution. */
  resolve?: ResolveOptions;
  /** How long to wait for an AppAttach answerer's connection before dialling it, ms. @default 1500 */
  attachWaitMs?: number;
  /** SIP timers T1, T2, T4, ms. */
  timers?: Partial<SipTimerValues>;
  /** Timer C (RFC 3261 §16.6 step 11): a ringing INVITE branch is cancelled after this, ms. @default 180000 */
  inviteTimeoutMs?: number;
  /**
   * Answer user agents at the address and port their request came from, as RFC 3581
   * (rport) does, even when they did not ask for it: phones behind NAT, and clients whose
   * Via names an address they do not listen on. false: RFC 3261 §18.2.2 routing by the Via.
   * @default true
   */
  symmetricResponses?: boolean;
  /** How long a dialog carried for a UA is remembered without a request of it passing, s (dialog-memory.ts). @default 7200 */
  dialogIdleS?: number;
}

/** Counters for the status page and tests. */
export interface SipFrontEndStats {
  requests: number;
  registrations: number;
  forwarded: number;
  resolved: number;
  notFound: number;
  malformed: number;
  peerConnections: number;
}

/** Methods whose 2xx creates a dialog: their initial requests are record-routed. */
const DIALOG_CREATING = new Set(['INVITE', 'SUBSCRIBE', 'REFER', 'NOTIFY']);
const ALLOW = 'INVITE, ACK, CANCEL, BYE, OPTIONS, REGISTER, PRACK, SUBSCRIBE, NOTIFY, REFER, MESSAGE, INFO, UPDATE';
const NODE_USER = /^node-([0-9a-f]{32,40})$/i;
/** How long stop() waits for its registrations to be removed from the overlay, ms. */
const STOP_UNREGISTER_MS = 2000;

type Iface = 'UDP' | 'TCP' | 'TLS';

/** Where a branch goes: a peer by Node-ID (over its SIP connection), or an address. */
export type Hop = { kind: 'peer'; nodeId: Uint8Array; destinations: Destination[] } | { kind: 'direct'; dest: SipDestination };

interface BranchTarget {
  requestUri: Uri;
  hop: Hop;
  /** false: this front end does not stay on the dialog's path (no Record-Route, RFC 3261 §16.6 step 4). */
  recordRoute?: boolean;
}

/**
 * What a usage's request handler decides for a request it claims (see
 * {@link SipFrontEnd.addRequestHandler}): it answered (or will answer) the request itself as a
 * UAS, or the front end is to proxy it to these peers (over their authenticated SIP
 * connections, AppAttach when needed).
 */
export type RequestClaim =
  | { action: 'handled' }
  | { action: 'forward'; targets: { nodeId: Uint8Array; destinations?: Destination[]; requestUri?: Uri; recordRoute?: boolean }[] };

/** Where a claimed request came from: a UA (UDP/TCP) or a peer (TLS, with its certificate's Node-IDs). */
export interface RequestOrigin {
  transport: Iface;
  /** Node-IDs of the peer's certificate, for requests from a peer. */
  peer: Uint8Array[] | undefined;
}

/**
 * A usage's hook for requests whose Request-URI it serves (e.g. a conference URI): called for
 * every request with no Route left after this front end's own entries are removed (`tx`
 * undefined for an ACK of a 2xx); undefined lets the front end route it as usual.
 */
export type RequestHandler = (req: SipRequest, tx: ServerTransaction | undefined, origin: RequestOrigin) => RequestClaim | undefined | Promise<RequestClaim | undefined>;

/** A refusal decided while routing: sent upstream with this status and reason. */
class Refusal extends Error {
  readonly reason: string;
  constructor(
    readonly status: number,
    reason: string,
    readonly headers: { name: string; value: string }[] = [],
  ) {
    super(`${status} ${reason}`);
    this.reason = reasonText(reason);
  }
}

export class SipFrontEnd {
  readonly bindings: BindingTable;
  readonly connector: PeerConnector;
  readonly registrar: Registrar;
  readonly stats: SipFrontEndStats = { requests: 0, registrations: 0, forwarded: 0, resolved: 0, notFound: 0, malformed: 0, peerConnections: 0 };
  /** Identities whose AORs may be registered here, by AOR. */
  readonly identities = new Map<string, HeldIdentity>();
  private readonly log: Logger;
  private readonly host: string;
  private stopped = false;
  private readonly contexts = new Set<ProxyContext>();
  private readonly handlers: RequestHandler[] = [];
  /** Dialogs proxied for this front end's UAs, to steer in-dialog requests that ignore the route set. */
  private readonly dialogs: DialogMemory;

  private constructor(
    readonly api: UsageApi,
    readonly endpoint: SipEndpoint,
    readonly options: SipFrontEndOptions,
    readonly domains: DomainPolicy,
  ) {
    this.log = api.log;
    this.host = options.advertiseHost ?? advertisedHost(options.host);
    const own = api.userName;
    if (own !== undefined) this.identities.set(aorKeyOfName(own), { aor: own, nodeId: api.nodeId });
    for (const c of options.users ?? []) {
      const cert = api.checkCertificate(c.certificate.der);
      const aor = cert.userName;
      if (aor === undefined) throw new Error('a --sip-user identity has no user name in its certificate');
      this.identities.set(aorKeyOfName(aor), { aor, nodeId: c.nodeId, credentials: c });
    }
    this.bindings = new BindingTable(api.clock);
    this.dialogs = new DialogMemory(api.clock, (options.dialogIdleS ?? DEFAULT_DIALOG_IDLE_S) * 1000);
    this.connector = new PeerConnector({
      api,
      endpoint,
      log: this.log,
      advertiseHost: this.host,
      attachWaitMs: options.attachWaitMs ?? DEFAULT_ATTACH_WAIT_MS,
    });
    this.registrar = new Registrar({
      clock: api.clock,
      log: this.log,
      bindings: this.bindings,
      identities: this.identities,
      domains,
      ...(options.defaultExpiresS !== undefined ? { defaultExpiresS: options.defaultExpiresS } : {}),
      ...(options.maxExpiresS !== undefined ? { maxExpiresS: options.maxExpiresS } : {}),
      ...(options.minExpiresS !== undefined ? { minExpiresS: options.minExpiresS } : {}),
      publish: (identity, bindings) => this.publish(identity, bindings),
      gruuOf: (aor) => this.gruuOf(aor),
    });
  }

  /** Binds the UA listeners (UDP, TCP) and the peer listener (TLS), and answers AppAttach for SIP. */
  static async start(api: UsageApi, options: SipFrontEndOptions, domains: DomainPolicy): Promise<SipFrontEnd> {
    const tlsMaterial = api.tlsCredentials();
    const host = options.advertiseHost ?? advertisedHost(options.host);
    const endpoint = await bindSharedPort(options.host, options.port, (port) => ({
      clock: api.clock,
      random: cryptoRandom,
      udp: { host: options.host, port },
      tcp: { host: options.host, port },
      tls: {
        host: options.host,
        port: options.peerPort ?? 0,
        certificate: tlsMaterial.certificate,
        privateKey: tlsMaterial.privateKey,
        ca: tlsMaterial.ca,
        verifyPeer: (der) => void api.checkCertificate(der),
      },
      viaHost: host,
      forceRport: options.symmetricResponses ?? true,
      ...(options.timers ? { timers: options.timers } : {}),
      // A proxy: CANCEL is passed on, 2xx retransmissions come from the UAS.
      autoRespondToCancel: false,
      retransmit2xx: false,
    }));
    let fe: SipFrontEnd;
    try {
      fe = new SipFrontEnd(api, endpoint, options, domains);
    } catch (e) {
      await endpoint.stop();
      throw e;
    }
    fe.wire();
    return fe;
  }

  private wire(): void {
    const ep = this.endpoint;
    ep.on('request', (req, tx) => this.onRequest(req, tx));
    ep.on('malformed', (m) => {
      this.stats.malformed++;
      this.log.debug('malformed SIP message', { error: m.error.message, from: `${m.info.source.host}:${m.info.source.port}`, answered: m.response?.status });
    });
    ep.on('dropped', (d) => this.log.debug('SIP message dropped', { reason: d.reason }));
    ep.on('strayResponse', (r) => this.log.debug('stray SIP response dropped', { status: r.status }));
    ep.on('error', (e) => this.log.debug('SIP endpoint error', { error: e.message }));
    ep.on('connection', (c) => {
      if (c.transport === 'TLS') this.stats.peerConnections++;
    });
    this.connector.install();
  }

  /** The UDP/TCP address user agents use. */
  get uaAddress(): { host: string; port: number } {
    return { host: this.host, port: this.endpoint.udpAddress!.port };
  }

  /** Whether a URI names a user at this front end's user-agent address (sip:alice@HOST:PORT). */
  private isOwnUaUserUri(uri: Uri): uri is SipUri & { user: string } {
    if (uri.kind !== 'sip' || uri.user === undefined || this.peerNodeOf(uri)) return false;
    const host = bare(uri.host).toLowerCase();
    const port = effectivePort(uri);
    return port === this.uaAddress.port && (host === bare(this.host).toLowerCase() || host === bare(this.options.host).toLowerCase());
  }

  /** How many dialogs carried for UAs are remembered (dialog-memory.ts). */
  get dialogCount(): number {
    return this.dialogs.size;
  }

  /**
   * A final response to a request this front end proxied: a 2xx to an initial request from a
   * UA (UDP/TCP; peers follow route sets) is remembered as a dialog, a BYE's or a 481/408
   * ends one.
   */
  noteFinal(req: SipRequest, res: SipResponse | undefined, status: number): void {
    if (req.toTag() !== undefined) return this.dialogs.finalFor(req, status);
    if (res && status >= 200 && status < 300 && DIALOG_CREATING.has(req.method) && req.received?.transport !== 'TLS') {
      this.dialogs.remember(req, res, (u) => this.isOwnUri(u));
    }
  }

  /** The TLS address of peer connections. */
  get peerAddress(): { host: string; port: number } {
    return { host: this.host, port: this.endpoint.tlsAddress!.port };
  }

  /** The public GRUU of an AOR registered here (RFC 7904 §6): its destination list is this peer. */
  gruuOf(aor: string): string {
    return gruuUri(aor, [{ type: 'node', id: this.api.nodeId }]);
  }

  /** Removes this front end's registrations from the overlay (best effort), then closes the sockets. */
  async stop(): Promise<void> {
    if (this.stopped) return;
    this.stopped = true;
    const aors = this.bindings.aors();
    const removals = Promise.all(
      aors.map(async (aor) => {
        const id = this.identities.get(aorKeyOfName(aor));
        if (!id) return;
        try {
          await this.publish(id, []);
        } catch (e) {
          this.log.debug('removing a SIP registration on stop failed', { aor, error: (e as Error).message });
        }
      }),
    );
    // Bounded: a peer stopping with the overlay already gone must not hang here.
    let timer: TimerHandle | undefined;
    await Promise.race([removals, new Promise<void>((r) => (timer = this.api.clock.setTimeout(r, STOP_UNREGISTER_MS)))]);
    timer?.cancel();
    this.bindings.clear();
    this.dialogs.clear();
    for (const c of this.contexts) c.dispose();
    await this.endpoint.stop();
  }

  /**
   * Lets a usage claim requests (e.g. the DisCo focus its conference URIs): handlers are asked
   * in the order added; the first that returns a claim wins. Returns a function removing it.
   */
  addRequestHandler(handler: RequestHandler): () => void {
    this.handlers.push(handler);
    return () => {
      const i = this.handlers.indexOf(handler);
      if (i >= 0) this.handlers.splice(i, 1);
    };
  }

  /** The URI this front end record-routes with on a UA-facing interface (UDP or TCP). */
  uaRouteUri(transport: 'UDP' | 'TCP' = 'UDP'): SipUri {
    return this.routeUri(transport);
  }

  /** Asks the usages' handlers; true when one claimed the request (and acted on it). */
  private async claimed(req: SipRequest, tx: ServerTransaction | undefined): Promise<boolean> {
    if (this.handlers.length === 0) return false;
    const transport: Iface = req.received?.transport ?? 'UDP';
    const cid = req.received?.connectionId;
    const origin: RequestOrigin = { transport, peer: transport === 'TLS' && cid ? this.connector.nodeIdsOf(cid) : undefined };
    for (const h of this.handlers) {
      const claim = await h(req, tx, origin);
      if (!claim) continue;
      if (claim.action === 'forward') {
        if (!tx) {
          // An ACK for a 2xx: stateless, to the first target (RFC 3261 §16.11).
          const t = claim.targets[0];
          if (!t) return true;
          const dest = await this.destinationFor({ kind: 'peer', nodeId: t.nodeId, destinations: t.destinations ?? [{ type: 'node', id: t.nodeId }] });
          const copy = req.clone();
          delete copy.received;
          if (copy.maxForwards() === 0) return true;
          decrementMaxForwards(copy);
          const branch = MAGIC_COOKIE + createHash('sha256').update(`${viaBranch(req.topVia()!) ?? ''}|${toHex(this.api.nodeId)}|claimed`).digest('hex').slice(0, 24);
          await this.endpoint.sendStateless(copy, dest, { branch });
          return true;
        }
        this.checkMaxForwards(req);
        const ctx = req.method === 'INVITE' ? this.track(req, tx as InviteServerTransaction) : undefined;
        const targets: BranchTarget[] = claim.targets.map((t) => ({
          requestUri: t.requestUri ?? req.uri,
          hop: { kind: 'peer', nodeId: t.nodeId, destinations: t.destinations ?? [{ type: 'node', id: t.nodeId }] },
          ...(t.recordRoute === false ? { recordRoute: false } : {}),
        }));
        this.forward(req, tx, targets, ctx);
      }
      return true;
    }
    return false;
  }

  // --------------------------------------------------------------------------- registrations

  /** Stores (or, with no bindings, removes) an AOR's SIP-REGISTRATION (RFC 7904 §3). */
  private async publish(identity: HeldIdentity, bindings: readonly ContactBinding[]): Promise<void> {
    const now = this.api.clock.now();
    const as = identity.credentials ? { as: identity.credentials } : {};
    if (bindings.length === 0) {
      await this.api.store(identity.aor, SIP_REGISTRATION_KIND, [{ model: 'dictionary', key: identity.nodeId, value: new Uint8Array(0), exists: false }], {
        lifetimeS: 300,
        ...as,
      });
      return;
    }
    const lifetimeS = Math.max(1, Math.ceil((Math.max(...bindings.map((b) => b.expiresAt)) - now) / 1000));
    const value = encodeSipRegistration({
      type: 'route',
      contactPrefs: contactPrefsOf(bindings),
      destinations: [{ type: 'node', id: this.api.nodeId }],
    });
    await this.api.store(identity.aor, SIP_REGISTRATION_KIND, [{ model: 'dictionary', key: identity.nodeId, value }], { lifetimeS, ...as });
    this.stats.registrations++;
  }

  // --------------------------------------------------------------------------- requests

  private onRequest(req: SipRequest, tx: ServerTransaction | undefined): void {
    if (this.stopped) return;
    this.stats.requests++;
    const work = tx ? this.process(req, tx) : this.forwardAck(req);
    work.catch((e: unknown) => this.failed(req, tx, e));
  }

  /** A request the routing code could not handle: 400 for what does not parse, else 500. */
  private failed(req: SipRequest, tx: ServerTransaction | undefined, e: unknown): void {
    if (!tx) {
      this.log.debug('ACK not forwarded', { error: (e as Error)?.message });
      return;
    }
    if (e instanceof Refusal) return respondSafely(tx, withHeaders(tx.createResponse(e.status, e.reason), e.headers));
    if (e instanceof SipParseError) {
      this.stats.malformed++;
      return respondSafely(tx, tx.createResponse(400, badRequestReason(e)));
    }
    this.log.warn('SIP request failed', { method: req.method, error: (e as Error)?.stack ?? String(e) });
    respondSafely(tx, tx.createResponse(500, 'Server Internal Error'));
  }

  private async process(req: SipRequest, tx: ServerTransaction): Promise<void> {
    // The headers routing relies on must parse (From and To are checked by the parser).
    req.vias();
    req.routes();
    // §16.4: route information preprocessing.
    preprocessRoute(req, (u) => this.isOwnUri(u));
    while (req.has('Route') && this.isOwnUri(req.routes()[0]!.uri)) req.removeFirst('Route');
    // An in-dialog request of a dialog carried for this UA, sent without the route set (stock
    // sipp uac): to the remote target along the route set (dialog-memory.ts).
    if (req.toTag() !== undefined) this.dialogs.steer(req);
    // A Request-URI naming a user at this front end's own address (sip:alice@127.0.0.1:5060,
    // what `sipp -sn uac -s alice 127.0.0.1:5060` sends) stands for that user in the overlay's
    // own domain: a proxy decides which domains it is responsible for (RFC 3261 §16.4, §16.5),
    // and its own address is one of them. Retargeted here, before the usages' handlers (a
    // conference URI) and the lookup; left alone it would be "forwarded" to itself until 483.
    if (!req.has('Route') && req.method !== 'REGISTER' && this.isOwnUaUserUri(req.uri)) {
      req.uri = aorUri(aorKeyOfName(`${req.uri.user}@${this.domains.overlayDomain}`));
    }
    if (!req.has('Route') && (await this.claimed(req, tx))) return;

    const forUs = !req.has('Route') && (req.method === 'REGISTER' || (this.isOwnUri(req.uri) && !this.peerNodeOf(req.uri)));
    if (forUs) return this.asUas(req, tx);
    // RFC 3261 §16.3 step 5: Proxy-Require names extensions a proxy must support (none here).
    const proxyRequire = req.optionTags('Proxy-Require');
    if (proxyRequire.length > 0) throw new Refusal(420, 'Bad Extension', [{ name: 'Unsupported', value: proxyRequire.join(', ') }]);
    const ctx = req.method === 'INVITE' ? this.track(req, tx as InviteServerTransaction) : undefined;
    if (req.has('Route')) {
      // Loose routing to the next element of the route set (an in-dialog request).
      this.checkMaxForwards(req);
      const top = req.routes()[0]!.uri;
      return this.forward(req, tx, [{ requestUri: req.uri, hop: this.hopFor(top) }], ctx);
    }
    if (req.uri.kind !== 'sip') throw new Refusal(416, 'Unsupported URI Scheme');
    const uri = req.uri;
    this.checkMaxForwards(req);
    const targets = await this.targetsFor(req, uri, req.received?.transport ?? 'UDP');
    return this.forward(req, tx, targets, ctx);
  }

  /** Requests for the front end itself: REGISTER and OPTIONS (RFC 3261 §8.2, §10.3, §11.2). */
  private async asUas(req: SipRequest, tx: ServerTransaction): Promise<void> {
    const rejection = uasPrecheck(req, { methods: ['REGISTER', 'OPTIONS', 'ACK', 'CANCEL'], contentTypes: [] });
    if (rejection) {
      const res = tx.createResponse(rejection.status, rejection.reason);
      for (const h of rejection.headers) res.append(h.name, h.value);
      tx.respond(res);
      return;
    }
    if (req.method === 'REGISTER') return this.registrar.handle(req, tx);
    const res = tx.createResponse(200);
    res.set('Allow', ALLOW);
    res.set('Accept', 'application/sdp');
    tx.respond(res);
  }

  private checkMaxForwards(req: SipRequest): void {
    // §16.3 step 3.
    if (req.maxForwards() === 0) throw new Refusal(483, 'Too Many Hops');
  }

  /** The branches of a request for a Request-URI (no Route left). */
  private async targetsFor(req: SipRequest, uri: SipUri, inbound: Iface): Promise<BranchTarget[]> {
    if (inbound === 'TLS') {
      // From a peer that resolved the AOR to us (or an in-dialog request's remote target).
      const aor = aorKey(withoutGruu(uri));
      const local = this.bindings.get(aor);
      if (local.length > 0) return local.map((b) => this.contactTarget(b));
      if (isIP(bare(uri.host))) return [{ requestUri: uri, hop: this.addressHop(uri) }];
      throw new Refusal(480, `Temporarily Unavailable - ${aor} has no contact at this peer`);
    }
    const gr = getUriParam(uri, 'gr');
    if (gr !== undefined) {
      // RFC 7904 §4.1 step 1: a GRUU of this overlay, contacted without a Fetch.
      let destinations: Destination[];
      try {
        if (gr === null) throw new DecodeError('GRUU', 'gr', 'value', 0, 'empty');
        destinations = decodeGruuParam(gr);
      } catch (e) {
        throw new Refusal(404, `Not Found - not a GRUU of this overlay (${(e as Error).message.slice(0, 60)})`);
      }
      return this.branchesFor([{ destinations, contactPrefs: '', aors: [aorKey(withoutGruu(uri))], gruu: true }], uri);
    }
    if (isIP(bare(uri.host))) return [{ requestUri: uri, hop: this.addressHop(uri) }];
    const aor = aorKey(uri);
    if (!this.domains.allowsAor(aor)) throw new Refusal(404, `Not Found - the domain of ${aor} is not served by this overlay`);
    let resolution;
    try {
      resolution = await resolveAor(this.api, aor, this.options.resolve);
    } catch (e) {
      this.log.debug('resolving an AOR failed', { aor, error: (e as Error).message });
      throw new Refusal(503, 'Service Unavailable - the overlay lookup failed', [{ name: 'Retry-After', value: '5' }]);
    }
    this.stats.resolved++;
    if (resolution.targets.length === 0) {
      this.stats.notFound++;
      throw new Refusal(404, `Not Found - ${aor} is not registered in the overlay`);
    }
    const branches = this.branchesFor(resolution.targets, uri);
    if (branches.length === 0) throw new Refusal(480, `Temporarily Unavailable - ${aor} has no contact reachable now`);
    return branches;
  }

  /** Resolved targets as branches: this peer's own UAs, or the peer at the end of the list. */
  private branchesFor(targets: readonly RegistrationTarget[], uri: SipUri): BranchTarget[] {
    const out: BranchTarget[] = [];
    for (const t of targets) {
      const last = t.destinations[t.destinations.length - 1];
      const finalAor = t.aors[t.aors.length - 1]!;
      // Retarget to the AOR a forwarding chain ended at (RFC 7904 §3.2 sip_registration_uri).
      const requestUri: SipUri = t.gruu || t.aors.length === 1 ? uri : aorUri(finalAor);
      if (last?.type === 'node' && bytesEqual(last.id, this.api.nodeId)) {
        for (const b of this.bindings.get(aorKeyOfName(finalAor))) out.push(this.contactTarget(b));
        continue;
      }
      if (last?.type !== 'node') continue; // not a peer that can be authenticated (RFC 7904 §5.1)
      out.push({ requestUri, hop: { kind: 'peer', nodeId: last.id, destinations: t.destinations } });
    }
    return out;
  }

  private contactTarget(b: ContactBinding): BranchTarget {
    const viaTcp = b.received?.transport === 'TCP';
    const dest = destinationOf(b.contact.uri, viaTcp ? 'TCP' : 'UDP');
    if (viaTcp && dest.transport === 'TCP' && b.received?.connectionId) dest.connectionId = b.received.connectionId;
    return { requestUri: b.contact.uri, hop: { kind: 'direct', dest } };
  }

  /** The hop a Route or Request-URI names: a peer's Node-ID URI, or an address. */
  private hopFor(uri: Uri): Hop {
    const node = this.peerNodeOf(uri);
    if (node) return { kind: 'peer', nodeId: node, destinations: [{ type: 'node', id: node }] };
    return uri.kind === 'sip' ? this.addressHop(uri) : { kind: 'direct', dest: destinationOf(uri) };
  }

  /**
   * The hop to an address URI (a remote target, e.g. of an in-dialog request). When it is the
   * Contact of a UA registered here, over the flow that UA registered on (transport and TCP
   * connection, as RFC 5626 §5.3 does): a phone registering over TCP often writes a Contact
   * without `transport=tcp`, which by RFC 3263 alone would mean UDP, where it does not listen.
   */
  private addressHop(uri: SipUri): Hop {
    for (const aor of this.bindings.aors()) {
      const b = this.bindings.find(aor, uri);
      if (b) return this.contactTarget(b).hop;
    }
    return { kind: 'direct', dest: destinationOf(uri) };
  }

  private peerNodeOf(uri: Uri): Uint8Array | undefined {
    if (uri.kind !== 'sip' || uri.user === undefined) return undefined;
    const m = NODE_USER.exec(uri.user);
    if (!m || (getUriParam(uri, 'transport') ?? '').toLowerCase() !== 'tls') return undefined;
    return fromHex(m[1]!.toLowerCase());
  }

  /** Whether a URI names this front end (any of its listeners). */
  private isOwnUri(uri: Uri): boolean {
    if (uri.kind !== 'sip') return false;
    const host = bare(uri.host).toLowerCase();
    if (host !== this.host.toLowerCase() && host !== bare(this.options.host).toLowerCase()) return false;
    const port = effectivePort(uri);
    return port === this.endpoint.udpAddress?.port || port === this.endpoint.tcpAddress?.port || port === this.endpoint.tlsAddress?.port;
  }

  /** This front end's Record-Route URI on an interface. */
  private routeUri(iface: Iface): SipUri {
    if (iface === 'TLS') {
      return {
        kind: 'sip',
        scheme: 'sip',
        user: `node-${toHex(this.api.nodeId)}`,
        host: this.host,
        port: this.endpoint.tlsAddress!.port,
        params: [{ name: 'transport', value: 'tls' }, { name: 'lr', value: null }],
        headers: [],
      };
    }
    const params = iface === 'TCP' ? [{ name: 'transport', value: 'tcp' }, { name: 'lr', value: null }] : [{ name: 'lr', value: null }];
    return { kind: 'sip', scheme: 'sip', host: this.host, port: this.endpoint.udpAddress!.port, params, headers: [] };
  }

  /** Where a hop's messages go: an address, or the peer's authenticated SIP connection. */
  async destinationFor(hop: Hop): Promise<SipDestination> {
    if (hop.kind === 'direct') return hop.dest;
    const conn = this.connector.existing(hop.nodeId) ?? (await this.connector.connect(hop.destinations));
    return { transport: 'TLS', host: conn.remote.host, port: conn.remote.port, connectionId: conn.id };
  }

  // --------------------------------------------------------------------------- forwarding

  private track(req: SipRequest, tx: InviteServerTransaction): ProxyContext {
    const ctx = new ProxyContext(this, req, tx);
    this.contexts.add(ctx);
    tx.on('cancelled', () => ctx.cancel());
    tx.on('terminated', () => {
      ctx.dispose();
      this.contexts.delete(ctx);
    });
    return ctx;
  }

  /** Forwards a request to its branches (RFC 3261 §16.6) with a response context (§16.7). */
  private forward(req: SipRequest, tx: ServerTransaction, targets: BranchTarget[], invite?: ProxyContext): void {
    const ctx = invite ?? new ProxyContext(this, req, tx);
    if (!invite) {
      this.contexts.add(ctx);
      tx.on('terminated', () => {
        ctx.dispose();
        this.contexts.delete(ctx);
      });
    }
    ctx.fork(targets);
  }

  /** The copy of `req` for one branch (§16.6 steps 1-7), record-routed when it starts a dialog. */
  buildBranchRequest(req: SipRequest, target: BranchTarget, out: Iface): SipRequest {
    const { request } = prepareForward(req, { target: target.requestUri });
    if (DIALOG_CREATING.has(req.method) && req.toTag() === undefined && target.recordRoute !== false) {
      const inbound: Iface = req.received?.transport ?? 'UDP';
      // RFC 5658: the entry facing the upstream side first, the downstream-facing one on top.
      addRecordRoute(request, this.routeUri(inbound));
      if (out !== inbound) addRecordRoute(request, this.routeUri(out));
    }
    return request;
  }

  /** Sends one branch: the request through a new client transaction. */
  sendBranch(request: SipRequest, dest: SipDestination): ClientTransaction {
    this.stats.forwarded++;
    return this.endpoint.sendRequest(request, dest);
  }

  /** §16.11: the ACK for a 2xx, forwarded statelessly along its route set. */
  private async forwardAck(ack: SipRequest): Promise<void> {
    const copy = ack.clone();
    delete copy.received;
    preprocessRoute(copy, (u) => this.isOwnUri(u));
    while (copy.has('Route') && this.isOwnUri(copy.routes()[0]!.uri)) copy.removeFirst('Route');
    // As in process(): the ACK of a remembered dialog sent without the route set, and a user at
    // this front end's own address (the ACK of a focus' 2xx from stock sipp uac).
    this.dialogs.steer(copy);
    if (!copy.has('Route') && this.isOwnUaUserUri(copy.uri)) copy.uri = aorUri(aorKeyOfName(`${copy.uri.user}@${this.domains.overlayDomain}`));
    let hop: Hop;
    if (copy.has('Route')) hop = this.hopFor(copy.routes()[0]!.uri);
    else if (await this.claimed(copy, undefined)) return;
    else if (this.isOwnUri(copy.uri) || copy.uri.kind !== 'sip') return;
    else hop = this.hopFor(copy.uri);
    if (copy.maxForwards() === 0) return;
    decrementMaxForwards(copy);
    const dest = await this.destinationFor(hop);
    // A stateless branch is a function of the incoming one, so retransmissions match (§16.11).
    const incoming = viaBranch(ack.topVia()!) ?? formatUri(ack.uri);
    const branch = MAGIC_COOKIE + createHash('sha256').update(`${incoming}|${toHex(this.api.nodeId)}`).digest('hex').slice(0, 24);
    await this.endpoint.sendStateless(copy, dest, { branch });
  }
}

/**
 * The response context of one forwarded request (RFC 3261 §16.7): its branches, the best
 * final response so far, CANCEL handling (§16.10) and Timer C (§16.6 step 11).
 */
class ProxyContext {
  private readonly branches: Branch[] = [];
  private finalSent = false;
  private got2xx = false;
  cancelled = false;

  constructor(
    private readonly fe: SipFrontEnd,
    readonly request: SipRequest,
    readonly tx: ServerTransaction,
  ) {}

  fork(targets: BranchTarget[]): void {
    if (this.finalSent) return;
    for (const t of targets) this.branches.push(new Branch(this, t));
    for (const b of this.branches) {
      b.start().catch((e: unknown) => {
        this.fe.api.log.warn('SIP branch failed', { error: (e as Error)?.stack ?? String(e) });
        b.abort();
      });
    }
  }

  /** Upstream CANCEL (§16.10): cancel every pending branch; 487 once they are done. */
  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    if (this.branches.length === 0) {
      this.sendFinal(undefined, 487, 'Request Terminated');
      return;
    }
    for (const b of this.branches) b.cancel('');
    this.complete();
  }

  onProvisional(_branch: Branch, res: SipResponse): void {
    if (res.status === 100 || this.finalSent || this.got2xx) return;
    const out = stripOwnVia(res);
    if (out && this.tx.state === 'proceeding') respondSafely(this.tx, out);
  }

  onFinal(branch: Branch, res: SipResponse | undefined, status: number, reason: string): void {
    this.fe.noteFinal(this.request, res, status);
    if (res && status >= 200 && status < 300) {
      // §16.7 step 5: every 2xx is forwarded at once (also retransmissions, other forks).
      const out = stripOwnVia(res);
      if (out) {
        if (this.tx.state === 'proceeding' || this.tx.state === 'accepted' || this.tx.state === 'trying') respondSafely(this.tx, out);
        else void this.fe.endpoint.sendResponse(out, this.tx.request.received).catch(() => undefined);
      }
      this.finalSent = true;
      if (!this.got2xx) {
        this.got2xx = true;
        // §16.7 step 10: a 2xx cancels the other branches.
        for (const b of this.branches) if (b !== branch) b.cancel('SIP;cause=200;text="Call completed elsewhere"');
      }
      return;
    }
    if (res && status >= 600) {
      // §16.7 step 6 / §16.10: a 6xx ends the search.
      for (const b of this.branches) if (b !== branch) b.cancel('');
    }
    this.complete();
  }

  /** §16.7 step 6: once every branch has its final response, send the best one. */
  complete(): void {
    if (this.finalSent || this.got2xx) return;
    if (!this.branches.every((b) => b.final)) return;
    if (this.cancelled) {
      const c = this.branches.find((b) => b.final!.status === 487 && b.final!.response);
      this.sendFinal(c?.final!.response, 487, 'Request Terminated');
      return;
    }
    const finals = this.branches.map((b) => b.final!);
    const six = finals.find((f) => f.status >= 600);
    const classOf = (s: number): number => Math.floor(s / 100);
    const best =
      six ??
      finals.reduce((a, b) => {
        if (classOf(b.status) !== classOf(a.status)) return classOf(b.status) < classOf(a.status) ? b : a;
        // Within a class, a real response beats one the proxy made up (408, 503, 480).
        return !a.response && b.response ? b : a;
      });
    // §16.7 step 6: a 503 (received, or a transport error, §16.9) is not passed on: 500 instead.
    if (best.status === 503) this.sendFinal(undefined, 500, 'Server Internal Error - the next hop is unavailable');
    else this.sendFinal(best.response, best.status, best.reason);
  }

  private sendFinal(response: SipResponse | undefined, status: number, reason: string): void {
    if (this.finalSent) return;
    this.finalSent = true;
    const out = response ? stripOwnVia(response) : undefined;
    respondSafely(this.tx, out ?? this.tx.createResponse(status, reason));
  }

  dispose(): void {
    for (const b of this.branches) b.dispose();
  }

  get frontEnd(): SipFrontEnd {
    return this.fe;
  }
}

/** One branch of a forwarded request (RFC 3261 §16.6). */
class Branch {
  final: { status: number; reason: string; response?: SipResponse } | undefined;
  private clientTx: ClientTransaction | undefined;
  private dest: SipDestination | undefined;
  private provisional = false;
  private cancelReason: string | undefined;
  private timerC: TimerHandle | undefined;

  constructor(
    private readonly ctx: ProxyContext,
    private readonly target: BranchTarget,
  ) {}

  async start(): Promise<void> {
    const fe = this.ctx.frontEnd;
    let dest: SipDestination;
    try {
      dest = await fe.destinationFor(this.target.hop);
    } catch (e) {
      const why = e instanceof SipConnectError ? e.message : (e as Error).message;
      fe.api.log.debug('SIP branch not sent', { error: why });
      return this.finish(undefined, 480, 'Temporarily Unavailable - the registered peer cannot be reached');
    }
    if (this.cancelReason !== undefined) return this.finish(undefined, 487, 'Request Terminated');
    let tx: ClientTransaction;
    try {
      const out: Iface = dest.transport;
      tx = fe.sendBranch(fe.buildBranchRequest(this.ctx.request, this.target, out), dest);
    } catch (e) {
      if (e instanceof SipStackError || e instanceof SipParseError) return this.finish(undefined, 500, 'Server Internal Error - cannot forward');
      throw e;
    }
    this.clientTx = tx;
    this.dest = dest;
    tx.on('provisional', (res) => {
      this.provisional = true;
      this.armTimerC();
      this.ctx.onProvisional(this, res);
    });
    tx.on('final', (res) => {
      this.timerC?.cancel();
      if (res.status < 300) {
        this.final ??= { status: res.status, reason: res.reason, response: res };
        this.ctx.onFinal(this, res, res.status, res.reason);
        return;
      }
      this.finish(res, res.status, res.reason);
    });
    tx.on('timeout', () => this.finish(undefined, 408, 'Request Timeout'));
    tx.on('transportError', () => this.finish(undefined, 503, 'Service Unavailable'));
    if (this.ctx.request.method === 'INVITE') this.armTimerC();
  }

  /** An unexpected failure while starting the branch: it ends as a 500. */
  abort(): void {
    this.finish(undefined, 500, 'Server Internal Error');
  }

  private finish(res: SipResponse | undefined, status: number, reason: string): void {
    this.timerC?.cancel();
    if (this.final) return;
    this.final = { status, reason, ...(res ? { response: res } : {}) };
    this.ctx.onFinal(this, res, status, reason);
  }

  /** Cancels the branch (§9.1: once it has had a provisional response). */
  cancel(reason: string): void {
    if (this.final || this.cancelReason !== undefined) return;
    this.cancelReason = reason;
    const tx = this.clientTx;
    if (!tx || !this.dest || tx.request.method !== 'INVITE') return;
    const fe = this.ctx.frontEnd;
    fe.endpoint.cancel(tx, this.dest, reason || undefined).catch(() => undefined);
  }

  /** Timer C (§16.6 step 11): a branch ringing too long is cancelled (then 487 or 408). */
  private armTimerC(): void {
    const fe = this.ctx.frontEnd;
    this.timerC?.cancel();
    this.timerC = fe.api.clock.setTimeout(() => {
      if (this.final) return;
      if (this.provisional) this.cancel('');
    }, fe.options.inviteTimeoutMs ?? 180_000);
  }

  dispose(): void {
    this.timerC?.cancel();
  }
}

/**
 * Starts the endpoint with UDP and TCP on one port number (a UA may use either transport
 * towards the same host:port). Port 0: a free UDP port is picked and TCP tried on it too,
 * again with another if that number is taken for TCP.
 */
async function bindSharedPort(host: string, port: number, init: (port: number) => SipEndpointInit): Promise<SipEndpoint> {
  for (let attempt = 0; ; attempt++) {
    const p = port !== 0 ? port : await freeUdpPort(host);
    try {
      return await SipEndpoint.start(init(p));
    } catch (e) {
      if (port !== 0 || attempt >= 8 || (e as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw e;
    }
  }
}

function freeUdpPort(host: string): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createSocket(isIP(host) === 6 ? 'udp6' : 'udp4');
    s.once('error', reject);
    s.bind(0, host, () => {
      const p = s.address().port;
      s.close(() => resolve(p));
    });
  });
}

/** A response without the top Via (this proxy's, RFC 3261 §16.7 step 3); undefined if none would remain. */
function stripOwnVia(res: SipResponse): SipResponse | undefined {
  const copy = res.clone();
  delete copy.received;
  copy.removeFirst('Via');
  return copy.has('Via') ? copy : undefined;
}

function respondSafely(tx: ServerTransaction, res: SipResponse): void {
  try {
    tx.respond(res);
  } catch (e) {
    if (!(e instanceof SipStackError)) throw e;
  }
}

function withHeaders(res: SipResponse, headers: { name: string; value: string }[]): SipResponse {
  for (const h of headers) res.append(h.name, h.value);
  return res;
}

function bare(host: string): string {
  return host.startsWith('[') && host.endsWith(']') ? host.slice(1, -1) : host;
}

function withoutGruu(uri: SipUri): SipUri {
  return { ...uri, params: uri.params.filter((p) => p.name.toLowerCase() !== 'gr') };
}

function aorUri(aor: string): SipUri {
  const at = aor.lastIndexOf('@');
  return at < 0
    ? { kind: 'sip', scheme: 'sip', host: aor, params: [], headers: [] }
    : { kind: 'sip', scheme: 'sip', user: aor.slice(0, at), host: aor.slice(at + 1), params: [], headers: [] };
}

