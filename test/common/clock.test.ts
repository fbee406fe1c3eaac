import t from 'tap';
import { VirtualClock } from '../../src/common/clock.js';

t.test('timers fire in order of due time, then creation', async (t) => {
  const c = new VirtualClock(1000);
  const fired: string[] = [];
  c.setTimeout(() => fired.push('b@20'), 20);
  c.setTimeout(() => fired.push('a@10'), 10);
  c.setTimeout(() => fired.push('c@20'), 20);
  c.setTimeout(() => fired.push('now1'), 0);
  c.setTimeout(() => fired.push('now2'), -5);
  t.equal(c.pendingTimers, 5);
  t.equal(c.nextDue(), 1000);
  c.advance(20);
  t.same(fired, ['now1', 'now2', 'a@10', 'b@20', 'c@20']);
  t.equal(c.now(), 1020);
  t.equal(c.monotonic(), 1020);
  t.equal(c.pendingTimers, 0);
  t.equal(c.nextDue(), undefined);
  t.equal(c.step(), false);
});

t.test('zero-delay timers set while firing run at the same instant, after earlier ones', async (t) => {
  const c = new VirtualClock(0);
  const fired: string[] = [];
  c.setTimeout(() => {
    fired.push('x@5');
    c.setTimeout(() => fired.push('x+0'), 0);
  }, 5);
  c.setTimeout(() => fired.push('y@5'), 5);
  c.setTimeout(() => fired.push('z@6'), 6);
  t.ok(c.step());
  t.equal(c.now(), 5);
  c.runUntil(5);
  t.same(fired, ['x@5', 'y@5', 'x+0'], 'heap timers due now were created earlier and go first');
  t.equal(c.nextDue(), 6);
  c.runUntil(100);
  t.same(fired, ['x@5', 'y@5', 'x+0', 'z@6']);
  t.equal(c.now(), 100);
});

t.test('cancelled timers never fire and do not count', async (t) => {
  const c = new VirtualClock(0);
  let n = 0;
  const a = c.setTimeout(() => n++, 10);
  const b = c.setTimeout(() => n++, 0);
  c.setTimeout(() => n++, 30);
  a.cancel();
  b.cancel();
  t.equal(c.pendingTimers, 1);
  t.equal(c.nextDue(), 30);
  c.advance(100);
  t.equal(n, 1);
});

t.test('a large random workload matches a sorted reference', async (t) => {
  const c = new VirtualClock(0);
  const expected: { at: number; seq: number }[] = [];
  const got: number[] = [];
  let seed = 7;
  const rnd = (): number => (seed = (Math.imul(seed, 1103515245) + 12345) >>> 0) / 2 ** 32;
  for (let i = 0; i < 5000; i++) {
    const d = rnd() < 0.2 ? 0 : Math.floor(rnd() * 1000);
    const h = c.setTimeout(() => got.push(i), d);
    if (rnd() < 0.1) h.cancel();
    else expected.push({ at: d, seq: i });
  }
  c.advance(1000);
  expected.sort((a, b) => a.at - b.at || a.seq - b.seq);
  t.same(got, expected.map((e) => e.seq));
});
