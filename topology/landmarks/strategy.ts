/**
 * Landmark-aware Node-ID assignment at enrollment (digest landmarks-and-extras.md §A.2):
 * the enrollment server's NodeIdStrategy (certs/node-id-strategy.ts) that honours a bin the
 * client measured and sent as the form field `landmark-bin` (certs/enrollment-client.ts
 * EnrollOptions.landmarkBin). The Node-ID gets the bin's prefix; the rest is random, drawn
 * by the server (so the client still cannot choose its exact position on the ring).
 * Without the hint the Node-ID is entirely random, as with the default strategy; a
 * malformed hint is refused (NodeIdStrategyError → 403 Node-IDs_not_available).
 */
import { type Random, cryptoRandom } from '../../src/common/random.js';
import {
  LANDMARK_BIN_FIELD,
  type NodeIdRequest,
  type NodeIdStrategy,
  NodeIdStrategyError,
  RandomNodeIdStrategy,
} from '../../certs/node-id-strategy.js';
import { DEFAULT_LEVEL_BOUNDARIES_MS, LandmarkBinError, MAX_LANDMARKS, nodeIdForBin, parseBin } from './binning.js';

export interface LandmarkStrategyOptions {
  /** Number of landmarks in the overlay configuration (OverlayConfiguration.landmarks.length). */
  landmarks: number;
  /** Latency levels in use (boundaries + 1). @default 3 */
  levelCount?: number;
  /** NodeIdLength in bytes. @default 16 */
  nodeIdLength?: number;
  random?: Random;
}

export class LandmarkNodeIdStrategy implements NodeIdStrategy {
  private readonly fallback: RandomNodeIdStrategy;
  private readonly random: Random;
  private readonly levelCount: number;
  private readonly nodeIdLength: number;

  constructor(readonly options: LandmarkStrategyOptions) {
    if (!Number.isInteger(options.landmarks) || options.landmarks < 1 || options.landmarks > MAX_LANDMARKS) {
      throw new RangeError(`landmarks must be 1..${MAX_LANDMARKS}, got ${options.landmarks}`);
    }
    this.random = options.random ?? cryptoRandom;
    this.levelCount = options.levelCount ?? DEFAULT_LEVEL_BOUNDARIES_MS.length + 1;
    this.nodeIdLength = options.nodeIdLength ?? 16;
    this.fallback = new RandomNodeIdStrategy(this.nodeIdLength, this.random);
  }

  assign(request: NodeIdRequest): Uint8Array[] {
    const hint = request.hints?.[LANDMARK_BIN_FIELD];
    if (hint === undefined) return this.fallback.assign(request);
    let bin;
    try {
      bin = parseBin(hint, this.options.landmarks, this.levelCount);
    } catch (err) {
      if (err instanceof LandmarkBinError) throw new NodeIdStrategyError(err.message, { cause: err });
      throw err;
    }
    return Array.from({ length: request.count }, () => nodeIdForBin(bin, this.random, { nodeIdLength: this.nodeIdLength, levelCount: this.levelCount }));
  }
}
