/**
 * Storage structures (rfc6940-wire.md §6): StoredData for the single, array and
 * dictionary models and for Kinds of unknown model, Store, Fetch (with the array
 * specifier example of §6.3), Stat (StoredMetaData), Find, and the stored-data
 * signature input of §4.1.
 */
import t from 'tap';
import { EncodeError, decode, encode, toHex } from '../../src/wire/codec.js';
import { HashAlgorithm, SignatureAlgorithm } from '../../src/wire/constants.js';
import { DEFAULT_WIRE_CONTEXT, wireContext } from '../../src/wire/context.js';
import { UNSIGNED } from '../../src/wire/security-block.js';
import {
  type StoredData,
  dataValue,
  storageCodecs,
  storedDataCodec,
  storedDataSignatureInput,
} from '../../src/wire/storage.js';
import { GEN_CONTEXT, Gen, KIND_ARRAY, KIND_DICTIONARY, KIND_SINGLE, KIND_UNKNOWN } from '../helpers/gen.js';
import { assertDecodeError, assertRoundTrip, assertRoundTripMany, bytesOf, hex } from '../helpers/roundtrip.js';

const te = new TextEncoder();
const s = (x: string): Uint8Array => te.encode(x);
const R_HEX = '00112233445566778899aabbccddeeff';
const R = bytesOf(R_HEX);
const A_HEX = '0102030405060708090a0b0c0d0e0f10';
const B_HEX = 'f0e0d0c0b0a090807060504030201000';
const T = 1_700_000_000_000n;
const T_HEX = '0000018bcfe56800';
const L = 86400;
const L_HEX = '00015180';
const UNSIGNED_HEX = '00 00 03 0000 0000';
const H32_HEX = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';

const codecs = storageCodecs(DEFAULT_WIRE_CONTEXT);
const genCodecs = storageCodecs(GEN_CONTEXT);

/** A single-value StoredData: value "v", unsigned (29 bytes). */
const SD_SINGLE: StoredData = { storageTime: T, lifetime: L, value: { model: 'single', value: { exists: true, value: s('v') } }, signature: UNSIGNED };
const SD_SINGLE_HEX = `
  00000019      # length 25: everything after this field
  ${T_HEX}      # storage_time (ms since 1970)
  ${L_HEX}      # lifetime 86400 s
  01 00000001 76   # DataValue: exists, value<0..2^32-1> "v"
  ${UNSIGNED_HEX}  # Signature of a value synthesized by the storing peer
`;

t.test('DataValue: exists, 4-byte length, value; deletion is 00 00000000', async (t) => {
  assertRoundTrip(t, dataValue, { exists: true, value: s('abc') }, '01 00000003 616263');
  assertRoundTrip(t, dataValue, { exists: false, value: new Uint8Array(0) }, '00 00000000');
  assertDecodeError(t, () => decode(dataValue, bytesOf('02 00000000')), { structure: 'DataValue', field: 'exists', reason: 'value', offset: 0 });
  assertDecodeError(t, () => decode(dataValue, bytesOf('01 00000004 616263')), { structure: 'DataValue', field: 'value', reason: 'length', offset: 1 });
});

