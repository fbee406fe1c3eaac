/**
 * ReloadNode: wires links, router, security, storage, topology and usages together (one
 * direction: socket → link → router → handler → router → link), and is the public API a
 * program uses: start/leave/stop, attach, store/fetch/stat/find, ping, appAttach.
 */
import type { Clock } from '../common/clock.js';
import { ReloadError } from '../common/errors.js';
import { type Logger, silentLogger } from '../common/log.js';
import type { Random } from '../common/random.js';
import type { Connection, LinkAddress, LinkHint, Transport, TransportKind, TransportOptions } from '../link/types.js';
import type { LinkEntry } from '../routing/connection-table.js';
import { type IncomingRequest, type HandlerResult, type RequestOptions, Router } from '../routing/router.js';
import type { Credentials } from '../security/credentials.js';
import { Signer } from '../security/signer.js';
import type { SignatureScheme } from '../security/signature-scheme.js';
import type { CertificateStore } from '../security/trust.js';
import type { TopologyFactory, TopologyHost, TopologyPlugin } from '../../topology/plugin.js';
import { type AppAttachReqAns, type AttachReqAns, type IceCandidate, type IpAddressPort } from '../wire/attach.js';
import { decodeBody, encodeBody } from '../wire/body.js';
import { bytesEqual, toHex, utf8 } from '../wire/codec.js';
import { CandType, CertificateType, ErrorCode, MessageCode, MessageExtensionType, OverlayLinkType } from '../wire/constants.js';
import type { Destination } from '../wire/destination.js';
import { compareIds, isWildcardNodeId } from '../wire/ids.js';
import type { ProbeInformation } from '../wire/probe.js';
import type {
  FetchAns,
  FetchReq,
  FindAns,
  StatAns,
  StoreAns,
  StoreKindData,
  StoreReq,
  StoredData,
  StoredDataSpecifier,
} from '../wire/storage.js';
import type { KindRegistry } from '../storage/kinds.js';
import type { DataStore } from '../storage/store.js';
import { type OverlayParameters, overlayHashOf } from './parameters.js';
import type { ConfigurationHolder } from './configuration.js';
import { REPLICA_MESSAGE_OVERHEAD_BYTES, splitReplicaStore } from './replica-split.js';
import { findSigner } from '../security/verifier.js';
import type { GenericCertificate } from '../wire/security-block.js';
import type { FetchResult, ResourceRef, StoreOptions, UsageApi, UsagePlugin } from './usage.js';
import { type DiagnosticsOptions, NodeDiagnostics } from './diagnostics.js';
import { type BootstrapNode, type LivenessEvent, type LivenessOptions, NodeLiveness } from './liveness.js';
import { type ValueToStore, signValues, verifyFetched } from './data.js';
import { resourceIdOf } from '../wire/ids.js';

/** How to make one transport: the node supplies the handlers. */
export interface TransportSpec {
  kind: TransportKind;
  create(opts: TransportOptions): Transport;
  /** Address to listen on (peers); clients may omit it. */
  listen?: LinkAddress;
}

/** An application reachable by AppAttach (RFC 6940 §6.5.2), e.g. SIP on 5060. */
export interface ApplicationEndpoint {
  /** Candidates to answer with (the application's own listening sockets). */
  candidates(): IceCandidate[];
  /** Called when a peer AppAttached to us; returning normally accepts. */
  onAppAttach?(from: Uint8Array, req: AppAttachReqAns): void;
}

export interface ReloadNodeInit {
  params: OverlayParameters;
  credentials: Credentials;
  certificates: CertificateStore;
  kinds: KindRegistry;
  storage: DataStore;
  transports: TransportSpec[];
  /** Bootstrap nodes (transport kind and address). */
  bootstrap?: { kind: TransportKind; address: LinkAddress }[];
  topology: { factory: TopologyFactory; params?: Record<string, unknown> };
  /** 'peer' routes and stores; 'client' routes through one peer and stores nothing. */
  role: 'peer' | 'client';
  /** This node is the overlay's first peer: it takes the whole ring if no bootstrap answers. */
  firstNode?: boolean;
  clock: Clock;
  random: Random;
  log?: Logger;
  /** Forwarding-option and extension types understood (e.g. RFC 7851 diagnostics). */
  knownExtensions?: ReadonlySet<number>;
  /** How long to wait for an Attach to yield a link, ms. */
  attachTimeoutMs?: number;
  /** Usages to start once joined (their Kinds must already be in `kinds`). */
  usages?: UsagePlugin[];
  /** RFC 7851 diagnostics: who may read what (default: every enrolled node, everything). */
  diagnostics?: DiagnosticsOptions;
  /** The configuration document in force, for ConfigUpdate (absent: ConfigUpdate refused). */
  configuration?: ConfigurationHolder;
  /**
   * How this node makes signature values (default node:crypto). Only the simulator's
   * explicitly reported cheap mode sets another (its CertificateStore checks with the same).
   */
  signatures?: SignatureScheme;
  /** Idle-link Ping and rejoin-when-isolated tunables (src/node/liveness.ts defaults). */
  liveness?: Partial<LivenessOptions>;
}

export type NodeEvent =
  | { type: 'link-up'; nodeId: Uint8Array | undefined; connection: Connection }
  | { type: 'link-down'; nodeId: Uint8Array | undefined; reason: string }
  | { type: 'joined' }
  | { type: 'left' }
  | LivenessEvent;

const OVERLAY_LINK_OF: Record<TransportKind, number> = {
  tls: OverlayLinkType.tlsTcpFhNoIce,
  tcp: OverlayLinkType.tlsTcpFhNoIce,
  memory: OverlayLinkType.tlsTcpFhNoIce,
  // Plain UDP with simple reliability: the No-ICE datagram link type (without DTLS).
  udp: OverlayLinkType.dtlsUdpSrNoIce,
};

export class ReloadNode {
  readonly nodeId: Uint8Array;
  readonly signer: Signer;
  readonly router: Router;
  readonly params: OverlayParameters;
  readonly clock: Clock;
  readonly random: Random;
  readonly log: Logger;
  readonly storage: DataStore;
  readonly kinds: KindRegistry;
  /** RFC 7851 diagnostics: answers Diagnostic_Ping and PathTrack; diag ping / path-track. */
  readonly diagnostics: NodeDiagnostics;
  topology!: TopologyPlugin;

