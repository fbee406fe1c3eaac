/**
 * Randomness for every component: cryptographic on real nodes, seeded and deterministic in
 * the simulator and tests.
 */
import { randomBytes } from 'node:crypto';

export interface Random {
  /** n random bytes. */
  bytes(n: number): Uint8Array;
  /** A float in [0, 1). */
  float(): number;
  /** An integer in [0, n). */
  int(n: number): number;
  /** A random 64-bit value (transaction ids). */
  u64(): bigint;
}

/**
 * Small draws (transaction ids, one per request; floats) come from a block of CSPRNG output:
 * one randomBytes call per 4 KiB instead of one per draw (each call costs about as much as
 * drawing the whole block). Every byte is used once.
 */
const POOL_BYTES = 4096;
let pool = Buffer.alloc(0);
let poolAt = 0;

function draw(n: number): number {
  if (poolAt + n > pool.length) {
    pool = randomBytes(POOL_BYTES);
    poolAt = 0;
  }
  const at = poolAt;
  poolAt += n;
  return at;
}

export const cryptoRandom: Random = {
  bytes: (n) => new Uint8Array(randomBytes(n)),
  float() {
    const at = draw(7);
    // 53 random bits.
    return ((pool[at]! & 0x1f) * 2 ** 48 + pool.readUIntBE(at + 1, 6)) / 2 ** 53;
  },
  int(n) {
    return Math.floor(this.float() * n);
  },
  u64() {
    const at = draw(8); // before reading `pool`: the draw may replace it
    return pool.readBigUInt64BE(at);
  },
};

/** A seeded generator (xoshiro128**), deterministic for a seed. Not for keys. */
export class SeededRandom implements Random {
  private s = new Uint32Array(4);

  constructor(seed: number | string) {
    // splitmix32 over the seed's characters to fill the state.
    let h = 0x9e3779b9;
    const text = String(seed);
    for (let i = 0; i < text.length; i++) h = Math.imul(h ^ text.charCodeAt(i), 0x85ebca6b) >>> 0;
    for (let i = 0; i < 4; i++) {
      h = (h + 0x9e3779b9) >>> 0;
      let z = h;
      z = Math.imul(z ^ (z >>> 16), 0x85ebca6b);
      z = Math.imul(z ^ (z >>> 13), 0xc2b2ae35);
      this.s[i] = (z ^ (z >>> 16)) >>> 0;
    }
    if ((this.s[0]! | this.s[1]! | this.s[2]! | this.s[3]!) === 0) this.s[0] = 1;
  }

  next32(): number {
    const s = this.s;
    const result = Math.imul(rotl(Math.imul(s[1]!, 5), 7), 9) >>> 0;
    const t = s[1]! << 9;
    s[2]! ^= s[0]!;
    s[3]! ^= s[1]!;
    s[1]! ^= s[2]!;
    s[0]! ^= s[3]!;
    s[2]! ^= t;
    s[3] = rotl(s[3]!, 11);
    return result;
  }

  bytes(n: number): Uint8Array {
    const out = new Uint8Array(n);
    for (let i = 0; i < n; i += 4) {
      const v = this.next32();
      for (let j = 0; j < 4 && i + j < n; j++) out[i + j] = (v >>> (8 * j)) & 0xff;
    }
    return out;
  }

  float(): number {
    return (this.next32() * 2 ** 21 + (this.next32() >>> 11)) / 2 ** 53;
  }

  int(n: number): number {
    return Math.floor(this.float() * n);
  }

  u64(): bigint {
    return (BigInt(this.next32()) << 32n) | BigInt(this.next32());
  }
}

function rotl(x: number, k: number): number {
  return ((x << k) | (x >>> (32 - k))) >>> 0;
}
