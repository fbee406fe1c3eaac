/**
 * ForwardingHeader and ForwardingOption (rfc6940-wire.md §2.1, §2.3): the 38-byte fixed
 * part, the three grouped list lengths, the fragment field rules and the resource
 * placement rule of §2.2.
 */
import t from 'tap';
import { EncodeError, decode, encode, toHex } from '../../src/wire/codec.js';
import { ForwardingFlag } from '../../src/wire/constants.js';
import {
  type ForwardingHeader,
  forwardingHeader,
  forwardingHeaderSize,
  forwardingOption,
  isSupportedVersion,
} from '../../src/wire/forwarding-header.js';
import { Gen } from '../helpers/gen.js';
import { assertDecodeError, assertRoundTrip, assertRoundTripMany, bytesOf } from '../helpers/roundtrip.js';

const A = bytesOf('0102030405060708090a0b0c0d0e0f10');
const B = bytesOf('f0e0d0c0b0a090807060504030201000');
const R = bytesOf('00112233445566778899aabbccddeeff');

/** The header of the 143-byte Ping request of §11. */
function pingExampleHeader(): ForwardingHeader {
  return {
    overlay: 0x9aa32b8d,
    configurationSequence: 0,
    version: 0x0a,
    ttl: 100,
    fragment: 0xc0000000,
    length: 143,
    transactionId: 0x1122334455667788n,
    maxResponseLength: 0,
    viaList: [
      { type: 'node', id: A },
      { type: 'compressed', id: 0x8123 },
    ],
    destinationList: [{ type: 'node', id: B }],
    options: [],
  };
}

const PING_EXAMPLE_HEADER = `
  d2454c4f                             # relo_token "RELO" | 0x80
  9aa32b8d                             # overlay = low 32 bits of SHA-1("overlay.example.org")
  0000                                 # configuration_sequence
  0a                                   # version 1.0
  64                                   # ttl 100
  c0000000                             # fragment: historical bit + last, offset 0
  0000008f                             # length 143 (whole message)
  1122334455667788                     # transaction_id
  00000000                             # max_response_length: no limit
  0014                                 # via_list_length 20
  0012                                 # destination_list_length 18
  0000                                 # options_length 0
  01 10 0102030405060708090a0b0c0d0e0f10   # via: node
  8123                                 # via: compressed id
  01 10 f0e0d0c0b0a090807060504030201000   # destination: node
`;

t.test('the forwarding header of the §11 Ping example, byte for byte', async (t) => {
  const h = pingExampleHeader();
  const b = assertRoundTrip(t, forwardingHeader, h, PING_EXAMPLE_HEADER);
  t.equal(b.length, 38 + 20 + 18);
  t.equal(forwardingHeaderSize(h), 76);
  t.ok(isSupportedVersion(h));
  t.notOk(isSupportedVersion({ ...h, version: 0x01 }), 'draft 0.1 is rejected');
});

t.test('forwarding options: type, flags, 2-byte length, value', async (t) => {
  assertRoundTrip(t, forwardingOption, { type: 1, flags: ForwardingFlag.forwardCritical | ForwardingFlag.destinationCritical, value: bytesOf('abcd') }, `
    01        # type 1 exp-forward
    03        # FORWARD_CRITICAL | DESTINATION_CRITICAL
    0002 abcd # length, value
  `);
  assertRoundTrip(t, forwardingOption, { type: 0xff, flags: ForwardingFlag.responseCopy, value: new Uint8Array(0) }, 'ff 04 0000');
  const h: ForwardingHeader = {
    overlay: 0x01020304,
    configurationSequence: 0x0506,
    version: 0x0a,
    ttl: 100,
    fragment: 0xc0000000,
    length: 256,
    transactionId: 0xfedcba9876543210n,
    maxResponseLength: 5000,
    viaList: [],
    destinationList: [{ type: 'resource', id: R }],
    options: [
      { type: 1, flags: 0x03, value: bytesOf('abcd') },
      { type: 0x80, flags: 0, value: new Uint8Array(0) },
    ],
  };
  assertRoundTrip(t, forwardingHeader, h, `
    d2454c4f 01020304 0506 0a 64 c0000000   # token overlay cfgseq version ttl fragment
    00000100                                # length 256
    fedcba9876543210                        # transaction_id
    00001388                                # max_response_length 5000
    0000 0013 000a                          # via 0, destination 19, options 10
    02 11 10 00112233445566778899aabbccddeeff   # destination: resource (last entry)
    01 03 0002 abcd                         # option 1, critical flags, 2 bytes
    80 00 0000                              # option 128, presence only
  `);
});

