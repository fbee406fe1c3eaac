/**
 * An in-memory link for the simulator and unit tests: many MemoryTransports share one
 * MemoryNetwork in one process, all driven by one injected Clock (a VirtualClock in the
 * simulator), so a 10,000-peer overlay runs deterministically.
 *
 * What it models:
 * - **Delivery**: every frame (data, ack) is carried by `clock.setTimeout(…, latencyMs(from,
 *   to))` — never synchronously, even at latency 0, so a send never re-enters the caller.
 *   Frames with the same due time arrive in the order they were sent.
 * - **Loss**: optional, per frame (`lossRate` with a seeded Random, or a `loss` function).
 * - **Reliability**: the Simple Reliability sender of the UDP link (src/link/reliability.ts)
 *   runs unchanged — stop-and-wait, RTO 500 ms then RFC 6298, retransmission with doubling
 *   and new sequence numbers, five transmissions, the failure hint, the 10 ms gap — so
 *   failure detection in the simulator behaves as on a real datagram link. The option
 *   `reliability: 'stream'` models a TLS/TCP link with the framed header instead (pipelined,
 *   ordered, acks as RTT samples, failure hint after max(RTO, 1 s) without an ack).
 * - **Dead hosts**: `kill(address)` crashes an endpoint (no callbacks, nothing leaves or
 *   reaches it); `partition(address)` / `heal(address)` cut it off and reconnect it. Peers
 *   are not told: their sends time out after the SR schedule (0, RTO, 3, 7, 15·RTO; rejected
 *   at 31·RTO), then their connection closes — exactly what a dead host looks like over UDP.
 *   In the 'stream' mode they see what a TCP peer sees of a dead host: silence — the link
 *   turns suspect once a frame is unacked for max(RTO, 1 s) and closes after
 *   `failureHoldMs` (30 s) of unacked traffic; a link that carries nothing stays up.
 * - **Graceful close**: `close()` notifies the peer (as a TLS close_notify / TCP FIN would),
 *   whose connection then closes with reason "closed by peer". Notifications are never lost.
 * - **Identity**: a transport may carry a `certificate` (DER) that its peers see as
 *   `peerCertificate`, and a `verifyPeer` that refuses peers as the TLS link does (the
 *   simulator models TLS identities this way).
 *
 * Cost: messages are passed by reference (zero copy, no frame encoding — a sender must not
 * modify a message after sending it); bytes are nevertheless counted as if framed (8 bytes
 * per data frame, 9 per ack) in `Connection.stats` and `MemoryNetwork.stats`, so the
 * simulator can report bandwidth. Connections are created lazily; an idle transport is a
 * few small objects. Associations are per address pair, like UDP: `connect` resolves at
 * once (no handshake), and the remote side's `onConnection` fires when the first data frame
 * arrives.
 */
import type { Clock } from '../common/clock.js';
import type { Random } from '../common/random.js';
import { ACK_FRAME_SIZE, DATA_FRAME_OVERHEAD } from '../wire/framing.js';
import { MutableLinkStats, addressKey, guarded, nextConnectionId, reportError, reportOversizedThenClose } from './common.js';
import { type RtoOptions, RttEstimator, type StopAndWaitOptions, StopAndWaitSender, StreamSender, type StreamSenderOptions } from './reliability.js';
import {
  type Connection,
  type LinkAddress,
  type LinkHandlers,
  LinkError,
  type LinkErrorReason,
  type LinkHint,
  type LinkReliability,
  type Transport,
  type TransportOptions,
} from './types.js';

/** The host name of memory addresses: `{ host: 'mem', port: N }`. */
export const MEMORY_HOST = 'mem';

/** First port handed out for `port: 0` (the IANA dynamic range). */
const EPHEMERAL_FIRST = 49_152;

export interface MemoryNetworkOptions {
  /** Drives delivery and every timer of the transports on this network. */
  clock: Clock;
  /** One-way delay of a frame from `from` to `to`, ms. @default () => 0 */
  latencyMs?: (from: LinkAddress, to: LinkAddress) => number;
  /** Probability that a data or ack frame is lost, 0..1 (needs `random`). @default 0 */
  lossRate?: number;
  /** Random source for `lossRate` (a SeededRandom keeps runs deterministic). */
  random?: Random;
  /** Decides per frame whether it is lost; overrides `lossRate`. */
  loss?: (from: LinkAddress, to: LinkAddress) => boolean;
}

