/**
 * Destination (rfc6940-wire.md §2.2): the long type/length/value form and the 2-byte
 * compressed form, with the nested length byte of resource and opaque_id_type.
 */
import t from 'tap';
import { EncodeError, Reader, Writer, decode, encode, toHex } from '../../src/wire/codec.js';
import {
  type Destination,
  decodeDestinationList,
  destination,
  destinationListSize,
  destinationsEqual,
  encodeDestinationList,
  nodeDestination,
  resourceDestination,
} from '../../src/wire/destination.js';
import { Gen } from '../helpers/gen.js';
import { assertDecodeError, assertRoundTrip, assertRoundTripMany, bytesOf, hex } from '../helpers/roundtrip.js';

const ID16 = bytesOf('0102030405060708090a0b0c0d0e0f10');
const ID20 = bytesOf('0102030405060708090a0b0c0d0e0f1011121314');

t.test('node destination: 01, length, NodeId with no inner prefix', async (t) => {
  assertRoundTrip(t, destination, { type: 'node', id: ID16 }, `
    01                                 # type node
    10                                 # length 16
    0102030405060708090a0b0c0d0e0f10   # NodeId
  `);
  assertRoundTrip(t, destination, { type: 'node', id: ID20 }, `
    01 14                                       # node, length 20 (node-id-length 20)
    0102030405060708090a0b0c0d0e0f1011121314
  `);
});

t.test('resource destination nests a length byte: 02 11 10 ...', async (t) => {
  assertRoundTrip(t, destination, { type: 'resource', id: ID16 }, `
    02                                 # type resource
    11                                 # outer length 17 = inner prefix + 16
    10                                 # ResourceId<0..2^8-1> prefix: 16
    0102030405060708090a0b0c0d0e0f10
  `);
  t.equal(destination.size({ type: 'resource', id: ID16 }), 19);
  assertRoundTrip(t, destination, { type: 'resource', id: bytesOf('464f4f') }, '02 04 03 464f4f'); // "FOO"
  assertRoundTrip(t, destination, { type: 'resource', id: new Uint8Array(0) }, '02 01 00');
});

t.test('opaque_id_type destination: 03 (n+1) n + n bytes', async (t) => {
  assertRoundTrip(t, destination, { type: 'opaque', id: bytesOf('abcd') }, '03 03 02 abcd');
  assertRoundTrip(t, destination, { type: 'opaque', id: new Uint8Array(0) }, '03 01 00');
  const max = new Uint8Array(254).fill(0x5a);
  const b = assertRoundTrip(t, destination, { type: 'opaque', id: max });
  t.equal(toHex(b.subarray(0, 3)), '03fffe', 'outer 255, inner 254');
});

t.test('compressed destination: 2 bytes with the top bit set', async (t) => {
  assertRoundTrip(t, destination, { type: 'compressed', id: 0x8123 }, '8123');
  assertRoundTrip(t, destination, { type: 'compressed', id: 0x8000 }, '8000');
  assertRoundTrip(t, destination, { type: 'compressed', id: 0xffff }, 'ffff');
  // Any first byte >= 0x80 selects the short form, whatever follows.
  t.same(decode(destination, bytesOf('80 01')), { type: 'compressed', id: 0x8001 });
});

t.test('destination lists are plain concatenations (byte count lives elsewhere)', async (t) => {
  const list: Destination[] = [nodeDestination(ID16), { type: 'compressed', id: 0x8123 }, resourceDestination(bytesOf('464f4f'))];
  const w = new Writer(new Uint8Array(destinationListSize(list)));
  encodeDestinationList(w, list);
  t.equal(toHex(w.buf), hex('01 10 0102030405060708090a0b0c0d0e0f10  8123  02 04 03 464f4f'));
  t.equal(destinationListSize(list), 18 + 2 + 6);
  const back = decodeDestinationList(new Reader(w.buf));
  t.equal(back.length, 3);
  back.forEach((d, i) => t.ok(destinationsEqual(d, list[i]!), `entry ${i}`));
  t.same(decodeDestinationList(new Reader(new Uint8Array(0))), []);
});

