import t from 'tap';
import { Samples, WindowedRate, round } from '../../src/sim/stats.js';

t.test('samples: mean and nearest-rank percentiles', async (t) => {
  const s = new Samples();
  t.same(s.summary(), { count: 0, mean: 0, p50: 0, p99: 0, max: 0 });
  for (const v of [5, 1, 4, 2, 3, 10, 6, 7, 8, 9]) s.add(v);
  t.same(s.summary(), { count: 10, mean: 5.5, p50: 5, p99: 10, max: 10 });
  t.equal(s.quantile(0.1), 1);
  t.equal(s.quantile(0.95), 10);
  const h = new Samples();
  for (const v of [2, 3, 3, 5]) h.add(v);
  t.same(h.histogram(), [0, 0, 1, 2, 0, 1]);
});

t.test('success per window of virtual time', async (t) => {
  const w = new WindowedRate(1000, 10_000);
  w.add(10_100, true);
  w.add(10_900, false);
  w.add(12_500, true);
  t.same(w.series(), [
    { startMs: 0, attempts: 2, rate: 0.5 },
    { startMs: 2000, attempts: 1, rate: 1 },
  ]);
  t.equal(round(2 / 3, 3), 0.667);
});
