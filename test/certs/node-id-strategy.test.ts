/** Node-ID assignment at enrollment (certs/node-id-strategy.ts). */
import t from 'tap';
import { generateRsaKey } from '../../certs/ca.js';
import { RandomNodeIdStrategy, isReservedNodeId } from '../../certs/node-id-strategy.js';
import { type Random, SeededRandom } from '../../src/common/random.js';
import { toHex } from '../../src/wire/codec.js';

const { publicKey } = generateRsaKey();

t.test('random Node-IDs of the overlay length, distinct', async (t) => {
  const s = new RandomNodeIdStrategy();
  const ids = s.assign({ userName: 'a@example.org', count: 50, csrPublicKey: publicKey });
  t.equal(ids.length, 50);
  t.ok(ids.every((id) => id.length === 16));
  t.equal(new Set(ids.map(toHex)).size, 50);
  t.equal(new RandomNodeIdStrategy(20).assign({ userName: 'a@example.org', count: 1, csrPublicKey: publicKey })[0]!.length, 20);
  t.throws(() => new RandomNodeIdStrategy(15), RangeError);
  t.throws(() => new RandomNodeIdStrategy(21), RangeError);
});

t.test('all-zeros and all-ones are never assigned', async (t) => {
  const seq = [new Uint8Array(16), new Uint8Array(16).fill(0xff), new Uint8Array(16).fill(0x5a)];
  const seeded = new SeededRandom(1);
  const scripted: Random = { ...seeded, bytes: (n) => seq.shift() ?? seeded.bytes(n), float: () => seeded.float(), int: (n) => seeded.int(n), u64: () => seeded.u64() };
  const [id] = new RandomNodeIdStrategy(16, scripted).assign({ userName: 'a@example.org', count: 1, csrPublicKey: publicKey });
  t.equal(toHex(id!), '5a'.repeat(16));
  t.equal(isReservedNodeId(new Uint8Array(16)), true);
  t.equal(isReservedNodeId(new Uint8Array(16).fill(0xff)), true);
  t.equal(isReservedNodeId(new Uint8Array(16).fill(1)), false);
});
