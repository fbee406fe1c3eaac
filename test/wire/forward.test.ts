/**
 * The forwarding fast path (src/wire/forward.ts) against the codec: the rewritten bytes
 * must equal what decodeForwardingHeader → edit → forwardingHeader.encode produces, the
 * contents and security block must be untouched (the signature still verifies), and bad
 * input must give typed errors.
 */
import t from 'tap';
import { VirtualClock } from '../../src/common/clock.js';
import { ReloadError } from '../../src/common/errors.js';
import { CertificateStore } from '../../src/security/trust.js';
import { verifyMessage } from '../../src/security/verifier.js';
import { buildCorpus } from '../../src/wire/corpus.js';
import {
  type ForwardRewrite,
  encodeViaEntry,
  forwardRequest,
  forwardResponse,
  rewriteForNextHop,
  rewriteHeader,
} from '../../src/wire/forward.js';
import {
  DecodeError,
  type Destination,
  EncodeError,
  ErrorCode,
  FRAGMENT_UNFRAGMENTED,
  type ForwardingHeader,
  RELOAD_VERSION,
  Writer,
  assembleMessage,
  decodeForwardingHeader,
  decodeMessage,
  forwardingHeader,
  forwardingHeaderSize,
  toHex,
} from '../../src/wire/index.js';

const clock = new VirtualClock(Date.UTC(2026, 0, 1));
const corpus = buildCorpus({ clock });
const entry = (name: string) => corpus.entries.find((e) => e.name === name)!;
const hop: Destination = { type: 'node', id: Uint8Array.from({ length: 16 }, (_, i) => 0xa0 + i) };
const hopBytes = encodeViaEntry(hop);

/** The same rewrite done with the codec objects. */
function throughCodec(bytes: Uint8Array, edit: (h: ForwardingHeader) => void): Uint8Array {
  const h = decodeForwardingHeader(bytes);
  const oldSize = forwardingHeaderSize(h);
  edit(h);
  const newSize = forwardingHeaderSize(h);
  h.length = bytes.length - oldSize + newSize;
  const w = new Writer(new Uint8Array(h.length));
  forwardingHeader.encode(w, h);
  w.buf.set(bytes.subarray(oldSize), newSize);
  return w.buf;
}

function errorOf(fn: () => unknown): unknown {
  try {
    fn();
  } catch (e) {
    return e;
  }
  return undefined;
}

function rawMessage(header: Partial<ForwardingHeader>, payload: Uint8Array): Uint8Array {
  const h: ForwardingHeader = {
    overlay: corpus.overlayHash,
    configurationSequence: 1,
    version: RELOAD_VERSION,
    ttl: 100,
    fragment: FRAGMENT_UNFRAGMENTED,
    length: 0,
    transactionId: 42n,
    maxResponseLength: 0,
    viaList: [],
    destinationList: [{ type: 'node', id: new Uint8Array(16).fill(1) }],
    options: [],
    ...header,
  };
  return assembleMessage(h, payload, new Uint8Array(0));
}

t.test('encodeViaEntry', async (t) => {
  t.equal(toHex(hopBytes), `0110${toHex(hop.id as Uint8Array)}`);
  t.equal(toHex(encodeViaEntry({ type: 'compressed', id: 0x8123 })), '8123');
  t.equal(toHex(encodeViaEntry({ type: 'opaque', id: new Uint8Array([9, 9]) })), '0303020909');
  t.ok(errorOf(() => encodeViaEntry({ type: 'resource', id: new Uint8Array(16) })) instanceof EncodeError, 'no Resource-ID in a Via List');
});

