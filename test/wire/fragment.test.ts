/**
 * Fragmentation and reassembly (rfc6940-wire.md §8): equal-sized fragments no larger than
 * PMTU - 32, at least 256 payload bytes each, offsets and the last flag; reassembly in any
 * order, duplicates, overlaps, timeout and buffer exhaustion.
 */
import t from 'tap';
import { Reader, concatBytes, encode, toHex } from '../../src/wire/codec.js';
import { forwardingHeader } from '../../src/wire/forwarding-header.js';
import { MIN_FRAGMENT_PAYLOAD, REASSEMBLY_TIMEOUT_MS, Reassembler, fragmentMessage } from '../../src/wire/fragment.js';
import { decodeMessage, encodeMessage } from '../../src/wire/message.js';
import { UNSIGNED } from '../../src/wire/security-block.js';
import { Gen } from '../helpers/gen.js';
import { assertDecodeError, bytesOf } from '../helpers/roundtrip.js';

const A = bytesOf('0102030405060708090a0b0c0d0e0f10');
const HEADER_SIZE = 38 + 18; // empty via list, one node destination

/**
 * A Ping request whose payload (MessageContents || SecurityBlock) is exactly `payload`
 * bytes: contents 12 + padding, security block 2 + 7.
 */
function messageWithPayload(payload: number, transactionId = 0x0102030405060708n): Uint8Array {
  const padding = payload - 21;
  const body = new Uint8Array(2 + padding);
  body[0] = padding >>> 8;
  body[1] = padding & 0xff;
  for (let i = 0; i < padding; i++) body[2 + i] = i & 0xff;
  const m = encodeMessage({
    header: {
      overlay: 0x9aa32b8d,
      configurationSequence: 3,
      version: 0x0a,
      ttl: 99,
      fragment: 0xc0000000,
      length: 0,
      transactionId,
      maxResponseLength: 0,
      viaList: [],
      destinationList: [{ type: 'node', id: A }],
      options: [],
    },
    contents: { code: 0x17, body, extensions: [] },
    security: { certificates: [], signature: UNSIGNED },
  });
  if (m.length !== HEADER_SIZE + payload) throw new Error('test message has the wrong size');
  return m;
}

/** A hand-made fragment of `message`: payload bytes [start, end). */
function fragmentOf(message: Uint8Array, start: number, end: number, last: boolean): Uint8Array {
  const r = new Reader(message);
  const h = forwardingHeader.decode(r);
  const part = message.subarray(r.pos).subarray(start, end);
  const fh = { ...h, fragment: (0x80000000 | (last ? 0x40000000 : 0) | start) >>> 0, length: r.pos + part.length };
  return concatBytes(encode(forwardingHeader, fh), part);
}

const hex8 = (b: Uint8Array, at: number): string => toHex(b.subarray(at, at + 8));

t.test('a 1000-byte payload over PMTU 600: two fragments of 500', async (t) => {
  const m = messageWithPayload(1000);
  const frags = fragmentMessage(m, 600); // limit 568, room 512
  t.equal(frags.length, 2);
  t.same(frags.map((f) => f.length), [556, 556]);
  t.equal(hex8(frags[0]!, 12), '80000000' + '0000022c', 'historical bit, not last, offset 0; length 556');
  t.equal(hex8(frags[1]!, 12), 'c00001f4' + '0000022c', 'historical bit, last, offset 500; length 556');
  for (const f of frags) {
    t.equal(toHex(f.subarray(0, 12)), toHex(m.subarray(0, 12)), 'header copied before the fragment field');
    t.equal(toHex(f.subarray(20, HEADER_SIZE)), toHex(m.subarray(20, HEADER_SIZE)), 'and after the length field');
  }
  t.equal(toHex(frags[0]!.subarray(HEADER_SIZE)), toHex(m.subarray(HEADER_SIZE, HEADER_SIZE + 500)));
  t.equal(toHex(frags[1]!.subarray(HEADER_SIZE)), toHex(m.subarray(HEADER_SIZE + 500)));
});

t.test('equal sizes differ by at most one byte; offsets add up', async (t) => {
  const m = messageWithPayload(1000);
  const frags = fragmentMessage(m, 450); // limit 418, room 362 -> 3 fragments
  t.same(frags.map((f) => f.length - HEADER_SIZE), [334, 333, 333]);
  t.same(frags.map((f) => toHex(f.subarray(12, 16))), ['80000000', '8000014e', 'c000029b'], 'offsets 0, 334, 667; last flag on the final one');
  for (const f of frags) t.ok(f.length <= 450 - 32, 'no fragment exceeds PMTU - 32');
});