/** Network-wide counters (framed bytes, as on a real link). */
export class MemoryNetworkStats {
  /** Data and ack frames put on the network. */
  framesSent = 0;
  framesDelivered = 0;
  /** Frames dropped by the loss model. */
  framesLost = 0;
  /** Frames dropped because an end was dead, unknown or partitioned. */
  framesUndeliverable = 0;
  bytesSent = 0;
  bytesDelivered = 0;
}

export class MemoryNetwork {
  readonly clock: Clock;
  private readonly counters = new MemoryNetworkStats();
  /** Connections holding framing acks not yet processed (see MemoryConnection.queueAck). @internal */
  readonly ackHolders = new Set<MemoryConnection>();
  private readonly latency: (from: LinkAddress, to: LinkAddress) => number;
  private readonly lost: ((from: LinkAddress, to: LinkAddress) => boolean) | undefined;
  private readonly endpoints = new Map<string, MemoryTransport>();
  private readonly cut = new Set<string>();
  private nextPort = EPHEMERAL_FIRST;

  constructor(options: MemoryNetworkOptions) {
    this.clock = options.clock;
    this.latency = options.latencyMs ?? (() => 0);
    if (options.loss) {
      this.lost = options.loss;
    } else if (options.lossRate !== undefined && options.lossRate > 0) {
      const random = options.random;
      if (!random) throw new RangeError('lossRate needs a random source');
      const rate = options.lossRate;
      this.lost = () => random.float() < rate;
    }
  }

  /** Network-wide counters (acks already due are processed first, so they are current). */
  get stats(): MemoryNetworkStats {
    for (const c of this.ackHolders) c.drainAcks();
    return this.counters;
  }

  /**
   * Whether framing acks may be processed lazily: nothing can drop them between sending and
   * their due time (no loss model, no partition). @internal
   */
  get lazyAcks(): boolean {
    return this.lost === undefined && this.cut.size === 0;
  }

  /** Endpoints currently on the network. */
  get size(): number {
    return this.endpoints.size;
  }

  /** The live transport at `address`, if any. */
  lookup(address: LinkAddress): MemoryTransport | undefined {
    return this.endpoints.get(addressKey(address));
  }

  /** The live transport whose address key (`host:port`) is `key`. @internal */
  lookupKey(key: string): MemoryTransport | undefined {
    return this.endpoints.get(key);
  }

  /** Cuts `address` off: nothing reaches it or leaves it until `heal`. */
  partition(address: LinkAddress): void {
    // Acks already on their way become real events, so the cut can drop them on arrival.
    for (const c of [...this.ackHolders]) c.materializeAcks();
    this.cut.add(addressKey(address));
  }

  heal(address: LinkAddress): void {
    this.cut.delete(addressKey(address));
  }

  isPartitioned(address: LinkAddress): boolean {
    return this.isCutKey(addressKey(address));
  }

  /**
   * Crashes the endpoint at `address` (a dead host): its connections stop without any
   * callback and without telling their peers, its pending sends reject (reason 'killed'),
   * and its address is free again. Returns false when nothing was there.
   */
  kill(address: LinkAddress): boolean {
    const t = this.lookup(address);
    if (!t) return false;
    t.crash();
    return true;
  }

  /** Registers a transport at `address` (port 0 picks a free one). @internal */
  register(transport: MemoryTransport, address: LinkAddress): LinkAddress {
    let a = address;
    if (a.port === 0) {
      // Like an OS: ephemeral ports from 49152 up, wrapping to 1024, never a port in use.
      for (let tries = 0; ; tries++) {
        if (tries > 65_535 - 1024) throw new LinkError(`no free port on host ${address.host}`, { reason: 'socket-error' });
        a = { host: address.host, port: this.nextPort };
        this.nextPort = this.nextPort >= 65_535 ? 1024 : this.nextPort + 1;
        if (!this.endpoints.has(addressKey(a))) break;
      }
    } else if (this.endpoints.has(addressKey(a))) {
      throw new LinkError(`address ${addressKey(a)} is in use`, { reason: 'socket-error' });
    }
    this.endpoints.set(addressKey(a), transport);
    return a;
  }

  /** @internal */
  unregister(transport: MemoryTransport, address: LinkAddress): void {
    const key = addressKey(address);
    if (this.endpoints.get(key) === transport) this.endpoints.delete(key);
  }

