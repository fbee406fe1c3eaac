/** ProbeReq / ProbeAns and ProbeInformation (rfc6940-wire.md §5.5). */
import t from 'tap';
import { EncodeError, decode, encode } from '../../src/wire/codec.js';
import { ProbeInformationType } from '../../src/wire/constants.js';
import { probeAns, probeInformation, probeReq } from '../../src/wire/probe.js';
import { Gen } from '../helpers/gen.js';
import { assertDecodeError, assertRoundTrip, assertRoundTripMany, bytesOf } from '../helpers/roundtrip.js';

t.test('ProbeReq: requested_info<0..2^8-1>, one byte per type', async (t) => {
  const { responsibleSet, numResources, uptime } = ProbeInformationType;
  assertRoundTrip(t, probeReq, { requestedInfo: [responsibleSet, numResources, uptime] }, `
    03       # 3 bytes
    01 02 03 # responsible_set, num_resources, uptime
  `);
  assertRoundTrip(t, probeReq, { requestedInfo: [] }, '00');
  assertRoundTrip(t, probeReq, { requestedInfo: [4] }, '01 04'); // exp-probe
});

t.test('ProbeInformation: type, length 4, uint32', async (t) => {
  assertRoundTrip(t, probeInformation, { type: 'responsible_set', responsiblePpb: 500_000_000 }, '01 04 1dcd6500'); // half the ring
  assertRoundTrip(t, probeInformation, { type: 'num_resources', numResources: 7 }, '02 04 00000007');
  assertRoundTrip(t, probeInformation, { type: 'uptime', uptime: 3600 }, '03 04 00000e10');
  // exp-probe and unknown types are carried by their length.
  assertRoundTrip(t, probeInformation, { type: 'unknown', code: 4, value: bytesOf('aabb') }, '04 02 aabb');
});

t.test('ProbeAns: probe_info<0..2^16-1>', async (t) => {
  assertRoundTrip(t, probeAns, {
    probeInfo: [
      { type: 'responsible_set', responsiblePpb: 500_000_000 },
      { type: 'num_resources', numResources: 7 },
      { type: 'uptime', uptime: 3600 },
    ],
  }, `
    0012             # 18 bytes: three 6-byte entries
    01 04 1dcd6500
    02 04 00000007
    03 04 00000e10
  `);
  assertRoundTrip(t, probeAns, { probeInfo: [] }, '0000');
});

t.test('hostile probes', async (t) => {
  assertDecodeError(t, () => decode(probeReq, bytesOf('02 01 00')), { structure: 'ProbeReq', field: 'requested_info', reason: 'value', offset: 2 });
  assertDecodeError(t, () => decode(probeReq, bytesOf('03 01 02')), { structure: 'ProbeReq', field: 'requested_info', reason: 'length' });
  // invalidProbeInformationType (0), rejected before its length.
  assertDecodeError(t, () => decode(probeInformation, bytesOf('00 04 00000001')), { structure: 'ProbeInformation', field: 'type', reason: 'value', offset: 0 });
  assertDecodeError(t, () => decode(probeInformation, bytesOf('00 ff')), { structure: 'ProbeInformation', field: 'type', reason: 'value' });
  // A defined type whose length is not 4.
  assertDecodeError(t, () => decode(probeInformation, bytesOf('03 05 00000e10 00')), { structure: 'ProbeInformation', field: '(end)', reason: 'trailing' });
  assertDecodeError(t, () => decode(probeInformation, bytesOf('03 03 000e10')), { structure: 'ProbeInformation', field: 'uptime', reason: 'truncated' });
  assertDecodeError(t, () => decode(probeInformation, bytesOf('01 04 0000')), { structure: 'ProbeInformation', field: 'value', reason: 'length' });
  assertDecodeError(t, () => decode(probeAns, bytesOf('0007 03 04 00000e10')), { structure: 'ProbeAns.probe_info', field: 'length', reason: 'length' });
  t.throws(() => encode(probeReq, { requestedInfo: new Array(256).fill(1) }), EncodeError);
  t.throws(() => encode(probeInformation, { type: 'unknown', code: 9, value: new Uint8Array(256) }), EncodeError);
});

t.test('property: random probes round-trip', async (t) => {
  const g = new Gen('probe');
  assertRoundTripMany(t, probeReq, 1500, () => g.probeReq());
  assertRoundTripMany(t, probeInformation, 1500, () => g.probeInformation());
  assertRoundTripMany(t, probeAns, 1500, () => g.probeAns());
});
