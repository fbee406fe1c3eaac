/**
 * The link layer's contract (ARCHITECTURE.md: "A link only moves framed messages and
 * reports peers up/down"). A Transport listens and connects; each Connection carries
 * whole RELOAD messages (or fragments) to one neighbour, adding and removing the
 * FramedMessage framing (RFC 6940 §6.6.2) and running its reliability and RTT estimate.
 */
import type { Clock } from '../common/clock.js';

export type TransportKind = 'tls' | 'tcp' | 'udp' | 'memory';

export interface LinkAddress {
  host: string;
  port: number;
}

/** One overlay link to one neighbour. */
export interface Connection {
  /** Unique for the life of the process. */
  readonly id: string;
  readonly transport: TransportKind;
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
  /** Current retransmission timeout (UDP) or failure threshold (TLS), ms. */
  readonly rtoMs: number;
  readonly open: boolean;
  /**
   * Sends one RELOAD message. Resolves once the peer acknowledged the frame (UDP simple
   * reliability) or it was written (stream links). Rejects with LinkError if the link
   * fails or closes first.
   */
  send(message: Uint8Array): Promise<void>;
  close(reason?: string): void;
}

export interface LinkHandlers {
  /** A connection came up (inbound or outbound). */
  onConnection(conn: Connection): void;
  /** A whole RELOAD message (or a fragment of one) arrived on `conn`. */
  onMessage(conn: Connection, message: Uint8Array): void;
  /** The connection closed or failed; it will carry nothing more. */
  onClose(conn: Connection, reason: string): void;
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

export class LinkError extends Error {
  readonly code = 'ERR_RELOAD_LINK';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'LinkError';
  }
}