t.test('forwardRequest: via appended, TTL − 1, lengths patched, nothing else changed', async (t) => {
  for (const e of corpus.entries.filter((x) => x.name.endsWith('_req') || x.name.startsWith('attach_req'))) {
    const out = forwardRequest(e.message, hopBytes);
    const want = throughCodec(e.message, (h) => {
      h.viaList.push(hop);
      h.ttl -= 1;
    });
    t.equal(toHex(out), toHex(want), `${e.fileName}: same bytes as the codec path`);
  }
  const e = entry('ping_req');
  const out = forwardRequest(e.message, hopBytes);
  t.equal(out.length, e.message.length + 18);
  const before = decodeMessage(e.message);
  const after = decodeMessage(out);
  t.equal(after.header.ttl, before.header.ttl - 1);
  t.same(after.header.viaList.map((d) => d.type), ['node', 'node', 'node']);
  t.equal(toHex((after.header.viaList[2] as { id: Uint8Array }).id), toHex(hop.id as Uint8Array), 'appended last');
  t.equal(toHex(after.contentsBytes), toHex(before.contentsBytes), 'contents untouched');
  t.equal(after.header.options.length, 1, 'options kept');
  const store = new CertificateStore({ overlay: corpus.overlay, rootCerts: [corpus.caCertificate], nodeIdLength: 16 }, clock);
  t.equal(toHex(verifyMessage(after, store).nodeId), e.signerNodeId, 'the signature still verifies (the header is not signed)');
});

t.test('forwardResponse: the first destination is removed, TTL − 1', async (t) => {
  for (const e of corpus.entries.filter((x) => x.name.endsWith('_ans') || x.name.startsWith('error'))) {
    const out = forwardResponse(e.message);
    const want = throughCodec(e.message, (h) => {
      h.destinationList.shift();
      h.ttl -= 1;
    });
    t.equal(toHex(out), toHex(want), `${e.fileName}: same bytes as the codec path`);
  }
  const compressedFirst = rawMessage(
    {
      destinationList: [
        { type: 'compressed', id: 0x8001 },
        { type: 'node', id: new Uint8Array(16).fill(2) },
      ],
    },
    new Uint8Array([1, 2, 3]),
  );
  const out = forwardResponse(compressedFirst);
  t.same(decodeForwardingHeader(out).destinationList, [{ type: 'node', id: new Uint8Array(16).fill(2) }], 'a 2-byte compressed entry');
  t.equal(toHex(out.subarray(-3)), '010203');
});

t.test('both rewrites at once, and a fragment', async (t) => {
  const fragment = rawMessage({ fragment: 0x80000100, viaList: [{ type: 'compressed', id: 0x8abc }] }, new Uint8Array(300).fill(7));
  const out = rewriteForNextHop(fragment, { appendVia: hopBytes, removeFirstDestination: true });
  const want = throughCodec(fragment, (h) => {
    h.viaList.push(hop);
    h.destinationList.shift();
    h.ttl -= 1;
  });
  t.equal(toHex(out), toHex(want));
  t.equal(decodeForwardingHeader(out).fragment, 0x80000100, 'fragment field unchanged (offsets count after the header)');
});

t.test('rewriteHeader: the rewritten ForwardingHeader alone; with the unchanged rest it is the rewritten message', async (t) => {
  for (const name of ['ping_req', 'fetch_ans', 'update_req']) {
    const e = entry(name);
    const size = forwardingHeaderSize(decodeForwardingHeader(e.message));
    for (const rewrite of [{ appendVia: hopBytes }, { removeFirstDestination: true }, { appendVia: hopBytes, removeFirstDestination: true }] as ForwardRewrite[]) {
      if (rewrite.removeFirstDestination && decodeForwardingHeader(e.message).destinationList.length < 2) continue;
      const whole = rewriteForNextHop(e.message, rewrite);
      // From the whole message, and from the header piece alone (the rest elsewhere).
      for (const head of [e.message, e.message.subarray(0, size)]) {
        const h = rewriteHeader(head, e.message.length, rewrite);
        t.equal(h.length, forwardingHeaderSize(decodeForwardingHeader(whole)), `${name}: header only`);
        const joined = new Uint8Array(whole.length);
        joined.set(h);
        joined.set(e.message.subarray(size), h.length);
        t.equal(toHex(joined), toHex(whole), `${name} ${JSON.stringify(Object.keys(rewrite))}: header + rest = rewriteForNextHop`);
      }
    }
  }
  const e = entry('ping_req');
  const size = forwardingHeaderSize(decodeForwardingHeader(e.message));
  const x = errorOf(() => rewriteHeader(e.message.subarray(0, size - 1), e.message.length, { appendVia: hopBytes }));
  t.ok(x instanceof DecodeError && x.field === 'options_length' && x.reason === 'truncated', 'a head shorter than the header: truncated');
  const y = errorOf(() => rewriteHeader(e.message.subarray(0, size), e.message.length + 1, { appendVia: hopBytes }));
  t.ok(y instanceof DecodeError && y.field === 'length', 'the length field must state the total');
});

