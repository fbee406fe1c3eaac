import t from 'tap';
import { allocateBytes, allocateKeptBytes } from '../../src/wire/slab.js';

t.test('small buffers are zeroed views into shared slabs, never overlapping', async (t) => {
  const a = allocateBytes(100);
  const b = allocateBytes(300);
  t.equal(a.length, 100);
  t.equal(b.length, 300);
  t.ok(a.every((x) => x === 0) && b.every((x) => x === 0), 'zeroed');
  a.fill(0xaa);
  b.fill(0xbb);
  t.ok(a.every((x) => x === 0xaa), 'writing b leaves a intact');
  if (a.buffer === b.buffer) {
    t.ok(b.byteOffset >= a.byteOffset + a.length || b.byteOffset + b.length <= a.byteOffset, 'disjoint ranges of one slab');
  }
  t.equal(a.byteOffset % 8, 0, '8-byte aligned');
});

t.test('a slab fills up and a fresh one follows; large buffers get their own', async (t) => {
  const seen = new Set<ArrayBufferLike>();
  const all: Uint8Array[] = [];
  for (let i = 0; i < 40; i++) {
    const x = allocateBytes(4000);
    x.fill(i + 1);
    all.push(x);
    seen.add(x.buffer);
  }
  t.ok(seen.size >= 3, `40 × 4000 bytes span several 64 KiB slabs (${seen.size})`);
  t.ok(all.every((x, i) => x.every((v) => v === i + 1)), 'no buffer overwrote another');
  const big = allocateBytes(9000);
  t.equal(big.byteOffset, 0);
  t.equal(big.buffer.byteLength, 9000, 'above 8 KiB: an ordinary Uint8Array');
  t.equal(allocateBytes(0).length, 0);
});

t.test('kept buffers come from slabs of their own', async (t) => {
  const transient = allocateBytes(200);
  const kept = [allocateKeptBytes(200), allocateKeptBytes(300)];
  t.ok(kept.every((k) => k.buffer !== transient.buffer), 'never sharing a slab with transient buffers');
  t.equal(kept[0]!.buffer, kept[1]!.buffer, 'consecutive kept buffers share their slab');
  t.ok(kept[1]!.byteOffset >= kept[0]!.byteOffset + 200, 'disjoint');
  t.ok(kept.every((k) => k.every((x) => x === 0)), 'zeroed');
  t.equal(allocateKeptBytes(9000).buffer.byteLength, 9000, 'above 8 KiB: an ordinary Uint8Array');
});
