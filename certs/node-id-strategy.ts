/**
 * How the enrollment server chooses Node-IDs (RFC 6940 §11.3, behaviour digest §4.1):
 * centrally issued Node-IDs are random and not predictable by the user, which limits
 * Sybil and Eclipse attacks. The strategy is pluggable so a topology-aware scheme (e.g.
 * landmark binning, landmarks-and-extras.md §A.2) can choose Node-IDs from `hints` the
 * client sent with its CSR (every extra text field of the enrollment form becomes a hint).
 */
import type { KeyObject } from 'node:crypto';
import { type Random, cryptoRandom } from '../src/common/random.js';

/**
 * The enrollment form field carrying a client's measured landmark bin (landmarks-and-extras
 * §A.2; sent by certs/enrollment-client.ts EnrollOptions.landmarkBin, honoured by
 * topology/landmarks' LandmarkNodeIdStrategy), e.g. `landmark-bin=2.0.1:0.1.2`.
 */
export const LANDMARK_BIN_FIELD = 'landmark-bin';

export interface NodeIdRequest {
  /** The authenticated user name. */
  userName: string;
  /** How many Node-IDs to return. */
  count: number;
  /** The key being certified. */
  csrPublicKey: KeyObject;
  /** Extra enrollment-form fields (name → value), e.g. a measured landmark bin. */
  hints?: Record<string, string>;
}

/**
 * Thrown by a strategy that cannot honour a request (e.g. a malformed `landmark-bin` hint):
 * the enrollment server answers 403 `Node-IDs_not_available` with this message in its log.
 */
export class NodeIdStrategyError extends Error {
  readonly code = 'ERR_RELOAD_NODE_ID_STRATEGY';
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'NodeIdStrategyError';
  }
}

export interface NodeIdStrategy {
  /** Returns `request.count` Node-IDs of the overlay's NodeIdLength. */
  assign(request: NodeIdRequest): Uint8Array[];
}

/**
 * The default: uniformly random Node-IDs, never all-zeros (reserved, "invalid") or
 * all-ones (the wildcard Node-ID) — RFC 6940 §6.3.2.2, wire digest §1.1.
 */
export class RandomNodeIdStrategy implements NodeIdStrategy {
  constructor(
    /** NodeIdLength in bytes (default 16: 128-bit Node-IDs). */
    readonly nodeIdLength = 16,
    private readonly random: Random = cryptoRandom,
  ) {
    if (!Number.isInteger(nodeIdLength) || nodeIdLength < 16 || nodeIdLength > 20) {
      throw new RangeError(`NodeIdLength must be 16..20, got ${nodeIdLength}`);
    }
  }

  assign(request: NodeIdRequest): Uint8Array[] {
    const out: Uint8Array[] = [];
    while (out.length < request.count) {
      const id = this.random.bytes(this.nodeIdLength);
      if (isReservedNodeId(id)) continue;
      out.push(id);
    }
    return out;
  }
}

/** All-zeros and all-ones Node-IDs are never assigned. */
export function isReservedNodeId(id: Uint8Array): boolean {
  return id.every((b) => b === 0) || id.every((b) => b === 0xff);
}
