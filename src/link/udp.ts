/**
 * RELOAD over plain UDP with the FramedMessage framing and Simple Reliability (RFC 6940
 * §6.6.2, §6.6.3; wire digest §9).
 *
 * This is the product's **insecure link**: RFC 6940 runs this framing inside DTLS
 * (DTLS-UDP-SR), but Node.js has no DTLS, so the datagrams travel in the clear. Messages
 * are still signed end to end (RFC 6940 §13), so a forged or altered message fails
 * verification at its destination; what is lost is hop-by-hop confidentiality and peer
 * authentication — `Connection.peerCertificate` is always undefined here.
 *
 * Associations: one Connection per remote address, created by `connect` or by the first
 * valid data frame from an unknown address (then `onConnection` fires for it). Sequence
 * numbers start at 0 per association and grow by one for every data frame, a
 * retransmission included. The receiver acks every data frame at once with ack_sequence and
 * the 32-bit `received` bitmap. The sender is stop-and-wait (src/link/reliability.ts): one
 * message in flight, the rest queued in order; RTO 500 ms until the first ack, then RFC 6298
 * from ack samples (floored at `minRtoMs`, 200 ms by default, 50 ms is fine on loopback);
 * retransmission after the RTO with doubling; after five transmissions the send rejects
 * (LinkError reason 'timeout') and the association closes (`onClose`).
 *
 * Duplicates: a retransmission carries a new sequence number, so when only an ack was lost
 * the receiver gets the same RELOAD message twice under two sequence numbers. The link
 * cannot tell such copies apart and delivers both; weeding them out is the router's job
 * (transaction ids, RFC 6940 §6.2.1 / behaviour digest §1: duplicate-request window).
 * A frame whose sequence number was already received (a datagram duplicated by the network)
 * is acked again and also delivered again: plain UDP has no session, so a peer that
 * restarts on the same port begins again at sequence 0, and suppressing "seen" numbers
 * would silently swallow its first messages (they would be acked but never delivered).
 *
 * Plain UDP has no closing handshake: closing an association forgets it locally (the peer
 * notices through missing acks). Datagrams that are not FramedMessages are dropped and
 * counted (`stats.malformedDatagrams`), as are acks from unknown addresses.
 *
 * Sockets come from dgram-as-promised (bind / send / recv / close as promises). Its `recv`
 * loop is how datagrams are read; it re-arms its listener within the same microtask
 * checkpoint, so a burst of datagrams is not lost (tested).
 */
import { isIP } from 'node:net';
import { lookup } from 'node:dns/promises';
import DgramAsPromised, { type SocketAsPromised } from 'dgram-as-promised';
import type { Clock } from '../common/clock.js';
import { DATA_FRAME_OVERHEAD, ACK_FRAME_SIZE, type FramedMessage, decodeFrame, encodeFrame } from '../wire/framing.js';
import { MutableLinkStats, addressKey, guarded, nextConnectionId, reportError, reportOversizedThenClose } from './common.js';
import { UDP4_MAX_PAYLOAD, UDP6_MAX_PAYLOAD } from './constants.js';
import { ReceiveWindow, type RtoOptions, RttEstimator, StopAndWaitSender } from './reliability.js';
import {
  type Connection,
  type LinkAddress,
  type LinkHandlers,
  LinkError,
  type LinkErrorReason,
  type Transport,
  type TransportOptions,
} from './types.js';

export interface UdpTransportOptions extends TransportOptions, RtoOptions {
  /** Socket family. @default 'udp4' */
  type?: 'udp4' | 'udp6';
  /** Transmissions of one message in total. @default SR_MAX_TRANSMISSIONS (5) */
  maxTransmissions?: number;
  /** Pause after an ack before the next message, ms. @default SR_ACK_GAP_MS (10) */
  ackGapMs?: number;
  /** Messages allowed to wait behind the one in flight, per association. @default DEFAULT_MAX_QUEUE (1024) */
  maxQueue?: number;
}

/** Transport-wide counters. */
export class UdpTransportStats {
  datagramsReceived = 0;
  /** Datagrams that did not decode as one FramedMessage (dropped). */
  malformedDatagrams = 0;
  /** Acks from addresses with no association (dropped). */
  strayAcks = 0;
}

export class UdpTransport implements Transport {
  readonly kind = 'udp' as const;
  readonly stats = new UdpTransportStats();
  readonly clock: Clock;
  readonly handlers: LinkHandlers;
  readonly maxMessageSize: number;
  private socket: SocketAsPromised | undefined;
  private bound: LinkAddress | undefined;
  private binding: Promise<LinkAddress> | undefined;
  private readonly associations = new Map<string, UdpConnection>();
  private closed = false;

  constructor(readonly options: UdpTransportOptions) {
    this.clock = options.clock;
    this.handlers = options.handlers;
    this.maxMessageSize = options.maxMessageSize;
    // Construct once to validate the RTO bounds early.
    new RttEstimator(options);
  }

