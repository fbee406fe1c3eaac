/**
 * The per-hop FramedMessage (rfc6940-wire.md §9): data frames, ack frames, the TCP stream
 * parser and the `received` bitmap.
 */
import t from 'tap';
import { DecodeError, EncodeError, concatBytes, toHex } from '../../src/wire/codec.js';
import {
  ACK_FRAME_SIZE,
  DATA_FRAME_OVERHEAD,
  type FramedMessage,
  FrameStreamParser,
  decodeFrame,
  encodeFrame,
  framedMessage,
  receivedBitmap,
  sequencesInBitmap,
} from '../../src/wire/framing.js';
import { Gen } from '../helpers/gen.js';
import { assertDecodeError, assertRoundTrip, assertRoundTripMany, bytesOf, deepDiff, hex } from '../helpers/roundtrip.js';

const H32_HEX = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const PING_EXAMPLE = bytesOf(`
  d2454c4f 9aa32b8d 0000 0a 64 c0000000 0000008f 1122334455667788 00000000 0014 0012 0000
  01 10 0102030405060708090a0b0c0d0e0f10 8123 01 10 f0e0d0c0b0a090807060504030201000
  0017 00000002 0000 00000000 0008 00 0005 3003020100 04 01 01 0022 04 20 ${H32_HEX} 0004 00000000
`);

t.test('a data frame: 80 | sequence | 3-byte length | message', async (t) => {
  t.equal(PING_EXAMPLE.length, 143);
  // §11: "On a DTLS link this travels as 80 00000000 00008f <143 bytes>".
  const f = encodeFrame({ type: 'data', sequence: 0, message: PING_EXAMPLE });
  t.equal(toHex(f.subarray(0, DATA_FRAME_OVERHEAD)), hex('80 00000000 00008f'));
  t.equal(f.length, 8 + 143);
  assertRoundTrip(t, framedMessage, { type: 'data', sequence: 0x01020304, message: bytesOf('abcdef') }, `
    80         # data
    01020304   # sequence
    000003     # message<0..2^24-1>: 3 bytes
    abcdef
  `);
  assertRoundTrip(t, framedMessage, { type: 'data', sequence: 0xffffffff, message: new Uint8Array(0) }, '80 ffffffff 000000');
});

t.test('a data frame with a tail (gather list) encodes as one message; it decodes as one', async (t) => {
  const f = encodeFrame({ type: 'data', sequence: 5, message: bytesOf('abcd'), tail: bytesOf('ef01') });
  t.equal(toHex(f), hex('80 00000005 000004 abcd ef01'));
  t.equal(framedMessage.size({ type: 'data', sequence: 5, message: bytesOf('abcd'), tail: bytesOf('ef01') }), 8 + 4);
  const d = decodeFrame(f);
  t.same(d.type === 'data' && [toHex(d.message), d.tail], ['abcdef01', undefined]);
  t.throws(() => framedMessage.size({ type: 'data', sequence: 0, message: new Uint8Array(0xffff00), tail: new Uint8Array(0x100) }), /exceed the 3-byte length/);
});

t.test('an ack frame is always 9 bytes: 81 | ack_sequence | received', async (t) => {
  const b = assertRoundTrip(t, framedMessage, { type: 'ack', ackSequence: 7, received: 0x80000001 }, `
    81         # ack
    00000007   # ack_sequence
    80000001   # received bitmap
  `);
  t.equal(b.length, ACK_FRAME_SIZE);
});

t.test('decodeFrame: one frame per datagram; the message is a view', async (t) => {
  const bytes = bytesOf('80 00000001 000002 abcd');
  const f = decodeFrame(bytes);
  t.same(f, { type: 'data', sequence: 1, message: bytesOf('abcd') });
  t.equal((f as { message: Uint8Array }).message.buffer, bytes.buffer);
  // FramedMessageType other than 128/129.
  for (const type of ['00', '01', '7f', '82', 'ff']) {
    assertDecodeError(t, () => decodeFrame(bytesOf(`${type} 00000001 000002 abcd`)), { structure: 'FramedMessage', field: 'type', reason: 'value', offset: 0 }, `type 0x${type}`);
  }
  assertDecodeError(t, () => decodeFrame(bytesOf('80 00000001 000003 abcd')), { structure: 'FramedMessage', field: 'message', reason: 'length', offset: 5 });
  assertDecodeError(t, () => decodeFrame(bytesOf('81 00000001 000000')), { structure: 'FramedMessage', field: 'received', reason: 'truncated' });
  assertDecodeError(t, () => decodeFrame(bytesOf('81 00000001 00000000 00')), { structure: 'FramedMessage', field: '(end)', reason: 'trailing', offset: 9 });
  assertDecodeError(t, () => decodeFrame(new Uint8Array(0)), { structure: 'FramedMessage', field: 'type', reason: 'truncated' });
  t.throws(() => encodeFrame({ type: 'data', sequence: 0, message: new Uint8Array(0x1000000) }), EncodeError);
});

/** A stream of three frames: data(0, msg), ack(0), data(1, empty). */
function threeFrames(): { frames: FramedMessage[]; stream: Uint8Array } {
  const frames: FramedMessage[] = [
    { type: 'data', sequence: 0, message: PING_EXAMPLE },
    { type: 'ack', ackSequence: 0, received: 0 },
    { type: 'data', sequence: 1, message: new Uint8Array(0) },
  ];
  return { frames, stream: concatBytes(...frames.map(encodeFrame)) };
}

