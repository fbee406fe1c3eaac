/**
 * The TLS-presentation-language primitives (rfc6940-wire.md §1): big-endian integers,
 * opaque vectors with 1/2/3/4-byte byte-count prefixes, vectors of structures, Boolean,
 * and the hostile-input guarantees every decoder builds on.
 */
import t from 'tap';
import {
  type Codec,
  DecodeError,
  EncodeError,
  Reader,
  Writer,
  bytesEqual,
  checkFits,
  concatBytes,
  decode,
  emptyBody,
  encode,
  fromHex,
  fromUtf8,
  opaqueSize,
  toHex,
  utf8,
  vectorOf,
} from '../../src/wire/codec.js';
import { Gen } from '../helpers/gen.js';
import { assertDecodeError, assertRoundTrip, assertRoundTripMany, bytesOf } from '../helpers/roundtrip.js';

const u16: Codec<number> = {
  name: 'U16',
  size: () => 2,
  encode: (w, v) => w.u16(v),
  decode: (r) => r.u16('U16', 'value'),
};

function opaqueCodec(prefix: 1 | 2 | 3 | 4): Codec<Uint8Array> {
  return {
    name: `Opaque${prefix}`,
    size: (v) => opaqueSize(prefix, v, `Opaque${prefix}`, 'data'),
    encode: (w, v) => w.opaque(prefix, v),
    decode: (r) => r.opaque(prefix, `Opaque${prefix}`, 'data'),
  };
}

t.test('integers are big-endian, unsigned', async (t) => {
  const w = new Writer(new Uint8Array(1 + 2 + 3 + 4 + 8 + 8));
  w.u8(0xab);
  w.u16(0x1234);
  w.u24(0x123456);
  w.u32(0xdeadbeef);
  w.u64(0x0102030405060708n);
  w.u64(0xffffffffffffffffn);
  t.equal(
    toHex(w.buf),
    [
      'ab', // uint8
      '1234', // uint16
      '123456', // uint24
      'deadbeef', // uint32 (top bit set: must read back unsigned)
      '0102030405060708', // uint64
      'ffffffffffffffff', // uint64 max
    ].join(''),
  );
  const r = new Reader(w.buf);
  t.equal(r.u8('S', 'a'), 0xab);
  t.equal(r.u16('S', 'b'), 0x1234);
  t.equal(r.u24('S', 'c'), 0x123456);
  t.equal(r.u32('S', 'd'), 0xdeadbeef);
  t.equal(r.u64('S', 'e'), 0x0102030405060708n);
  t.equal(r.u64('S', 'f'), 0xffffffffffffffffn);
  t.equal(r.left, 0);
  r.done('S');
});

t.test('opaque<..> with each prefix width: the spec example "FOO" (§1.1)', async (t) => {
  const foo = utf8('FOO');
  assertRoundTrip(t, opaqueCodec(1), foo, '03 464f4f'); // ResourceId "FOO" = 03 46 4f 4f
  assertRoundTrip(t, opaqueCodec(2), foo, '0003 464f4f');
  assertRoundTrip(t, opaqueCodec(3), foo, '000003 464f4f');
  assertRoundTrip(t, opaqueCodec(4), foo, '00000003 464f4f');
  assertRoundTrip(t, opaqueCodec(1), new Uint8Array(0), '00');
  assertRoundTrip(t, opaqueCodec(4), new Uint8Array(0), '00000000');
  // The largest value a 1-byte prefix can carry.
  const max1 = new Uint8Array(255).fill(7);
  t.equal(toHex(encode(opaqueCodec(1), max1)).slice(0, 4), 'ff07');
  assertRoundTrip(t, opaqueCodec(1), max1);
});

t.test('an opaque field decodes to a view of the input, never a copy', async (t) => {
  const input = bytesOf('02 abcd');
  const v = decode(opaqueCodec(1), input);
  t.equal(v.buffer, input.buffer);
  t.equal(v.byteOffset, 1);
  t.equal(v.length, 2);
});

