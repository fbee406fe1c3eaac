import t from 'tap';
import { DurationError, formatDuration, parseDuration } from '../../src/sim/duration.js';

t.test('durations with s, m, h (and ms); a bare number is seconds', async (t) => {
  t.equal(parseDuration('30m'), 1_800_000);
  t.equal(parseDuration('2h'), 7_200_000);
  t.equal(parseDuration('90s'), 90_000);
  t.equal(parseDuration('250ms'), 250);
  t.equal(parseDuration('1.5h'), 5_400_000);
  t.equal(parseDuration('45'), 45_000);
  t.equal(parseDuration(' 10 m '), 600_000);
});

t.test('anything else is a DurationError', async (t) => {
  for (const bad of ['', 'm', '10x', '-5m', '1e3s', '5 m m', 'ten minutes']) {
    t.throws(() => parseDuration(bad), DurationError, JSON.stringify(bad));
  }
});

t.test('formatDuration', async (t) => {
  t.equal(formatDuration(5_400_000), '1h30m');
  t.equal(formatDuration(45_000), '45s');
  t.equal(formatDuration(250), '250ms');
  t.equal(formatDuration(7_200_000), '2h');
  t.equal(formatDuration(0), '0ms');
});