t.test('a fragment header keeps its fragment field as given', async (t) => {
  const h = { ...pingExampleHeader(), fragment: 0x800001f4, length: 76 + 500 };
  const b = encode(forwardingHeader, h);
  t.equal(toHex(b.subarray(12, 20)), '800001f4' + '00000240', 'fragment (not last, offset 500) and length 576');
  t.equal(decode(forwardingHeader, b).fragment, 0x800001f4);
});

t.test('a short fixed part names the field it ran out in', async (t) => {
  const full = bytesOf(PING_EXAMPLE_HEADER);
  assertDecodeError(t, () => decode(forwardingHeader, full.subarray(0, 0)), { structure: 'ForwardingHeader', field: 'relo_token', reason: 'truncated' });
  assertDecodeError(t, () => decode(forwardingHeader, full.subarray(0, 10)), { structure: 'ForwardingHeader', field: 'version', reason: 'truncated', offset: 10 });
  assertDecodeError(t, () => decode(forwardingHeader, full.subarray(0, 27)), { structure: 'ForwardingHeader', field: 'transaction_id', reason: 'truncated' });
  assertDecodeError(t, () => decode(forwardingHeader, full.subarray(0, 37)), { structure: 'ForwardingHeader', field: 'options_length', reason: 'truncated' });
});

t.test('hostile forwarding headers', async (t) => {
  const good = bytesOf(PING_EXAMPLE_HEADER);
  const mutate = (at: number, hexBytes: string, b = good.slice()): Uint8Array => {
    b.set(bytesOf(hexBytes), at);
    return b;
  };
  assertDecodeError(t, () => decode(forwardingHeader, mutate(0, 'd2454c4e')), { structure: 'ForwardingHeader', field: 'relo_token', reason: 'value', offset: 0 });
  // The historical top bit of `fragment` MUST be 1 (§2.1).
  assertDecodeError(t, () => decode(forwardingHeader, mutate(12, '40000000')), { structure: 'ForwardingHeader', field: 'fragment', reason: 'value', offset: 12 });
  assertDecodeError(t, () => decode(forwardingHeader, mutate(12, '00000000')), { structure: 'ForwardingHeader', field: 'fragment', reason: 'value' });
  // length smaller than the header itself.
  assertDecodeError(t, () => decode(forwardingHeader, mutate(16, '0000004b')), { structure: 'ForwardingHeader', field: 'length', reason: 'length', offset: 16 });
  // A list length larger than what is left (2-byte lengths grouped ahead of the lists).
  // (`length` raised too, so that the list length itself is what lies.)
  const roomy = mutate(16, '00001000');
  assertDecodeError(t, () => decode(forwardingHeader, mutate(32, '0100', roomy.slice())), { structure: 'ForwardingHeader', field: 'via_list', reason: 'length', offset: 38 });
  assertDecodeError(t, () => decode(forwardingHeader, mutate(34, '0013', roomy.slice())), { structure: 'ForwardingHeader', field: 'destination_list', reason: 'length' });
  assertDecodeError(t, () => decode(forwardingHeader, mutate(36, '0001', roomy.slice())), { structure: 'ForwardingHeader', field: 'options', reason: 'length' });
  // A via length that cuts the compressed id in half: the Destination runs out.
  const cut = mutate(32, '0013');
  cut.set(bytesOf('0013'), 34); // keep the total consistent: 19 + 19
  assertDecodeError(t, () => decode(forwardingHeader, cut), { structure: 'Destination', field: 'opaque_id', reason: 'truncated' });
});