t.test('a lying length (larger than what is left) in every prefix width', async (t) => {
  // Each prefix claims one byte more than is present: a 'length' error at the prefix.
  const cases: [1 | 2 | 3 | 4, string][] = [
    [1, '04 414243'],
    [2, '0004 414243'],
    [3, '000004 414243'],
    [4, '00000004 414243'],
  ];
  for (const [prefix, h] of cases) {
    assertDecodeError(
      t,
      () => decode(opaqueCodec(prefix), bytesOf(h)),
      { structure: `Opaque${prefix}`, field: 'data', reason: 'length', offset: 0 },
      `${prefix}-byte prefix claiming 4 of 3 bytes`,
    );
  }
  // A huge 4-byte length never allocates: it is checked against the bytes left.
  assertDecodeError(t, () => decode(opaqueCodec(4), bytesOf('ffffffff 00')), {
    structure: 'Opaque4',
    field: 'data',
    reason: 'length',
  });
  // A prefix that is itself cut short.
  assertDecodeError(t, () => decode(opaqueCodec(3), bytesOf('0000')), {
    structure: 'Opaque3',
    field: 'data',
    reason: 'truncated',
  });
  // The vector form (a sub-reader) checks the same way.
  const r = new Reader(bytesOf('0005 0102'));
  assertDecodeError(t, () => r.vector(2, 'V', 'items'), { structure: 'V', field: 'items', reason: 'length', offset: 0 });
});

t.test('a Reader never reads past its end, even inside a larger buffer', async (t) => {
  const buf = bytesOf('01 02 03 04 05 06');
  const r = new Reader(buf, 1, 3);
  t.equal(r.left, 2);
  t.equal(r.u16('S', 'x'), 0x0203);
  assertDecodeError(t, () => r.u8('S', 'next'), { structure: 'S', field: 'next', reason: 'truncated', offset: 3 });
  const sub = new Reader(buf).sub(2, 'S', 'inner');
  t.equal(sub.end, 2);
  assertDecodeError(t, () => sub.u24('S', 'wide'), { structure: 'S', field: 'wide', reason: 'truncated' });
  assertDecodeError(t, () => new Reader(buf).u64('S', 'u64'), { structure: 'S', field: 'u64', reason: 'truncated' });
  assertDecodeError(t, () => new Reader(buf).bytes(7, 'S', 'fixed'), { structure: 'S', field: 'fixed', reason: 'truncated' });
  assertDecodeError(t, () => new Reader(buf).sub(7, 'S', 'part'), { structure: 'S', field: 'part', reason: 'length' });
});

t.test('Boolean is one byte, 0 or 1; 2 is a parse error (§1)', async (t) => {
  t.equal(new Reader(bytesOf('00')).bool('S', 'flag'), false);
  t.equal(new Reader(bytesOf('01')).bool('S', 'flag'), true);
  assertDecodeError(t, () => new Reader(bytesOf('02')).bool('S', 'flag'), {
    structure: 'S',
    field: 'flag',
    reason: 'value',
    offset: 0,
  });
  assertDecodeError(t, () => new Reader(bytesOf('ff')).bool('S', 'flag'), { structure: 'S', field: 'flag', reason: 'value' });
  const w = new Writer(new Uint8Array(2));
  w.bool(true);
  w.bool(false);
  t.equal(toHex(w.buf), '0100');
});

t.test('vectors of structures carry a byte count, not an element count', async (t) => {
  const list = vectorOf('U16List', 2, u16);
  assertRoundTrip(t, list, [1, 2, 0xffff], '0006 0001 0002 ffff');
  assertRoundTrip(t, list, [], '0000');
  assertRoundTrip(t, vectorOf('U16List4', 4, u16), [0x0a0b], '00000002 0a0b');
  // A byte count that splits an element: the element decoder runs out inside the vector.
  assertDecodeError(t, () => decode(list, bytesOf('0003 0001 00')), { structure: 'U16', field: 'value', reason: 'truncated' });
  // A zero-size element can never be decoded from a non-empty vector (no endless loop).
  const empties = vectorOf('Empties', 1, emptyBody);
  assertDecodeError(t, () => decode(empties, bytesOf('01 00')), { structure: 'Empties', field: 'element', reason: 'length' });
  t.same(decode(empties, bytesOf('00')), []);
});

