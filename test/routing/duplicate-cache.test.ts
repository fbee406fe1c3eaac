import t from 'tap';
import { VirtualClock } from '../../src/common/clock.js';
import { DuplicateCache } from '../../src/routing/transactions.js';

t.test('a repeated request gets the remembered answer within the window', async (t) => {
  const clock = new VirtualClock(0);
  const c = new DuplicateCache(clock, 15_000);
  t.equal(c.check('tx1'), 'new');
  t.equal(c.check('tx1'), 'processing', 'while the first copy is handled');
  const answer = new Uint8Array([1, 2, 3]);
  c.remember('tx1', answer);
  t.same(c.check('tx1'), new Uint8Array([1, 2, 3]));
  clock.advance(15_001);
  t.equal(c.check('tx1'), 'new', 'after the window the id is new again');
});

t.test('entries go away by themselves when the node goes quiet', async (t) => {
  const clock = new VirtualClock(0);
  const c = new DuplicateCache(clock, 1_000);
  for (let i = 0; i < 50; i++) c.check(`tx${i}`);
  t.equal(c.size, 50);
  t.equal(clock.pendingTimers, 1, 'one sweep timer, not one per entry');
  clock.advance(2_100);
  t.equal(c.size, 0, 'swept without another request arriving');
  t.equal(clock.pendingTimers, 0, 'and no timer left once empty');
  c.check('later');
  c.stop();
  t.equal(clock.pendingTimers, 0, 'stop cancels the sweep');
});
