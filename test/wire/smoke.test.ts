import t from 'tap';
import { overlayHash, resourceIdOf, toHex } from '../../src/wire/index.js';

t.test('overlay hash and Resource-ID test vectors (rfc6940-wire.md §1.1)', async (t) => {
  t.equal(overlayHash('overlay.example.org'), 0x9aa32b8d);
  t.equal(toHex(resourceIdOf('alice@example.org')), '45a6b241a242c97f0492d382c390dfa3');
});
