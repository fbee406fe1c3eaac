/**
 * The link layer's contract (ARCHITECTURE.md: "A link only moves framed messages and
 * reports peers up/down"). A Transport listens and connects; each Connection carries
 * whole RELOAD messages (or fragments) to one neighbour, adding and removing the
 * FramedMessage framing (RFC 6940 §6.6.2) and running its reliability and RTT estimate.
 */
import type { Clock } from '../common/clock.js';

export type TransportKind = 'tls' | 'tcp' | 'udp' | 'memory';

/** Addition: see {@link Connection.reliability}. */
export type LinkReliability = 'datagram' | 'stream';

export interface LinkAddress {
  host: string;
  port: number;
}

/** One overlay link to one neighbour. */
export interface Connection {
  /** Unique for the life of the process. */
  readonly id: string;
  readonly transport: TransportKind;
  /**
   * Addition: the link's reliability mode (RFC 6940 §6.6.3.2), which says what the failure
   * hint means. 'datagram': Simple Reliability over datagrams (UDP, the memory link in its
   * 'simple' mode) — 'suspect' follows five unacknowledged transmissions, data was lost.
   * 'stream': a reliable ordered stream with the framed header (TLS/TCP, the memory link in
   * its 'stream' mode) — 'suspect' only says framing acks are late; nothing is lost yet.
   */
  readonly reliability: LinkReliability;
  readonly local: LinkAddress;
  readonly remote: LinkAddress;
  /** Whether this side opened the connection. */
  readonly outbound: boolean;
  /**
   * The DER certificate the peer presented in the TLS handshake, already verified by the
   * transport's `verifyPeer`; undefined on links without TLS (udp, tcp, memory).
   */
  readonly peerCertificate: Uint8Array | undefined;
  /** Smoothed RTT from framing acks (RFC 6298), ms; undefined before the first sample. */
  readonly srttMs: number | undefined;
  /** RTT variation (RFC 6298 RTTVAR), ms; undefined before the first sample. */
  readonly rttvarMs?: number | undefined;
  /** Current retransmission timeout (UDP) or failure threshold (TLS), ms. */
  readonly rtoMs: number;
  readonly open: boolean;
  /**
   * Addition (link layer): per-connection counters (framed bytes, frames, acks,
   * retransmissions). Optional in the contract so test doubles need not provide it; every
   * transport in src/link/ does.
   */
  readonly stats?: LinkStats;
  /**
   * Sends one RELOAD message. Resolves once the peer acknowledged the frame (UDP simple
   * reliability, and the memory link that mirrors it) or it was written (stream links).
   * Rejects with LinkError if the link fails or closes first. The link may hold on to
   * `message` until then (stream links write the frames of one event-loop turn together):
   * the caller must not modify it.
   *
   * Addition: with `tail`, the message is `message` followed by `tail` (a gather list: a
   * forwarding peer sends its rewritten ForwardingHeader and the received rest unchanged,
   * copying neither). One frame on the wire either way; the same no-modification rule.
   */
  send(message: Uint8Array, tail?: Uint8Array): Promise<void>;
  close(reason?: string): void;
}

