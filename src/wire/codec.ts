/**
 * Primitives of the TLS presentation language as RFC 6940 uses it (RFC 6940 §6.2 ff.,
 * RFC 5246 §4): big-endian unsigned integers of 1..8 bytes and variable-length vectors
 * whose length prefix is a byte count of 1, 2, 3 or 4 bytes.
 *
 * Every wire structure is a {@link Codec}: `size` gives the exact encoded length, so a
 * message is encoded into one exactly-sized allocation; `decode` reads from a bounded
 * {@link Reader}. Decoding is hostile-input safe: a length is always checked against the
 * bytes that are left before anything is read or allocated, and every failure is a
 * {@link DecodeError} naming the structure and field. Opaque fields decode to views of
 * the input (subarray), never copies, so decoding never allocates more than its input.
 */
import { allocateBytes } from './slab.js';

/** Why a decode failed, machine-readable. */
export type DecodeErrorReason =
  | 'truncated' // fewer bytes left than the field needs
  | 'length' // a length field is inconsistent with its structure
  | 'value' // a code or value the spec forbids here
  | 'trailing'; // bytes left over after a complete structure

/** The one error type a decoder may throw. */
export class DecodeError extends Error {
  readonly code = 'ERR_RELOAD_DECODE';
  constructor(
    readonly structure: string,
    readonly field: string,
    readonly reason: DecodeErrorReason,
    readonly offset: number,
    detail: string,
  ) {
    // No stack trace: the structure and field say where, and hostile input can make
    // rejecting garbage a hot path (capturing stacks was most of its cost).
    const limit = Error.stackTraceLimit;
    Error.stackTraceLimit = 0;
    super(`${structure}.${field}: ${detail} (at byte ${offset})`);
    Error.stackTraceLimit = limit;
    this.name = 'DecodeError';
  }
}

/** Error thrown when a value given to an encoder cannot be represented on the wire. */
export class EncodeError extends Error {
  readonly code = 'ERR_RELOAD_ENCODE';
  constructor(
    readonly structure: string,
    readonly field: string,
    detail: string,
  ) {
    super(`${structure}.${field}: ${detail}`);
    this.name = 'EncodeError';
  }
}

