/**
 * Measuring a node's landmark bin on real links (landmarks-and-extras.md §A.1 step 2): for
 * each landmark of the overlay configuration, open a direct link to its address
 * (ReloadNode.connect), then time a few RELOAD Pings to it over that link (RFC 6940 §6.5.3,
 * ReloadNode.ping) and keep the smallest round trip. A landmark that cannot be reached
 * counts as infinitely far (it sorts last, at the highest level). The simulator uses its
 * latency model instead.
 */
import type { Landmark } from '../../src/config/types.js';
import type { LinkAddress, TransportKind } from '../../src/link/types.js';
import type { ReloadNode } from '../../src/node/node.js';
import { bytesEqual, toHex } from '../../src/wire/codec.js';
import { DEFAULT_LEVEL_BOUNDARIES_MS, type LandmarkBin, binOf } from './binning.js';

export interface LandmarkMeasurement {
  /** Landmark number (configuration order). */
  landmark: number;
  address: LinkAddress;
  /** Smallest RTT measured, ms; Infinity when unreachable. */
  rttMs: number;
  /** The Node-ID that answered (undefined when unreachable). */
  nodeId: Uint8Array | undefined;
  error?: string;
}

export interface MeasureOptions {
  /** Transport to reach landmarks with. @default 'tls' */
  kind?: TransportKind;
  /** Pings per landmark (the smallest RTT counts). @default 3 */
  samples?: number;
}

/** RTTs from `node` (started) to every landmark. */
export async function measureLandmarks(node: ReloadNode, landmarks: readonly Landmark[], opts: MeasureOptions = {}): Promise<LandmarkMeasurement[]> {
  const kind = opts.kind ?? 'tls';
  const samples = Math.max(1, opts.samples ?? 3);
  return Promise.all(
    landmarks.map(async (lm, landmark): Promise<LandmarkMeasurement> => {
      const address = { host: lm.address, port: lm.port };
      try {
        const nodeId = await node.connect(kind, address);
        if (lm.nodeId && !bytesEqual(lm.nodeId, nodeId)) {
          throw new Error(`landmark ${landmark} at ${lm.address}:${lm.port} is Node-ID ${toHex(nodeId)}, not the configured ${toHex(lm.nodeId)}`);
        }
        let best = Number.POSITIVE_INFINITY;
        for (let i = 0; i < samples; i++) {
          const p = await node.ping({ type: 'node', id: nodeId });
          best = Math.min(best, p.rttMs);
        }
        return { landmark, address, rttMs: best, nodeId };
      } catch (err) {
        return { landmark, address, rttMs: Number.POSITIVE_INFINITY, nodeId: undefined, error: (err as Error).message };
      }
    }),
  );
}

/** Measures and bins in one step (the bin's text form goes in the `landmark-bin` enrollment field). */
export async function measureBin(
  node: ReloadNode,
  landmarks: readonly Landmark[],
  opts: MeasureOptions & { levelBoundariesMs?: readonly number[] } = {},
): Promise<{ bin: LandmarkBin; measurements: LandmarkMeasurement[] }> {
  const measurements = await measureLandmarks(node, landmarks, opts);
  return { bin: binOf(measurements.map((m) => m.rttMs), opts.levelBoundariesMs ?? DEFAULT_LEVEL_BOUNDARIES_MS), measurements };
}