  /**
   * Carries one frame of `bytes` framed bytes from `from` to `to`, running `deliver` on
   * arrival unless the frame is lost or an end is partitioned (at sending or at arrival).
   * Control notifications pass `lossy` false. @internal
   */
  carry(from: LinkAddress, to: LinkAddress, bytes: number, lossy: boolean, deliver: () => void): void {
    if (lossy) {
      this.counters.framesSent += 1;
      this.counters.bytesSent += bytes;
    }
    if (this.cut.size > 0 && (this.cut.has(addressKey(from)) || this.cut.has(addressKey(to)))) {
      if (lossy) this.counters.framesUndeliverable += 1;
      return;
    }
    if (lossy && this.lost && this.lost(from, to)) {
      this.counters.framesLost += 1;
      return;
    }
    this.clock.setTimeout(() => {
      if (this.cut.size > 0 && (this.cut.has(addressKey(from)) || this.cut.has(addressKey(to)))) {
        if (lossy) this.counters.framesUndeliverable += 1;
        return;
      }
      deliver();
    }, Math.max(0, this.latency(from, to)));
  }

  /** One-way delay from `from` to `to`, ms (the latency model). @internal */
  latencyOf(from: LinkAddress, to: LinkAddress): number {
    return this.latency(from, to);
  }

  /** Counts a lossy frame put on the network (its arrival is accounted separately). @internal */
  sent(bytes: number): void {
    this.counters.framesSent += 1;
    this.counters.bytesSent += bytes;
  }

  /** Whether the endpoint with address key `key` is cut off. @internal */
  isCutKey(key: string): boolean {
    return this.cut.size > 0 && this.cut.has(key);
  }

  /** Counts a frame that reached a live connection. @internal */
  delivered(bytes: number): void {
    this.counters.framesDelivered += 1;
    this.counters.bytesDelivered += bytes;
  }

  /** Counts a frame that arrived where nobody (alive) listens. @internal */
  undeliverable(): void {
    this.counters.framesUndeliverable += 1;
  }
}

export interface MemoryTransportOptions extends Omit<TransportOptions, 'clock'>, RtoOptions {
  /** @default the network's clock (they must be the same clock) */
  clock?: Clock;
  /** Transmissions of one message in total. @default SR_MAX_TRANSMISSIONS (5) */
  maxTransmissions?: number;
  /** Pause after an ack before the next message, ms. @default SR_ACK_GAP_MS (10) */
  ackGapMs?: number;
  /** Messages allowed to wait behind the one in flight. @default DEFAULT_MAX_QUEUE (1024) */
  maxQueue?: number;
  /** The certificate (DER) this endpoint shows its peers as `peerCertificate`. */
  certificate?: Uint8Array;
  /** Judges a peer's certificate (as the TLS link does); throws to refuse the peer. */
  verifyPeer?(der: Uint8Array): void;
  /**
   * 'simple' (default): the Simple Reliability stop-and-wait sender of a datagram link
   * (DTLS-UDP-SR). 'stream': a TLS/TCP link with the framed header (TLS-TCP-FH-NO-ICE) —
   * messages pipelined and delivered in order, framing acks only measure RTT, and a frame
   * unacked for max(RTO, `failureFloorMs`) raises 'suspect' ({@link StreamSender}). The
   * simulator uses 'stream', the overlay's default link protocol (TLS).
   */
  reliability?: 'simple' | 'stream';
  /** Stream mode: see StreamSender. @default STREAM_FAILURE_FLOOR_MS (1000) */
  failureFloorMs?: number;
  /** Stream mode: see StreamSender. @default STREAM_FAILURE_HOLD_MS (30 000) */
  failureHoldMs?: number;
}

export class MemoryTransport implements Transport {
  readonly kind = 'memory' as const;
  readonly clock: Clock;
  readonly handlers: LinkHandlers;
  readonly maxMessageSize: number;
  private bound: LinkAddress | undefined;
  /** addressKey(bound), computed once: every connection's localKey, and its peers' remoteKey. */
  private boundKey: string | undefined;
  private readonly conns = new Map<string, MemoryConnection>();
  private closed = false;

  constructor(
    readonly network: MemoryNetwork,
    readonly options: MemoryTransportOptions,
  ) {
    this.clock = options.clock ?? network.clock;
    this.handlers = options.handlers;
    this.maxMessageSize = options.maxMessageSize;
  }