  private readonly transports = new Map<TransportKind, Transport>();
  private readonly listening: { kind: TransportKind; address: LinkAddress }[] = [];
  private readonly applications = new Map<number, ApplicationEndpoint>();
  private readonly linkWaiters = new Map<string, ((e: LinkEntry) => void)[]>();
  private readonly outstandingAttach = new Map<string, boolean>();
  private readonly listeners = new Set<(e: NodeEvent) => void>();
  private readonly startedAt: number;
  private state: 'new' | 'running' | 'stopped' = 'new';
  private liveness: NodeLiveness | undefined;

  constructor(private readonly init: ReloadNodeInit) {
    this.params = init.params;
    this.clock = init.clock;
    this.random = init.random;
    this.log = init.log ?? silentLogger;
    this.storage = init.storage;
    this.kinds = init.kinds;
    this.signer = new Signer(init.credentials, init.signatures);
    this.nodeId = this.signer.nodeId;
    this.startedAt = init.clock.monotonic();
    this.router = new Router({
      params: init.params,
      overlayHash: overlayHashOf(init.params),
      signer: this.signer,
      certificates: init.certificates,
      clock: init.clock,
      random: init.random,
      isPeer: init.role === 'peer',
      log: this.log,
      // RFC 7851 Diagnostic_Ping is understood (even if a sender marks it critical).
      knownExtensions: new Set([...(init.knownExtensions ?? []), MessageExtensionType.diagnosticPing]),
    });
    this.router.handler = (req) => this.dispatch(req);
    this.diagnostics = new NodeDiagnostics(this, init.diagnostics);
    this.router.onLinkBound = (entry) => this.linkBound(entry);
    this.router.onStaleConfiguration = (nodeId, viaLink) => this.sendConfigUpdate(nodeId, viaLink);
  }

  /** The usages this node runs (e.g. for their status sections). */
  get usages(): readonly UsagePlugin[] {
    return this.init.usages ?? [];
  }

  get isPeer(): boolean {
    return this.init.role === 'peer';
  }

  /** Listening addresses with their transport kind. */
  get addresses(): readonly { kind: TransportKind; address: LinkAddress }[] {
    return this.listening;
  }

  on(listener: (e: NodeEvent) => void): () => void {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }

  private emit(e: NodeEvent): void {
    for (const l of this.listeners) l(e);
  }

  // ------------------------------------------------------------ lifecycle

  /** Opens transports, connects to a bootstrap node and joins (peers) or attaches (clients). */
  async start(): Promise<void> {
    if (this.state !== 'new') throw new Error('node already started');
    this.state = 'running';
    try {
      await this.startUp();
    } catch (err) {
      // A node that cannot start releases its sockets and timers at once.
      await this.stop();
      throw err;
    }
  }

  private async startUp(): Promise<void> {
    this.topology = this.init.topology.factory(this.topologyHost(), this.init.topology.params ?? {});
    this.router.topology = this.topology;
    this.storage.start();
    for (const spec of this.init.transports) {
      const t = spec.create({
        clock: this.clock,
        maxMessageSize: this.params.maxMessageSize,
        handlers: {
          onConnection: (conn) => this.connectionUp(conn),
          onMessage: (conn, bytes, tail) => this.router.receive(conn, bytes, tail),
          onClose: (conn, reason) => this.connectionDown(conn, reason),
          onLinkHint: (conn, hint) => this.linkHint(conn, hint),
          onMessageTooLarge: (conn, info) => this.router.messageTooLarge(conn, info.head, info.length),
        },
      });
      this.transports.set(spec.kind, t);
      if (spec.listen && this.isPeer) {
        const address = await t.listen(spec.listen);
        this.listening.push({ kind: spec.kind, address });
      }
    }
    const bootstrap = (this.init.bootstrap ?? []).filter(
      (b) => !this.listening.some((l) => l.kind === b.kind && sameAddress(l.address, b.address)),
    );
    let joinedVia: Uint8Array | undefined;
    let lastError: Error | undefined;
    for (const b of bootstrap) {
      try {
        joinedVia = await this.bootstrapThrough(b.kind, b.address);
        break;
      } catch (err) {
        lastError = err as Error;
        this.log.warn('bootstrap node unreachable', { address: `${b.address.host}:${b.address.port}`, error: lastError.message });
      }
    }
    if (!this.isPeer) {
      if (!joinedVia) throw new ReloadError(ErrorCode.notFound, `no bootstrap node reachable${lastError ? `: ${lastError.message}` : ''}`);
      this.startLiveness(bootstrap);
      this.emit({ type: 'joined' });
      await this.startUsages();
      return;
    }
    if (!joinedVia && !(this.init.firstNode || bootstrap.length === 0)) {
      throw new ReloadError(ErrorCode.notFound, `no bootstrap node reachable${lastError ? `: ${lastError.message}` : ''}`);
    }
    await this.topology.start(joinedVia ? { bootstrapPeer: joinedVia, first: false } : { first: true });
    this.startLiveness(bootstrap);
    this.emit({ type: 'joined' });
    await this.startUsages();
  }

  /** Idle-link Pings and rejoining when cut off (src/node/liveness.ts), once joined. */
  private startLiveness(bootstrap: readonly BootstrapNode[]): void {
    if (this.state !== 'running') return;
    this.liveness = new NodeLiveness(
      {
        clock: this.clock,
        random: this.random,
        log: this.log,
        isPeer: this.isPeer,
        links: () => this.router.table.entries(),
        routingPeers: () => {
          const s = this.topology.snapshot();
          return [...s.predecessors, ...s.successors, ...s.fingers];
        },
        gateway: () => this.router.gateway,
        ping: async (link) => {
          await this.router.request(
            [{ type: 'node', id: link.nodeId ?? wildcard(this.params.nodeIdLength) }],
            MessageCode.pingReq,
            encodeBody(MessageCode.pingReq, { padding: new Uint8Array(0) }, this.kinds),
            { viaLink: link, anyResponder: link.nodeId === undefined },
          );
        },
        bootstrapNodes: () => bootstrap,
        rejoinThrough: (b) => this.rejoinThrough(b),
        emit: (e) => this.emit(e),
      },
      this.init.liveness,
    );
    this.liveness.start();
  }

