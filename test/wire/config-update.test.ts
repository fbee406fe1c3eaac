/** ConfigUpdateReq / ConfigUpdateAns (rfc6940-wire.md §5.6). */
import t from 'tap';
import { EncodeError, decode, emptyBody, encode } from '../../src/wire/codec.js';
import { configUpdateReq } from '../../src/wire/config-update.js';
import { Gen } from '../helpers/gen.js';
import { assertDecodeError, assertRoundTrip, assertRoundTripMany, bytesOf } from '../helpers/roundtrip.js';

const te = new TextEncoder();

t.test('the kind example of §5.6: one 17-byte kind-block', async (t) => {
  const block = te.encode('<kind id="1234"/>');
  t.equal(block.length, 17);
  assertRoundTrip(t, configUpdateReq, { type: 'kind', kinds: [block] }, `
    02                                   # ConfigUpdateType kind
    00000016                             # length 22: the 3-byte prefix and what follows
    000013                               # kinds<0..2^24-1>: 19 bytes
    0011                                 # KindDescription<0..2^16-1>: 17 bytes
    3c 6b696e64 20 6964 3d 22 31323334 22 2f 3e   # '<kind id="1234"/>'
  `);
});

t.test('ConfigUpdateReq of type config and of several kinds', async (t) => {
  assertRoundTrip(t, configUpdateReq, { type: 'config', configData: te.encode('<x/>') }, `
    01           # config
    00000007     # length 7
    000004       # config_data<0..2^24-1>: 4 bytes
    3c782f3e     # "<x/>"
  `);
  assertRoundTrip(t, configUpdateReq, { type: 'kind', kinds: [te.encode('a'), te.encode('bc')] }, `
    02 0000000a 000007   # kind, length 10, 7 bytes of kinds
    0001 61              # "a"
    0002 6263            # "bc"
  `);
  assertRoundTrip(t, configUpdateReq, { type: 'kind', kinds: [] }, '02 00000003 000000');
  assertRoundTrip(t, configUpdateReq, { type: 'config', configData: new Uint8Array(0) }, '01 00000003 000000');
});

t.test('ConfigUpdateAns is empty', async (t) => {
  assertRoundTrip(t, emptyBody, {}, '');
});

t.test('hostile config updates', async (t) => {
  // invalidConfigUpdateType (0) and unknown types, rejected before the length.
  for (const type of ['00', '03', 'ff']) {
    assertDecodeError(t, () => decode(configUpdateReq, bytesOf(`${type} 00000007 000004 3c782f3e`)), { structure: 'ConfigUpdateReq', field: 'type', reason: 'value', offset: 0 }, `type 0x${type}`);
  }
  assertDecodeError(t, () => decode(configUpdateReq, bytesOf('00 ffffffff')), { structure: 'ConfigUpdateReq', field: 'type', reason: 'value' });
  // Outer length (4 bytes) larger than what is left.
  assertDecodeError(t, () => decode(configUpdateReq, bytesOf('01 00000008 000004 3c782f3e')), { structure: 'ConfigUpdateReq', field: 'length', reason: 'length', offset: 5 });
  // Inner 3-byte length larger than the outer length.
  assertDecodeError(t, () => decode(configUpdateReq, bytesOf('01 00000007 000005 3c782f3e')), { structure: 'ConfigUpdateReq', field: 'config_data', reason: 'length' });
  // Outer length larger than the inner vector: bytes left over.
  assertDecodeError(t, () => decode(configUpdateReq, bytesOf('01 00000008 000004 3c782f3e 00')), { structure: 'ConfigUpdateReq', field: '(end)', reason: 'trailing' });
  // A KindDescription whose 2-byte length runs past its vector.
  assertDecodeError(t, () => decode(configUpdateReq, bytesOf('02 00000006 000003 0002 61')), { structure: 'KindDescription', field: 'kind', reason: 'length' });
  t.throws(() => encode(configUpdateReq, { type: 'kind', kinds: [new Uint8Array(0x10000)] }), EncodeError);
});

t.test('property: random config updates round-trip', async (t) => {
  const g = new Gen('config-update');
  assertRoundTripMany(t, configUpdateReq, 2000, () => g.configUpdateReq());
});