  /** The registered address, once listening (or auto-registered by `connect`). */
  get address(): LinkAddress | undefined {
    return this.bound;
  }

  get certificate(): Uint8Array | undefined {
    return this.options.certificate;
  }

  /** addressKey of the registered address (one string shared by all connections). @internal */
  get key(): string | undefined {
    return this.boundKey;
  }

  /** Whether the endpoint is on the network (not closed, not killed). */
  get alive(): boolean {
    return !this.closed && this.bound !== undefined;
  }

  get connections(): MemoryConnection[] {
    return [...this.conns.values()];
  }

  async listen(address: LinkAddress = { host: MEMORY_HOST, port: 0 }): Promise<LinkAddress> {
    if (this.closed) throw new LinkError('transport is closed', { reason: 'closed' });
    if (this.bound) throw new LinkError('memory transport is already bound');
    this.bind(this.network.register(this, address));
    return this.bound!;
  }

  async connect(address: LinkAddress): Promise<Connection> {
    if (this.closed) throw new LinkError('transport is closed', { reason: 'closed', remote: address });
    if (!this.bound) this.bind(this.network.register(this, { host: MEMORY_HOST, port: 0 }));
    const existing = this.conns.get(addressKey(address));
    if (existing) return existing;
    const target = this.network.lookup(address);
    let cert: Uint8Array | undefined;
    if (target) {
      cert = target.certificate;
      this.judge(cert, address);
    }
    return this.open(address, true, cert);
  }

  private bind(address: LinkAddress): void {
    this.bound = address;
    this.boundKey = addressKey(address);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.conns.values()]) c.close('transport closed');
    if (this.bound) this.network.unregister(this, this.bound);
  }

  /** A simulated crash (MemoryNetwork.kill). @internal */
  crash(): void {
    if (this.closed) return;
    this.closed = true;
    if (this.bound) this.network.unregister(this, this.bound);
    const conns = [...this.conns.values()];
    this.conns.clear();
    for (const c of conns) c.crash();
  }

  /** Throws LinkError 'peer-refused' if `verifyPeer` refuses `cert` (or there is none). @internal */
  judge(cert: Uint8Array | undefined, remote: LinkAddress): void {
    const verify = this.options.verifyPeer;
    if (!verify) return;
    if (!cert) throw new LinkError('peer presented no certificate', { reason: 'peer-refused', remote });
    try {
      verify.call(this.options, cert);
    } catch (err) {
      const detail = err instanceof Error ? err.message : String(err);
      throw new LinkError(`peer certificate refused: ${detail}`, { cause: err, reason: 'peer-refused', remote });
    }
  }

  /** @internal */
  forget(conn: MemoryConnection): void {
    if (this.conns.get(conn.remoteKey) === conn) this.conns.delete(conn.remoteKey);
  }

  /**
   * A data frame from `from` arrived here: the association for its address, paired with
   * `from`, created (with `onConnection`) if needed; undefined if the peer is refused.
   * @internal
   */
  associate(from: MemoryConnection): MemoryConnection | undefined {
    const existing = this.conns.get(from.localKey);
    if (existing && existing.open) {
      existing.pair(from);
      return existing;
    }
    const cert = from.owner.certificate;
    try {
      this.judge(cert, from.local);
    } catch (err) {
      reportError(this.handlers, err as LinkError);
      from.refusedByPeer(this.bound!);
      return undefined;
    }
    const conn = this.open(from.local, false, cert);
    conn.pair(from);
    return conn.open ? conn : undefined;
  }

  private open(remote: LinkAddress, outbound: boolean, cert: Uint8Array | undefined): MemoryConnection {
    const conn = new MemoryConnection(this, this.bound!, remote, outbound, cert);
    this.conns.set(conn.remoteKey, conn);
    guarded(this.handlers, 'onConnection', () => this.handlers.onConnection(conn));
    return conn;
  }
}

/**
 * What a connection's sender (reliability.ts) calls: one object with prototype methods per
 * connection rather than an options object holding four closures and their context.
 */
class SenderPort implements StreamSenderOptions, StopAndWaitOptions {
  constructor(
    private readonly conn: MemoryConnection,
    readonly clock: Clock,
    readonly rtt: RttEstimator,
    readonly stats: MutableLinkStats,
    readonly remote: LinkAddress,
  ) {}