  /**
   * Rejoins through one bootstrap node (RFC 6940 §10.7.1: a peer that lost its successors
   * joins again): the bootstrap procedure of start() (§11.4), then the topology's join with
   * the admitting peer. The topology is stopped meanwhile (its maintenance has nobody to
   * talk to); if the round fails it resumes alone, keeping what it knows.
   */
  private async rejoinThrough(b: BootstrapNode): Promise<Uint8Array> {
    if (!this.isPeer) return this.bootstrapThrough(b.kind, b.address);
    this.topology.stop();
    try {
      const ap = await this.bootstrapThrough(b.kind, b.address);
      if (bytesEqual(ap, this.nodeId)) {
        // The overlay still routes our Node-ID + 1 to us: nobody there to join.
        throw new ReloadError(ErrorCode.notFound, 'the bootstrap node routed the Attach back to this peer');
      }
      if (this.state !== 'running') throw new ReloadError(ErrorCode.notFound, 'node stopped');
      await this.topology.start({ bootstrapPeer: ap, first: false });
      if (this.state !== 'running') this.topology.stop(); // stopped while joining: no timers left behind
      return ap;
    } catch (err) {
      if (this.state === 'running') {
        this.topology.stop();
        await this.topology.start({ first: true });
      }
      throw err;
    }
  }

  /**
   * The failure hint (RFC 6940 §6.6.3.2), keyed on the link's reliability mode. A datagram
   * link (UDP Simple Reliability, the memory link's 'simple' mode) raises 'suspect' after
   * five transmissions went unacked: data was lost and the peer is most likely gone, so
   * the link closes at once. A stream link (TLS/TCP with the framed header, the memory
   * link's 'stream' mode) is reliable underneath, so a late framing ack means a slow or
   * unreachable peer, not lost data: the link stays in the Connection Table but leaves the
   * routing table (the topology routes around it) until 'restored'; the stream sender closes
   * it after STREAM_FAILURE_HOLD_MS of unacknowledged traffic (behaviour digest §1, "~30 s
   * before declaring permanent failure"). A peer that is silent on an idle link is found by
   * the idle-link Ping of src/node/liveness.ts.
   */
  private linkHint(conn: Connection, hint: LinkHint): void {
    if (hint === 'suspect' && conn.reliability === 'datagram') {
      conn.close('link failure hint');
      return;
    }
    const entry = this.router.table.byConnectionId(conn.id);
    if (!entry) return;
    entry.suspect = hint === 'suspect';
    this.log.debug(hint === 'suspect' ? 'link suspect: framing acks late, routing around it' : 'link restored', {
      link: conn.id,
      ...(entry.nodeId ? { node: toHex(entry.nodeId) } : {}),
    });
    if (entry.nodeId && this.state === 'running') this.topology?.onLinkHint?.(entry.nodeId, hint);
  }

  private async startUsages(): Promise<void> {
    for (const u of this.init.usages ?? []) {
      if (u.start) await u.start(this.usageApi(u.name));
    }
  }

  private async stopUsages(): Promise<void> {
    for (const u of [...(this.init.usages ?? [])].reverse()) {
      try {
        await u.stop?.();
      } catch (err) {
        this.log.warn('usage stop failed', { usage: u.name, error: (err as Error).message });
      }
    }
  }

  /**
   * Connects to a bootstrap node and finds the admitting peer (RFC 6940 §11.4): an Attach
   * to Resource-ID = own Node-ID + 1 sent over the bootstrap link. Clients route through
   * the bootstrap peer itself.
   */
  private async bootstrapThrough(kind: TransportKind, address: LinkAddress): Promise<Uint8Array> {
    const t = this.transport(kind);
    const conn = await t.connect(address);
    const entry = this.router.table.byConnectionId(conn.id) ?? this.router.linkUp(conn, this.certificateNodeId(conn));
    if (!this.isPeer) {
      this.router.gateway = entry;
      // Learn the peer's Node-ID with a Ping to the wildcard (RFC 6940 §6.5.3).
      const ans = await this.router.request([{ type: 'node', id: wildcard(this.params.nodeIdLength) }], MessageCode.pingReq, encodeBody(MessageCode.pingReq, { padding: new Uint8Array(0) }, this.init.kinds), { viaLink: entry, anyResponder: true });
      if (!entry.nodeId) this.router.bindLink(entry, ans.from);
      return ans.from;
    }
    const target = addOne(this.nodeId);
    const apId = await this.attach({ type: 'resource', id: target }, [], true, entry);
    return apId;
  }

  /**
   * Opens (or reuses) a direct link to the node listening at `address` and resolves with its
   * Node-ID once the link is bound — by the certificate the link shows, else by a signed
   * Ping to the wildcard Node-ID over the link (RFC 6940 §6.5.3), as with a bootstrap node.
   * For contacts known by address: landmark RTT measurements and the simulator's (labelled)
   * bulk wiring. The link is not added to any routing table by itself.
   */
  async connect(kind: TransportKind, address: LinkAddress): Promise<Uint8Array> {
    if (this.state !== 'running') throw new ReloadError(ErrorCode.notFound, 'node is not running');
    const conn = await this.transport(kind).connect(address);
    const entry = this.router.table.byConnectionId(conn.id) ?? this.router.linkUp(conn, this.certificateNodeId(conn));
    if (entry.nodeId) return entry.nodeId;
    const ans = await this.router.request(
      [{ type: 'node', id: wildcard(this.params.nodeIdLength) }],
      MessageCode.pingReq,
      encodeBody(MessageCode.pingReq, { padding: new Uint8Array(0) }, this.kinds),
      { viaLink: entry, anyResponder: true },
    );
    if (!entry.nodeId) this.router.bindLink(entry, ans.from);
    return ans.from;
  }

  /** Leaves the overlay cleanly (Leave to neighbours), then stops. */
  async leave(): Promise<void> {
    if (this.state !== 'running') return;
    await this.stopUsages();
    try {
      if (this.isPeer) await this.topology.leave();
    } catch (err) {
      this.log.warn('leave failed', { error: (err as Error).message });
    }
    await this.stop();
    this.emit({ type: 'left' });
  }

  /** Stops at once (no Leave): closes links and timers. */
  async stop(): Promise<void> {
    if (this.state === 'stopped') return;
    const wasRunning = this.state === 'running';
    this.state = 'stopped';
    this.liveness?.stop(); // no rejoin round or idle Ping starts from here on
    if (wasRunning) await this.stopUsages();
    this.topology?.stop();
    this.router.stop();
    this.storage.stop();
    await Promise.all([...this.transports.values()].map((t) => t.close().catch(() => undefined)));
  }

