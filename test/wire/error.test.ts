/**
 * ErrorResponse and its structured error_info payloads (rfc6940-wire.md §3.2):
 * Error_Unknown_Kind carries KindId unknown_kinds<0..2^8-1>; Error_Generation_Counter_Too_Low
 * carries a StoreAns.
 */
import t from 'tap';
import { EncodeError, decode, encode, toHex, utf8 } from '../../src/wire/codec.js';
import { ErrorCode, errorCodeName } from '../../src/wire/constants.js';
import { DEFAULT_WIRE_CONTEXT } from '../../src/wire/context.js';
import { errorResponse, unknownKinds } from '../../src/wire/error.js';
import { storageCodecs } from '../../src/wire/storage.js';
import { Gen } from '../helpers/gen.js';
import { assertDecodeError, assertRoundTrip, assertRoundTripMany, bytesOf, hex } from '../helpers/roundtrip.js';

t.test('ErrorResponse with diagnostic text', async (t) => {
  assertRoundTrip(t, errorResponse, { errorCode: ErrorCode.notFound, errorInfo: utf8('no') }, `
    0003        # Error_Not_Found
    0002 6e6f   # error_info<0..2^16-1>: "no"
  `);
  assertRoundTrip(t, errorResponse, { errorCode: 0xffff, errorInfo: new Uint8Array(0) }, 'ffff 0000');
  t.equal(errorCodeName(ErrorCode.invalidMessage), 'Error_Invalid_Message');
  t.equal(errorCodeName(0x1234), 'Error_Unknown_0x1234');
});

t.test('Error_Unknown_Kind: error_info = KindId unknown_kinds<0..2^8-1>', async (t) => {
  const info = assertRoundTrip(t, unknownKinds, [0x10, 0xf0000001], `
    08         # 8 bytes: two KindIds
    00000010   # CERTIFICATE_BY_USER
    f0000001   # a private-use Kind
  `);
  assertRoundTrip(t, errorResponse, { errorCode: ErrorCode.unknownKind, errorInfo: info }, `
    000c                         # Error_Unknown_Kind
    0009 08 00000010 f0000001    # error_info: the encoded unknown_kinds
  `);
  assertRoundTrip(t, unknownKinds, [], '00');
  t.same(decode(unknownKinds, decode(errorResponse, bytesOf('000c 0009 08 00000010 f0000001')).errorInfo), [0x10, 0xf0000001]);
});

t.test('Error_Generation_Counter_Too_Low: error_info = a StoreAns', async (t) => {
  const storeAns = storageCodecs(DEFAULT_WIRE_CONTEXT).storeAns;
  const info = encode(storeAns, { kindResponses: [{ kind: 0x10, generationCounter: 7n, replicas: [] }] });
  t.equal(toHex(info), hex(`
    000e               # kind_responses: 14 bytes
    00000010           # kind
    0000000000000007   # the correct generation counter
    0000               # empty replica list
  `));
  assertRoundTrip(t, errorResponse, { errorCode: ErrorCode.generationCounterTooLow, errorInfo: info }, `
    0005 0010 000e 00000010 0000000000000007 0000
  `);
});

t.test('hostile error responses', async (t) => {
  assertDecodeError(t, () => decode(errorResponse, bytesOf('0000 0000')), { structure: 'ErrorResponse', field: 'error_code', reason: 'value', offset: 0 });
  assertDecodeError(t, () => decode(errorResponse, bytesOf('0003 0003 6e6f')), { structure: 'ErrorResponse', field: 'error_info', reason: 'length', offset: 2 });
  // unknown_kinds byte count not a multiple of 4.
  assertDecodeError(t, () => decode(unknownKinds, bytesOf('05 00000010 00')), { structure: 'UnknownKinds', field: 'unknown_kinds', reason: 'length', offset: 0 });
  assertDecodeError(t, () => decode(unknownKinds, bytesOf('08 00000010')), { structure: 'UnknownKinds', field: 'unknown_kinds', reason: 'length' });
  t.throws(() => encode(unknownKinds, new Array(64).fill(1)), EncodeError, 'at most 63 Kinds fit');
  t.doesNotThrow(() => encode(unknownKinds, new Array(63).fill(1)));
});

t.test('property: random error responses round-trip', async (t) => {
  const g = new Gen('error');
  assertRoundTripMany(t, errorResponse, 2000, () => g.errorResponse());
  assertRoundTripMany(t, unknownKinds, 1500, () => g.kindIds());
});