t.test('trailing bytes after a complete structure are a DecodeError (decode helper)', async (t) => {
  assertDecodeError(t, () => decode(u16, bytesOf('0001 00')), { structure: 'U16', field: '(end)', reason: 'trailing', offset: 2 });
  const r = new Reader(bytesOf('00'));
  assertDecodeError(t, () => r.done('Thing'), { structure: 'Thing', field: '(end)', reason: 'trailing' });
});

t.test('DecodeError and EncodeError carry machine-readable fields', async (t) => {
  const e = new DecodeError('Struct', 'field', 'length', 7, 'detail');
  t.equal(e.code, 'ERR_RELOAD_DECODE');
  t.equal(e.name, 'DecodeError');
  t.equal(e.message, 'Struct.field: detail (at byte 7)');
  t.ok(e instanceof Error);
  const x = new EncodeError('Struct', 'field', 'too big');
  t.equal(x.code, 'ERR_RELOAD_ENCODE');
  t.equal(x.message, 'Struct.field: too big');
});

t.test('encoders refuse values that do not fit their length prefix', async (t) => {
  t.throws(() => checkFits(1, 256, 'S', 'f'), EncodeError);
  t.doesNotThrow(() => checkFits(1, 255, 'S', 'f'));
  t.throws(() => checkFits(2, 0x10000, 'S', 'f'), EncodeError);
  t.throws(() => checkFits(3, 0x1000000, 'S', 'f'), EncodeError);
  t.doesNotThrow(() => checkFits(3, 0xffffff, 'S', 'f'));
  t.throws(() => encode(opaqueCodec(1), new Uint8Array(256)), EncodeError);
  t.throws(() => encode(vectorOf('L', 1, u16), new Array(128).fill(1)), EncodeError);
  // A codec whose size() lies is caught by encode().
  const liar: Codec<number> = { name: 'Liar', size: () => 3, encode: (w, v) => w.u16(v), decode: (r) => r.u16('Liar', 'v') };
  t.throws(() => encode(liar, 1), { name: 'EncodeError', field: '(size)' });
});

t.test('the empty body encodes as zero bytes', async (t) => {
  assertRoundTrip(t, emptyBody, {}, '');
  assertDecodeError(t, () => decode(emptyBody, bytesOf('00')), { structure: 'EmptyBody', field: '(end)', reason: 'trailing' });
});

t.test('hex, UTF-8 and byte helpers', async (t) => {
  t.equal(toHex(fromHex('00 ff\nAb')), '00ffab');
  t.throws(() => fromHex('abc'), TypeError);
  t.throws(() => fromHex('zz'), TypeError);
  t.equal(toHex(utf8('é')), 'c3a9');
  t.equal(fromUtf8(bytesOf('c3a9')), 'é');
  assertDecodeError(t, () => fromUtf8(bytesOf('c3'), 'Text', 'body'), { structure: 'Text', field: 'body', reason: 'value' });
  t.equal(toHex(concatBytes(bytesOf('01'), new Uint8Array(0), bytesOf('0203'))), '010203');
  t.ok(bytesEqual(bytesOf('0102'), bytesOf('0102')));
  t.notOk(bytesEqual(bytesOf('0102'), bytesOf('0103')));
  t.notOk(bytesEqual(bytesOf('01'), bytesOf('0100')));
});

t.test('property: opaque vectors of every prefix width round-trip', async (t) => {
  const g = new Gen('codec-opaque');
  for (const prefix of [1, 2, 3, 4] as const) {
    const max = prefix === 1 ? 255 : 3000;
    assertRoundTripMany(t, opaqueCodec(prefix), 1000, () => g.opaque(max));
  }
  assertRoundTripMany(t, vectorOf('U16List', 2, u16), 1000, () => g.array(40, () => g.u16()));
});
