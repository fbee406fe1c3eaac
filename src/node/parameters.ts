/**
 * The overlay parameters the node runs with, taken from the configuration document
 * (RFC 6940 §11.1) or given directly (tests, simulator). Every tunable carries its unit.
 */
import { DEFAULT_INITIAL_TTL, DEFAULT_MAX_MESSAGE_SIZE, DEFAULT_NODE_ID_LENGTH } from '../wire/constants.js';
import { overlayHash } from '../wire/ids.js';

export interface OverlayParameters {
  /** instance-name; its SHA-1 low 32 bits go in every forwarding header. */
  overlayName: string;
  /** configuration sequence (→ forwarding header configuration_sequence). */
  configurationSequence: number;
  nodeIdLength: number;
  /** initial-ttl: TTL of originated messages, and the largest TTL accepted. */
  initialTtl: number;
  /** max-message-size in bytes. */
  maxMessageSize: number;
  /** overlay-reliability-timer: end-to-end retransmission interval (ms, ≥ 200). */
  reliabilityTimerMs: number;
  /** Transmissions of one request end to end (1 + 4 retransmissions, RFC 6940 §6.2.1). */
  maxTransmissions: number;
  /** clients-permitted. */
  clientsPermitted: boolean;
  /** Path MTU assumed for fragmentation on datagram links. */
  datagramMtu: number;
}

export const DEFAULT_RELIABILITY_TIMER_MS = 3000;
export const MIN_RELIABILITY_TIMER_MS = 200;
export const DEFAULT_MAX_TRANSMISSIONS = 5;
/** Answers to retransmitted requests are kept this long (RFC 6940 §6.2.1: 15 s). */
export const DUPLICATE_WINDOW_MS = 15_000;
export const DEFAULT_DATAGRAM_MTU = 1400;

export function overlayParameters(p: Partial<OverlayParameters> & { overlayName: string }): OverlayParameters {
  const params: OverlayParameters = {
    configurationSequence: 0,
    nodeIdLength: DEFAULT_NODE_ID_LENGTH,
    initialTtl: DEFAULT_INITIAL_TTL,
    maxMessageSize: DEFAULT_MAX_MESSAGE_SIZE,
    reliabilityTimerMs: DEFAULT_RELIABILITY_TIMER_MS,
    maxTransmissions: DEFAULT_MAX_TRANSMISSIONS,
    clientsPermitted: true,
    datagramMtu: DEFAULT_DATAGRAM_MTU,
    ...p,
  };
  if (params.reliabilityTimerMs < MIN_RELIABILITY_TIMER_MS) {
    throw new RangeError(`overlay-reliability-timer must be at least ${MIN_RELIABILITY_TIMER_MS} ms`);
  }
  return params;
}

export function overlayHashOf(p: OverlayParameters): number {
  return overlayHash(p.overlayName);
}