  transmit(sequence: number, message: Uint8Array, tail: Uint8Array | undefined): void {
    this.conn.transmitFrame(sequence, message, tail);
  }

  hint(h: LinkHint): void {
    this.conn.senderHint(h);
  }

  giveUp(error: LinkError): void {
    this.conn.senderGaveUp(error);
  }

  drainAcks(): void {
    this.conn.drainAcks();
  }
}

/** One association between two memory endpoints. */
export class MemoryConnection implements Connection {
  readonly id = nextConnectionId('memory');
  readonly transport = 'memory' as const;
  /** 'datagram' in the 'simple' mode (stop-and-wait SR), 'stream' in the 'stream' mode. */
  readonly reliability: LinkReliability;
  private readonly linkStats = new MutableLinkStats();
  private readonly rtt: RttEstimator;
  /**
   * Framing acks on their way to this connection, as (sequence, due time) pairs in due-time
   * order from `ackHead` on. In the stream mode an ack only feeds the RTT estimate and clears
   * unacked frames, so instead of one clock event per ack they are processed when anything
   * reads that state (sends, the failure check, the getters, the stats) — the same samples,
   * in the same order, with their true arrival times. A suspect sender, a loss model or a
   * partition turns them back into events (`materializeAcks`). @internal
   */
  private ackQueue: number[] = [];
  private ackHead = 0;
  private readonly sender: StopAndWaitSender | StreamSender;
  private peer: MemoryConnection | undefined;
  private cert: Uint8Array | undefined;
  private isOpen = true;
  private refusing = false;
  /** addressKey(local), addressKey(remote), computed once. @internal */
  readonly localKey: string;
  /** @internal */
  readonly remoteKey: string;

  constructor(
    readonly owner: MemoryTransport,
    readonly local: LinkAddress,
    readonly remote: LinkAddress,
    readonly outbound: boolean,
    cert: Uint8Array | undefined,
  ) {
    this.cert = cert;
    const network = owner.network;
    // Shared key strings: a template-built key is a chain of V8 cons strings, kept per
    // connection it was ~7 heap objects each (10,000 peers hold ~250,000 connections).
    this.localKey = owner.key ?? addressKey(local);
    this.remoteKey = network.lookup(remote)?.key ?? addressKey(remote);
    const o = owner.options;
    this.reliability = o.reliability === 'stream' ? 'stream' : 'datagram';
    this.rtt = new RttEstimator(o);
    const port = new SenderPort(this, owner.clock, this.rtt, this.linkStats, remote);
    this.sender =
      o.reliability === 'stream'
        ? new StreamSender(
            Object.assign(port, {
              ...(o.failureFloorMs === undefined ? {} : { failureFloorMs: o.failureFloorMs }),
              ...(o.failureHoldMs === undefined ? {} : { failureHoldMs: o.failureHoldMs }),
            }),
          )
        : new StopAndWaitSender(
            Object.assign(port, {
              ...(o.maxTransmissions === undefined ? {} : { maxTransmissions: o.maxTransmissions }),
              ...(o.ackGapMs === undefined ? {} : { ackGapMs: o.ackGapMs }),
              ...(o.maxQueue === undefined ? {} : { maxQueue: o.maxQueue }),
            }),
          );
  }

  /** Puts a data frame on the network (the sender's `transmit`). @internal */
  transmitFrame(sequence: number, message: Uint8Array, tail: Uint8Array | undefined): void {
    const bytes = DATA_FRAME_OVERHEAD + message.length + (tail ? tail.length : 0);
    this.linkStats.bytesSent += bytes;
    this.owner.network.carry(this.local, this.remote, bytes, true, () => this.arrive(sequence, message, tail));
  }

  /** The sender's failure hint. @internal */
  senderHint(h: LinkHint): void {
    // A suspect link is restored by the first ack to arrive: acks become events again.
    if (h === 'suspect') this.materializeAcks();
    const handlers = this.owner.handlers;
    const onHint = handlers.onLinkHint;
    if (onHint) guarded(handlers, 'onLinkHint', () => onHint.call(handlers, this, h));
  }

  /** The sender gave up (last transmission unacked). @internal */
  senderGaveUp(error: LinkError): void {
    this.shut(error.message, 'closed', false);
  }

  get open(): boolean {
    return this.isOpen;
  }