  private transport(kind: TransportKind): Transport {
    const t = this.transports.get(kind);
    if (!t) throw new ReloadError(ErrorCode.notFound, `no ${kind} transport configured`);
    return t;
  }

  // ------------------------------------------------------------ links

  private certificateNodeId(conn: Connection): Uint8Array | undefined {
    if (!conn.peerCertificate) return undefined;
    try {
      const cert = this.init.certificates.check(conn.peerCertificate);
      return cert.nodeIds.length === 1 ? cert.nodeIds[0] : undefined;
    } catch {
      conn.close('untrusted certificate');
      return undefined;
    }
  }

  private connectionUp(conn: Connection): void {
    const entry = this.router.linkUp(conn, this.certificateNodeId(conn));
    this.emit({ type: 'link-up', nodeId: entry.nodeId, connection: conn });
  }

  private connectionDown(conn: Connection, reason: string): void {
    const entry = this.router.linkDown(conn);
    const nodeId = entry?.nodeId;
    this.emit({ type: 'link-down', nodeId, reason });
    if (nodeId && !this.router.table.byNode(nodeId) && this.state === 'running') {
      this.topology?.onConnectionDown(nodeId);
    }
  }

  private linkBound(entry: LinkEntry): void {
    const key = toHex(entry.nodeId!);
    const waiters = this.linkWaiters.get(key);
    if (waiters) {
      this.linkWaiters.delete(key);
      for (const w of waiters) w(entry);
    }
    if (this.state === 'running') this.topology?.onConnectionUp(entry.nodeId!);
  }

  /** Resolves when a link to `nodeId` is bound, or rejects after `ms`. */
  private waitForLink(nodeId: Uint8Array, ms: number): Promise<LinkEntry> {
    const existing = this.router.table.byNode(nodeId);
    if (existing) return Promise.resolve(existing);
    const key = toHex(nodeId);
    return new Promise((resolve, reject) => {
      const timer = this.clock.setTimeout(() => {
        const list = this.linkWaiters.get(key);
        if (list) {
          const i = list.indexOf(done);
          if (i >= 0) list.splice(i, 1);
          if (list.length === 0) this.linkWaiters.delete(key);
        }
        reject(new ReloadError(ErrorCode.requestTimeout, `no link to ${key} after ${ms} ms`));
      }, ms);
      const done = (e: LinkEntry): void => {
        timer.cancel();
        resolve(e);
      };
      let list = this.linkWaiters.get(key);
      if (!list) this.linkWaiters.set(key, (list = []));
      list.push(done);
    });
  }

  /** Our host candidates, one per listening transport (RFC 6940 §6.5.1.3, No-ICE). */
  private candidates(): IceCandidate[] {
    return this.listening.map((l, i) => ({
      addrPort: toIpAddressPort(l.address),
      overlayLink: OVERLAY_LINK_OF[l.kind],
      foundation: utf8(String(i + 1)),
      priority: (126 << 24) | ((65535 - i) << 8) | 255,
      candType: CandType.host,
      extensions: [],
    }));
  }

  private transportFor(c: IceCandidate): TransportKind | undefined {
    for (const kind of this.transports.keys()) {
      if (OVERLAY_LINK_OF[kind] === c.overlayLink) return kind;
    }
    return undefined;
  }

  /** Connects to the first usable candidate and returns the link. */
  private async connectToCandidates(candidates: IceCandidate[]): Promise<Connection> {
    let last: Error | undefined;
    const usable = candidates
      .filter((c) => c.addrPort.family !== 'unknown' && this.transportFor(c))
      .sort((a, b) => b.priority - a.priority);
    for (const c of usable) {
      const kind = this.transportFor(c)!;
      const a = c.addrPort as { address: string; port: number };
      try {
        return await this.transport(kind).connect({ host: a.address, port: a.port });
      } catch (err) {
        last = err as Error;
      }
    }
    throw new ReloadError(ErrorCode.notFound, `no usable candidate${last ? `: ${last.message}` : ''}`);
  }

  /**
   * Attach (RFC 6940 §6.5.1, No-ICE): asks the node responsible for `dest` for its
   * candidates, offers ours; the answerer connects to us (the requester is the TLS
   * server), and if no link appears we connect to it. Resolves with its Node-ID.
   */
  async attach(dest: Destination, via: Destination[] = [], sendUpdate = false, viaLink?: LinkEntry): Promise<Uint8Array> {
    if (dest.type === 'node' && this.router.table.byNode(dest.id)) return dest.id;
    const req: AttachReqAns = {
      ufrag: utf8(toHex(this.random.bytes(4))),
      password: utf8(toHex(this.random.bytes(12))),
      role: utf8('passive'),
      candidates: this.candidates(),
      sendUpdate,
    };
    const key = dest.type === 'node' ? toHex(dest.id) : '';
    if (key) this.outstandingAttach.set(key, false);
    let ans;
    try {
      const opts: RequestOptions = viaLink ? { viaLink } : {};
      ans = await this.router.request([...via, dest], MessageCode.attachReq, encodeBody(MessageCode.attachReq, req, this.kinds), opts);
    } finally {
      if (key) this.outstandingAttach.delete(key);
    }
    const peer = ans.from;
    if (bytesEqual(peer, this.nodeId)) return peer;
    const answer = decodeBody(MessageCode.attachAns, ans.body, this.kinds);
    const timeout = this.init.attachTimeoutMs ?? this.params.reliabilityTimerMs;
    try {
      await this.waitForLink(peer, timeout);
    } catch {
      // The answerer did not reach us: connect to it ourselves.
      const conn = await this.connectToCandidates(answer.candidates);
      const entry = this.router.table.byConnectionId(conn.id) ?? this.router.linkUp(conn, this.certificateNodeId(conn));
      if (!entry.nodeId) {
        // Bind an unauthenticated link by a signed Ping over it (wildcard: whoever is there).
        const p = await this.router.request(
          [{ type: 'node', id: peer }],
          MessageCode.pingReq,
          encodeBody(MessageCode.pingReq, { padding: new Uint8Array(0) }, this.kinds),
          { viaLink: entry },
        );
        if (!entry.nodeId) this.router.bindLink(entry, p.from);
      }
      await this.waitForLink(peer, timeout);
    }
    return peer;
  }

  // ------------------------------------------------------------ dispatch