t.test('StoredData of each data model', async (t) => {
  assertRoundTrip(t, storedDataCodec('single'), SD_SINGLE, SD_SINGLE_HEX);
  // TURN-SERVICE value (§6.6): TurnServer { iteration 1, 192.0.2.1:3478 }.
  assertRoundTrip(t, storedDataCodec('single'), {
    storageTime: T,
    lifetime: L,
    value: { model: 'single', value: { exists: true, value: bytesOf('01 0106c00002010d96') } },
    signature: UNSIGNED,
  }, `00000021 ${T_HEX} ${L_HEX}  01 00000009 01 01 06 c0000201 0d96  ${UNSIGNED_HEX}`);
  assertRoundTrip(t, storedDataCodec('array'), {
    storageTime: T,
    lifetime: L,
    value: { model: 'array', index: 3, value: { exists: true, value: s('ab') } },
    signature: UNSIGNED,
  }, `
    0000001e ${T_HEX} ${L_HEX}   # length 30
    00000003                     # ArrayEntry.index
    01 00000002 6162             # DataValue "ab"
    ${UNSIGNED_HEX}
  `);
  assertRoundTrip(t, storedDataCodec('dictionary'), {
    storageTime: T,
    lifetime: L,
    value: { model: 'dictionary', key: s('k'), value: { exists: true, value: new Uint8Array(0) } },
    signature: UNSIGNED,
  }, `
    0000001b ${T_HEX} ${L_HEX}   # length 27
    0001 6b                      # DictionaryKey<0..2^16-1> "k"
    01 00000000                  # DataValue: exists, empty
    ${UNSIGNED_HEX}
  `);
  // A signed value: sha256/rsa, cert_hash identity, 4-byte signature.
  assertRoundTrip(t, storedDataCodec('single'), {
    storageTime: T,
    lifetime: L,
    value: { model: 'single', value: { exists: true, value: s('v') } },
    signature: {
      hashAlg: HashAlgorithm.sha256,
      sigAlg: SignatureAlgorithm.rsa,
      identity: { type: 'cert_hash', hashAlg: HashAlgorithm.sha256, hash: bytesOf(H32_HEX) },
      value: bytesOf('01020304'),
    },
  }, `0000003f ${T_HEX} ${L_HEX} 01 00000001 76  04 01 01 0022 04 20 ${H32_HEX} 0004 01020304`);
});

t.test('StoredData of a Kind whose data model is unknown stays raw', async (t) => {
  assertRoundTrip(t, storedDataCodec(undefined), {
    storageTime: 1n,
    lifetime: 2,
    value: { model: 'unknown', raw: bytesOf('aabbcc') },
  }, `
    0000000f            # length 15
    0000000000000001    # storage_time
    00000002            # lifetime
    aabbcc              # value || signature, not parsed
  `);
});

t.test('StoreReq and StoreAns', async (t) => {
  assertRoundTrip(t, codecs.storeReq, {
    resource: R,
    replicaNumber: 0,
    kindData: [{ kind: 2, generationCounter: 1n, values: [SD_SINGLE] }],
  }, `
    10 ${R_HEX}         # resource<0..2^8-1>
    00                  # replica_number: original store
    0000002d            # kind_data<0..2^32-1>: 45 bytes
    00000002            #   kind TURN-SERVICE
    0000000000000001    #   generation_counter
    0000001d            #   values<0..2^32-1>: 29 bytes
    ${SD_SINGLE_HEX}
  `);
  // A replica store of a Kind unknown to this context: its values stay raw.
  assertRoundTrip(t, genCodecs.storeReq, {
    resource: s('FOO'),
    replicaNumber: 2,
    kindData: [{ kind: KIND_UNKNOWN, generationCounter: 0n, values: [{ storageTime: 1n, lifetime: 2, value: { model: 'unknown', raw: bytesOf('aabbcc') } }] }],
  }, `
    03 464f4f 02 00000023
    f00000ff 0000000000000000 00000013
    0000000f 0000000000000001 00000002 aabbcc
  `);
  assertRoundTrip(t, codecs.storeAns, {
    kindResponses: [{ kind: 2, generationCounter: 2n, replicas: [bytesOf(A_HEX), bytesOf(B_HEX)] }],
  }, `
    002e                       # kind_responses<0..2^16-1>: 46 bytes
    00000002 0000000000000002  # kind, generation_counter
    0020 ${A_HEX} ${B_HEX}     # replicas<0..2^16-1>: two NodeIds
  `);
  assertRoundTrip(t, codecs.storeAns, { kindResponses: [] }, '0000');
});

