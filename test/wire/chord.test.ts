/**
 * CHORD-RELOAD bodies (rfc6940-wire.md §5.8): ChordUpdate (peer_ready, neighbors, full),
 * ChordRouteQueryAns, ChordLeaveData.
 */
import t from 'tap';
import { decode } from '../../src/wire/codec.js';
import { chordCodecs } from '../../src/wire/chord.js';
import { wireContext } from '../../src/wire/context.js';
import { Gen } from '../helpers/gen.js';
import { assertDecodeError, assertRoundTrip, assertRoundTripMany, bytesOf } from '../helpers/roundtrip.js';

const A_HEX = '0102030405060708090a0b0c0d0e0f10';
const B_HEX = 'f0e0d0c0b0a090807060504030201000';
const C_HEX = '11111111111111111111111111111111';
const A = bytesOf(A_HEX);
const B = bytesOf(B_HEX);
const C = bytesOf(C_HEX);
const c = chordCodecs(16);

t.test('ChordUpdate peer_ready: uptime and type only', async (t) => {
  assertRoundTrip(t, c.update, { uptime: 60, type: 'peer_ready' }, `
    0000003c   # uptime 60 s
    01         # peer_ready
  `);
});

t.test('ChordUpdate neighbors: predecessors and successors', async (t) => {
  assertRoundTrip(t, c.update, { uptime: 1, type: 'neighbors', predecessors: [A], successors: [B, C] }, `
    00000001                 # uptime
    02                       # neighbors
    0010 ${A_HEX}            # predecessors: 16 bytes
    0020 ${B_HEX} ${C_HEX}   # successors: 32 bytes
  `);
  assertRoundTrip(t, c.update, { uptime: 0, type: 'neighbors', predecessors: [], successors: [] }, '00000000 02 0000 0000');
});

t.test('ChordUpdate full: predecessors, successors and fingers', async (t) => {
  assertRoundTrip(t, c.update, { uptime: 0x01020304, type: 'full', predecessors: [], successors: [A], fingers: [A, B] }, `
    01020304                 # uptime
    03                       # full
    0000                     # no predecessors
    0010 ${A_HEX}            # successors
    0020 ${A_HEX} ${B_HEX}   # fingers, ascending
  `);
});

t.test('ChordRouteQueryAns: next_peer, a bare NodeId', async (t) => {
  assertRoundTrip(t, c.routeQueryAns, { nextPeer: C }, C_HEX);
  assertDecodeError(t, () => decode(c.routeQueryAns, bytesOf(C_HEX.slice(2))), { structure: 'ChordRouteQueryAns', field: 'next_peer', reason: 'truncated' });
});

t.test('ChordLeaveData from_succ and from_pred', async (t) => {
  assertRoundTrip(t, c.leaveData, { type: 'from_succ', successors: [A, B] }, `01 0020 ${A_HEX} ${B_HEX}`);
  assertRoundTrip(t, c.leaveData, { type: 'from_pred', predecessors: [C] }, `02 0010 ${C_HEX}`);
  assertRoundTrip(t, c.leaveData, { type: 'from_pred', predecessors: [] }, '02 0000');
});

t.test('hostile CHORD bodies', async (t) => {
  // ChordUpdateType 0 (invalid) and 4 (unassigned) are parse errors.
  for (const type of ['00', '04', 'ff']) {
    assertDecodeError(t, () => decode(c.update, bytesOf(`00000001 ${type} 0000 0000`)), { structure: 'ChordUpdate', field: 'type', reason: 'value', offset: 4 }, `ChordUpdateType 0x${type}`);
  }
  for (const type of ['00', '03']) {
    assertDecodeError(t, () => decode(c.leaveData, bytesOf(`${type} 0000`)), { structure: 'ChordLeaveData', field: 'type', reason: 'value', offset: 0 }, `ChordLeaveType 0x${type}`);
  }
  // NodeId lists whose byte count is not a multiple of 16.
  assertDecodeError(t, () => decode(c.update, bytesOf(`00000001 02 0011 ${A_HEX} 00 0000`)), { structure: 'ChordUpdate.predecessors', field: 'length', reason: 'length', offset: 5 });
  assertDecodeError(t, () => decode(c.update, bytesOf(`00000001 03 0000 0000 0008 0102030405060708`)), { structure: 'ChordUpdate.fingers', field: 'length', reason: 'length' });
  assertDecodeError(t, () => decode(c.leaveData, bytesOf(`01 0018 ${A_HEX} 0102030405060708`)), { structure: 'ChordLeaveData.successors', field: 'length', reason: 'length' });
  // A list length larger than what is left.
  assertDecodeError(t, () => decode(c.update, bytesOf(`00000001 02 0020 ${A_HEX}`)), { structure: 'ChordUpdate.predecessors', field: 'length', reason: 'length' });
  // peer_ready followed by stray bytes.
  assertDecodeError(t, () => decode(c.update, bytesOf('00000001 01 00')), { structure: 'ChordUpdate', field: '(end)', reason: 'trailing' });
});

t.test('NodeIdLength 20 overlays', async (t) => {
  const c20 = chordCodecs(20);
  const D = `${A_HEX}a1a2a3a4`;
  assertRoundTrip(t, c20.update, { uptime: 2, type: 'neighbors', predecessors: [bytesOf(D)], successors: [] }, `00000002 02 0014 ${D} 0000`);
  assertRoundTrip(t, c20.routeQueryAns, { nextPeer: bytesOf(D) }, D);
  assertDecodeError(t, () => decode(c20.leaveData, bytesOf(`01 0010 ${A_HEX}`)), { structure: 'ChordLeaveData.successors', field: 'length', reason: 'length' });
  t.equal(chordCodecs(20), c20, 'cached per NodeIdLength');
});

t.test('property: random CHORD bodies round-trip (NodeIdLength 16 and 20)', async (t) => {
  for (const len of [16, 20]) {
    const g = new Gen(`chord-${len}`, wireContext([], len));
    const cc = chordCodecs(len);
    assertRoundTripMany(t, cc.update, 1500, () => g.chordUpdate(), `ChordUpdate/${len}`);
    assertRoundTripMany(t, cc.leaveData, 1000, () => g.chordLeaveData(), `ChordLeaveData/${len}`);
    assertRoundTripMany(t, cc.routeQueryAns, 1000, () => g.chordRouteQueryAns(), `ChordRouteQueryAns/${len}`);
  }
});
