/** The per-client token bucket of the enrollment server (certs/rate-limit.ts). */
import t from 'tap';
import { TokenBucketLimiter } from '../../certs/rate-limit.js';
import { VirtualClock } from '../../src/common/clock.js';

t.test('a burst, then one request per refill interval', async (t) => {
  const clock = new VirtualClock();
  const rl = new TokenBucketLimiter(clock, { burst: 3, perSecond: 2 });
  t.same([rl.take('a'), rl.take('a'), rl.take('a'), rl.take('a')], [true, true, true, false]);
  t.equal(rl.retryAfterSeconds('a'), 1);
  t.equal(rl.take('b'), true, 'clients have their own buckets');
  clock.advance(499);
  t.equal(rl.take('a'), false, 'not yet half a second');
  clock.advance(1);
  t.equal(rl.take('a'), true, 'one token per 500 ms');
  t.equal(rl.take('a'), false);
  clock.advance(60_000);
  t.same([rl.take('a'), rl.take('a'), rl.take('a'), rl.take('a')], [true, true, true, false], 'refills up to the burst only');
  t.equal(rl.retryAfterSeconds('nobody'), 0);
});

t.test('the table of clients is bounded; idle clients go first', async (t) => {
  const clock = new VirtualClock();
  const rl = new TokenBucketLimiter(clock, { burst: 1, perSecond: 1, maxClients: 3 });
  rl.take('a');
  rl.take('b');
  rl.take('c');
  t.equal(rl.clients, 3);
  rl.take('d');
  t.equal(rl.clients, 3, 'oldest dropped when none is idle');
  t.equal(rl.take('b'), false, 'b kept its empty bucket');
  clock.advance(5000);
  rl.take('e');
  t.equal(rl.clients, 1, 'idle (refilled) clients are all dropped first');
  t.throws(() => new TokenBucketLimiter(clock, { burst: 0 }), RangeError);
  t.throws(() => new TokenBucketLimiter(clock, { perSecond: 0 }), RangeError);
});