t.test('hostile forwarding options', async (t) => {
  assertDecodeError(t, () => decode(forwardingOption, bytesOf('00 00 0000')), { structure: 'ForwardingOption', field: 'type', reason: 'value', offset: 0 });
  assertDecodeError(t, () => decode(forwardingOption, bytesOf('01 00 0003 abcd')), { structure: 'ForwardingOption', field: 'value', reason: 'length', offset: 2 });
  assertDecodeError(t, () => decode(forwardingOption, bytesOf('01 00 00')), { structure: 'ForwardingOption', field: 'value', reason: 'truncated' });
  // Inside a header: an invalid option type (0).
  const h = { ...pingExampleHeader(), options: [{ type: 1, flags: 0, value: new Uint8Array(0) }] };
  const b = encode(forwardingHeader, h);
  b[76] = 0;
  assertDecodeError(t, () => decode(forwardingHeader, b), { structure: 'ForwardingOption', field: 'type', reason: 'value' });
  t.throws(() => encode(forwardingOption, { type: 1, flags: 0, value: new Uint8Array(0x10000) }), EncodeError);
});

t.test('a resource destination only as the last Destination List entry, never in a Via List (§2.2)', async (t) => {
  const resource = { type: 'resource' as const, id: R };
  const inVia: ForwardingHeader = { ...pingExampleHeader(), viaList: [resource] };
  const notLast: ForwardingHeader = { ...pingExampleHeader(), destinationList: [resource, { type: 'node', id: B }] };
  t.throws(() => encode(forwardingHeader, inVia), { name: 'EncodeError', field: 'via_list' });
  t.throws(() => encode(forwardingHeader, notLast), { name: 'EncodeError', field: 'destination_list' });
  // Hand-built: via list = one resource destination (19 bytes), destination list empty.
  const via = bytesOf(`
    d2454c4f 9aa32b8d 0000 0a 64 c0000000 00000039 1122334455667788 00000000
    0013 0000 0000
    02 11 10 00112233445566778899aabbccddeeff
  `);
  assertDecodeError(t, () => decode(forwardingHeader, via), { structure: 'ForwardingHeader', field: 'via_list', reason: 'value', offset: 38 });
  const dest = bytesOf(`
    d2454c4f 9aa32b8d 0000 0a 64 c0000000 0000004b 1122334455667788 00000000
    0000 0025 0000
    02 11 10 00112233445566778899aabbccddeeff
    01 10 f0e0d0c0b0a090807060504030201000
  `);
  assertDecodeError(t, () => decode(forwardingHeader, dest), { structure: 'ForwardingHeader', field: 'destination_list', reason: 'value', offset: 38 });
  // As the last entry it is fine.
  const ok: ForwardingHeader = { ...pingExampleHeader(), destinationList: [{ type: 'node', id: B }, resource] };
  assertRoundTrip(t, forwardingHeader, ok);
});

t.test('encoders refuse lists longer than their 16-bit length fields', async (t) => {
  const big = Array.from({ length: 3641 }, () => ({ type: 'node' as const, id: A })); // 3641 * 18 > 65535
  t.throws(() => encode(forwardingHeader, { ...pingExampleHeader(), viaList: big }), EncodeError);
});

t.test('property: random forwarding headers and options round-trip', async (t) => {
  const g = new Gen('forwarding-header');
  assertRoundTripMany(t, forwardingOption, 2000, () => g.forwardingOption());
  assertRoundTripMany(t, forwardingHeader, 2500, () => g.forwardingHeader());
});