t.test('a message that fits is not fragmented', async (t) => {
  const m = messageWithPayload(1000); // 1056 bytes
  const same = fragmentMessage(m, 1056 + 32);
  t.equal(same.length, 1);
  t.equal(same[0], m, 'the very same bytes');
  t.same(fragmentMessage(m, 1055 + 32).map((f) => f.length - HEADER_SIZE), [500, 500], 'one byte less: fragmented');
});

t.test('the 256-byte minimum payload per fragment', async (t) => {
  t.equal(MIN_FRAGMENT_PAYLOAD, 256);
  const room256 = HEADER_SIZE + 256 + 32; // PMTU giving exactly 256 payload bytes of room
  t.same(fragmentMessage(messageWithPayload(512), room256).map((f) => f.length - HEADER_SIZE), [256, 256], '512 = 2 x 256');
  const m511 = messageWithPayload(511);
  t.same(fragmentMessage(m511, room256), [m511], '511 cannot make two fragments of 256: left to IP fragmentation');
  const m = messageWithPayload(1000);
  t.same(fragmentMessage(m, 400), [m], 'room 312 would need 4 fragments of 250');
  t.same(fragmentMessage(m, HEADER_SIZE + 255 + 32), [m], 'room below 256');
});

t.test('re-fragmenting a fragment keeps its offset and last flag', async (t) => {
  const m = messageWithPayload(2000);
  const [f0, f1] = fragmentMessage(m, 1088); // room 1000: two fragments of 1000
  t.equal(toHex(f1!.subarray(12, 16)), 'c00003e8');
  const again = fragmentMessage(f1!, 600); // room 512: two fragments of 500
  t.same(again.map((f) => toHex(f.subarray(12, 20))), ['800003e8' + '0000022c', 'c00005dc' + '0000022c'], 'offsets 1000 and 1500; only the final one is last');
  const first = fragmentMessage(f0!, 600);
  t.same(first.map((f) => toHex(f.subarray(12, 16))), ['80000000', '800001f4'], 'a non-last fragment never gains the last flag');
  const r = new Reassembler(5000);
  let out: Uint8Array | undefined;
  for (const f of [...again, ...first]) out = r.add(f, 0) ?? out;
  t.equal(toHex(out!), toHex(m), 'the four pieces reassemble into the original');
});

t.test('reassembly in every order gives back the original bytes', async (t) => {
  const m = messageWithPayload(1000);
  const frags = fragmentMessage(m, 450);
  const orders = [[0, 1, 2], [0, 2, 1], [1, 0, 2], [1, 2, 0], [2, 0, 1], [2, 1, 0]];
  for (const order of orders) {
    const r = new Reassembler(5000);
    const results = order.map((i) => r.add(frags[i]!, 1000));
    t.same(results.slice(0, 2), [undefined, undefined], `order ${order}: nothing before the last piece`);
    t.equal(toHex(results[2]!), toHex(m), `order ${order}: complete`);
    t.equal(r.bufferedBytes, 0);
    t.equal(r.pendingMessages, 0);
  }
  const whole = new Reassembler(5000);
  t.equal(whole.add(m, 0), m, 'an unfragmented message passes straight through');
  const r = new Reassembler(5000);
  for (const f of frags.slice(0, 2)) r.add(f, 0);
  const d = decodeMessage(r.add(frags[2]!, 0)!);
  t.equal(d.header.fragment, 0xc0000000, 'the reassembled message decodes as a whole message');
  t.equal(d.contents.body.length, 2 + 1000 - 21);
});

t.test('duplicates are ignored; the buffer is accounted exactly', async (t) => {
  const m = messageWithPayload(1000);
  const [a, b] = fragmentMessage(m, 600);
  const r = new Reassembler(5000);
  t.equal(r.add(a!, 0), undefined);
  t.equal(r.bufferedBytes, HEADER_SIZE + 500, 'one header and one payload');
  t.equal(r.add(a!, 1), undefined, 'a retransmitted copy');
  t.equal(r.bufferedBytes, HEADER_SIZE + 500, 'held once');
  t.equal(toHex(r.add(b!, 2)!), toHex(m));
  t.equal(r.bufferedBytes, 0);
});