  get stats(): MutableLinkStats {
    this.drainAcks();
    return this.linkStats;
  }

  get peerCertificate(): Uint8Array | undefined {
    return this.cert;
  }

  get srttMs(): number | undefined {
    this.drainAcks();
    return this.rtt.srtt;
  }

  get rttvarMs(): number | undefined {
    this.drainAcks();
    return this.rtt.rttvar;
  }

  get rtoMs(): number {
    this.drainAcks();
    return this.rtt.rto;
  }

  /** Messages in flight or queued. */
  get outstanding(): number {
    return this.sender.outstanding;
  }

  send(message: Uint8Array, tail?: Uint8Array): Promise<void> {
    if (!this.isOpen) return Promise.reject(new LinkError('connection is closed', { reason: 'closed', remote: this.remote }));
    const length = message.length + (tail ? tail.length : 0);
    if (length > this.owner.maxMessageSize) {
      return Promise.reject(
        new LinkError(`message of ${length} bytes exceeds max-message-size ${this.owner.maxMessageSize}`, {
          reason: 'too-large',
          remote: this.remote,
        }),
      );
    }
    return this.sender.send(message, tail);
  }

  close(reason = 'closed locally'): void {
    this.shut(reason, 'closed', true);
  }

  /** Links this association to the remote one (both directions). @internal */
  pair(other: MemoryConnection): void {
    this.peer = other;
    other.peer = this;
    if (other.cert === undefined && this.owner.certificate !== undefined) {
      // The dialling side learns the certificate when the first frame gets through.
      other.cert = this.owner.certificate;
      try {
        other.owner.judge(other.cert, other.remote);
      } catch (err) {
        other.shut((err as LinkError).message, 'peer-refused', true);
      }
    }
  }

  /** The remote endpoint refused this side's certificate. @internal */
  refusedByPeer(by: LinkAddress): void {
    this.owner.network.carry(by, this.local, 0, false, () => {
      if (this.isOpen) this.shut('refused by peer', 'peer-refused', false);
    });
  }

  /** A simulated crash: stop silently. @internal */
  crash(): void {
    if (!this.isOpen) return;
    this.discardAcks();
    this.isOpen = false;
    this.sender.fail(new LinkError('endpoint killed', { reason: 'killed', remote: this.remote }));
  }

  /** Closes; `notify` tells the peer (graceful close). */
  private shut(reason: string, errorReason: LinkErrorReason, notify: boolean): void {
    if (!this.isOpen) return;
    this.discardAcks();
    this.isOpen = false;
    this.owner.forget(this);
    this.sender.fail(new LinkError(`connection closed: ${reason}`, { reason: errorReason, remote: this.remote }));
    const peer = this.peer;
    if (notify && peer) {
      this.owner.network.carry(this.local, this.remote, 0, false, () => {
        if (peer.isOpen && peer.peer === this && this.owner.network.lookupKey(peer.localKey) === peer.owner) {
          peer.shut('closed by peer', 'closed', false);
        }
      });
    }
    guarded(this.owner.handlers, 'onClose', () => this.owner.handlers.onClose(this, reason));
  }

  /** The framing ack for `sequence` reached this connection at `atMs`. @internal */
  ackArrived(sequence: number, atMs: number): void {
    const network = this.owner.network;
    if (!this.isOpen || !this.owner.alive) {
      network.undeliverable();
      return;
    }
    network.delivered(ACK_FRAME_SIZE);
    this.linkStats.acksReceived += 1;
    this.linkStats.bytesReceived += ACK_FRAME_SIZE;
    this.sender.onAck(sequence, atMs);
  }

  /**
   * Puts an ack sent now from `by` on its way here without a clock event (see ackQueue);
   * false when it must travel as an event (its due time would precede a queued one's).
   * @internal
   */
  queueAck(sequence: number, bytes: number, by: LinkAddress): boolean {
    const network = this.owner.network;
    if (!this.isOpen || !this.owner.alive) {
      // It would reach a closed connection: count it now, keep nothing.
      network.sent(bytes);
      network.undeliverable();
      return true;
    }
    const due = network.clock.monotonic() + Math.max(0, network.latencyOf(by, this.local));
    const q = this.ackQueue;
    if (q.length > this.ackHead && q[q.length - 1]! > due) return false;
    network.sent(bytes);
    q.push(sequence, due);
    network.ackHolders.add(this);
    return true;
  }

