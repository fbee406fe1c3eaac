/**
 * The topology-facing bodies with an opaque overlay-specific part (rfc6940-wire.md §5.7):
 * JoinReq/JoinAns, LeaveReq, RouteQueryReq, and the NodeId codecs they share.
 */
import t from 'tap';
import { EncodeError, decode, encode } from '../../src/wire/codec.js';
import { chordCodecs } from '../../src/wire/chord.js';
import { nodeIdCodec, nodeIdListCodec, overlayCodecs } from '../../src/wire/overlay.js';
import { Gen } from '../helpers/gen.js';
import { wireContext } from '../../src/wire/context.js';
import { assertDecodeError, assertRoundTrip, assertRoundTripMany, bytesOf } from '../helpers/roundtrip.js';

const A = bytesOf('0102030405060708090a0b0c0d0e0f10');
const B = bytesOf('f0e0d0c0b0a090807060504030201000');
const A_HEX = '0102030405060708090a0b0c0d0e0f10';
const B_HEX = 'f0e0d0c0b0a090807060504030201000';
const o = overlayCodecs(16);

t.test('NodeId: fixed length, no prefix; NodeId lists: 2-byte byte count', async (t) => {
  assertRoundTrip(t, nodeIdCodec(16), A, A_HEX);
  const list = nodeIdListCodec('Ids', 16);
  assertRoundTrip(t, list, [A, B], `0020 ${A_HEX} ${B_HEX}`); // 32 bytes = 2 ids
  assertRoundTrip(t, list, [], '0000');
  const A20 = bytesOf(`${A_HEX}11121314`);
  assertRoundTrip(t, nodeIdListCodec('Ids20', 20), [A20], `0014 ${A_HEX}11121314`);
  t.throws(() => encode(list, [A20]), EncodeError);
  t.throws(() => encode(nodeIdCodec(16), A20), EncodeError);
});

t.test('a NodeId list whose byte count is not a multiple of NodeIdLength', async (t) => {
  const list = nodeIdListCodec('Ids', 16);
  assertDecodeError(t, () => decode(list, bytesOf(`0011 ${A_HEX} 00`)), { structure: 'Ids', field: 'length', reason: 'length', offset: 0 });
  assertDecodeError(t, () => decode(list, bytesOf(`000f ${A_HEX.slice(0, 30)}`)), { structure: 'Ids', field: 'length', reason: 'length' });
  assertDecodeError(t, () => decode(nodeIdListCodec('Ids20', 20), bytesOf(`0010 ${A_HEX}`)), { structure: 'Ids20', field: 'length', reason: 'length' });
  assertDecodeError(t, () => decode(list, bytesOf(`0020 ${A_HEX}`)), { structure: 'Ids', field: 'length', reason: 'length' });
});

t.test('JoinReq / JoinAns (CHORD: empty overlay data, JoinAns body = 00 00)', async (t) => {
  assertRoundTrip(t, o.joinReq, { joiningPeerId: A, overlaySpecificData: new Uint8Array(0) }, `
    ${A_HEX}   # joining_peer_id
    0000       # overlay_specific_data<0..2^16-1>: empty for CHORD-RELOAD
  `);
  assertRoundTrip(t, o.joinAns, { overlaySpecificData: new Uint8Array(0) }, '0000');
  assertRoundTrip(t, o.joinAns, { overlaySpecificData: bytesOf('abcdef') }, '0003 abcdef');
});

t.test('LeaveReq with ChordLeaveData of both types in its overlay data', async (t) => {
  const leave = chordCodecs(16).leaveData;
  assertRoundTrip(t, o.leaveReq, {
    leavingPeerId: A,
    overlaySpecificData: encode(leave, { type: 'from_succ', successors: [B] }),
  }, `
    ${A_HEX}        # leaving_peer_id
    0013            # overlay_specific_data: 19 bytes
    01              #   ChordLeaveType from_succ
    0010 ${B_HEX}   #   successors<0..2^16-1>: one NodeId
  `);
  assertRoundTrip(t, o.leaveReq, {
    leavingPeerId: B,
    overlaySpecificData: encode(leave, { type: 'from_pred', predecessors: [A, B] }),
  }, `
    ${B_HEX}
    0023                     # 35 bytes
    02                       #   from_pred
    0020 ${A_HEX} ${B_HEX}   #   predecessors: two NodeIds
  `);
});

t.test('RouteQueryReq: send_update, a Destination, overlay data', async (t) => {
  assertRoundTrip(t, o.routeQueryReq, {
    sendUpdate: true,
    destination: { type: 'node', id: A },
    overlaySpecificData: new Uint8Array(0),
  }, `
    01                  # send_update true
    01 10 ${A_HEX}      # destination: node
    0000                # overlay_specific_data empty (CHORD)
  `);
  assertRoundTrip(t, o.routeQueryReq, {
    sendUpdate: false,
    destination: { type: 'resource', id: B },
    overlaySpecificData: bytesOf('ff'),
  }, `00  02 11 10 ${B_HEX}  0001 ff`);
});

t.test('hostile overlay bodies', async (t) => {
  assertDecodeError(t, () => decode(o.routeQueryReq, bytesOf(`02 01 10 ${A_HEX} 0000`)), { structure: 'RouteQueryReq', field: 'send_update', reason: 'value', offset: 0 });
  assertDecodeError(t, () => decode(o.routeQueryReq, bytesOf(`01 00 10 ${A_HEX} 0000`)), { structure: 'Destination', field: 'type', reason: 'value', offset: 1 });
  assertDecodeError(t, () => decode(o.joinReq, bytesOf(A_HEX.slice(0, 20))), { structure: 'JoinReq', field: 'joining_peer_id', reason: 'truncated' });
  assertDecodeError(t, () => decode(o.joinReq, bytesOf(`${A_HEX} 0002 aa`)), { structure: 'JoinReq', field: 'overlay_specific_data', reason: 'length' });
  assertDecodeError(t, () => decode(o.leaveReq, bytesOf(`${A_HEX} 0100`)), { structure: 'LeaveReq', field: 'overlay_specific_data', reason: 'length' });
  assertDecodeError(t, () => decode(o.joinAns, bytesOf('0000 00')), { structure: 'JoinAns', field: '(end)', reason: 'trailing' });
});

t.test('overlay codecs are cached per NodeIdLength', async (t) => {
  t.equal(overlayCodecs(16), o);
  t.not(overlayCodecs(20), o);
});

t.test('property: random overlay bodies round-trip (NodeIdLength 16 and 20)', async (t) => {
  for (const len of [16, 20]) {
    const g = new Gen(`overlay-${len}`, wireContext([], len));
    const c = overlayCodecs(len);
    assertRoundTripMany(t, c.joinReq, 1000, () => g.joinReq(), `JoinReq/${len}`);
    assertRoundTripMany(t, c.joinAns, 1000, () => g.joinAns(), `JoinAns/${len}`);
    assertRoundTripMany(t, c.leaveReq, 1000, () => g.leaveReq(), `LeaveReq/${len}`);
    assertRoundTripMany(t, c.routeQueryReq, 1000, () => g.routeQueryReq(), `RouteQueryReq/${len}`);
    assertRoundTripMany(t, nodeIdListCodec('Ids', len), 1000, () => g.nodeIds(12), `NodeId list/${len}`);
    assertRoundTripMany(t, nodeIdCodec(len), 500, () => g.nodeId(), `NodeId/${len}`);
  }
});