t.test('the reassembled message does not depend on the caller keeping its buffers', async (t) => {
  const m = messageWithPayload(1000);
  const [a, b] = fragmentMessage(m, 600);
  const r = new Reassembler(5000);
  const mine = a!.slice();
  r.add(mine, 0);
  mine.fill(0xee);
  t.equal(toHex(r.add(b!, 0)!), toHex(m));
});

t.test('overlapping and inconsistent fragments drop the set', async (t) => {
  const m = messageWithPayload(1000);
  const expectDropped = (r: Reassembler): void => {
    t.equal(r.pendingMessages, 0, 'set dropped');
    t.equal(r.bufferedBytes, 0, 'buffer released');
  };
  let r = new Reassembler(5000);
  r.add(fragmentOf(m, 0, 400, false), 0);
  assertDecodeError(t, () => r.add(fragmentOf(m, 300, 700, false), 0), { structure: 'Fragment', field: 'offset', reason: 'value' }, 'overlap');
  expectDropped(r);

  r = new Reassembler(5000);
  r.add(fragmentOf(m, 0, 400, false), 0);
  const conflicting = fragmentOf(m, 0, 400, false);
  conflicting[conflicting.length - 1] ^= 0xff;
  assertDecodeError(t, () => r.add(conflicting, 0), { structure: 'Fragment', field: 'offset', reason: 'value' }, 'same offset, different bytes');
  expectDropped(r);

  r = new Reassembler(5000);
  r.add(fragmentOf(m, 500, 1000, true), 0);
  assertDecodeError(t, () => r.add(fragmentOf(m, 600, 900, true), 0), { structure: 'Fragment', field: 'fragment', reason: 'value' }, 'two different last fragments');
  expectDropped(r);

  r = new Reassembler(5000);
  r.add(fragmentOf(m, 500, 900, true), 0);
  assertDecodeError(t, () => r.add(fragmentOf(m, 900, 1000, false), 0), { structure: 'Fragment', field: 'offset', reason: 'value' }, 'a fragment after the last one');
  expectDropped(r);

  r = new Reassembler(5000);
  r.add(fragmentOf(m, 600, 1000, false), 0);
  assertDecodeError(t, () => r.add(fragmentOf(m, 100, 500, true), 0), { structure: 'Fragment', field: 'fragment', reason: 'value' }, 'a last fragment ending before data already held');
  expectDropped(r);
});

t.test('hostile fragments', async (t) => {
  const m = messageWithPayload(1000);
  const [a] = fragmentMessage(m, 600);
  const r = new Reassembler(5000);
  const noHistorical = a!.slice();
  noHistorical[12] = 0x00;
  assertDecodeError(t, () => r.add(noHistorical, 0), { structure: 'ForwardingHeader', field: 'fragment', reason: 'value', offset: 12 }, 'historical bit unset');
  const longer = concatBytes(a!, bytesOf('00'));
  assertDecodeError(t, () => r.add(longer, 0), { structure: 'ForwardingHeader', field: 'length', reason: 'length', offset: 16 }, 'length field disagrees');
  assertDecodeError(t, () => r.add(fragmentOf(m, 10, 10, false), 0), { structure: 'Fragment', field: 'payload', reason: 'length' }, 'an empty fragment');
  t.equal(r.pendingMessages, 0);
  // Reassembled size (header included) above maxMessageBytes.
  const small = new Reassembler(HEADER_SIZE + 999);
  small.add(fragmentOf(m, 0, 500, false), 0);
  assertDecodeError(t, () => small.add(fragmentOf(m, 500, 1000, true), 0), { structure: 'Fragment', field: 'offset', reason: 'length' }, 'too large once reassembled');
  t.equal(small.bufferedBytes, 0);
  assertDecodeError(t, () => new Reassembler(5000).add(bytesOf('d2454c4f'), 0), { structure: 'ForwardingHeader', field: 'overlay', reason: 'truncated' });
});

t.test('incomplete sets time out after 15 s', async (t) => {
  t.equal(REASSEMBLY_TIMEOUT_MS, 15_000);
  const m = messageWithPayload(1000);
  const [a, b] = fragmentMessage(m, 600);
  let r = new Reassembler(5000);
  r.add(a!, 1_000);
  t.equal(toHex(r.add(b!, 1_000 + 15_000)!), toHex(m), 'at exactly 15 s the set is still there');
  r = new Reassembler(5000);
  r.add(a!, 1_000);
  t.equal(r.add(b!, 1_000 + 15_001), undefined, 'after 15 s the first piece is gone');
  t.equal(r.pendingMessages, 1, 'the late piece starts a new set');
  t.equal(r.bufferedBytes, HEADER_SIZE + 500);
  r.expire(1_000 + 15_001 + 15_001);
  t.equal(r.pendingMessages, 0);
  t.equal(r.bufferedBytes, 0);
});

