import t from 'tap';
import { SeededRandom } from '../../src/common/random.js';
import { ChurnSpecError, formatChurnSpec, parseChurnSpec, sessionTimeMs } from '../../src/sim/churn.js';

t.test('a churn specification', async (t) => {
  const s = parseChurnSpec('median-session=30m,duration=2h');
  t.same(s, { medianSessionMs: 1_800_000, durationMs: 7_200_000, crashFraction: 0.5, distribution: 'exponential', paretoShape: 2 });
  const p = parseChurnSpec(' median-session=90s , duration=1h, crash=0.25,dist=pareto,shape=1.5');
  t.same(p, { medianSessionMs: 90_000, durationMs: 3_600_000, crashFraction: 0.25, distribution: 'pareto', paretoShape: 1.5 });
  t.equal(formatChurnSpec(p), 'median-session=90s,duration=1h,crash=0.25,dist=pareto,shape=1.5');
  t.equal(formatChurnSpec(s), 'median-session=30m,duration=2h,crash=0.5,dist=exponential');
});

t.test('bad specifications are refused with the reason', async (t) => {
  const cases: [string, RegExp][] = [
    ['duration=2h', /median-session is required/],
    ['median-session=30m', /duration is required/],
    ['median-session=30m,duration=2h,crash=2', /crash must be a fraction/],
    ['median-session=30m,duration=2h,dist=weibull', /dist must be/],
    ['median-session=30m,duration=2h,shape=1', /shape must be a number > 1/],
    ['median-session=30m,duration=2h,speed=3', /unknown key "speed"/],
    ['median-session=30m,median-session=1h,duration=2h', /given twice/],
    ['median-session,duration=2h', /is not key=value/],
    ['median-session=soon,duration=2h', /median-session: not a duration/],
    ['median-session=0s,duration=2h', /must be positive/],
  ];
  for (const [text, why] of cases) {
    const err = (() => {
      try {
        parseChurnSpec(text);
      } catch (e) {
        return e;
      }
      return undefined;
    })();
    t.ok(err instanceof ChurnSpecError, text);
    t.match((err as Error).message, why, text);
  }
});

t.test('session times have the requested median', async (t) => {
  for (const dist of ['exponential', 'pareto'] as const) {
    const spec = { ...parseChurnSpec('median-session=30m,duration=2h'), distribution: dist };
    const r = new SeededRandom(`median/${dist}`);
    const xs = Array.from({ length: 20_000 }, () => sessionTimeMs(spec, r)).sort((a, b) => a - b);
    const median = xs[xs.length / 2]!;
    t.ok(Math.abs(median / 1_800_000 - 1) < 0.05, `${dist}: median ${Math.round(median / 1000)} s is within 5 % of 30 min`);
    t.ok(xs[0]! >= 1, `${dist}: positive`);
  }
  // Exponential: mean = median / ln 2.
  const spec = parseChurnSpec('median-session=10m,duration=1h');
  const r = new SeededRandom('mean');
  let sum = 0;
  for (let i = 0; i < 20_000; i++) sum += sessionTimeMs(spec, r);
  t.ok(Math.abs(sum / 20_000 / (600_000 / Math.LN2) - 1) < 0.04, 'exponential mean is median / ln 2');
});