t.test('StoredDataSpecifier: the array example of §6.3 and the other models', async (t) => {
  assertRoundTrip(t, codecs.specifier, { kind: 0x10, generation: 0n, model: 'array', indices: [{ first: 0, last: 0xffffffff }] }, `
    00000010           # Kind 16 (CERTIFICATE_BY_USER, array)
    0000000000000000   # generation
    000a               # length 10 = 2-byte list prefix + one 8-byte range
    0008               # indices<0..2^16-1>
    00000000 ffffffff  # first 0, last = the final element
  `);
  assertRoundTrip(t, codecs.specifier, { kind: 3, generation: 1n, model: 'array', indices: [{ first: 0, last: 2 }, { first: 5, last: 0xffffffff }] }, `
    00000003 0000000000000001 0012 0010 00000000 00000002 00000005 ffffffff
  `);
  assertRoundTrip(t, codecs.specifier, { kind: 2, generation: 5n, model: 'single' }, '00000002 0000000000000005 0000');
  assertRoundTrip(t, codecs.specifier, { kind: 1, generation: 0n, model: 'dictionary', keys: [s('a'), s('bc')] }, `
    00000001 0000000000000000
    0009                 # length 9
    0007 0001 61 0002 6263   # keys<0..2^16-1>: "a", "bc"
  `);
  assertRoundTrip(t, codecs.specifier, { kind: 1, generation: 0n, model: 'dictionary', keys: [] }, '00000001 0000000000000000 0002 0000');
  assertRoundTrip(t, genCodecs.specifier, { kind: KIND_UNKNOWN, generation: 3n, model: 'unknown', raw: bytesOf('abcd') }, 'f00000ff 0000000000000003 0002 abcd');
});

const FETCH_REQ_HEX = `
  10 ${R_HEX}                                               # resource
  0026                                                      # specifiers: 24 + 14 bytes
  00000010 0000000000000000 000a 0008 00000000 ffffffff     # array Kind 16, everything
  00000002 0000000000000005 0000                            # single Kind 2, generation 5
`;

t.test('FetchReq and FetchAns', async (t) => {
  const req = {
    resource: R,
    specifiers: [
      { kind: 0x10, generation: 0n, model: 'array' as const, indices: [{ first: 0, last: 0xffffffff }] },
      { kind: 2, generation: 5n, model: 'single' as const },
    ],
  };
  assertRoundTrip(t, codecs.fetchReq, req, FETCH_REQ_HEX);
  assertRoundTrip(t, codecs.fetchAns, { kindResponses: [{ kind: 2, generation: 1n, values: [SD_SINGLE] }] }, `
    0000002d                    # kind_responses<0..2^32-1>: 45 bytes
    00000002 0000000000000001   # kind, generation
    0000001d                    # values: 29 bytes
    ${SD_SINGLE_HEX}
  `);
  assertRoundTrip(t, codecs.fetchAns, {
    kindResponses: [
      { kind: 2, generation: 1n, values: [SD_SINGLE] },
      { kind: 3, generation: 0n, values: [] },
    ],
  }, `0000003d  00000002 0000000000000001 0000001d ${SD_SINGLE_HEX}  00000003 0000000000000000 00000000`);
});

t.test('StatReq is a FetchReq; StatAns carries StoredMetaData for each model', async (t) => {
  t.equal(codecs.statReq, codecs.fetchReq);
  const M = { exists: true, valueLength: 1, hashAlgorithm: HashAlgorithm.sha1, hashValue: bytesOf('deadbeef') };
  const M_HEX = `
    01          # exists
    00000001    # value_length: the stored value's own length
    02          # hash_algorithm sha1
    04 deadbeef # hash_value<0..255> (layout only)
  `;
  assertRoundTrip(t, codecs.storedMetaData('single'), { storageTime: T, lifetime: L, metadata: { model: 'single', metadata: M } }, `
    00000017 ${T_HEX} ${L_HEX}   # length 23 (structure-length reading, §6.4)
    ${M_HEX}
  `);
  assertRoundTrip(t, codecs.storedMetaData('array'), { storageTime: T, lifetime: L, metadata: { model: 'array', index: 5, metadata: M } }, `
    0000001b ${T_HEX} ${L_HEX} 00000005 ${M_HEX}
  `);
  assertRoundTrip(t, codecs.storedMetaData('dictionary'), { storageTime: T, lifetime: L, metadata: { model: 'dictionary', key: s('k'), metadata: M } }, `
    0000001a ${T_HEX} ${L_HEX} 0001 6b ${M_HEX}
  `);
  assertRoundTrip(t, codecs.storedMetaData(undefined), { storageTime: 1n, lifetime: 2, metadata: { model: 'unknown', raw: bytesOf('abcd') } }, `
    0000000e 0000000000000001 00000002 abcd
  `);
  assertRoundTrip(t, codecs.statAns, {
    kindResponses: [{ kind: 2, generation: 1n, values: [{ storageTime: T, lifetime: L, metadata: { model: 'single', metadata: M } }] }],
  }, `
    0000002b                    # kind_responses<0..2^32-1>: 43 bytes
    00000002 0000000000000001   # kind, generation
    0000001b                    # values<0..2^32-1>: 27 bytes
    00000017 ${T_HEX} ${L_HEX} ${M_HEX}
  `);
  t.equal(codecs.storedMetaData('array'), codecs.storedMetaData('array'), 'cached per model');
});