t.test('outputs are independent of the input and of each other', async (t) => {
  const e = entry('update_req');
  const outs = Array.from({ length: 200 }, () => forwardRequest(e.message, hopBytes));
  const first = toHex(outs[0]!);
  t.ok(outs.every((o) => toHex(o) === first), '200 outputs carved from the slab, none overwritten');
  const input = e.message.slice();
  const out = forwardRequest(input, hopBytes);
  input.fill(0);
  t.equal(toHex(out), first, 'the input can be reused');
  // A message too large for the slab gets its own buffer.
  const big = rawMessage({ viaList: [{ type: 'node', id: new Uint8Array(16).fill(3) }] }, new Uint8Array(20_000).fill(5));
  const bigOut = forwardRequest(big, hopBytes);
  t.equal(bigOut.length, big.length + 18);
  t.equal(bigOut.byteOffset, 0);
  t.equal(decodeForwardingHeader(bigOut).viaList.length, 2);
});

t.test('typed errors', async (t) => {
  const e = entry('ping_req');
  const ttl0 = e.message.slice();
  ttl0[11] = 0;
  const err = errorOf(() => forwardRequest(ttl0, hopBytes));
  t.ok(err instanceof ReloadError && err.errorCode === ErrorCode.ttlExceeded, 'TTL 0: Error_TTL_Exceeded');
  const check = (bytes: Uint8Array, structure: string, field: string, reason: string, msg: string, rewrite: ForwardRewrite = { appendVia: hopBytes }) => {
    const x = errorOf(() => rewriteForNextHop(bytes, rewrite));
    t.ok(x instanceof DecodeError, `${msg}: a DecodeError`);
    if (x instanceof DecodeError) t.same([x.structure, x.field, x.reason], [structure, field, reason], msg);
  };
  const badToken = e.message.slice();
  badToken[3] = 0;
  check(badToken, 'ForwardingHeader', 'relo_token', 'value', 'bad relo_token');
  check(e.message.subarray(0, 20), 'ForwardingHeader', 'options_length', 'truncated', 'shorter than the fixed header');
  check(e.message.subarray(0, e.message.length - 1), 'ForwardingHeader', 'length', 'length', 'length field disagrees');
  const lists = rawMessage({}, new Uint8Array(0));
  lists[33] = 0xff; // via_list_length runs past the end
  check(lists, 'ForwardingHeader', 'length', 'length', 'lists longer than the message');
  const noDest = rawMessage({ destinationList: [] }, new Uint8Array(4));
  check(noDest, 'ForwardingHeader', 'destination_list', 'truncated', 'nothing to remove', { removeFirstDestination: true });
  const cut = rawMessage({}, new Uint8Array(0));
  cut[35] = 10; // destination_list_length 10 < the 18-byte entry
  check(cut, 'Destination', 'destination_data', 'length', 'entry longer than the list', { removeFirstDestination: true });
  // A Via List that cannot grow: 3640 node entries = 65520 bytes, + 18 > 65535.
  const full = rawMessage({ viaList: Array.from({ length: 3640 }, () => hop) }, new Uint8Array(0));
  t.ok(errorOf(() => forwardRequest(full, hopBytes)) instanceof EncodeError, 'via_list_length would overflow');
});