export interface LinkHandlers {
  /** A connection came up (inbound or outbound). */
  onConnection(conn: Connection): void;
  /**
   * A whole RELOAD message (or a fragment of one) arrived on `conn`. Socket links always
   * deliver it in one piece; the memory link hands over what the sender gave, so with
   * `tail` the message is `message` followed by `tail` (see Connection.send).
   */
  onMessage(conn: Connection, message: Uint8Array, tail?: Uint8Array): void;
  /** The connection closed or failed; it will carry nothing more. */
  onClose(conn: Connection, reason: string): void;
  /**
   * Addition (optional): an incoming message exceeded `maxMessageSize` (RFC 6940 §6.6.2;
   * behaviour digest §2 step 1). Sending Error_Message_Too_Large is the router's job: it may
   * call `conn.send` from here (`head` holds the message bytes that arrived, enough for the
   * forwarding header unless even that is too big, in which case the RFC says to close
   * silently). The link then closes itself with reason "message too large" once this returns,
   * or once the returned promise settles (at most OVERSIZE_CLOSE_GRACE_MS later). Without
   * this handler the link just closes.
   */
  onMessageTooLarge?(conn: Connection, info: OversizedMessage): void | Promise<void>;
  /**
   * Addition (optional): the failure hint of RFC 6940 §6.6.3.2. 'suspect': acks stopped (UDP
   * SR: no ack for a whole RTO and then three more retransmissions; TLS/TCP: a frame unacked
   * beyond the failure threshold) — the router should take the link out of the routing
   * table; 'restored': acks resumed before the link was declared failed.
   */
  onLinkHint?(conn: Connection, hint: LinkHint): void;
  /**
   * Addition (optional): a failure that belongs to no open connection — a refused TLS
   * handshake, a peer refused by `verifyPeer`, a key-log file that cannot be written.
   */
  onError?(error: LinkError): void;
}

/** Addition: what `onMessageTooLarge` reports. */
export interface OversizedMessage {
  /** The message length announced by the frame (bytes, without framing). */
  length: number;
  /** The receiver's max-message-size. */
  limit: number;
  /** The first bytes of the message that had arrived when it was refused (may be empty). */
  head: Uint8Array;
}

/** Addition: the failure hint (see LinkHandlers.onLinkHint). */
export type LinkHint = 'suspect' | 'restored';

/** Addition: counters every transport in src/link/ keeps per connection. */
export interface LinkStats {
  /** Bytes put on the link, framing included (8 per data frame, 9 per ack). */
  readonly bytesSent: number;
  /** Bytes taken off the link, framing included. */
  readonly bytesReceived: number;
  /** Data frames sent, retransmissions included. */
  readonly dataFramesSent: number;
  /** Data frames that were retransmissions (UDP SR, memory). */
  readonly retransmissions: number;
  readonly dataFramesReceived: number;
  readonly acksSent: number;
  readonly acksReceived: number;
  /** Messages acknowledged (datagram links) or written (stream links). */
  readonly messagesSent: number;
  /** Messages given to onMessage. */
  readonly messagesDelivered: number;
}

export interface TransportOptions {
  clock: Clock;
  handlers: LinkHandlers;
  /** Largest RELOAD message accepted (configuration max-message-size). */
  maxMessageSize: number;
}

export interface Transport {
  readonly kind: TransportKind;
  /** Starts listening; resolves with the bound address (port 0 picks a free one). */
  listen(address: LinkAddress): Promise<LinkAddress>;
  /** Opens a connection (for UDP: the association with that address). */
  connect(address: LinkAddress): Promise<Connection>;
  /** Closes the listener and every connection. */
  close(): Promise<void>;
}

/**
 * Addition: why a link operation failed, machine-readable (match on this, never on the
 * message text).
 */
export type LinkErrorReason =
  | 'failed' // unspecified (the default)
  | 'closed' // the connection or transport is closed
  | 'timeout' // no ack after the last retransmission, no ack for the failure hold, or connect/handshake timed out
  | 'too-large' // the message exceeds max-message-size or the datagram limit
  | 'queue-full' // too many messages waiting behind the one in flight
  | 'connect-failed' // the TCP connection could not be opened
  | 'handshake-failed' // the TLS handshake failed (e.g. certificate from another CA)
  | 'peer-refused' // the peer's certificate was refused by verifyPeer, or the peer refused ours
  | 'socket-error' // the socket reported an error
  | 'killed'; // memory transport: the endpoint was killed (simulated crash)

export class LinkError extends Error {
  readonly code = 'ERR_RELOAD_LINK';
  /** Addition: the failure, machine-readable. */
  readonly reason: LinkErrorReason;
  /** Addition: the remote address concerned, when known. */
  readonly remote: LinkAddress | undefined;
  constructor(message: string, options?: { cause?: unknown; reason?: LinkErrorReason; remote?: LinkAddress }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'LinkError';
    this.reason = options?.reason ?? 'failed';
    this.remote = options?.remote;
  }
}