/** A bounded cursor over input bytes. `end` is exclusive; reads never pass it. */
export class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    public end = buf.length,
  ) {
    this.pos = start;
  }

  get left(): number {
    return this.end - this.pos;
  }

  private need(n: number, structure: string, field: string): void {
    if (n > this.end - this.pos) {
      throw new DecodeError(
        structure,
        field,
        'truncated',
        this.pos,
        `needs ${n} byte(s), ${this.end - this.pos} left`,
      );
    }
  }

  u8(structure: string, field: string): number {
    this.need(1, structure, field);
    return this.buf[this.pos++]!;
  }

  u16(structure: string, field: string): number {
    this.need(2, structure, field);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 2;
    return (b[p]! << 8) | b[p + 1]!;
  }

  u24(structure: string, field: string): number {
    this.need(3, structure, field);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 3;
    return (b[p]! << 16) | (b[p + 1]! << 8) | b[p + 2]!;
  }

  u32(structure: string, field: string): number {
    this.need(4, structure, field);
    const b = this.buf;
    const p = this.pos;
    this.pos = p + 4;
    return ((b[p]! << 24) | (b[p + 1]! << 16) | (b[p + 2]! << 8) | b[p + 3]!) >>> 0;
  }

  /** uint64, as a bigint (transaction ids, generation counters, storage times). */
  u64(structure: string, field: string): bigint {
    this.need(8, structure, field);
    const hi = this.u32(structure, field);
    const lo = this.u32(structure, field);
    return (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** A fixed-size opaque field, returned as a view of the input. */
  bytes(n: number, structure: string, field: string): Uint8Array {
    this.need(n, structure, field);
    const p = this.pos;
    this.pos = p + n;
    return this.buf.subarray(p, p + n);
  }

  /** Reads a length prefix of `prefix` bytes (1..4). */
  length(prefix: 1 | 2 | 3 | 4, structure: string, field: string): number {
    switch (prefix) {
      case 1:
        return this.u8(structure, field);
      case 2:
        return this.u16(structure, field);
      case 3:
        return this.u24(structure, field);
      case 4:
        return this.u32(structure, field);
    }
  }

  /** `opaque field<0..2^(8*prefix)-1>`: a length-prefixed byte string, as a view. */
  opaque(prefix: 1 | 2 | 3 | 4, structure: string, field: string): Uint8Array {
    const n = this.length(prefix, structure, field);
    if (n > this.end - this.pos) {
      throw new DecodeError(
        structure,
        field,
        'length',
        this.pos - prefix,
        `length ${n} exceeds the ${this.end - this.pos} byte(s) left`,
      );
    }
    return this.bytes(n, structure, field);
  }

  /**
   * A vector of structures: reads the byte-count prefix and returns a Reader bounded to
   * exactly that many bytes. The caller decodes elements until `left` is 0.
   */
  vector(prefix: 1 | 2 | 3 | 4, structure: string, field: string): Reader {
    const at = this.pos;
    const n = this.length(prefix, structure, field);
    if (n > this.end - this.pos) {
      // Reported at the prefix, like `opaque`.
      throw new DecodeError(structure, field, 'length', at, `length ${n} exceeds the ${this.end - this.pos} byte(s) left`);
    }
    return this.sub(n, structure, field);
  }

  /** A Reader over the next `n` bytes; this reader skips past them. */
  sub(n: number, structure: string, field: string): Reader {
    if (n > this.end - this.pos) {
      throw new DecodeError(
        structure,
        field,
        'length',
        this.pos,
        `length ${n} exceeds the ${this.end - this.pos} byte(s) left`,
      );
    }
    const r = new Reader(this.buf, this.pos, this.pos + n);
    this.pos += n;
    return r;
  }

  /** Asserts the structure consumed every byte it was given. */
  done(structure: string): void {
    if (this.pos !== this.end) {
      throw new DecodeError(
        structure,
        '(end)',
        'trailing',
        this.pos,
        `${this.end - this.pos} trailing byte(s)`,
      );
    }
  }

  /** Boolean: one byte, 0 or 1 (RFC 6940 §6.2: enum { false(0), true(1), (255) }). */
  bool(structure: string, field: string): boolean {
    const at = this.pos;
    const v = this.u8(structure, field);
    if (v > 1) throw new DecodeError(structure, field, 'value', at, `Boolean must be 0 or 1, got ${v}`);
    return v === 1;
  }
}

/** Writes into one pre-sized buffer. Encoders never grow it: sizes come from `size`. */
export class Writer {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
  ) {
    this.pos = start;
  }

  u8(v: number): void {
    this.buf[this.pos++] = v;
  }

  u16(v: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 8;
    b[p + 1] = v;
    this.pos = p + 2;
  }

  u24(v: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 16;
    b[p + 1] = v >>> 8;
    b[p + 2] = v;
    this.pos = p + 3;
  }

  u32(v: number): void {
    const b = this.buf;
    const p = this.pos;
    b[p] = v >>> 24;
    b[p + 1] = v >>> 16;
    b[p + 2] = v >>> 8;
    b[p + 3] = v;
    this.pos = p + 4;
  }

  u64(v: bigint): void {
    this.u32(Number((v >> 32n) & 0xffffffffn));
    this.u32(Number(v & 0xffffffffn));
  }

  bytes(v: Uint8Array): void {
    this.buf.set(v, this.pos);
    this.pos += v.length;
  }

  length(prefix: 1 | 2 | 3 | 4, n: number): void {
    switch (prefix) {
      case 1:
        this.u8(n);
        return;
      case 2:
        this.u16(n);
        return;
      case 3:
        this.u24(n);
        return;
      case 4:
        this.u32(n);
        return;
    }
  }

  opaque(prefix: 1 | 2 | 3 | 4, v: Uint8Array): void {
    this.length(prefix, v.length);
    this.bytes(v);
  }

  bool(v: boolean): void {
    this.u8(v ? 1 : 0);
  }
}

/** One codec per wire structure: exact size, encode at the writer's position, decode. */
export interface Codec<T> {
  readonly name: string;
  size(v: T): number;
  encode(w: Writer, v: T): void;
  decode(r: Reader): T;
}

/** An empty body, `struct {}` (LeaveAns, ConfigUpdateAns, CHORD UpdateAns): zero bytes. */
export type Empty = Record<string, never>;
export const emptyBody: Codec<Empty> = {
  name: 'EmptyBody',
  size: () => 0,
  encode: () => undefined,
  decode: () => ({}),
};

const MAX_BY_PREFIX = [0, 0xff, 0xffff, 0xffffff, 0xffffffff] as const;

/** Checks that `n` fits a length prefix of `prefix` bytes. */
export function checkFits(prefix: 1 | 2 | 3 | 4, n: number, structure: string, field: string): void {
  if (n > MAX_BY_PREFIX[prefix]) {
    throw new EncodeError(structure, field, `${n} bytes do not fit a ${prefix}-byte length prefix`);
  }
}

/** Size of `opaque field<..>` with a `prefix`-byte length, checking that it fits. */
export function opaqueSize(prefix: 1 | 2 | 3 | 4, v: Uint8Array, structure: string, field: string): number {
  checkFits(prefix, v.length, structure, field);
  return prefix + v.length;
}