t.test('FindReq and FindAns', async (t) => {
  assertRoundTrip(t, codecs.findReq, { resource: R, kinds: [1, 0x10] }, `
    10 ${R_HEX}                 # resource
    08 00000001 00000010        # kinds<0..2^8-1>: two KindIds
  `);
  assertRoundTrip(t, codecs.findAns, {
    results: [
      { kind: 1, closest: R },
      { kind: 0x10, closest: new Uint8Array(0) }, // "closest is 0": zero-length accepted (§6.5)
    ],
  }, `
    001a                        # results: 21 + 5 bytes
    00000001 10 ${R_HEX}        # FindKindData
    00000010 00
  `);
  t.throws(() => encode(codecs.findReq, { resource: R, kinds: new Array(64).fill(1) }), EncodeError);
});

t.test('the stored-data signature input (§4.1), array index zeroed', async (t) => {
  const identity = { type: 'cert_hash' as const, hashAlg: HashAlgorithm.sha256, hash: bytesOf(H32_HEX) };
  const input = storedDataSignatureInput(R, 3, T, { model: 'array', index: 3, value: { exists: true, value: s('ab') } }, identity);
  t.equal(toHex(input), hex(`
    ${R_HEX}                 # resource_id, raw bytes (no length prefix)
    00000003                 # kind
    ${T_HEX}                 # storage_time
    00000000                 # ArrayEntry.index set to 0
    01 00000002 6162         # DataValue
    01 0022 04 20 ${H32_HEX} # SignerIdentity
  `));
  const single = storedDataSignatureInput(R, 2, T, { model: 'single', value: { exists: true, value: s('v') } }, { type: 'none' });
  t.equal(toHex(single), hex(`${R_HEX} 00000002 ${T_HEX} 01 00000001 76 03 0000`));
  const dict = storedDataSignatureInput(R, 1, T, { model: 'dictionary', key: s('k'), value: { exists: false, value: new Uint8Array(0) } }, { type: 'none' });
  t.equal(toHex(dict), hex(`${R_HEX} 00000001 ${T_HEX} 0001 6b 00 00000000 03 0000`));
});

