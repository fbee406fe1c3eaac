/**
 * CHORD-RELOAD identifier arithmetic (RFC 6940 §9.1): a ring of 2^(8·NodeIdLength) ids,
 * all arithmetic modulo that size. Ids are kept as bigints inside the plugin.
 */
import { toHex } from '../../src/wire/codec.js';

export function toBig(id: Uint8Array): bigint {
  const n = id.length;
  if (n === 0) return 0n;
  if ((n & 3) !== 0) return BigInt(`0x${toHex(id)}`);
  // 32 bits at a time from the bytes themselves: far fewer allocations than a hex string,
  // and no DataView, which would make V8 move a small (on-heap) array's bytes off the heap.
  let x = 0n;
  for (let i = 0; i < n; i += 4) {
    x = (x << 32n) | BigInt(((id[i]! << 24) | (id[i + 1]! << 16) | (id[i + 2]! << 8) | id[i + 3]!) >>> 0);
  }
  return x;
}

export function fromBig(v: bigint, length: number): Uint8Array {
  const out = new Uint8Array(length);
  let x = v;
  for (let i = length - 1; i >= 0; i--) {
    out[i] = Number(x & 0xffn);
    x >>= 8n;
  }
  return out;
}

export class Ring {
  readonly size: bigint;
  readonly mask: bigint;

  constructor(readonly bits: number) {
    this.size = 1n << BigInt(bits);
    this.mask = this.size - 1n;
  }

  /** Clockwise distance from a to b. */
  dist(a: bigint, b: bigint): bigint {
    return (b - a) & this.mask;
  }

  add(a: bigint, b: bigint): bigint {
    return (a + b) & this.mask;
  }

  /** x ∈ (a, b] clockwise; (a, a] is the whole ring. */
  inHalfOpen(x: bigint, a: bigint, b: bigint): boolean {
    if (a === b) return true;
    const d = this.dist(a, x);
    return d !== 0n && d <= this.dist(a, b);
  }

  /** x ∈ (a, b) clockwise; (a, a) is the ring minus a. */
  inOpen(x: bigint, a: bigint, b: bigint): boolean {
    if (a === b) return x !== a;
    const d = this.dist(a, x);
    return d !== 0n && d < this.dist(a, b);
  }

  /** Finger i's start: n + 2^(bits - i) (RFC 6940 §9.3, i = 1 is half-way round). */
  fingerStart(n: bigint, i: number): bigint {
    return this.add(n, 1n << BigInt(this.bits - i));
  }
}
