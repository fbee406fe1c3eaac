import t from 'tap';
import { SeededRandom } from '../../../src/common/random.js';
import {
  LandmarkBinError,
  binOf,
  binPrefixOf,
  formatBin,
  latencyLevel,
  nodeIdForBin,
  parseBin,
  permutationRank,
  prefixBits,
} from '../../../topology/landmarks/binning.js';

t.test('a bin is the landmark ordering by RTT plus the latency level of each, in order', async (t) => {
  // RTTs to L0, L1, L2: L2 nearest, then L0, then L1.
  const bin = binOf([150, 320, 40]);
  t.same(bin, { ordering: [2, 0, 1], levels: [0, 1, 2] }, 'L2 L0 L1 : 0 1 2');
  t.equal(formatBin(bin), '2.0.1:0.1.2');
  t.same(parseBin('2.0.1:0.1.2', 3), bin);
  t.same(binOf([10, 10, 5]).ordering, [2, 0, 1], 'ties keep configuration order');
  t.same(binOf([10, Infinity]), { ordering: [0, 1], levels: [0, 2] }, 'an unreachable landmark sorts last, at the top level');
  t.equal(latencyLevel(99.9), 0);
  t.equal(latencyLevel(100), 1);
  t.equal(latencyLevel(200), 2);
  t.equal(latencyLevel(50, [20, 40, 60]), 2);
  t.throws(() => binOf([]), LandmarkBinError);
  t.throws(() => binOf([1, Number.NaN]), LandmarkBinError);
  t.throws(() => binOf([1, -3]), LandmarkBinError);
  t.throws(() => binOf([1, 2], [200, 100]), /increasing/);
  t.throws(() => binOf(new Array(17).fill(1)), /at most 16/);
});

t.test('malformed bin texts are refused', async (t) => {
  for (const [text, m] of [
    ['2.0.1', 3],
    ['2.0.1:0.1', 3],
    ['2.0:0.1', 3],
    ['2.2.1:0.1.2', 3],
    ['2.0.3:0.1.2', 3],
    ['2.0.1:0.1.3', 3],
    ['L2L0L1:012', 3],
    ['2.0.1:0.1.2 extra', 3],
  ] as const) {
    t.throws(() => parseBin(text, m), LandmarkBinError, text);
  }
});

t.test('orderings map to ranks lexicographically (Lehmer code)', async (t) => {
  t.equal(permutationRank([0, 1, 2]), 0);
  t.equal(permutationRank([0, 2, 1]), 1);
  t.equal(permutationRank([1, 0, 2]), 2);
  t.equal(permutationRank([2, 1, 0]), 5);
  t.equal(permutationRank([5, 4, 3, 2, 1, 0]), 719);
  t.same(prefixBits(6), { rankBits: 10, levelBits: 2, total: 22 });
  t.same(prefixBits(4), { rankBits: 5, levelBits: 2, total: 13 });
  t.same(prefixBits(8), { rankBits: 16, levelBits: 2, total: 32 });
});

t.test('Node-IDs of a bin share its prefix; the rest is random', async (t) => {
  const r = new SeededRandom('ids');
  const bin = { ordering: [3, 1, 0, 2, 5, 4], levels: [0, 1, 1, 2, 2, 2] };
  const a = nodeIdForBin(bin, r);
  const b = nodeIdForBin(bin, r);
  t.equal(a.length, 16);
  t.notSame(a, b, 'random suffixes differ');
  t.same(binPrefixOf(a, 6), { rank: permutationRank(bin.ordering), levels: bin.levels });
  t.same(binPrefixOf(b, 6), binPrefixOf(a, 6));
  // Orderings that share a longer prefix are closer in ID space.
  const near = nodeIdForBin({ ordering: [3, 1, 0, 2, 4, 5], levels: bin.levels }, r);
  const far = nodeIdForBin({ ordering: [4, 1, 0, 2, 3, 5], levels: bin.levels }, r);
  const top = (id: Uint8Array): number => (id[0]! << 8) | id[1]!;
  t.ok(Math.abs(top(near) - top(a)) < Math.abs(top(far) - top(a)), 'a shared ordering prefix means nearby IDs');
  t.equal(nodeIdForBin(bin, r, { nodeIdLength: 20 }).length, 20);
});