  private async dispatch(req: IncomingRequest): Promise<HandlerResult> {
    const code = req.message.contents.code;
    const body = req.message.contents.body;
    switch (code) {
      case MessageCode.pingReq:
        decodeBody(MessageCode.pingReq, body, this.kinds);
        return this.diagnostics.answerPing(req, this.answer(MessageCode.pingAns, { responseId: this.random.u64(), time: BigInt(this.clock.now()) }));
      case MessageCode.pathTrackReq:
        return this.diagnostics.handlePathTrack(req);
      case MessageCode.attachReq:
        return this.handleAttach(req, decodeBody(MessageCode.attachReq, body, this.kinds));
      case MessageCode.appAttachReq:
        return this.handleAppAttach(req, decodeBody(MessageCode.appAttachReq, body, this.kinds));
      case MessageCode.configUpdateReq: {
        const holder = this.init.configuration;
        if (!holder) throw ReloadError.forbidden('this node holds no configuration document');
        holder.handle(decodeBody(MessageCode.configUpdateReq, body, this.kinds));
        return this.answer(MessageCode.configUpdateAns, {});
      }
      case MessageCode.probeReq:
        return this.handleProbe(decodeBody(MessageCode.probeReq, body, this.kinds).requestedInfo);
      case MessageCode.storeReq:
        return this.handleStore(req, decodeBody(MessageCode.storeReq, body, this.kinds));
      case MessageCode.fetchReq: {
        this.requirePeer();
        const f = decodeBody(MessageCode.fetchReq, body, this.kinds);
        const { answer, certificates } = this.storage.fetch(f);
        return this.answer(MessageCode.fetchAns, answer, certificates);
      }
      case MessageCode.statReq:
        this.requirePeer();
        return this.answer(MessageCode.statAns, this.storage.stat(decodeBody(MessageCode.statReq, body, this.kinds)));
      case MessageCode.findReq: {
        this.requirePeer();
        const f = decodeBody(MessageCode.findReq, body, this.kinds);
        return this.answer(MessageCode.findAns, this.storage.find(f, (id) => this.topology.isResponsible(id)));
      }
      case MessageCode.joinReq:
      case MessageCode.updateReq:
      case MessageCode.leaveReq:
      case MessageCode.routeQueryReq: {
        if (!this.isPeer && code !== MessageCode.updateReq) throw ReloadError.forbidden('this node is a client');
        const answerBody = await this.topology.handle({
          code,
          body,
          from: req.signer.nodeId,
          direct: req.direct,
          connectionId: req.link?.connection.id ?? '',
        });
        return { code: code + 1, body: answerBody };
      }
      default:
        throw new ReloadError(ErrorCode.invalidMessage, `unsupported method 0x${code.toString(16)}`);
    }
  }

  /** An answer; `certificates` (of fetched values' signers) go into its SecurityBlock. */
  private answer<C extends Parameters<typeof encodeBody>[0]>(
    code: C,
    body: Parameters<typeof encodeBody<C>>[1],
    certificates?: Uint8Array[],
  ): HandlerResult {
    const encoded = encodeBody(code, body, this.kinds);
    return certificates ? { code, body: encoded, certificates } : { code, body: encoded };
  }

  private requirePeer(): void {
    if (!this.isPeer) throw ReloadError.forbidden('this node is a client and stores nothing');
  }

  /** Attach from X (RFC 6940 §6.5.1.2): answer with our candidates, then connect to X. */
  private handleAttach(req: IncomingRequest, attach: AttachReqAns): HandlerResult {
    const from = req.signer.nodeId;
    const key = toHex(from);
    if (this.outstandingAttach.has(key)) {
      // Glare: the smaller Node-ID abandons its own Attach and answers; the larger says In_Progress.
      if (compareIds(this.nodeId, from) > 0) {
        throw new ReloadError(ErrorCode.inProgress, 'Attach to this node already in progress');
      }
    }
    if (attach.candidates.some((c) => c.overlayLink === OverlayLinkType.dtlsUdpSr)) {
      // Full ICE link types are not offered by this node (No-ICE overlay).
      if (!attach.candidates.some((c) => this.transportFor(c))) {
        throw new ReloadError(ErrorCode.incompatibleWithOverlay, 'ICE link types are not supported');
      }
    }
    const answer: AttachReqAns = {
      ufrag: utf8(toHex(this.random.bytes(4))),
      password: utf8(toHex(this.random.bytes(12))),
      role: utf8('active'),
      candidates: this.candidates(),
      sendUpdate: false,
    };
    if (!bytesEqual(from, this.nodeId) && !this.router.table.byNode(from)) {
      // As the answerer we are the TLS client: connect after answering.
      if (attach.sendUpdate) this.pendingSendUpdate.add(key);
      this.clock.setTimeout(() => void this.connectAfterAttach(from, attach), 0);
    } else if (attach.sendUpdate && !bytesEqual(from, this.nodeId)) {
      this.clock.setTimeout(() => this.topology.onConnectionUp(from, { sendUpdate: true }), 0);
    }
    return this.answer(MessageCode.attachAns, answer);
  }

  private readonly pendingSendUpdate = new Set<string>();

  private async connectAfterAttach(from: Uint8Array, attach: AttachReqAns): Promise<void> {
    try {
      const conn = await this.connectToCandidates(attach.candidates);
      const entry = this.router.table.byConnectionId(conn.id) ?? this.router.linkUp(conn, this.certificateNodeId(conn));
      if (entry.nodeId && !bytesEqual(entry.nodeId, from)) {
        // Behaviour §4.2: the handshake certificate must match the node that sent the Attach.
        conn.close('certificate does not match the Attach sender');
        return;
      }
      // A signed Ping over the new link lets the other side bind it to our Node-ID.
      const p = await this.router.request(
        [{ type: 'node', id: from }],
        MessageCode.pingReq,
        encodeBody(MessageCode.pingReq, { padding: new Uint8Array(0) }, this.kinds),
        { viaLink: entry },
      );
      if (!entry.nodeId) this.router.bindLink(entry, p.from);
      const key = toHex(from);
      if (this.pendingSendUpdate.delete(key)) this.topology.onConnectionUp(from, { sendUpdate: true });
    } catch (err) {
      this.pendingSendUpdate.delete(toHex(from));
      this.log.debug('connect after Attach failed', { node: toHex(from), error: (err as Error).message });
    }
  }