  /** The bound local address, once listening (or auto-bound by `connect`). */
  get address(): LinkAddress | undefined {
    return this.bound;
  }

  /** The open associations. */
  get connections(): UdpConnection[] {
    return [...this.associations.values()];
  }

  /** Largest datagram payload of this socket family. */
  get maxDatagram(): number {
    return (this.options.type ?? 'udp4') === 'udp6' ? UDP6_MAX_PAYLOAD : UDP4_MAX_PAYLOAD;
  }

  async listen(address: LinkAddress): Promise<LinkAddress> {
    if (this.closed) throw new LinkError('transport is closed', { reason: 'closed' });
    if (this.binding) throw new LinkError('UDP transport is already bound', { reason: 'failed' });
    return this.bind(address);
  }

  async connect(address: LinkAddress): Promise<Connection> {
    if (this.closed) throw new LinkError('transport is closed', { reason: 'closed', remote: address });
    const host = isIP(address.host) ? address.host : (await this.resolve(address)).address;
    const remote = { host, port: address.port };
    if (!this.binding) {
      await this.bind({ host: (this.options.type ?? 'udp4') === 'udp6' ? '::' : '0.0.0.0', port: 0 });
    } else {
      await this.binding;
    }
    if (this.closed) throw new LinkError('transport is closed', { reason: 'closed', remote });
    const existing = this.associations.get(addressKey(remote));
    if (existing) return existing;
    return this.associate(remote, true);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const c of [...this.associations.values()]) c.close('transport closed');
    const socket = this.socket;
    this.socket = undefined;
    if (socket) {
      try {
        await socket.close();
      } catch {
        // already closed
      }
    }
  }

  /** Sends raw bytes from this transport's socket (used by connections). */
  transmit(bytes: Uint8Array, remote: LinkAddress): Promise<number> {
    if (!this.socket) return Promise.reject(new LinkError('socket is closed', { reason: 'closed', remote }));
    return this.socket.send(bytes, remote.port, remote.host);
  }

  /** Forgets a closed association (called by UdpConnection.close). */
  forget(conn: UdpConnection): void {
    const key = addressKey(conn.remote);
    if (this.associations.get(key) === conn) this.associations.delete(key);
  }

  private async resolve(address: LinkAddress): Promise<{ address: string }> {
    try {
      return await lookup(address.host, { family: (this.options.type ?? 'udp4') === 'udp6' ? 6 : 4 });
    } catch (err) {
      throw new LinkError(`cannot resolve ${address.host}`, { cause: err, reason: 'connect-failed', remote: address });
    }
  }

  private bind(address: LinkAddress): Promise<LinkAddress> {
    const socket = DgramAsPromised.createSocket(this.options.type ?? 'udp4');
    this.binding = (async () => {
      let info;
      try {
        info = await socket.bind(address.port, address.host);
      } catch (err) {
        this.binding = undefined;
        throw new LinkError(`cannot bind UDP ${addressKey(address)}`, { cause: err, reason: 'socket-error' });
      }
      this.socket = socket;
      this.bound = { host: info.address, port: info.port };
      void this.receiveLoop(socket);
      return this.bound;
    })();
    return this.binding;
  }

  private async receiveLoop(socket: SocketAsPromised): Promise<void> {
    for (;;) {
      let packet;
      try {
        packet = await socket.recv();
      } catch (err) {
        // An asynchronous socket error (e.g. ICMP reported on some platforms): keep reading
        // unless the socket is gone.
        if (this.socket !== socket) return;
        reportError(this.handlers, new LinkError('UDP socket error', { cause: err, reason: 'socket-error' }));
        continue;
      }
      if (!packet) return; // socket closed
      this.onDatagram(new Uint8Array(packet.msg.buffer, packet.msg.byteOffset, packet.msg.byteLength), {
        host: packet.rinfo.address,
        port: packet.rinfo.port,
      });
    }
  }

  private onDatagram(bytes: Uint8Array, from: LinkAddress): void {
    this.stats.datagramsReceived += 1;
    let frame: FramedMessage;
    try {
      frame = decodeFrame(bytes);
    } catch {
      this.stats.malformedDatagrams += 1;
      return;
    }
    const key = addressKey(from);
    let conn = this.associations.get(key);
    if (frame.type === 'ack') {
      if (!conn) {
        this.stats.strayAcks += 1;
        return;
      }
      conn.receive(frame, bytes.length);
      return;
    }
    if (!conn) conn = this.associate(from, false);
    conn.receive(frame, bytes.length);
  }

  private associate(remote: LinkAddress, outbound: boolean): UdpConnection {
    const conn = new UdpConnection(this, remote, outbound);
    this.associations.set(addressKey(remote), conn);
    guarded(this.handlers, 'onConnection', () => this.handlers.onConnection(conn));
    return conn;
  }
}