t.test('hostile storage structures', async (t) => {
  const sd = storedDataCodec('single');
  assertDecodeError(t, () => decode(sd, bytesOf(`00000020 ${T_HEX} ${L_HEX}`)), { structure: 'StoredData', field: 'length', reason: 'length', offset: 0 });
  assertDecodeError(t, () => decode(sd, bytesOf(`0000001a ${T_HEX} ${L_HEX} 01 00000001 76 ${UNSIGNED_HEX} 00`)), { structure: 'StoredData', field: '(end)', reason: 'trailing' });
  assertDecodeError(t, () => decode(sd, bytesOf(`00000019 ${T_HEX} ${L_HEX} 02 00000001 76 ${UNSIGNED_HEX}`)), { structure: 'DataValue', field: 'exists', reason: 'value', offset: 16 });
  assertDecodeError(t, () => decode(sd, bytesOf(`00000019 ${T_HEX} ${L_HEX} 01 00000009 76 ${UNSIGNED_HEX}`)), { structure: 'DataValue', field: 'value', reason: 'length' });
  assertDecodeError(t, () => decode(storedDataCodec('dictionary'), bytesOf(`00000011 ${T_HEX} ${L_HEX} 0009 6b 01 00`)), { structure: 'DictionaryEntry', field: 'key', reason: 'length' });
  assertDecodeError(t, () => decode(storedDataCodec('array'), bytesOf(`0000000f ${T_HEX} ${L_HEX} 000000`)), { structure: 'ArrayEntry', field: 'index', reason: 'truncated' });
  // A single-value specifier must be empty.
  assertDecodeError(t, () => decode(codecs.specifier, bytesOf('00000002 0000000000000000 0001 00')), { structure: 'StoredDataSpecifier', field: 'length', reason: 'length', offset: 12 });
  // An array range with first > last.
  assertDecodeError(t, () => decode(codecs.specifier, bytesOf('00000003 0000000000000000 000a 0008 00000005 00000004')), { structure: 'StoredDataSpecifier', field: 'indices', reason: 'value' });
  // Overlapping ranges (§6.3: ranges must not overlap), in either order.
  assertDecodeError(t, () => decode(codecs.specifier, bytesOf('00000003 0000000000000000 0012 0010 00000005 0000000a 00000000 00000005')), { structure: 'StoredDataSpecifier', field: 'indices', reason: 'value', offset: 12 });
  assertDecodeError(t, () => decode(codecs.specifier, bytesOf('00000003 0000000000000000 0012 0010 00000000 ffffffff 00000007 00000007')), { structure: 'StoredDataSpecifier', field: 'indices', reason: 'value' });
  t.throws(() => encode(codecs.specifier, { kind: 3, generation: 0n, model: 'array', indices: [{ first: 4, last: 2 }] }), EncodeError);
  t.throws(() => encode(codecs.specifier, { kind: 3, generation: 0n, model: 'array', indices: [{ first: 0, last: 4 }, { first: 4, last: 5 }] }), EncodeError);
  assertRoundTrip(t, codecs.specifier, { kind: 3, generation: 0n, model: 'array', indices: [{ first: 6, last: 9 }, { first: 0, last: 5 }] }, '00000003 0000000000000000 0012 0010 00000006 00000009 00000000 00000005');
  // The specifier length disagrees with its list.
  assertDecodeError(t, () => decode(codecs.specifier, bytesOf('00000003 0000000000000000 000b 0008 00000000 00000001 00')), { structure: 'StoredDataSpecifier', field: '(end)', reason: 'trailing' });
  assertDecodeError(t, () => decode(codecs.specifier, bytesOf('00000003 0000000000000000 0009 0008 00000000 00000001 00')), { structure: 'StoredDataSpecifier.indices', field: 'length', reason: 'length', offset: 14 });
  assertDecodeError(t, () => decode(codecs.specifier, bytesOf('00000003 0000000000000000 000b 0008 00000000 00000001')), { structure: 'StoredDataSpecifier', field: 'length', reason: 'length', offset: 12 });
  // FindReq kinds: byte count not a multiple of 4.
  assertDecodeError(t, () => decode(codecs.findReq, bytesOf(`10 ${R_HEX} 05 00000001 00`)), { structure: 'FindReq', field: 'kinds', reason: 'length', offset: 17 });
  // Replica NodeId list not a multiple of 16.
  assertDecodeError(t, () => decode(codecs.storeAns, bytesOf(`001f 00000002 0000000000000002 0011 ${A_HEX} 00`)), { structure: 'StoreKindResponse.replicas', field: 'length', reason: 'length' });
  // MetaData.exists must be a Boolean.
  assertDecodeError(t, () => decode(codecs.storedMetaData('single'), bytesOf(`00000017 ${T_HEX} ${L_HEX} 02 00000001 02 04 deadbeef`)), { structure: 'MetaData', field: 'exists', reason: 'value' });
  assertDecodeError(t, () => decode(codecs.storedMetaData('single'), bytesOf(`00000018 ${T_HEX} ${L_HEX} 01 00000001 02 04 deadbeef 00`)), { structure: 'StoredMetaData', field: '(end)', reason: 'trailing' });
  // 1-byte ResourceId prefix lying.
  assertDecodeError(t, () => decode(codecs.fetchReq, bytesOf('20 0011 0000')), { structure: 'FetchReq', field: 'resource', reason: 'length', offset: 0 });
  // 4-byte values prefix lying.
  assertDecodeError(t, () => decode(codecs.fetchAns, bytesOf('00000012 00000002 0000000000000001 00000010 0000')), { structure: 'FetchKindResponse', field: 'values', reason: 'length' });
  assertDecodeError(t, () => decode(codecs.storeReq, bytesOf(`10 ${R_HEX} 00 00000100`)), { structure: 'StoreReq.kind_data', field: 'length', reason: 'length' });
  assertDecodeError(t, () => decode(codecs.statAns, bytesOf('00000010 00000002 0000000000000001 00000004')), { structure: 'StatKindResponse', field: 'values', reason: 'length' });
});