  /** AppAttach (RFC 6940 §6.5.2): answer with the application's candidates. */
  private handleAppAttach(req: IncomingRequest, a: AppAttachReqAns): HandlerResult {
    const app = this.applications.get(a.application);
    if (!app) throw ReloadError.notFound(`Application-ID ${a.application} is not supported here`);
    app.onAppAttach?.(req.signer.nodeId, a);
    return this.answer(MessageCode.appAttachAns, {
      ufrag: utf8(toHex(this.random.bytes(4))),
      password: utf8(toHex(this.random.bytes(12))),
      application: a.application,
      role: utf8('active'),
      candidates: app.candidates(),
    });
  }

  /** Probe (RFC 6940 §6.4.2.5): requested, recognized info types, in request order. */
  private handleProbe(types: number[]): HandlerResult {
    const info: ProbeInformation[] = [];
    for (const t of types) {
      if (t === 1) info.push({ type: 'responsible_set', responsiblePpb: this.isPeer ? this.topology.responsiblePpb() : 0 });
      else if (t === 2) info.push({ type: 'num_resources', numResources: this.isPeer ? this.storage.numResources() : 0 });
      else if (t === 3) info.push({ type: 'uptime', uptime: this.uptimeSeconds() });
    }
    return this.answer(MessageCode.probeAns, { probeInfo: info });
  }

  /** Store (RFC 6940 §7.4.1.1). */
  private async handleStore(req: IncomingRequest, store: StoreReq): Promise<HandlerResult> {
    this.requirePeer();
    const signer = req.signer;
    if (store.replicaNumber === 0) {
      if (!this.topology.isResponsible(store.resource)) throw ReloadError.forbidden('not responsible for this Resource-ID');
    } else if (!this.topology.acceptsReplicaFrom(store.resource, signer.nodeId)) {
      throw ReloadError.forbidden('replica store from a node that is not responsible for the resource');
    }
    const replicas = store.replicaNumber === 0 ? this.topology.replicaSet(store.resource) : [];
    const { answer, valuesWritten } = this.storage.apply(store, {
      requestSigner: signer,
      certificates: req.message.security.certificates,
      replicas,
    });
    let copyTo: Uint8Array[] = [];
    if (store.replicaNumber === 0) {
      copyTo = replicas;
    } else if (valuesWritten > 0 && this.topology.isResponsible(store.resource)) {
      // A replica Store that brings us news for a range we answer for, sent by a peer
      // outside our replica set: a former replica holder handing over what it drops
      // (topology plugin contract). Our replicas may lack it as we did, so pass it on.
      // From a replica-set member (a successor handing a newly joined peer its range) the
      // others already hold it.
      const set = this.topology.replicaSet(store.resource);
      if (!set.some((r) => bytesEqual(r, signer.nodeId))) copyTo = set;
    }
    // Replicate to the successors (RFC 6940 §9.7.3) after answering.
    copyTo.forEach((r, i) => {
      this.clock.setTimeout(() => {
        this.replicate(r, store.resource, i + 1).catch((err: Error) =>
          this.log.debug('replication failed', { to: toHex(r), error: err.message }),
        );
      }, 0);
    });
    return this.answer(MessageCode.storeAns, answer);
  }

  /** Sends our copy of a resource to `nodeId` as a replica (or migration) Store. */
  async replicate(nodeId: Uint8Array, resourceId: Uint8Array, replicaNumber: number): Promise<void> {
    // One replication of a resource to a peer at a time: a snapshot sent in several parts
    // must not interleave with the next one (a stale part would set a Kind's generation
    // counter back). A request while one runs is coalesced into one more run, which
    // exports the then current state.
    const key = `${toHex(nodeId)}/${toHex(resourceId)}`;
    const running = this.replicaRuns.get(key);
    if (running) {
      running.again = true;
      running.replicaNumber = replicaNumber;
      return running.done;
    }
    const run = { again: false, replicaNumber, done: Promise.resolve() };
    run.done = (async () => {
      try {
        do {
          run.again = false;
          await this.sendReplica(nodeId, resourceId, run.replicaNumber);
        } while (run.again);
      } finally {
        this.replicaRuns.delete(key);
      }
    })();
    this.replicaRuns.set(key, run);
    return run.done;
  }

  private readonly replicaRuns = new Map<string, { again: boolean; replicaNumber: number; done: Promise<void> }>();

  private async sendReplica(nodeId: Uint8Array, resourceId: Uint8Array, replicaNumber: number): Promise<void> {
    const exported = this.storage.exportWithCertificates(resourceId);
    if (!exported || exported.kindData.length === 0) return;
    // The values keep their writers' signatures: carry those certificates (RFC 6940 §6.3.4).
    // A resource with many signers is sent as several StoreReqs within max-message-size,
    // in Kind order, one after the other (replica-split.ts).
    const certs: GenericCertificate[] = exported.certificates.map((c) => ({ type: CertificateType.x509, certificate: c }));
    const certificateOf = (_kind: number, v: StoredData): Uint8Array | undefined => {
      if (!v.signature) return undefined;
      try {
        return findSigner(v.signature.identity, certs, this.init.certificates).certificate.der;
      } catch {
        return undefined;
      }
    };
    const own = this.signer.credentials.certificate.der.length + 3;
    const budget = this.params.maxMessageSize - REPLICA_MESSAGE_OVERHEAD_BYTES - own;
    const parts = splitReplicaStore(this.kinds, resourceId, replicaNumber, exported.kindData, certificateOf, budget);
    for (const part of parts) {
      const req: StoreReq = { resource: resourceId, replicaNumber, kindData: part.kindData };
      await this.router.request([{ type: 'node', id: nodeId }], MessageCode.storeReq, encodeBody(MessageCode.storeReq, req, this.kinds), {
        certificates: part.certificates,
      });
    }
  }

  private readonly configUpdatesSent = new Map<string, number>();
  private readonly configUpdatesInFlight = new Map<string, Promise<void>>();

