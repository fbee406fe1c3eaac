/**
 * The round-trip invariant every wire structure must satisfy (dns-packet style, STYLE.md
 * practice 4). For a codec and a value:
 *
 *   1. encode -> bytes, and bytes.length === codec.size(value);
 *   2. decode(bytes) deep-equals the value, and re-encoding the decoded value gives the
 *      same bytes (the encoding is canonical);
 *   3. encoding at an offset inside a larger buffer writes the same bytes there and
 *      touches nothing around them; decoding from that offset gives the value back;
 *   4. decoding with the last byte missing throws a DecodeError;
 *   5. decoding with one extra trailing byte throws a DecodeError (via the decode() helper)
 *      whose reason is 'trailing' and whose structure is the codec's name.
 *
 * `roundTripProblems` is pure (returns what went wrong) so property loops can run
 * thousands of values and report once; `assertRoundTrip` is the tap-facing form.
 */
import type { TAP } from 'tap';
import { type Codec, DecodeError, Reader, Writer, decode, encode, fromHex, toHex } from '../../src/wire/codec.js';

/** The assertion methods these helpers use (any tap Test has them). */
export type Asserts = Pick<TAP, 'ok' | 'equal' | 'same' | 'fail'>;

/**
 * Structural equality for decoded values: Uint8Arrays compare by content (not by buffer),
 * bigints by value, plain objects by their keys whose value is not undefined. Returns the
 * path of the first difference, or undefined when equal.
 */
export function deepDiff(a: unknown, b: unknown, path = '$'): string | undefined {
  if (a instanceof Uint8Array || b instanceof Uint8Array) {
    if (!(a instanceof Uint8Array) || !(b instanceof Uint8Array)) return `${path}: one side is not bytes`;
    if (a.length !== b.length) return `${path}: ${a.length} bytes vs ${b.length} bytes`;
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return `${path}[${i}]: ${toHex(a)} vs ${toHex(b)}`;
    return undefined;
  }
  if (typeof a !== 'object' || a === null || typeof b !== 'object' || b === null) {
    return Object.is(a, b) ? undefined : `${path}: ${fmt(a)} vs ${fmt(b)}`;
  }
  if (Array.isArray(a) !== Array.isArray(b)) return `${path}: array vs non-array`;
  if (Array.isArray(a)) {
    const bb = b as unknown[];
    if (a.length !== bb.length) return `${path}: ${a.length} elements vs ${bb.length}`;
    for (let i = 0; i < a.length; i++) {
      const d = deepDiff(a[i], bb[i], `${path}[${i}]`);
      if (d) return d;
    }
    return undefined;
  }
  const ao = a as Record<string, unknown>;
  const bo = b as Record<string, unknown>;
  const keys = new Set([...Object.keys(ao), ...Object.keys(bo)]);
  for (const k of keys) {
    if (ao[k] === undefined && bo[k] === undefined) continue;
    const d = deepDiff(ao[k], bo[k], `${path}.${k}`);
    if (d) return d;
  }
  return undefined;
}

function fmt(v: unknown): string {
  if (typeof v === 'bigint') return `${v}n`;
  if (typeof v === 'string') return JSON.stringify(v);
  return String(v);
}

function bytesDiffer(a: Uint8Array, b: Uint8Array): boolean {
  if (a.length !== b.length) return true;
  for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return true;
  return false;
}

/** What a DecodeError must look like: the right class, naming a structure and a field. */
export function decodeErrorProblem(e: unknown): string | undefined {
  if (!(e instanceof DecodeError)) return `threw ${e instanceof Error ? `${e.name}: ${e.message}` : String(e)}, not a DecodeError`;
  if (typeof e.structure !== 'string' || e.structure.length === 0) return 'DecodeError without a structure';
  if (typeof e.field !== 'string' || e.field.length === 0) return 'DecodeError without a field';
  return undefined;
}

const FILL = 0xa5;