t.test('encoders refuse values of the wrong model for their Kind', async (t) => {
  const arrayValue: StoredData = { storageTime: T, lifetime: L, value: { model: 'array', index: 0, value: { exists: true, value: s('x') } }, signature: UNSIGNED };
  t.throws(() => encode(codecs.storeReq, { resource: R, replicaNumber: 0, kindData: [{ kind: 2, generationCounter: 0n, values: [arrayValue] }] }), EncodeError);
  t.throws(() => encode(codecs.fetchAns, { kindResponses: [{ kind: 1, generation: 0n, values: [arrayValue] }] }), EncodeError);
  t.throws(() => encode(codecs.specifier, { kind: 2, generation: 0n, model: 'array', indices: [] }), EncodeError);
});

t.test('a context with extra Kinds and NodeIdLength 20', async (t) => {
  const ctx = wireContext([[0x777, 'dictionary']], 20);
  const c = storageCodecs(ctx);
  t.equal(storageCodecs(ctx), c, 'cached per context');
  const D = `${A_HEX}a1a2a3a4`;
  assertRoundTrip(t, c.storeAns, { kindResponses: [{ kind: 0x777, generationCounter: 1n, replicas: [bytesOf(D)] }] }, `0022 00000777 0000000000000001 0014 ${D}` /* 4 + 8 + 2 + 20 bytes */);
  assertRoundTrip(t, c.specifier, { kind: 0x777, generation: 0n, model: 'dictionary', keys: [] }, '00000777 0000000000000000 0002 0000');
});

t.test('property: random storage structures round-trip', async (t) => {
  const g = new Gen('storage');
  assertRoundTripMany(t, dataValue, 1500, () => g.dataValue());
  for (const model of ['single', 'array', 'dictionary', undefined] as const) {
    assertRoundTripMany(t, storedDataCodec(model), 1000, () => g.storedData(model), `StoredData/${model ?? 'unknown'}`);
    assertRoundTripMany(t, genCodecs.storedMetaData(model), 1000, () => g.storedMetaData(model), `StoredMetaData/${model ?? 'unknown'}`);
  }
  assertRoundTripMany(t, genCodecs.specifier, 2000, () => g.specifier());
  assertRoundTripMany(t, genCodecs.storeReq, 1000, () => g.storeReq());
  assertRoundTripMany(t, genCodecs.storeAns, 1000, () => g.storeAns());
  assertRoundTripMany(t, genCodecs.fetchReq, 1000, () => g.fetchReq());
  assertRoundTripMany(t, genCodecs.fetchAns, 1000, () => g.fetchAns());
  assertRoundTripMany(t, genCodecs.statAns, 1000, () => g.statAns());
  assertRoundTripMany(t, genCodecs.findReq, 1000, () => g.findReq());
  assertRoundTripMany(t, genCodecs.findAns, 1000, () => g.findAns());
  t.ok([KIND_SINGLE, KIND_ARRAY, KIND_DICTIONARY].every((k) => GEN_CONTEXT.dataModel(k) !== undefined));
  t.equal(GEN_CONTEXT.dataModel(KIND_UNKNOWN), undefined);
});
