/** Configuration sequence numbers (RFC 6940 §11.1; src/config/sequence.ts). */
import t from 'tap';
import { MAX_CONFIGURATION_SEQUENCE, compareSequence, isNewerSequence, isValidSequence, nextSequence } from '../../src/config/sequence.js';

t.test('newer is mod 2^16 serial arithmetic; 65535 is never valid', async (t) => {
  t.equal(MAX_CONFIGURATION_SEQUENCE, 65534);
  t.equal(isNewerSequence(8, 7), true);
  t.equal(isNewerSequence(7, 7), false, 'equal is not newer');
  t.equal(isNewerSequence(6, 7), false);
  t.equal(isNewerSequence(0, 65534), true, 'wraps from 65534 to 0');
  t.equal(isNewerSequence(5, 65530), true);
  t.equal(isNewerSequence(65530, 5), false);
  t.equal(isNewerSequence(32767, 0), true, 'half the space ahead is newer');
  t.equal(isNewerSequence(32768, 0), false, 'more than half ahead reads as older');
  t.equal(isNewerSequence(65535, 1), false, '65535 is never newer');
  t.equal(isNewerSequence(1, 65535), false, 'nothing is newer than an invalid current');
  t.equal(isNewerSequence(1.5, 1), false);
  t.equal(isNewerSequence(70000, 1), false);
  t.equal(isValidSequence(0), true);
  t.equal(isValidSequence(65534), true);
  t.equal(isValidSequence(65535), false);
  t.equal(isValidSequence(-1), false);
  t.equal(compareSequence(3, 2), 1);
  t.equal(compareSequence(2, 3), -1);
  t.equal(compareSequence(2, 2), 0);
  t.equal(compareSequence(0, 65534), 1);
});

t.test('nextSequence skips 65535', async (t) => {
  t.equal(nextSequence(0), 1);
  t.equal(nextSequence(65533), 65534);
  t.equal(nextSequence(65534), 0);
  t.throws(() => nextSequence(65535), RangeError);
  for (let s = 0; s <= 65534; s += 997) t.equal(isNewerSequence(nextSequence(s), s), true, `next(${s}) is newer`);
});
