/** PingReq / PingAns (rfc6940-wire.md §5.4). */
import t from 'tap';
import { decode } from '../../src/wire/codec.js';
import { pingAns, pingReq } from '../../src/wire/ping.js';
import { Gen } from '../helpers/gen.js';
import { assertDecodeError, assertRoundTrip, assertRoundTripMany, bytesOf } from '../helpers/roundtrip.js';

t.test('PingReq: padding<0..2^16-1>, usually empty (00 00)', async (t) => {
  assertRoundTrip(t, pingReq, { padding: new Uint8Array(0) }, '0000');
  assertRoundTrip(t, pingReq, { padding: new Uint8Array(3) }, '0003 000000');
  const max = assertRoundTrip(t, pingReq, { padding: new Uint8Array(0xffff) });
  t.equal(max.length, 0x10001);
});

t.test('PingAns: response_id and time, 16 bytes', async (t) => {
  assertRoundTrip(t, pingAns, { responseId: 0x0102030405060708n, time: 1_700_000_000_000n }, `
    0102030405060708   # response_id
    0000018bcfe56800   # time: 1,700,000,000,000 ms since 1970 (2023-11-14T22:13:20Z)
  `);
  assertRoundTrip(t, pingAns, { responseId: 0xffffffffffffffffn, time: 0n }, 'ffffffffffffffff 0000000000000000');
});

t.test('hostile pings', async (t) => {
  assertDecodeError(t, () => decode(pingReq, bytesOf('0005 0000')), { structure: 'PingReq', field: 'padding', reason: 'length', offset: 0 });
  assertDecodeError(t, () => decode(pingAns, bytesOf('0102030405060708 00000000000000')), { structure: 'PingAns', field: 'time', reason: 'truncated', offset: 8 });
});

t.test('property: random pings round-trip', async (t) => {
  const g = new Gen('ping');
  assertRoundTripMany(t, pingReq, 1500, () => g.pingReq());
  assertRoundTripMany(t, pingAns, 1500, () => g.pingAns());
});
