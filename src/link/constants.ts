/**
 * Link-layer tunables (behaviour digest §1 timer table; wire digest §9). Every value
 * carries its unit; transports take them as options with these defaults.
 */

/** Simple Reliability static RTO before the first RTT sample (RFC 6940 §6.6.3.2: 500 ms). */
export const SR_INITIAL_RTO_MS = 500;

/**
 * Floor of the dynamic RTO. RFC 6298 §2.4 asks for 1 s, RFC 6940 §6.6.3.2 allows a smaller
 * RTO on LANs and rounds to 1 ms. 200 ms is Linux TCP's RTO_MIN, a floor proven on real
 * networks; tests and loopback runs pass smaller values (50 ms is fine on loopback).
 */
export const DEFAULT_MIN_RTO_MS = 200;

/** Ceiling of the (backed-off) RTO (RFC 6298 §2.5: at least 60 s). */
export const DEFAULT_MAX_RTO_MS = 60_000;

/** Transmissions of one message in total on a Simple Reliability link (RFC 6940 §6.6.3.2). */
export const SR_MAX_TRANSMISSIONS = 5;

/**
 * The transmission at which the failure hint fires: no ack for a whole RTO (first
 * retransmission) and then three more retransmissions (RFC 6940 §6.6.3.2).
 */
export const SR_FAILURE_HINT_TRANSMISSION = 5;

/** Pause after an ack before the next message goes out (RFC 6940 §6.6.3.2: 10 ms). */
export const SR_ACK_GAP_MS = 10;

/** Messages allowed to wait behind the one in flight on a stop-and-wait link. */
export const DEFAULT_MAX_QUEUE = 1024;

/** Sequence numbers the receiver remembers for the ack bitmap (RFC 6940 §6.6.3.2: 32). */
export const RECEIVED_WINDOW = 32;

/**
 * TLS/TCP: a data frame unacked for max(RTO, this) makes the link suspect (RFC 6940
 * §6.6.3.2: the RTO is a failure threshold there, not a retransmission timer).
 */
export const STREAM_FAILURE_FLOOR_MS = 1_000;

/**
 * TLS/TCP: unacknowledged traffic this old declares the link failed and closes it (behaviour
 * digest §1: "~30 s before declaring permanent failure").
 */
export const STREAM_FAILURE_HOLD_MS = 30_000;

/** TLS/TCP: time allowed for the TCP connect plus the TLS handshake. */
export const DEFAULT_HANDSHAKE_TIMEOUT_MS = 10_000;

/** TLS/TCP: after a local close, the socket is destroyed if the peer has not closed by then. */
export const STREAM_CLOSE_LINGER_MS = 2_000;

/**
 * Longest wait for an `onMessageTooLarge` handler's promise (the router sending
 * Error_Message_Too_Large) before the link is closed anyway.
 */
export const OVERSIZE_CLOSE_GRACE_MS = 5_000;

/** Largest UDP payload over IPv4 (65535 - 20 IP - 8 UDP). */
export const UDP4_MAX_PAYLOAD = 65_507;

/** Largest UDP payload over IPv6 (65535 - 8 UDP; jumbograms aside). */
export const UDP6_MAX_PAYLOAD = 65_527;

/**
 * TLS/TCP: frames queued in one turn of the event loop go out as one socket write (one TLS
 * record, one system call); a batch this large is written at once instead of waiting.
 */
export const STREAM_WRITE_BATCH_BYTES = 64 * 1024;