t.test('buffer exhaustion drops the message', async (t) => {
  const m1 = messageWithPayload(1000, 1n);
  const m2 = messageWithPayload(1000, 2n);
  const [a1, b1] = fragmentMessage(m1, 600);
  const [a2] = fragmentMessage(m2, 600);
  let r = new Reassembler(5000, 700);
  t.equal(r.add(a1!, 0), undefined);
  assertDecodeError(t, () => r.add(a2!, 0), { structure: 'Fragment', field: 'payload', reason: 'length' }, 'a second message does not fit');
  t.equal(r.pendingMessages, 1, 'the first set is kept');
  t.equal(r.bufferedBytes, 556);
  r = new Reassembler(5000, 1000);
  r.add(a1!, 0);
  assertDecodeError(t, () => r.add(b1!, 0), { structure: 'Fragment', field: 'payload', reason: 'length' }, 'its own second piece does not fit');
  t.equal(r.pendingMessages, 0, 'that message is dropped');
  t.equal(r.bufferedBytes, 0);
});

t.test('sets are keyed by sender and transaction id', async (t) => {
  const m = messageWithPayload(1000, 7n);
  const [a, b] = fragmentMessage(m, 600);
  const r = new Reassembler(5000);
  t.equal(r.add(a!, 0, 'peer-1'), undefined);
  t.equal(r.add(b!, 0, 'peer-2'), undefined, 'another sender: another set');
  t.equal(r.pendingMessages, 2);
  t.equal(toHex(r.add(b!, 0, 'peer-1')!), toHex(m));
  const other = fragmentMessage(messageWithPayload(1000, 8n), 600);
  t.equal(r.add(other[0]!, 0, 'peer-2'), undefined, 'another transaction id: another set');
  t.equal(r.pendingMessages, 2);
});

t.test('property: random messages fragment and reassemble in random order', async (t) => {
  const g = new Gen('fragment');
  const problems: string[] = [];
  let fragmented = 0;
  let pieces = 0;
  for (let i = 0; i < 500; i++) {
    const msg = g.message();
    // Reserved fragment bits are not carried through reassembly: start from a clean field.
    msg.header.fragment = 0xc0000000;
    // A payload large enough to be worth fragmenting, most of the time.
    msg.contents.extensions.push({ type: 1, critical: false, contents: g.bytes(g.range(300, 6000)) });
    const bytes = encodeMessage(msg);
    const headerSize = forwardingHeader.size(msg.header);
    const payload = bytes.length - headerSize;
    const pmtu = headerSize + 32 + MIN_FRAGMENT_PAYLOAD + g.int(payload);
    const frags = fragmentMessage(bytes, pmtu);
    if (frags.length > 1) {
      fragmented++;
      pieces += frags.length;
      const sizes = frags.map((f) => f.length - headerSize);
      if (Math.min(...sizes) < MIN_FRAGMENT_PAYLOAD || Math.max(...sizes) - Math.min(...sizes) > 1) problems.push(`#${i}: sizes ${sizes}`);
      if (frags.some((f) => f.length > pmtu - 32)) problems.push(`#${i}: a fragment exceeds PMTU - 32`);
    } else if (bytes.length > pmtu - 32 && Math.floor(payload / Math.ceil(payload / (pmtu - 32 - headerSize))) >= MIN_FRAGMENT_PAYLOAD) {
      problems.push(`#${i}: not fragmented although it could be`);
    }
    for (let j = frags.length - 1; j > 0; j--) {
      const k = g.int(j + 1);
      [frags[j], frags[k]] = [frags[k]!, frags[j]!];
    }
    const r = new Reassembler(1 << 20);
    const outs = frags.map((f) => r.add(f, 0));
    if (outs.slice(0, -1).some((o) => o !== undefined)) problems.push(`#${i}: completed early`);
    if (toHex(outs[outs.length - 1]!) !== toHex(bytes)) problems.push(`#${i}: reassembled bytes differ`);
  }
  t.same(problems, [], `500 messages (${fragmented} fragmented into ${pieces} pieces) reassemble exactly`);
  t.ok(fragmented > 250, `most of them were fragmented (${fragmented})`);
});