/** One UDP association (RFC 6940 §6.6.3: the sequence space and ack state for one peer). */
export class UdpConnection implements Connection {
  readonly id = nextConnectionId('udp');
  readonly transport = 'udp' as const;
  /** Simple Reliability over datagrams (RFC 6940 §6.6.3.2). */
  readonly reliability = 'datagram' as const;
  readonly peerCertificate = undefined;
  readonly stats = new MutableLinkStats();
  readonly local: LinkAddress;
  private readonly rtt: RttEstimator;
  private readonly window = new ReceiveWindow();
  private readonly sender: StopAndWaitSender;
  private isOpen = true;
  /** Set while an oversized message is being reported: incoming data is ignored. */
  private refusing = false;

  constructor(
    private readonly owner: UdpTransport,
    readonly remote: LinkAddress,
    readonly outbound: boolean,
  ) {
    this.local = owner.address ?? { host: '0.0.0.0', port: 0 };
    const o = owner.options;
    this.rtt = new RttEstimator(o);
    this.sender = new StopAndWaitSender({
      clock: owner.clock,
      rtt: this.rtt,
      stats: this.stats,
      remote,
      ...(o.maxTransmissions === undefined ? {} : { maxTransmissions: o.maxTransmissions }),
      ...(o.ackGapMs === undefined ? {} : { ackGapMs: o.ackGapMs }),
      ...(o.maxQueue === undefined ? {} : { maxQueue: o.maxQueue }),
      transmit: (sequence, message, tail) => this.transmitData(sequence, message, tail),
      hint: (hint) => {
        const h = owner.handlers.onLinkHint;
        if (h) guarded(owner.handlers, 'onLinkHint', () => h.call(owner.handlers, this, hint));
      },
      giveUp: (error) => this.close(error.message),
    });
  }

  get open(): boolean {
    return this.isOpen;
  }

  get srttMs(): number | undefined {
    return this.rtt.srtt;
  }

  get rttvarMs(): number | undefined {
    return this.rtt.rttvar;
  }

  get rtoMs(): number {
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
    if (length + DATA_FRAME_OVERHEAD > this.owner.maxDatagram) {
      return Promise.reject(
        new LinkError(`message of ${length} bytes does not fit in one UDP datagram`, { reason: 'too-large', remote: this.remote }),
      );
    }
    return this.sender.send(message, tail);
  }

  close(reason = 'closed locally'): void {
    this.shut(reason, 'closed');
  }

  /** Closes with `errorReason` for the sends still pending. */
  private shut(reason: string, errorReason: LinkErrorReason): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.owner.forget(this);
    this.sender.fail(new LinkError(`connection closed: ${reason}`, { reason: errorReason, remote: this.remote }));
    guarded(this.owner.handlers, 'onClose', () => this.owner.handlers.onClose(this, reason));
  }

  /** A frame from the peer (called by the transport). */
  receive(frame: FramedMessage, size: number): void {
    if (!this.isOpen) return;
    this.stats.bytesReceived += size;
    if (frame.type === 'ack') {
      this.stats.acksReceived += 1;
      this.sender.onAck(frame.ackSequence);
      return;
    }
    this.stats.dataFramesReceived += 1;
    if (this.refusing) return;
    // Ack every data frame at once (RFC 6940 §6.6.3.2), duplicates included.
    const { received } = this.window.record(frame.sequence);
    this.sendAck(frame.sequence, received);
    if (frame.message.length > this.owner.maxMessageSize) {
      this.refusing = true;
      reportOversizedThenClose(
        this,
        this.owner.handlers,
        { length: frame.message.length, limit: this.owner.maxMessageSize, head: frame.message },
        this.owner.clock,
        (reason) => this.close(reason),
      );
      return;
    }
    this.stats.messagesDelivered += 1;
    guarded(this.owner.handlers, 'onMessage', () => this.owner.handlers.onMessage(this, frame.message));
  }

  private sendAck(sequence: number, received: number): void {
    const ack = encodeFrame({ type: 'ack', ackSequence: sequence, received });
    this.stats.acksSent += 1;
    this.stats.bytesSent += ACK_FRAME_SIZE;
    this.owner.transmit(ack, this.remote).catch(() => {
      // A lost ack is repaired by the peer's retransmission.
    });
  }

  private transmitData(sequence: number, message: Uint8Array, tail: Uint8Array | undefined): void {
    const frame = encodeFrame({ type: 'data', sequence, message, tail });
    this.stats.bytesSent += frame.length;
    this.owner.transmit(frame, this.remote).catch((err: unknown) => {
      // A hard error (no route, message too long for the path...) ends the association,
      // as an ICMP hard error does in RFC 6940 §6.6.3.2.
      if (!this.isOpen) return;
      const code = (err as { code?: string }).code ?? String(err);
      this.shut(`socket error: ${code}`, 'socket-error');
    });
  }
}