/** Runs the five round-trip checks; returns the problems found (empty = all good). */
export function roundTripProblems<T>(codec: Codec<T>, value: T): string[] {
  const problems: string[] = [];
  let bytes: Uint8Array;
  let n: number;
  try {
    n = codec.size(value);
    bytes = encode(codec, value);
  } catch (e) {
    return [`encode threw ${(e as Error).message}`];
  }
  // 1. exact size
  if (bytes.length !== n) problems.push(`size() said ${n}, encoded ${bytes.length} bytes`);

  // 2. decode(encode(v)) == v, and the encoding is canonical
  let decoded: T | undefined;
  try {
    decoded = decode(codec, bytes);
    const d = deepDiff(decoded, value);
    if (d) problems.push(`decoded value differs at ${d}`);
    const again = encode(codec, decoded);
    if (bytesDiffer(again, bytes)) problems.push(`re-encoding the decoded value gave ${toHex(again)}, not ${toHex(bytes)}`);
  } catch (e) {
    problems.push(`decode threw ${(e as Error).message}`);
  }

  // 3. encoding (and decoding) at an offset inside a larger buffer
  const off = 3 + (n % 5);
  const big = new Uint8Array(off + n + 4).fill(FILL);
  try {
    const w = new Writer(big, off);
    codec.encode(w, value);
    if (w.pos !== off + n) problems.push(`encode at offset ${off} ended at ${w.pos}, not ${off + n}`);
    if (bytesDiffer(big.subarray(off, off + n), bytes)) problems.push(`encode at offset ${off} wrote different bytes`);
    for (let i = 0; i < big.length; i++) {
      if ((i < off || i >= off + n) && big[i] !== FILL) {
        problems.push(`encode at offset ${off} touched byte ${i} outside its range`);
        break;
      }
    }
    const r = new Reader(big, off, off + n);
    const v2 = codec.decode(r);
    if (r.pos !== off + n) problems.push(`decode at offset consumed ${r.pos - off} of ${n} bytes`);
    const d = deepDiff(v2, value);
    if (d) problems.push(`decode at offset differs at ${d}`);
  } catch (e) {
    problems.push(`offset encode/decode threw ${(e as Error).message}`);
  }

  // 4. one byte missing
  if (n > 0) {
    try {
      decode(codec, bytes.slice(0, n - 1));
      problems.push(`decoding ${n - 1} of ${n} bytes did not throw`);
    } catch (e) {
      const p = decodeErrorProblem(e);
      if (p) problems.push(`truncated input: ${p}`);
    }
  }

  // 5. one extra trailing byte
  const longer = new Uint8Array(n + 1);
  longer.set(bytes);
  try {
    decode(codec, longer);
    problems.push('decoding with a trailing byte did not throw');
  } catch (e) {
    const p = decodeErrorProblem(e);
    if (p) problems.push(`trailing byte: ${p}`);
    else {
      const de = e as DecodeError;
      if (de.reason !== 'trailing' || de.structure !== codec.name) {
        problems.push(`trailing byte gave ${de.structure}.${de.field} (${de.reason}), not ${codec.name} trailing`);
      }
    }
  }
  return problems;
}

/** Normalises hand-written hex (whitespace and comments allowed: `# ...` to end of line). */
export function hex(s: string): string {
  return toHex(fromHex(s.replace(/#[^\n]*/g, '')));
}

/** Bytes from hand-written hex with `#` comments. */
export function bytesOf(s: string): Uint8Array {
  return fromHex(s.replace(/#[^\n]*/g, ''));
}

/**
 * Asserts the round-trip invariant for one value and, when given, that its encoding is
 * exactly `expectedHex` (hand-written, `#` comments allowed). Returns the encoding.
 */
export function assertRoundTrip<T>(t: Asserts, codec: Codec<T>, value: T, expectedHex?: string, name = codec.name): Uint8Array {
  const problems = roundTripProblems(codec, value);
  t.same(problems, [], `${name}: round-trip invariant holds`);
  let bytes: Uint8Array = new Uint8Array(0);
  try {
    bytes = encode(codec, value);
  } catch {
    // already reported
  }
  if (expectedHex !== undefined) t.equal(toHex(bytes), hex(expectedHex), `${name}: bytes match the hand-computed encoding`);
  return bytes;
}

/**
 * Property check: round-trips `count` generated values; reports the number of failing
 * values (must be 0) with the first few problems and the hex of the offending value.
 */
export function assertRoundTripMany<T>(t: Asserts, codec: Codec<T>, count: number, gen: (i: number) => T, name = codec.name): void {
  const failures: string[] = [];
  let failing = 0;
  let bytesTotal = 0;
  for (let i = 0; i < count; i++) {
    const v = gen(i);
    const p = roundTripProblems(codec, v);
    if (p.length > 0) {
      failing++;
      if (failures.length < 5) {
        let h = '';
        try {
          h = toHex(encode(codec, v)).slice(0, 400);
        } catch {
          h = '(does not encode)';
        }
        failures.push(`#${i}: ${p.join('; ')} [${h}]`);
      }
    } else {
      bytesTotal += codec.size(v);
    }
  }
  t.equal(failing, 0, `${name}: ${count} generated values round-trip (${bytesTotal} bytes)`, { failures });
}

/** Runs `fn`, which must throw a DecodeError matching `want` (reason optional). */
export function assertDecodeError(
  t: Asserts,
  fn: () => unknown,
  want: { structure: string; field: string; reason?: DecodeError['reason']; offset?: number },
  message?: string,
): void {
  const label = message ?? `DecodeError ${want.structure}.${want.field}`;
  try {
    fn();
  } catch (e) {
    const p = decodeErrorProblem(e);
    if (p) {
      t.fail(`${label}: ${p}`);
      return;
    }
    const de = e as DecodeError;
    const found: Record<string, unknown> = { structure: de.structure, field: de.field };
    const wanted: Record<string, unknown> = { structure: want.structure, field: want.field };
    if (want.reason !== undefined) {
      found.reason = de.reason;
      wanted.reason = want.reason;
    }
    if (want.offset !== undefined) {
      found.offset = de.offset;
      wanted.offset = want.offset;
    }
    t.same(found, wanted, label);
    return;
  }
  t.fail(`${label}: nothing was thrown`);
}
