import t from 'tap';
import { cryptoRandom } from '../../src/common/random.js';

t.test('cryptoRandom draws from its block without reusing bytes, across refills', async (t) => {
  // 4 KiB blocks: 3000 ids and 3000 floats take several refills (mixed 8- and 7-byte draws).
  const ids = new Set<bigint>();
  let inRange = true;
  for (let i = 0; i < 3000; i++) {
    ids.add(cryptoRandom.u64());
    const f = cryptoRandom.float();
    if (!(f >= 0 && f < 1)) inRange = false;
  }
  t.equal(ids.size, 3000, 'every transaction id differs (no byte reused)');
  t.ok(inRange, 'floats in [0, 1)');
  let high = 0;
  for (const id of ids) if (id >> 63n === 1n) high++;
  t.ok(high > 1200 && high < 1800, `top bit set about half the time (${high}/3000)`);
  const n = cryptoRandom.int(10);
  t.ok(Number.isInteger(n) && n >= 0 && n < 10);
});