  /** Processes the queued acks that are due by now, in order. @internal */
  drainAcks(): void {
    const q = this.ackQueue;
    if (q.length === this.ackHead) return;
    const now = this.owner.network.clock.monotonic();
    while (this.ackHead < q.length && q[this.ackHead + 1]! <= now) {
      const sequence = q[this.ackHead]!;
      const due = q[this.ackHead + 1]!;
      this.ackHead += 2;
      this.ackArrived(sequence, due);
    }
    if (this.ackHead === q.length) this.clearAckQueue();
  }

  /**
   * On close or crash: acks due by now arrive first; the later ones would reach a closed
   * connection, so they are counted undeliverable at once and the connection leaves
   * `ackHolders` (which would otherwise keep every dead connection, and its node, alive).
   */
  private discardAcks(): void {
    this.drainAcks();
    const left = (this.ackQueue.length - this.ackHead) / 2;
    if (left === 0) return;
    const network = this.owner.network;
    for (let i = 0; i < left; i++) network.undeliverable();
    this.clearAckQueue();
  }

  /** Empties the ack queue and leaves the network's `ackHolders`. */
  private clearAckQueue(): void {
    this.ackQueue = [];
    this.ackHead = 0;
    this.owner.network.ackHolders.delete(this);
  }

  /** Turns the queued acks into clock events (suspect link, partition). @internal */
  materializeAcks(): void {
    this.drainAcks();
    const q = this.ackQueue;
    if (q.length === this.ackHead) return;
    const network = this.owner.network;
    const now = network.clock.monotonic();
    for (let i = this.ackHead; i < q.length; i += 2) {
      const sequence = q[i]!;
      const due = q[i + 1]!;
      network.clock.setTimeout(() => {
        if (network.isCutKey(this.remoteKey) || network.isCutKey(this.localKey)) {
          network.undeliverable();
          return;
        }
        this.ackArrived(sequence, due);
      }, due - now);
    }
    this.clearAckQueue();
  }

  /** Data frame `sequence` (`message`, then `tail` if given) from this connection reached the remote address. */
  private arrive(sequence: number, message: Uint8Array, tail: Uint8Array | undefined): void {
    const network = this.owner.network;
    // Fast path: the paired association, whose endpoint is alive and therefore still the one
    // registered at our remote address (addresses are unregistered only on close or crash).
    const paired = this.peer;
    let conn: MemoryConnection | undefined;
    if (paired !== undefined && paired.isOpen && paired.owner.alive) {
      conn = paired;
    } else {
      const target = network.lookupKey(this.remoteKey);
      if (!target) {
        network.undeliverable();
        return;
      }
      conn = paired && paired.isOpen && paired.owner === target ? paired : target.associate(this);
    }
    if (!conn) {
      network.undeliverable();
      return;
    }
    const length = message.length + (tail ? tail.length : 0);
    network.delivered(DATA_FRAME_OVERHEAD + length);
    conn.receiveData(this, sequence, message, tail, length);
  }

  private receiveData(from: MemoryConnection, sequence: number, message: Uint8Array, tail: Uint8Array | undefined, length: number): void {
    this.linkStats.dataFramesReceived += 1;
    this.linkStats.bytesReceived += DATA_FRAME_OVERHEAD + length;
    if (this.refusing) return;
    // The ack carries only the sequence number: the received bitmap is advisory (wire
    // digest §9) and nothing here reads it.
    this.linkStats.acksSent += 1;
    this.linkStats.bytesSent += ACK_FRAME_SIZE;
    const network = this.owner.network;
    const lazy = from.reliability === 'stream' && !from.sender.suspect && network.lazyAcks && from.queueAck(sequence, ACK_FRAME_SIZE, this.local);
    if (!lazy) network.carry(this.local, this.remote, ACK_FRAME_SIZE, true, () => from.ackArrived(sequence, network.clock.monotonic()));
    if (length > this.owner.maxMessageSize) {
      this.refusing = true;
      reportOversizedThenClose(
        this,
        this.owner.handlers,
        { length, limit: this.owner.maxMessageSize, head: message },
        this.owner.clock,
        (reason) => this.shut(reason, 'too-large', true),
      );
      return;
    }
    this.linkStats.messagesDelivered += 1;
    guarded(this.owner.handlers, 'onMessage', () => this.owner.handlers.onMessage(this, message, tail));
  }
}
