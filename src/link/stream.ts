/**
 * The framed-header stream link shared by TLS (src/link/tls.ts) and plain TCP
 * (src/link/tcp.ts): RFC 6940 §6.6.3.2 TLS-TCP-FH, wire digest §9.
 *
 * Every RELOAD message travels in a data frame `80 | sequence | length | message`;
 * sequence numbers start at 0 per connection and grow by one per data frame. The receiver
 * acks every data frame at once (`81 | ack_sequence | received`). TCP already delivers
 * reliably, so nothing is retransmitted: the acks only feed the RFC 6298 RTT estimator, and
 * the RTO becomes a failure threshold — a data frame unacked for max(RTO,
 * `failureFloorMs`) raises the 'suspect' hint (the router takes the link out of the routing
 * table), an ack clears it ('restored'), and unacknowledged traffic older than
 * `failureHoldMs` (about 30 s, behaviour digest §1) closes the link.
 *
 * Outgoing frames (data frames and acks) queued in one turn of the event loop are written
 * together: one socket write, hence one TLS record and one system call, instead of one per
 * frame (the acks of a chunk and the answers its requests produced share it).
 *
 * Incoming bytes go through FrameStreamParser. A frame announcing a message longer than
 * max-message-size is refused as soon as its length is read (RFC 6940 §6.6.2): frames
 * complete before it are still delivered, then `onMessageTooLarge` reports it (with the
 * bytes of it that arrived) and the link closes. Any other framing error closes the link
 * (the frame boundaries are lost).
 */
import type { AddressInfo, Server, Socket } from 'node:net';
import type { Clock, TimerHandle } from '../common/clock.js';
import { DecodeError } from '../wire/codec.js';
import { Writer } from '../wire/codec.js';
import { ACK_FRAME_SIZE, DATA_FRAME_OVERHEAD, type FramedMessage, FrameStreamParser, framedMessage } from '../wire/framing.js';
import { MutableLinkStats, addressKey, guarded, nextConnectionId, reportError, reportOversizedThenClose } from './common.js';
import {
  DEFAULT_HANDSHAKE_TIMEOUT_MS,
  STREAM_CLOSE_LINGER_MS,
  STREAM_FAILURE_FLOOR_MS,
  STREAM_FAILURE_HOLD_MS,
  STREAM_WRITE_BATCH_BYTES,
} from './constants.js';
import { ReceiveWindow, type RtoOptions, RttEstimator } from './reliability.js';
import {
  type Connection,
  type LinkAddress,
  type LinkHandlers,
  LinkError,
  type LinkErrorReason,
  type Transport,
  type TransportOptions,
} from './types.js';

/** Options common to the TLS and TCP transports. */
export interface StreamLinkOptions extends TransportOptions, RtoOptions {
  /** A data frame unacked for max(RTO, this) raises the 'suspect' hint, ms. @default STREAM_FAILURE_FLOOR_MS (1000) */
  failureFloorMs?: number;
  /** Unacknowledged traffic this old closes the link, ms. @default STREAM_FAILURE_HOLD_MS (30 000) */
  failureHoldMs?: number;
  /**
   * Whether failure detection runs before the peer has sent its first ack. Set false to
   * interoperate with implementations that do not ack over TLS (detection then starts with
   * the first ack). @default true
   */
  requirePeerAcks?: boolean;
  /** Time allowed for the TCP connect and the TLS handshake, ms. @default DEFAULT_HANDSHAKE_TIMEOUT_MS (10 000) */
  handshakeTimeoutMs?: number;
}

/** Unacked data frames remembered for RTT samples and failure detection. */
const MAX_UNACKED = 4096;

/** Where the connection's byte stream stands, to recover the head of an oversized message. */
interface StreamTail {
  chunks: Uint8Array[];
  /** Stream offset of chunks[0][0]. */
  start: number;
  /** Stream offset just past the last byte received. */
  end: number;
}