t.test('FrameStreamParser: byte-at-a-time feeding', async (t) => {
  const { frames, stream } = threeFrames();
  const p = new FrameStreamParser(5000);
  const out: FramedMessage[] = [];
  const completedAt: number[] = [];
  for (let i = 0; i < stream.length; i++) {
    const got = p.push(stream.subarray(i, i + 1));
    for (const f of got) {
      out.push(f);
      completedAt.push(i + 1);
    }
  }
  t.equal(deepDiff(out, frames), undefined, 'the three frames, in order');
  t.same(completedAt, [151, 160, 168], 'each frame comes out with its last byte');
  t.equal(p.pending, 0);
});

t.test('FrameStreamParser: several frames in one chunk, and every split point', async (t) => {
  const { frames, stream } = threeFrames();
  const p = new FrameStreamParser(5000);
  t.equal(deepDiff(p.push(stream), frames), undefined, 'one chunk');
  let bad = 0;
  for (let cut = 0; cut <= stream.length; cut++) {
    const q = new FrameStreamParser(5000);
    const got = [...q.push(stream.subarray(0, cut)), ...q.push(stream.subarray(cut))];
    if (deepDiff(got, frames) !== undefined || q.pending !== 0) bad++;
  }
  t.equal(bad, 0, `all ${stream.length + 1} two-chunk splits give the same frames`);
  // Partial frame: pending counts the buffered bytes.
  const q = new FrameStreamParser(5000);
  t.same(q.push(stream.subarray(0, 100)), []);
  t.equal(q.pending, 100);
  // A frame wholly inside the pushed chunk is a view of it (no copy)...
  const src = stream.slice();
  const [first] = new FrameStreamParser(5000).push(src);
  t.equal((first as { message: Uint8Array }).message.buffer, src.buffer, 'whole frame: a view of the chunk');
  // ...one split across chunks is copied out of the parser's buffer, which the next frame
  // reuses: the message it gave out stays intact.
  const r = new FrameStreamParser(5000);
  t.same(r.push(stream.subarray(0, 100)), []);
  const [split] = r.push(stream.subarray(100, 155)) as { message: Uint8Array }[];
  t.not(split!.message.buffer, stream.buffer, 'split frame: copied');
  const rest = r.push(stream.subarray(155));
  t.equal(deepDiff([split, ...rest], frames), undefined, 'a split frame survives the buffer being reused');
  t.equal(r.pending, 0);
});

t.test('FrameStreamParser: an oversized frame is refused at its length field', async (t) => {
  const p = new FrameStreamParser(100);
  t.same(p.push(bytesOf('80 00000000 0000')), [], 'length not complete yet');
  assertDecodeError(t, () => p.push(bytesOf('65')), { structure: 'FramedMessage', field: 'message', reason: 'length', offset: 5 }, '101 > 100, before any message byte');
  // The stream is dead: the same error again, nothing re-emitted.
  assertDecodeError(t, () => p.push(bytesOf('00')), { structure: 'FramedMessage', field: 'message', reason: 'length' });
  t.ok(p.error instanceof DecodeError);
  // Exactly max-message-size is fine.
  const ok = new FrameStreamParser(100);
  const f = encodeFrame({ type: 'data', sequence: 5, message: new Uint8Array(100) });
  t.equal(ok.push(f).length, 1);
});

t.test('FrameStreamParser: a bad type kills the stream, with its stream offset', async (t) => {
  const { stream } = threeFrames();
  const p = new FrameStreamParser(5000);
  t.equal(p.push(stream).length, 3);
  assertDecodeError(t, () => p.push(bytesOf('81 00000001 00000000  42')), { structure: 'FramedMessage', field: 'type', reason: 'value', offset: 168 + 9 });
  assertDecodeError(t, () => p.push(bytesOf('81 00000002 00000000')), { structure: 'FramedMessage', field: 'type', reason: 'value', offset: 177 }, 'no frame is delivered twice');
});

t.test('receivedBitmap: bit k (from the LSB) is sequence N-1-k', async (t) => {
  const got = (n: number, seqs: number[]): number => receivedBitmap(n, (m) => seqs.includes(m));
  t.equal(got(10, [9, 8, 5]), 0b10011, 'N-1 -> bit 0, N-2 -> bit 1, N-5 -> bit 4');
  t.equal(got(10, []), 0);
  t.equal(got(0, [0]), 0, 'nothing before sequence 0');
  t.equal(got(3, [0, 1, 2, 3]), 0b111, 'only M < N');
  t.equal(got(33, Array.from({ length: 33 }, (_, i) => i)), 0xffffffff, 'the last 32 sequence numbers');
  t.equal(got(40, [7]), 0, 'N-33 is outside the window');
  t.equal(got(40, [8]), 0x80000000, 'N-32 is bit 31');
  t.same(sequencesInBitmap(10, 0b10011), [9, 8, 5]);
  t.same(sequencesInBitmap(2, 0xffffffff), [1, 0]);
});

t.test('property: random frames round-trip, and streams of them parse in random chunks', async (t) => {
  const g = new Gen('framing');
  assertRoundTripMany(t, framedMessage, 3000, () => g.frame());
  let bad = 0;
  for (let i = 0; i < 300; i++) {
    const frames = g.array(8, () => g.frame());
    const stream = concatBytes(...frames.map(encodeFrame));
    const p = new FrameStreamParser(2000);
    const out: FramedMessage[] = [];
    for (let pos = 0; pos < stream.length; ) {
      const n = 1 + g.int(64);
      out.push(...p.push(stream.subarray(pos, pos + n)));
      pos += n;
    }
    if (deepDiff(out, frames) !== undefined || p.pending !== 0) bad++;
  }
  t.equal(bad, 0, '300 random streams reassemble into their frames');
});
