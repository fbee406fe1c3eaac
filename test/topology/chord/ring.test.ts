/**
 * CHORD-RELOAD identifier arithmetic (RFC 6940 §9.1): Node-IDs as bigints, distances and
 * intervals modulo 2^bits, finger starts (§9.3).
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { Ring, fromBig, toBig } from '../../../topology/chord/ring.js';

const hex = (s: string) => new Uint8Array(Buffer.from(s, 'hex'));

t.test('toBig reads big-endian bytes, for every length', async (t) => {
  t.equal(toBig(hex('000102030405060708090a0b0c0d0e0f')), 0x000102030405060708090a0b0c0d0e0fn, '16 bytes (the usual Node-ID)');
  t.equal(toBig(hex('ffffffffffffffffffffffffffffffff')), (1n << 128n) - 1n, 'all ones');
  t.equal(toBig(hex('80000000')), 0x80000000n, 'the top bit of a 32-bit chunk stays unsigned');
  t.equal(toBig(hex('0102030405060708090a0b0c0d0e0f101112131415')), 0x0102030405060708090a0b0c0d0e0f101112131415n, '21 bytes');
  t.equal(toBig(hex('abcdef')), 0xabcdefn, '3 bytes');
  t.equal(toBig(new Uint8Array(0)), 0n);
  // A view into a larger buffer reads only its own bytes.
  const big = hex('ff00112233445566778899aabbccddeeff00ff');
  t.equal(toBig(big.subarray(1, 17)), 0x00112233445566778899aabbccddeeffn);
});

t.test('fromBig and toBig round-trip', async (t) => {
  for (const len of [4, 16, 20, 32]) {
    for (let i = 0; i < 50; i++) {
      const id = new Uint8Array(randomBytes(len));
      t.same(fromBig(toBig(id), len), id);
    }
  }
  t.same(fromBig(0x0102n, 4), hex('00000102'));
});

t.test('distances, intervals and finger starts wrap around the ring', async (t) => {
  const r = new Ring(8);
  t.equal(r.dist(250n, 5n), 11n, 'clockwise across zero');
  t.equal(r.add(250n, 10n), 4n);
  t.ok(r.inHalfOpen(5n, 250n, 5n) && !r.inHalfOpen(250n, 250n, 5n), '(a, b] holds b, not a');
  t.ok(r.inOpen(0n, 250n, 5n) && !r.inOpen(5n, 250n, 5n), '(a, b) holds neither end');
  t.ok(r.inHalfOpen(7n, 7n, 7n), '(a, a] is the whole ring');
  t.ok(!r.inOpen(7n, 7n, 7n) && r.inOpen(8n, 7n, 7n), '(a, a) is the ring without a');
  t.equal(r.fingerStart(200n, 1), 72n, 'finger 1 is half-way round');
  t.equal(r.fingerStart(200n, 8), 201n, 'finger 8 is the next id');
});