/** Frames waiting for the batch write; every data frame's send() settles with the write. */
interface WriteBatch {
  frames: FramedMessage[];
  bytes: number;
  dataFrames: number;
  /** Shared by the sends of this batch; created with the first data frame. */
  written: Promise<void> | undefined;
  resolve: () => void;
  reject: (err: LinkError) => void;
}

/** One TLS or TCP link carrying framed RELOAD messages. */
export class StreamConnection implements Connection {
  readonly id: string;
  /** TCP below, the framed header for RTT and failure detection only (RFC 6940 §6.6.3.2). */
  readonly reliability = 'stream' as const;
  readonly stats = new MutableLinkStats();
  private readonly clock: Clock;
  private readonly handlers: LinkHandlers;
  private readonly maxMessageSize: number;
  private readonly rtt: RttEstimator;
  private readonly window = new ReceiveWindow();
  private readonly parser: FrameStreamParser;
  private readonly tail: StreamTail = { chunks: [], start: 0, end: 0 };
  private readonly unacked = new Map<number, number>();
  private readonly failureFloorMs: number;
  private readonly failureHoldMs: number;
  private readonly requirePeerAcks: boolean;
  private nextSequence = 0;
  private peerAcked = false;
  private suspected = false;
  private failureTimer: TimerHandle | undefined;
  private lingerTimer: TimerHandle | undefined;
  private isOpen = true;
  private refusing = false;
  private batch: WriteBatch | undefined;
  private readonly flushBatch = (): void => this.flush();