  /**
   * Sends our configuration to a node that uses an older one (RFC 6940 §6.3.2.1), at most
   * once a minute per node; its header carries sequence 65535, which is always accepted.
   */
  private async sendConfigUpdate(nodeId: Uint8Array, viaLink?: LinkEntry): Promise<void> {
    const holder = this.init.configuration;
    if (!holder || this.state !== 'running') return;
    const key = toHex(nodeId);
    // Several requests can fail on the same stale node at once: they all wait for the one
    // ConfigUpdate in flight before they retry.
    const inFlight = this.configUpdatesInFlight.get(key);
    if (inFlight) return inFlight;
    // A node that took our configuration is not sent it again for a minute (a failed
    // attempt is not remembered: the next stale answer tries again).
    if ((this.configUpdatesSent.get(key) ?? -Infinity) > this.clock.monotonic() - 60_000) return;
    const body = encodeBody(MessageCode.configUpdateReq, holder.update(), this.kinds);
    const sending = (async () => {
      try {
        await this.router.request([{ type: 'node', id: nodeId }], MessageCode.configUpdateReq, body, {
          configurationSequence: 0xffff,
          ...(viaLink ? { viaLink } : {}),
        });
        this.configUpdatesSent.set(key, this.clock.monotonic());
        this.log.info('sent the current configuration to a node with an older one', { node: key });
      } catch (err) {
        this.log.debug('ConfigUpdate failed', { node: key, error: (err as Error).message });
      } finally {
        this.configUpdatesInFlight.delete(key);
      }
    })();
    this.configUpdatesInFlight.set(key, sending);
    return sending;
  }

  // ------------------------------------------------------------ public API

  uptimeSeconds(): number {
    return Math.floor((this.clock.monotonic() - this.startedAt) / 1000);
  }

  /** Sends a request and returns the decoded answer body. */
  async request(destinations: Destination[], code: number, body: Uint8Array, opts: RequestOptions = {}) {
    return this.router.request(destinations, code, body, opts);
  }

  /**
   * Store (RFC 6940 §7.4.1): the values must already be signed (see storage helpers).
   * `opts.signer` signs the StoreReq as another local identity (see storeValues `as`).
   */
  async store(resourceId: Uint8Array, kindData: StoreKindData[], opts: RequestOptions = {}): Promise<StoreAns> {
    const req: StoreReq = { resource: resourceId, replicaNumber: 0, kindData };
    const ans = await this.router.request(
      [{ type: 'resource', id: resourceId }],
      MessageCode.storeReq,
      encodeBody(MessageCode.storeReq, req, this.kinds),
      opts,
    );
    return decodeBody(MessageCode.storeAns, ans.body, this.kinds);
  }

  async fetch(resourceId: Uint8Array, specifiers: StoredDataSpecifier[]): Promise<{ answer: FetchAns; from: Uint8Array; certificates: Uint8Array[] }> {
    const req: FetchReq = { resource: resourceId, specifiers };
    const ans = await this.router.request(
      [{ type: 'resource', id: resourceId }],
      MessageCode.fetchReq,
      encodeBody(MessageCode.fetchReq, req, this.kinds),
    );
    return { answer: decodeBody(MessageCode.fetchAns, ans.body, this.kinds), from: ans.from, certificates: ans.certificates };
  }

  async stat(resourceId: Uint8Array, specifiers: StoredDataSpecifier[]): Promise<StatAns> {
    const ans = await this.router.request(
      [{ type: 'resource', id: resourceId }],
      MessageCode.statReq,
      encodeBody(MessageCode.statReq, { resource: resourceId, specifiers }, this.kinds),
    );
    return decodeBody(MessageCode.statAns, ans.body, this.kinds);
  }

  async find(resourceId: Uint8Array, kinds: number[]): Promise<FindAns> {
    const ans = await this.router.request(
      [{ type: 'resource', id: resourceId }],
      MessageCode.findReq,
      encodeBody(MessageCode.findReq, { resource: resourceId, kinds }, this.kinds),
    );
    return decodeBody(MessageCode.findAns, ans.body, this.kinds);
  }

  /** Ping (RFC 6940 §6.5.3); returns the responder and the round-trip time in ms. */
  async ping(dest: Destination): Promise<{ from: Uint8Array; rttMs: number; time: bigint }> {
    const t0 = this.clock.monotonic();
    const ans = await this.router.request([dest], MessageCode.pingReq, encodeBody(MessageCode.pingReq, { padding: new Uint8Array(0) }, this.kinds), {
      anyResponder: dest.type === 'node' && isWildcardNodeId(dest.id),
    });
    const p = decodeBody(MessageCode.pingAns, ans.body, this.kinds);
    return { from: ans.from, rttMs: this.clock.monotonic() - t0, time: p.time };
  }

  /** Registers an application for AppAttach (e.g. SIP, 5060). */
  registerApplication(applicationId: number, endpoint: ApplicationEndpoint): void {
    if (this.applications.has(applicationId)) throw new Error(`Application-ID ${applicationId} already registered`);
    this.applications.set(applicationId, endpoint);
  }

  /** AppAttach to `dest`: returns the responder and its application candidates. */
  async appAttach(dest: Destination[], applicationId: number, candidates: IceCandidate[] = []): Promise<{ from: Uint8Array; answer: AppAttachReqAns }> {
    const req: AppAttachReqAns = {
      ufrag: utf8(toHex(this.random.bytes(4))),
      password: utf8(toHex(this.random.bytes(12))),
      application: applicationId,
      role: utf8('passive'),
      candidates,
    };
    const ans = await this.router.request(dest, MessageCode.appAttachReq, encodeBody(MessageCode.appAttachReq, req, this.kinds));
    return { from: ans.from, answer: decodeBody(MessageCode.appAttachAns, ans.body, this.kinds) };
  }

  // ------------------------------------------------------------ usage API

  private readonly lastStorageTime = new Map<string, number>();

  private resolve(resource: ResourceRef): Uint8Array {
    return typeof resource === 'string' ? resourceIdOf(resource, this.params.nodeIdLength) : resource.id;
  }

  /** A storage_time newer than anything this node stored at (resource, kind) before. */
  private storageTime(resourceId: Uint8Array, kind: number): number {
    const key = `${toHex(resourceId)}/${kind}`;
    const t = Math.max(this.clock.now(), (this.lastStorageTime.get(key) ?? 0) + 1);
    this.lastStorageTime.set(key, t);
    return t;
  }