/** Encodes `v` with `codec` into one exactly-sized buffer. */
export function encode<T>(codec: Codec<T>, v: T): Uint8Array {
  const n = codec.size(v);
  const w = new Writer(allocateBytes(n));
  codec.encode(w, v);
  if (w.pos !== n) throw new EncodeError(codec.name, '(size)', `wrote ${w.pos} bytes, size said ${n}`);
  return w.buf;
}

/** Decodes exactly one `codec` value from `bytes`; trailing bytes are an error. */
export function decode<T>(codec: Codec<T>, bytes: Uint8Array): T {
  const r = new Reader(bytes);
  const v = codec.decode(r);
  r.done(codec.name);
  return v;
}

/**
 * A vector of elements `T elems<0..2^(8*prefix)-1>` (byte-count prefix, elements
 * concatenated). Element counts are bounded by the input: each element takes at least one
 * byte, or the decoder fails.
 */
export function vectorOf<T>(name: string, prefix: 1 | 2 | 3 | 4, elem: Codec<T>): Codec<T[]> {
  return {
    name,
    size(v) {
      let n = 0;
      for (const e of v) n += elem.size(e);
      checkFits(prefix, n, name, 'length');
      return prefix + n;
    },
    encode(w, v) {
      let n = 0;
      for (const e of v) n += elem.size(e);
      w.length(prefix, n);
      for (const e of v) elem.encode(w, e);
    },
    decode(r) {
      const sub = r.vector(prefix, name, 'length');
      const out: T[] = [];
      while (sub.left > 0) {
        const before = sub.pos;
        out.push(elem.decode(sub));
        if (sub.pos === before) throw new DecodeError(name, 'element', 'length', before, 'zero-size element');
      }
      return out;
    },
  };
}

/** Equality of byte strings. */
export function bytesEqual(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return false;
  // Certificates and message parts: memcmp is ~10x faster than the loop from ~100 bytes on.
  if (a.length > 64) return Buffer.compare(a, b) === 0;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return false;
  return true;
}

const HEX_DIGITS = Array.from('0123456789abcdef', (c) => c.charCodeAt(0));
/** Reused digit arrays for inputs of up to 64 bytes, by input length. */
const HEX_SCRATCH: number[][] = [];

/**
 * Lowercase hex, as one flat string. Appending two digits at a time built a chain of ~15
 * V8 cons strings per 16-byte id, and ids kept as Map keys (duplicate cache, stores) kept
 * every link of it alive. Inputs of up to 64 bytes may live on the V8 heap, where taking
 * `.buffer` (for Node's encoder) would move them off it: they go through fromCharCode.
 */
export function toHex(b: Uint8Array): string {
  const n = b.length;
  if (n > 64) return Buffer.from(b.buffer, b.byteOffset, n).toString('hex');
  const c = (HEX_SCRATCH[n] ??= new Array<number>(2 * n).fill(0));
  for (let i = 0; i < n; i++) {
    const v = b[i]!;
    c[2 * i] = HEX_DIGITS[v >> 4]!;
    c[2 * i + 1] = HEX_DIGITS[v & 15]!;
  }
  return String.fromCharCode.apply(null, c);
}

/** Parses hex (whitespace ignored, case-insensitive); throws on odd length or bad digits. */
export function fromHex(s: string): Uint8Array {
  const clean = s.replace(/\s+/g, '');
  if (clean.length % 2 !== 0 || /[^0-9a-fA-F]/.test(clean)) {
    throw new TypeError(`not a hex string: ${JSON.stringify(s.slice(0, 40))}`);
  }
  const out = new Uint8Array(clean.length / 2);
  for (let i = 0; i < out.length; i++) out[i] = parseInt(clean.slice(i * 2, i * 2 + 2), 16);
  return out;
}

const utf8Encoder = new TextEncoder();
const utf8Decoder = new TextDecoder('utf-8', { fatal: true });

export function utf8(s: string): Uint8Array {
  return utf8Encoder.encode(s);
}

/** Strict UTF-8 decode; malformed input becomes a DecodeError naming the field. */
export function fromUtf8(b: Uint8Array, structure = 'utf8', field = 'text'): string {
  try {
    return utf8Decoder.decode(b);
  } catch {
    throw new DecodeError(structure, field, 'value', 0, 'invalid UTF-8');
  }
}

export function concatBytes(...parts: Uint8Array[]): Uint8Array {
  let n = 0;
  for (const p of parts) n += p.length;
  const out = new Uint8Array(n);
  let o = 0;
  for (const p of parts) {
    out.set(p, o);
    o += p.length;
  }
  return out;
}