t.test('destinationsEqual compares type and id', async (t) => {
  t.ok(destinationsEqual(nodeDestination(ID16), { type: 'node', id: ID16.slice() }));
  t.notOk(destinationsEqual(nodeDestination(ID16), resourceDestination(ID16)));
  t.notOk(destinationsEqual(nodeDestination(ID16), nodeDestination(ID20)));
  t.notOk(destinationsEqual(nodeDestination(ID16), nodeDestination(bytesOf('0102030405060708090a0b0c0d0e0fff'))));
  t.ok(destinationsEqual({ type: 'compressed', id: 0x8001 }, { type: 'compressed', id: 0x8001 }));
  t.notOk(destinationsEqual({ type: 'compressed', id: 0x8001 }, { type: 'compressed', id: 0x8002 }));
});

t.test('unknown DestinationTypes 0 and 4..127 are parse errors, whatever their length', async (t) => {
  for (const type of [0, 4, 5, 0x10, 0x7f]) {
    const th = type.toString(16).padStart(2, '0');
    assertDecodeError(t, () => decode(destination, bytesOf(`${th} 02 abcd`)), { structure: 'Destination', field: 'type', reason: 'value', offset: 0 }, `type ${type}`);
    // Rejected at the type byte, before its (lying) length is trusted.
    assertDecodeError(t, () => decode(destination, bytesOf(`${th} ff`)), { structure: 'Destination', field: 'type', reason: 'value' }, `type ${type}, lying length`);
  }
});

t.test('hostile lengths inside a destination', async (t) => {
  // Outer length larger than what is left.
  assertDecodeError(t, () => decode(destination, bytesOf('01 10 0102030405')), {
    structure: 'Destination',
    field: 'destination_data',
    reason: 'length',
  });
  // A NodeId must be 16..20 bytes.
  assertDecodeError(t, () => decode(destination, bytesOf('01 0f 0102030405060708090a0b0c0d0e0f')), {
    structure: 'Destination',
    field: 'node_id',
    reason: 'length',
    offset: 1,
  });
  assertDecodeError(t, () => decode(destination, bytesOf(`01 15 ${'00'.repeat(21)}`)), { structure: 'Destination', field: 'node_id', reason: 'length' });
  // Inner ResourceId length larger than the outer length allows.
  assertDecodeError(t, () => decode(destination, bytesOf('02 04 04 464f4f')), {
    structure: 'Destination',
    field: 'resource_id',
    reason: 'length',
  });
  // Inner length shorter than the outer: bytes left over inside the destination.
  assertDecodeError(t, () => decode(destination, bytesOf('03 04 02 464f4f')), {
    structure: 'Destination.opaque_id',
    field: '(end)',
    reason: 'trailing',
  });
  // Outer length 0 leaves no room for the inner prefix.
  assertDecodeError(t, () => decode(destination, bytesOf('02 00')), { structure: 'Destination', field: 'resource_id', reason: 'truncated' });
  // A compressed id cut after its first byte.
  assertDecodeError(t, () => decode(destination, bytesOf('81')), { structure: 'Destination', field: 'opaque_id', reason: 'truncated' });
});

t.test('encoders refuse destinations the wire cannot carry', async (t) => {
  t.throws(() => encode(destination, { type: 'node', id: new Uint8Array(15) }), EncodeError);
  t.throws(() => encode(destination, { type: 'node', id: new Uint8Array(21) }), EncodeError);
  t.throws(() => encode(destination, { type: 'resource', id: new Uint8Array(255) }), EncodeError);
  t.throws(() => encode(destination, { type: 'compressed', id: 0x7fff }), EncodeError);
  t.throws(() => encode(destination, { type: 'compressed', id: 0x10000 }), EncodeError);
});

t.test('property: random destinations of every form round-trip', async (t) => {
  const g = new Gen('destination');
  assertRoundTripMany(t, destination, 3000, () => g.destination());
  // Lists: encode, decode, compare entry by entry.
  let bad = 0;
  for (let i = 0; i < 1000; i++) {
    const list = g.destinationList(8);
    const w = new Writer(new Uint8Array(destinationListSize(list)));
    encodeDestinationList(w, list);
    const back = decodeDestinationList(new Reader(w.buf));
    if (back.length !== list.length || back.some((d, j) => !destinationsEqual(d, list[j]!))) bad++;
  }
  t.equal(bad, 0, '1000 destination lists round-trip');
});
