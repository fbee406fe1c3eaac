import t from 'tap';
import { SeededRandom } from '../../src/common/random.js';
import { LatencyMatrixError, MatrixLatencyModel, RegionLatencyModel, parseLatencyMatrix, rttMs } from '../../src/sim/latency.js';

t.test('regions: 5-20 ms inside a region, 40-250 ms between, symmetric, fixed', async (t) => {
  const m = new RegionLatencyModel({ random: new SeededRandom(3) });
  t.equal(m.regions, 6);
  for (let h = 0; h < 300; h++) m.place(h);
  const seen = new Set<number>();
  let inside = 0;
  let between = 0;
  for (let a = 0; a < 300; a++) {
    seen.add(m.regionOf(a));
    for (let b = a + 1; b < 300; b += 7) {
      const d = m.oneWayMs(a, b);
      t.equal(d, m.oneWayMs(b, a));
      if (m.regionOf(a) === m.regionOf(b)) {
        inside++;
        if (d < 5 || d > 20) t.fail(`intra-region ${d} ms`);
      } else {
        between++;
        if (d < 40 || d > 250) t.fail(`inter-region ${d} ms`);
      }
    }
  }
  t.equal(seen.size, 6, 'hosts spread over all regions');
  t.ok(inside > 100 && between > 1000, 'both kinds of pairs checked');
  t.equal(rttMs(m, 3, 9), 2 * m.oneWayMs(3, 9));
  const again = new RegionLatencyModel({ random: new SeededRandom(3) });
  for (let h = 0; h < 300; h++) again.place(h);
  t.equal(again.oneWayMs(17, 230), m.oneWayMs(17, 230), 'deterministic for a seed');
  t.equal(m.place(300, 4), 4, 'a chosen region');
  t.throws(() => m.place(301, 6), RangeError);
  t.throws(() => new RegionLatencyModel({ random: new SeededRandom(1), intraMs: [30, 20] }), RangeError);
});

t.test('a latency matrix: JSON or text rows, symmetrised, checked', async (t) => {
  t.same(parseLatencyMatrix('[[5, 40], [60, 7]]'), [[5, 50], [50, 7]]);
  t.same(parseLatencyMatrix('# sites\n5 40 80\n40 5 100\n80,100,5\n'), [[5, 40, 80], [40, 5, 100], [80, 100, 5]]);
  t.throws(() => parseLatencyMatrix('5 40\n40'), LatencyMatrixError);
  t.throws(() => parseLatencyMatrix('[[5, -1], [1, 5]]'), /not a positive number/);
  t.throws(() => parseLatencyMatrix('[[5, "x"], [1, 5]]'), LatencyMatrixError);
  t.throws(() => parseLatencyMatrix('[oops'), /bad JSON/);
  t.throws(() => parseLatencyMatrix(''), /no rows/);
  const m = new MatrixLatencyModel([[5, 40], [40, 7]], new SeededRandom(1));
  m.place(0, 0);
  m.place(1, 1);
  m.place(2, 1);
  t.equal(m.oneWayMs(0, 1), 40);
  t.equal(m.oneWayMs(1, 2), 7);
  t.equal(m.regions, 2);
});