  constructor(
    private readonly socket: Socket,
    readonly transport: 'tls' | 'tcp',
    readonly local: LinkAddress,
    readonly remote: LinkAddress,
    readonly outbound: boolean,
    readonly peerCertificate: Uint8Array | undefined,
    options: StreamLinkOptions,
    private readonly onClosed: (conn: StreamConnection) => void,
  ) {
    this.id = nextConnectionId(transport);
    this.clock = options.clock;
    this.handlers = options.handlers;
    this.maxMessageSize = options.maxMessageSize;
    this.rtt = new RttEstimator(options);
    this.parser = new FrameStreamParser(options.maxMessageSize);
    this.failureFloorMs = options.failureFloorMs ?? STREAM_FAILURE_FLOOR_MS;
    this.failureHoldMs = options.failureHoldMs ?? STREAM_FAILURE_HOLD_MS;
    this.requirePeerAcks = options.requirePeerAcks ?? true;
    socket.setNoDelay(true); // acks are tiny; Nagle would distort the RTT samples
    socket.on('error', (err: NodeJS.ErrnoException) => this.shut(`socket error: ${err.code ?? err.message}`, false));
    socket.on('end', () => this.shut('closed by peer', true));
    socket.on('close', () => {
      this.lingerTimer?.cancel();
      this.lingerTimer = undefined;
      this.shut('connection closed', false);
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

  /** The failure threshold's RTO (RFC 6298 from framing acks), ms. */
  get rtoMs(): number {
    return this.rtt.rto;
  }

  /** Whether the failure hint is raised. */
  get suspect(): boolean {
    return this.suspected;
  }

  /** Starts reading (after `onConnection`, so no message can precede it). */
  start(): void {
    this.socket.on('data', (chunk: Buffer) => this.onData(chunk));
  }

  send(message: Uint8Array, tail?: Uint8Array): Promise<void> {
    if (!this.isOpen) return Promise.reject(new LinkError('connection is closed', { reason: 'closed', remote: this.remote }));
    const length = message.length + (tail ? tail.length : 0);
    if (length > this.maxMessageSize) {
      return Promise.reject(
        new LinkError(`message of ${length} bytes exceeds max-message-size ${this.maxMessageSize}`, {
          reason: 'too-large',
          remote: this.remote,
        }),
      );
    }
    const sequence = this.nextSequence;
    this.nextSequence = (sequence + 1) >>> 0;
    this.unacked.set(sequence, this.clock.monotonic());
    if (this.unacked.size > MAX_UNACKED) this.unacked.delete(this.unacked.keys().next().value!);
    this.stats.dataFramesSent += 1;
    this.stats.bytesSent += DATA_FRAME_OVERHEAD + length;
    this.armFailureTimer();
    const b = this.queue({ type: 'data', sequence, message, tail }, DATA_FRAME_OVERHEAD + length);
    b.dataFrames += 1;
    b.written ??= new Promise<void>((resolve, reject) => {
      b.resolve = resolve;
      b.reject = reject;
    });
    const written = b.written;
    if (b.bytes >= STREAM_WRITE_BATCH_BYTES) this.flush();
    return written;
  }

  /** Adds a frame to the batch of this turn of the event loop, scheduling its write. */
  private queue(frame: FramedMessage, bytes: number): WriteBatch {
    let b = this.batch;
    if (!b) {
      b = this.batch = { frames: [], bytes: 0, dataFrames: 0, written: undefined, resolve: noop, reject: noop };
      // Not a timer (no delay, nothing for the Clock to schedule): the write waits only for
      // the current I/O callbacks and their promise chains, whose frames join the batch.
      setImmediate(this.flushBatch);
    }
    b.frames.push(frame);
    b.bytes += bytes;
    return b;
  }

  /** Writes the queued frames as one buffer (one TLS record, one system call). */
  private flush(): void {
    const b = this.batch;
    if (!b) return;
    this.batch = undefined;
    if (this.socket.destroyed) {
      b.reject(new LinkError('write failed: socket closed', { reason: 'closed', remote: this.remote }));
      return;
    }
    const w = new Writer(Buffer.allocUnsafe(b.bytes));
    for (const f of b.frames) framedMessage.encode(w, f);
    this.socket.write(w.buf, (err) => {
      if (err) {
        const code = (err as NodeJS.ErrnoException).code ?? err.message;
        // Written data cut off by our own close is 'closed'; anything else is a socket error.
        const reason = this.isOpen ? 'socket-error' : 'closed';
        b.reject(new LinkError(`write failed: ${code}`, { cause: err, reason, remote: this.remote }));
      } else {
        this.stats.messagesSent += b.dataFrames;
        b.resolve();
      }
    });
  }

  close(reason = 'closed locally'): void {
    this.shut(reason, true);
  }

  private shut(reason: string, graceful: boolean): void {
    if (!this.isOpen) return;
    this.isOpen = false;
    this.failureTimer?.cancel();
    this.failureTimer = undefined;
    if (graceful && !this.socket.destroyed) {
      // end() flushes what was written (e.g. an Error_Message_Too_Large answer) first.
      this.flush();
      this.socket.end();
      this.lingerTimer = this.clock.setTimeout(() => this.socket.destroy(), STREAM_CLOSE_LINGER_MS);
    } else {
      this.socket.destroy();
      this.flush(); // rejects the sends still queued
    }
    this.onClosed(this);
    guarded(this.handlers, 'onClose', () => this.handlers.onClose(this, reason));
  }

  private onData(chunk: Buffer): void {
    if (!this.isOpen || this.refusing) return;
    const bytes = new Uint8Array(chunk.buffer, chunk.byteOffset, chunk.byteLength);
    this.stats.bytesReceived += bytes.length;
    const consumedBefore = this.tail.end - this.parser.pending;
    this.tail.chunks.push(bytes);
    this.tail.end += bytes.length;
    let frames: FramedMessage[];
    try {
      frames = this.parser.push(bytes);
    } catch (err) {
      this.onFramingError(err, consumedBefore);
      return;
    }
    this.trimTail();
    // The acks (and answers) of this chunk go out in one batch write.
    for (const f of frames) {
      if (!this.isOpen) break;
      this.onFrame(f);
    }
  }

  private onFrame(f: FramedMessage): void {
    if (f.type === 'ack') {
      this.stats.acksReceived += 1;
      this.onAck(f.ackSequence);
      return;
    }
    this.stats.dataFramesReceived += 1;
    // Ack every data frame at once: over TLS the acks drive the peer's RTT (RFC 6940 §6.6.3.2).
    const { received } = this.window.record(f.sequence);
    this.queue({ type: 'ack', ackSequence: f.sequence, received }, ACK_FRAME_SIZE);
    this.stats.acksSent += 1;
    this.stats.bytesSent += ACK_FRAME_SIZE;
    this.stats.messagesDelivered += 1;
    guarded(this.handlers, 'onMessage', () => this.handlers.onMessage(this, f.message));
  }

  private onAck(sequence: number): void {
    const sent = this.unacked.get(sequence);
    if (sent === undefined) return; // unknown, or already covered by a later ack
    this.rtt.sample(this.clock.monotonic() - sent);
    this.peerAcked = true;
    // TCP is ordered: an ack for `sequence` means every earlier frame reached the peer.
    for (const s of this.unacked.keys()) {
      this.unacked.delete(s);
      if (s === sequence) break;
    }
    if (this.suspected) {
      this.suspected = false;
      const h = this.handlers.onLinkHint;
      if (h) guarded(this.handlers, 'onLinkHint', () => h.call(this.handlers, this, 'restored'));
      // The armed check was for the hold time; the next unacked frame is due sooner.
      this.failureTimer?.cancel();
      this.failureTimer = undefined;
    }
    // An armed check stays: it is due no later than the oldest frame still unacked needs and
    // re-arms from that frame when it fires (one timer per threshold period, not per ack).
    this.armFailureTimer();
  }

  private armFailureTimer(): void {
    if (this.failureTimer || !this.isOpen) return;
    if (!this.peerAcked && !this.requirePeerAcks) return;
    const oldest = this.unacked.values().next();
    if (oldest.done) return;
    const threshold = this.suspected ? this.failureHoldMs : Math.max(this.rtt.rto, this.failureFloorMs);
    const due = oldest.value + threshold - this.clock.monotonic();
    this.failureTimer = this.clock.setTimeout(() => this.checkFailure(), Math.max(0, due));
  }

  private checkFailure(): void {
    this.failureTimer = undefined;
    if (!this.isOpen) return;
    const oldest = this.unacked.values().next();
    if (oldest.done) return;
    const age = this.clock.monotonic() - oldest.value;
    if (age >= this.failureHoldMs) {
      this.shut(`link failed: no framing ack for ${Math.round(age)} ms`, false);
      return;
    }
    if (!this.suspected && age >= Math.max(this.rtt.rto, this.failureFloorMs)) {
      this.suspected = true;
      const h = this.handlers.onLinkHint;
      if (h) guarded(this.handlers, 'onLinkHint', () => h.call(this.handlers, this, 'suspect'));
      if (!this.isOpen) return;
    }
    this.armFailureTimer();
  }

  /** Drops the received chunks the parser no longer needs. */
  private trimTail(): void {
    const consumed = this.tail.end - this.parser.pending;
    const t = this.tail;
    while (t.chunks.length > 0 && t.start + t.chunks[0]!.length <= consumed) {
      t.start += t.chunks[0]!.length;
      t.chunks.shift();
    }
  }

  /** Bytes [from, to) of the stream, from the chunks still held. */
  private streamBytes(from: number, to: number): Uint8Array {
    const t = this.tail;
    const lo = Math.max(from, t.start);
    const hi = Math.min(to, t.end);
    if (hi <= lo) return new Uint8Array(0);
    const out = new Uint8Array(hi - lo);
    let at = t.start;
    for (const c of t.chunks) {
      const cs = Math.max(lo, at);
      const ce = Math.min(hi, at + c.length);
      if (ce > cs) out.set(c.subarray(cs - at, ce - at), cs - lo);
      at += c.length;
      if (at >= hi) break;
    }
    return out;
  }

  private onFramingError(err: unknown, consumedBefore: number): void {
    this.refusing = true;
    if (!(err instanceof DecodeError)) {
      this.shut(`malformed frame: ${err instanceof Error ? err.message : String(err)}`, false);
      return;
    }
    const oversized = err.field === 'message' && err.reason === 'length';
    // The error's offset is a stream offset: of the 3-byte length field (oversized) or of the
    // bad type byte. Frames completed before that frame still count.
    const frameStart = oversized ? err.offset - 5 : err.offset;
    const known = frameStart >= consumedBefore && frameStart <= this.tail.end;
    if (known && frameStart > consumedBefore) {
      try {
        const before = new FrameStreamParser(this.maxMessageSize).push(this.streamBytes(consumedBefore, frameStart));
        for (const f of before) {
          if (!this.isOpen) break;
          this.onFrame(f);
        }
      } catch {
        // cannot happen: the parser walked these bytes already
      }
    }
    if (!this.isOpen) return;
    if (!oversized) {
      this.tail.chunks = [];
      this.shut(`malformed frame: ${err.message}`, false);
      return;
    }
    let length = this.maxMessageSize + 1;
    let head: Uint8Array = new Uint8Array(0);
    if (known && frameStart + DATA_FRAME_OVERHEAD <= this.tail.end) {
      const lenBytes = this.streamBytes(frameStart + 5, frameStart + 8);
      length = (lenBytes[0]! << 16) | (lenBytes[1]! << 8) | lenBytes[2]!;
      const headStart = frameStart + DATA_FRAME_OVERHEAD;
      head = this.streamBytes(headStart, Math.min(this.tail.end, headStart + this.maxMessageSize));
    }
    this.tail.chunks = [];
    reportOversizedThenClose(
      this,
      this.handlers,
      { length, limit: this.maxMessageSize, head },
      this.clock,
      (reason) => this.shut(reason, true),
    );
  }
}

/**
 * The listener, dialling and connection bookkeeping of the stream transports; TLS and TCP
 * differ only in the socket they open and in how the peer is authenticated.
 */
export abstract class StreamTransport implements Transport {
  abstract readonly kind: 'tls' | 'tcp';
  readonly clock: Clock;
  readonly handlers: LinkHandlers;
  private server: Server | undefined;
  private bound: LinkAddress | undefined;
  private readonly live = new Set<StreamConnection>();
  /** Sockets still connecting or in their handshake. */
  protected readonly pending = new Set<Socket>();
  protected closed = false;

  constructor(readonly options: StreamLinkOptions) {
    this.clock = options.clock;
    this.handlers = options.handlers;
    new RttEstimator(options); // validates the RTO bounds early
  }

  /** The listening address, once `listen` resolved. */
  get address(): LinkAddress | undefined {
    return this.bound;
  }

  /** The open connections. */
  get connections(): StreamConnection[] {
    return [...this.live];
  }

  protected get handshakeTimeoutMs(): number {
    return this.options.handshakeTimeoutMs ?? DEFAULT_HANDSHAKE_TIMEOUT_MS;
  }

  /** A server that calls `accept` with each inbound socket once it is ready. */
  protected abstract createServer(): Server;
  /** Opens an outbound socket; `ready` is the event that ends its handshake. */
  protected abstract dial(address: LinkAddress): { socket: Socket; ready: 'connect' | 'secureConnect' };
  /** The peer's certificate (DER) or undefined; throws a LinkError to refuse the peer. */
  protected abstract authenticate(socket: Socket, remote: LinkAddress): Uint8Array | undefined;
  /** Why a dial failed: 'connect-failed' or 'handshake-failed'. */
  protected abstract classify(err: NodeJS.ErrnoException): LinkErrorReason;

  async listen(address: LinkAddress): Promise<LinkAddress> {
    if (this.closed) throw new LinkError('transport is closed', { reason: 'closed' });
    if (this.server) throw new LinkError(`${this.kind} transport is already listening`);
    const server = this.createServer();
    await new Promise<void>((resolve, reject) => {
      const onError = (err: Error): void => reject(new LinkError(`cannot listen on ${addressKey(address)}`, { cause: err, reason: 'socket-error' }));
      server.once('error', onError);
      server.listen(address.port, address.host, () => {
        server.off('error', onError);
        resolve();
      });
    });
    server.on('error', (err) => reportError(this.handlers, new LinkError(`${this.kind} server error`, { cause: err, reason: 'socket-error' })));
    this.server = server;
    const a = server.address() as AddressInfo;
    this.bound = { host: a.address, port: a.port };
    return this.bound;
  }

  connect(address: LinkAddress): Promise<Connection> {
    if (this.closed) return Promise.reject(new LinkError('transport is closed', { reason: 'closed', remote: address }));
    const { socket, ready } = this.dial(address);
    this.pending.add(socket);
    return new Promise<Connection>((resolve, reject) => {
      let settled = false;
      const timer = this.clock.setTimeout(() => {
        finish(new LinkError(`connect to ${addressKey(address)} timed out`, { reason: 'timeout', remote: address }));
        socket.destroy();
      }, this.handshakeTimeoutMs);
      const finish = (error: LinkError | undefined): void => {
        if (settled) return;
        settled = true;
        timer.cancel();
        this.pending.delete(socket);
        socket.off('error', onError);
        socket.off('close', onClose);
        if (error) reject(error);
      };
      const onError = (err: NodeJS.ErrnoException): void => {
        finish(new LinkError(`cannot connect to ${addressKey(address)}: ${err.code ?? err.message}`, { cause: err, reason: this.classify(err), remote: address }));
        socket.destroy();
      };
      const onClose = (): void => finish(new LinkError(`connection to ${addressKey(address)} closed during setup`, { reason: 'connect-failed', remote: address }));
      socket.on('error', onError);
      socket.on('close', onClose);
      socket.once(ready, () => {
        if (settled) return;
        // Keep an error listener until the connection takes over the socket.
        socket.on('error', () => {});
        finish(undefined);
        if (this.closed) {
          socket.destroy();
          reject(new LinkError('transport is closed', { reason: 'closed', remote: address }));
          return;
        }
        const remote = { host: socket.remoteAddress ?? address.host, port: socket.remotePort ?? address.port };
        let cert: Uint8Array | undefined;
        try {
          cert = this.authenticate(socket, remote);
        } catch (err) {
          socket.destroy();
          reject(err instanceof LinkError ? err : new LinkError('peer refused', { cause: err, reason: 'peer-refused', remote }));
          return;
        }
        resolve(this.adopt(socket, true, remote, cert));
      });
    });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    for (const s of this.pending) s.destroy();
    this.pending.clear();
    for (const c of [...this.live]) c.close('transport closed');
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  /** An inbound socket finished its handshake. */
  protected accept(socket: Socket): void {
    if (this.closed) {
      socket.destroy();
      return;
    }
    const remote = { host: socket.remoteAddress ?? '', port: socket.remotePort ?? 0 };
    let cert: Uint8Array | undefined;
    try {
      cert = this.authenticate(socket, remote);
    } catch (err) {
      socket.on('error', () => {});
      socket.destroy();
      reportError(this.handlers, err instanceof LinkError ? err : new LinkError('peer refused', { cause: err, reason: 'peer-refused', remote }));
      return;
    }
    this.adopt(socket, false, remote, cert);
  }

  private adopt(socket: Socket, outbound: boolean, remote: LinkAddress, cert: Uint8Array | undefined): StreamConnection {
    const local = { host: socket.localAddress ?? '', port: socket.localPort ?? 0 };
    const conn = new StreamConnection(socket, this.kind, local, remote, outbound, cert, this.options, (c) => this.live.delete(c));
    this.live.add(conn);
    guarded(this.handlers, 'onConnection', () => this.handlers.onConnection(conn));
    if (conn.open) conn.start();
    return conn;
  }
}

function noop(): void {}