  /**
   * Signs and stores values of one Kind (RFC 6940 §7.4.1). With `opts.as`, the values and
   * the StoreReq are signed with those credentials instead of the node's own.
   */
  async storeValues(resource: ResourceRef, kind: number, values: ValueToStore[], opts: StoreOptions = {}): Promise<StoreAns> {
    const resourceId = this.resolve(resource);
    const def = this.kinds.get(kind);
    if (!def) throw new ReloadError(ErrorCode.unknownKind, `Kind ${kind} is not known here`);
    for (const v of values) {
      if (v.model !== def.dataModel) throw new ReloadError(ErrorCode.invalidMessage, `Kind ${kind} is ${def.dataModel}, value is ${v.model}`);
    }
    const signer = opts.as ? this.signerFor(opts.as) : this.signer;
    const data = await signValues(signer, resourceId, kind, values, this.storageTime(resourceId, kind), opts.lifetimeS);
    return this.store(resourceId, [{ kind, generationCounter: opts.generation ?? 0n, values: data }], opts.as ? { signer } : {});
  }

  private readonly localSigners = new WeakMap<Credentials, Signer>();

  /** A Signer for another identity this process holds (one per Credentials object). */
  private signerFor(credentials: Credentials): Signer {
    if (credentials === this.signer.credentials) return this.signer;
    let s = this.localSigners.get(credentials);
    if (!s) this.localSigners.set(credentials, (s = new Signer(credentials, this.init.signatures)));
    return s;
  }

  /** Fetches one Kind and verifies every value (RFC 6940 §7.4.2). */
  async fetchValues(resource: ResourceRef, kind: number, spec: Partial<StoredDataSpecifier> = {}): Promise<FetchResult> {
    const resourceId = this.resolve(resource);
    const specifier = this.specifier(kind, spec);
    const { answer, from, certificates } = await this.fetch(resourceId, [specifier]);
    const k = answer.kindResponses.find((r) => r.kind === kind);
    if (!k) return { kind, generation: 0n, values: [], rejected: 0, from };
    const checked = verifyFetched(resourceId, k, certificates, this.init.certificates, this.kinds.dataModel(kind));
    return { kind, generation: k.generation, values: checked.values, rejected: checked.rejected, from };
  }

  private specifier(kind: number, spec: Partial<StoredDataSpecifier>): StoredDataSpecifier {
    const model = this.kinds.dataModel(kind);
    if (!model) throw new ReloadError(ErrorCode.unknownKind, `Kind ${kind} is not known here`);
    const generation = spec.generation ?? 0n;
    switch (model) {
      case 'single':
        return { kind, generation, model };
      case 'array':
        return { kind, generation, model, indices: (spec as { indices?: { first: number; last: number }[] }).indices ?? [{ first: 0, last: 0xffffffff }] };
      case 'dictionary':
        return { kind, generation, model, keys: (spec as { keys?: Uint8Array[] }).keys ?? [] };
    }
  }

  /** The API a usage plugin gets. */
  usageApi(name: string): UsageApi {
    const node = this;
    return {
      nodeId: this.nodeId,
      userName: this.signer.credentials.certificate.userName,
      overlay: this.params.overlayName,
      clock: this.clock,
      log: this.log.child({ usage: name }),
      resourceId: (n) => resourceIdOf(n, this.params.nodeIdLength),
      kind: (id) => this.kinds.get(id),
      store: (r, k, v, o) => this.storeValues(r, k, v, o),
      fetch: (r, k, s) => this.fetchValues(r, k, s),
      stat: (r, k, s) => this.stat(this.resolve(r), [this.specifier(k, s ?? {})]),
      find: (r, kinds) => this.find(this.resolve(r), kinds),
      async appAttach(destinations, applicationId, candidates) {
        const { from, answer } = await node.appAttach(destinations, applicationId, candidates);
        return { from, candidates: answer.candidates };
      },
      registerApplication: (id, endpoint) => this.registerApplication(id, endpoint),
      tlsCredentials: () => ({
        certificate: this.signer.credentials.certificate.der,
        privateKey: this.signer.credentials.privateKey,
        ca: this.init.certificates.policy.rootCerts,
      }),
      checkCertificate: (der) => this.init.certificates.check(der),
      on: (l) => this.on(l),
      knownPeers: () => {
        const s = this.topology?.snapshot();
        return s ? [...s.predecessors, ...s.successors, ...s.fingers] : [];
      },
    };
  }

  // ------------------------------------------------------------ topology host

  private topologyHost(): TopologyHost {
    const node = this;
    return {
      nodeId: this.nodeId,
      nodeIdLength: this.params.nodeIdLength,
      clock: this.clock,
      random: this.random,
      isPeer: this.isPeer,
      async request(destinations, code, body) {
        const a = await node.router.request(destinations, code, body);
        return { body: a.body, from: a.from };
      },
      attach: (dest, via, sendUpdate) => this.attach(dest, via, sendUpdate),
      connectedPeers: () => this.router.table.nodeIds(),
      isConnected: (id) => this.router.table.byNode(id) !== undefined,
      isSuspect: (id) => this.router.table.byNode(id)?.suspect === true,
      disconnect: (id) => this.router.table.byNode(id)?.connection.close('not needed'),
      storage: {
        resources: () => [...this.storage.resources()],
        export: (id) => this.storage.exportResource(id),
        drop: (id) => this.storage.dropResource(id),
        numResources: () => this.storage.numResources(),
      },
      replicate: (nodeId, resourceId, replicaNumber) => this.replicate(nodeId, resourceId, replicaNumber),
      uptimeSeconds: () => this.uptimeSeconds(),
      log: (level, msg, fields) => this.log[level](msg, fields),
    };
  }
}

function toIpAddressPort(a: LinkAddress): IpAddressPort {
  if (a.host.includes(':')) return { family: 'ipv6', address: a.host, port: a.port };
  return { family: 'ipv4', address: a.host, port: a.port };
}

function sameAddress(a: LinkAddress, b: LinkAddress): boolean {
  return a.port === b.port && (a.host === b.host || (isAny(a.host) && isLoopback(b.host)));
}

function isAny(h: string): boolean {
  return h === '0.0.0.0' || h === '::';
}

function isLoopback(h: string): boolean {
  return h === '127.0.0.1' || h === '::1' || h === 'localhost';
}

function wildcard(n: number): Uint8Array {
  return new Uint8Array(n).fill(0xff);
}

/** id + 1 modulo 2^(8·length). */
export function addOne(id: Uint8Array): Uint8Array {
  const out = new Uint8Array(id);
  for (let i = out.length - 1; i >= 0; i--) {
    out[i] = (out[i]! + 1) & 0xff;
    if (out[i] !== 0) break;
  }
  return out;
}

