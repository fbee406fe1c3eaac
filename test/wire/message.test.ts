/**
 * Whole messages: ForwardingHeader || MessageContents || SecurityBlock (rfc6940-wire.md
 * §2, §3, §4.1), with the 143-byte Ping request of §11 rebuilt from the codec.
 */
import t from 'tap';
import { DecodeError, decode, encode, toHex } from '../../src/wire/codec.js';
import { HashAlgorithm, MessageCode, SignatureAlgorithm, isRequestCode, messageCodeName } from '../../src/wire/constants.js';
import { decodeBody, encodeBody } from '../../src/wire/body.js';
import { forwardingHeader } from '../../src/wire/forwarding-header.js';
import { overlayHash } from '../../src/wire/ids.js';
import {
  type Message,
  assembleMessage,
  decodeForwardingHeader,
  decodeMessage,
  decodeMessageParts,
  encodeMessage,
  isWholeMessage,
  messageContents,
  messageExtension,
  messageSignatureInput,
} from '../../src/wire/message.js';
import { UNSIGNED, securityBlock, signerIdentity } from '../../src/wire/security-block.js';
import { GEN_CONTEXT, Gen } from '../helpers/gen.js';
import { assertDecodeError, assertRoundTrip, assertRoundTripMany, bytesOf, decodeErrorProblem, deepDiff, hex } from '../helpers/roundtrip.js';

const H32_HEX = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';

/** The Ping request of §11, built with the codec. */
function pingExample(): Message {
  return {
    header: {
      overlay: overlayHash('overlay.example.org'),
      configurationSequence: 0,
      version: 0x0a,
      ttl: 100,
      fragment: 0xc0000000,
      length: 0, // set by encodeMessage
      transactionId: 0x1122334455667788n,
      maxResponseLength: 0,
      viaList: [
        { type: 'node', id: bytesOf('0102030405060708090a0b0c0d0e0f10') },
        { type: 'compressed', id: 0x8123 },
      ],
      destinationList: [{ type: 'node', id: bytesOf('f0e0d0c0b0a090807060504030201000') }],
      options: [],
    },
    contents: {
      code: MessageCode.pingReq,
      body: encodeBody(MessageCode.pingReq, { padding: new Uint8Array(0) }, GEN_CONTEXT),
      extensions: [],
    },
    security: {
      certificates: [{ type: 0, certificate: bytesOf('3003020100') }],
      signature: {
        hashAlg: HashAlgorithm.sha256,
        sigAlg: SignatureAlgorithm.rsa,
        identity: { type: 'cert_hash', hashAlg: HashAlgorithm.sha256, hash: bytesOf(H32_HEX) },
        value: bytesOf('00000000'),
      },
    },
  };
}

const PING_EXAMPLE = `
  d2454c4f 9aa32b8d 0000 0a 64 c0000000 0000008f   # token overlay cfgseq ver ttl frag len=143
  1122334455667788 00000000                         # transaction_id max_response_length
  0014 0012 0000                                    # via=20 dest=18 opts=0
  01 10 0102030405060708090a0b0c0d0e0f10 8123       # via: node, compressed id
  01 10 f0e0d0c0b0a090807060504030201000            # destination: node
  0017 00000002 0000 00000000                       # ping_req, body len 2 (padding<0>), no extensions
  0008 00 0005 3003020100                           # certificates: len 8, X.509, len 5, DER bytes
  04 01                                             # sha256 / rsa
  01 0022 04 20 ${H32_HEX}                          # SignerIdentity cert_hash, sha256, 32-byte hash
  0004 00000000                                     # signature_value
`;

t.test('the 143-byte Ping request of §11, rebuilt with the codec', async (t) => {
  const m = pingExample();
  const bytes = encodeMessage(m);
  t.equal(bytes.length, 143);
  t.equal(m.header.length, 143, 'encodeMessage sets header.length');
  t.equal(toHex(bytes), hex(PING_EXAMPLE));

  const d = decodeMessage(bytes);
  t.equal(deepDiff(d.header, m.header), undefined, 'header decodes back');
  t.equal(deepDiff(d.contents, m.contents), undefined, 'contents decode back');
  t.equal(deepDiff(d.security, m.security), undefined, 'security block decodes back');
  t.same(decodeBody(MessageCode.pingReq, d.contents.body, GEN_CONTEXT), { padding: new Uint8Array(0) });
  // The signed parts, as received: views of the input, not copies.
  t.equal(toHex(d.contentsBytes), '0017000000020000' + '00000000');
  t.equal(d.contentsBytes.buffer, bytes.buffer);
  t.equal(d.contentsBytes.byteOffset - bytes.byteOffset, 76);
  t.equal(toHex(d.signerIdentityBytes), hex(`01 0022 04 20 ${H32_HEX}`));
  t.equal(d.signerIdentityBytes.buffer, bytes.buffer);
  t.equal(d.signerIdentityBytes.byteOffset - bytes.byteOffset, 100);
  t.same(decodeForwardingHeader(bytes), d.header);

  // assembleMessage (the signing path) produces the same bytes.
  const again = assembleMessage(pingExample().header, encode(messageContents, m.contents), encode(securityBlock, m.security));
  t.equal(toHex(again), toHex(bytes));
  const kept = assembleMessage(pingExample().header, encode(messageContents, m.contents), encode(securityBlock, m.security), true);
  t.equal(toHex(kept), toHex(bytes), 'the same bytes for a message kept long');
  t.not(kept.buffer, again.buffer, 'carved from the kept slabs, not the transient ones');
});

t.test('the signature input of §4.1: overlay || transaction_id || contents || identity', async (t) => {
  const d = decodeMessage(bytesOf(PING_EXAMPLE));
  const input = messageSignatureInput(d.header.overlay, d.header.transactionId, d.contentsBytes, d.signerIdentityBytes);
  t.equal(toHex(input), hex(`
    9aa32b8d                         # overlay
    1122334455667788                 # transaction_id
    0017 00000002 0000 00000000      # MessageContents, exactly as encoded
    01 0022 04 20 ${H32_HEX}         # SignerIdentity, exactly as encoded
  `));
  t.equal(toHex(d.signerIdentityBytes), toHex(encode(signerIdentity, d.security.signature.identity)));
});

t.test('MessageContents and MessageExtension', async (t) => {
  assertRoundTrip(t, messageExtension, { type: 1, critical: true, contents: bytesOf('abcd') }, `
    0001          # type exp-ext (16 bits)
    01            # critical
    00000002 abcd # extension_contents<0..2^32-1>
  `);
  assertRoundTrip(t, messageContents, { code: MessageCode.leaveAns, body: new Uint8Array(0), extensions: [] }, `
    0012       # leave_ans
    00000000   # empty body
    00000000   # no extensions
  `);
  assertRoundTrip(t, messageContents, {
    code: MessageCode.pingReq,
    body: bytesOf('0000'),
    extensions: [{ type: 0xfffe, critical: false, contents: bytesOf('414243') }],
  }, `
    0017 00000002 0000                 # ping_req, empty padding
    0000000a                           # extensions: 10 bytes
    fffe 00 00000003 414243            # one non-critical extension
  `);
});

t.test('hostile message contents', async (t) => {
  assertDecodeError(t, () => decode(messageContents, bytesOf('0000 00000000 00000000')), { structure: 'MessageContents', field: 'message_code', reason: 'value', offset: 0 });
  // A body length one too long leaves 3 bytes for the 4-byte extensions prefix.
  assertDecodeError(t, () => decode(messageContents, bytesOf('0017 00000003 0000 00000000')), {
    structure: 'MessageContents.extensions',
    field: 'length',
    reason: 'truncated',
  });
  // An extensions byte count larger than what is left.
  assertDecodeError(t, () => decode(messageContents, bytesOf('0017 00000000 00000008 0001 00 00000000')), {
    structure: 'MessageContents.extensions',
    field: 'length',
    reason: 'length',
  });
  assertDecodeError(t, () => decode(messageContents, bytesOf('0017 00000010 0000 00000000')), { structure: 'MessageContents', field: 'message_body', reason: 'length', offset: 2 });
  assertDecodeError(t, () => decode(messageExtension, bytesOf('0000 00 00000000')), { structure: 'MessageExtension', field: 'type', reason: 'value' });
  assertDecodeError(t, () => decode(messageExtension, bytesOf('0001 02 00000000')), { structure: 'MessageExtension', field: 'critical', reason: 'value', offset: 2 });
  assertDecodeError(t, () => decode(messageExtension, bytesOf('0001 01 00000005 0000')), { structure: 'MessageExtension', field: 'extension_contents', reason: 'length' });
});

t.test('hostile whole messages', async (t) => {
  const good = bytesOf(PING_EXAMPLE);
  const patched = (at: number, h: string): Uint8Array => {
    const b = good.slice();
    b.set(bytesOf(h), at);
    return b;
  };
  // A fragment must be reassembled before it is decoded.
  assertDecodeError(t, () => decodeMessage(patched(12, '80000000')), { structure: 'ForwardingHeader', field: 'fragment', reason: 'value' });
  assertDecodeError(t, () => decodeMessage(patched(12, 'c0000010')), { structure: 'ForwardingHeader', field: 'fragment', reason: 'value' });
  assertDecodeError(t, () => decodeMessage(patched(12, '40000000')), { structure: 'ForwardingHeader', field: 'fragment', reason: 'value', offset: 12 });
  // The header length must be the message's size.
  assertDecodeError(t, () => decodeMessage(patched(16, '0000008e')), { structure: 'ForwardingHeader', field: 'length', reason: 'length', offset: 16 });
  assertDecodeError(t, () => decodeForwardingHeader(patched(16, '00000090')), { structure: 'ForwardingHeader', field: 'length', reason: 'length' });
  // message code 0.
  assertDecodeError(t, () => decodeMessage(patched(76, '0000')), { structure: 'MessageContents', field: 'message_code', reason: 'value', offset: 76 });
  // A trailing byte after the security block (length adjusted to match).
  const longer = new Uint8Array(144);
  longer.set(good);
  longer.set(bytesOf('00000090'), 16);
  assertDecodeError(t, () => decodeMessage(longer), { structure: 'Message', field: '(end)', reason: 'trailing', offset: 143 });
  // One byte short (length adjusted): the signature runs out.
  const shorter = good.slice(0, 142);
  shorter.set(bytesOf('0000008e'), 16);
  assertDecodeError(t, () => decodeMessage(shorter), { structure: 'Signature', field: 'signature_value', reason: 'length' });
});

t.test('decodeMessageParts: header and rest in separate buffers decode as the joined message', async (t) => {
  const good = bytesOf(PING_EXAMPLE);
  const size = forwardingHeader.size(decodeForwardingHeader(good));
  const head = good.slice(0, size);
  const rest = good.slice(size);
  const whole = decodeMessage(good);
  const parts = decodeMessageParts(head, rest);
  t.same(parts, whole);
  t.equal(parts.contentsBytes.buffer, rest.buffer, 'signed parts are views of the rest');
  t.equal(parts.signerIdentityBytes.buffer, rest.buffer);
  // The head must be exactly the header; the length field must state both pieces.
  assertDecodeError(t, () => decodeMessageParts(good.slice(0, size + 1), rest.slice(1)), { structure: 'ForwardingHeader', field: '(end)', reason: 'trailing' });
  assertDecodeError(t, () => decodeMessageParts(head, rest.subarray(1)), { structure: 'ForwardingHeader', field: 'length', reason: 'length', offset: 16 });
  const fragment = head.slice();
  fragment.set(bytesOf('80000000'), 12);
  assertDecodeError(t, () => decodeMessageParts(fragment, rest), { structure: 'ForwardingHeader', field: 'fragment', reason: 'value' });
});

t.test('message codes: requests are odd, answers even, 0xffff is the error (§3.1)', async (t) => {
  t.ok(isRequestCode(MessageCode.pingReq));
  t.notOk(isRequestCode(MessageCode.pingAns));
  t.notOk(isRequestCode(MessageCode.error), 'the error code is odd but not a request');
  t.equal(MessageCode.pingAns, MessageCode.pingReq + 1);
  t.equal(messageCodeName(MessageCode.routeQueryAns), 'route_query_ans');
});

t.test('isWholeMessage', async (t) => {
  t.ok(isWholeMessage(0xc0000000));
  t.ok(isWholeMessage(0xc1000000), 'reserved bits do not matter');
  t.notOk(isWholeMessage(0x80000000), 'not last');
  t.notOk(isWholeMessage(0xc0000001), 'last, but at an offset');
});

t.test('property: random whole messages round-trip, body included', async (t) => {
  const g = new Gen('message');
  const failures: string[] = [];
  let count = 0;
  let bytesTotal = 0;
  for (let i = 0; i < 1500; i++) {
    const m = g.message();
    count++;
    const problems: string[] = [];
    const bytes = encodeMessage(m);
    bytesTotal += bytes.length;
    const expectedLength = forwardingHeader.size(m.header) + messageContents.size(m.contents) + securityBlock.size(m.security);
    if (bytes.length !== expectedLength || m.header.length !== bytes.length) problems.push('length');
    try {
      const d = decodeMessage(bytes);
      const diff = deepDiff({ header: d.header, contents: d.contents, security: d.security }, { header: m.header, contents: m.contents, security: m.security });
      if (diff) problems.push(`differs at ${diff}`);
      if (toHex(d.contentsBytes) !== toHex(encode(messageContents, m.contents))) problems.push('contentsBytes');
      if (toHex(d.signerIdentityBytes) !== toHex(encode(signerIdentity, m.security.signature.identity))) problems.push('signerIdentityBytes');
      if (d.contentsBytes.buffer !== bytes.buffer || d.signerIdentityBytes.buffer !== bytes.buffer) problems.push('signed parts are not views');
      if (m.typed) {
        const body = decodeBody(m.typed.code, d.contents.body, GEN_CONTEXT);
        const bd = deepDiff(body, m.typed.body);
        if (bd) problems.push(`body of code ${m.typed.code} differs at ${bd}`);
      }
    } catch (e) {
      problems.push(`decode threw ${(e as Error).message}`);
    }
    // One byte short / one byte long (length field adjusted so only the end is wrong).
    for (const n of [bytes.length - 1, bytes.length + 1]) {
      const b = new Uint8Array(n);
      b.set(bytes.subarray(0, Math.min(n, bytes.length)));
      b[16] = n >>> 24;
      b[17] = (n >>> 16) & 0xff;
      b[18] = (n >>> 8) & 0xff;
      b[19] = n & 0xff;
      try {
        decodeMessage(b);
        problems.push(`${n}-byte variant decoded`);
      } catch (e) {
        const p = decodeErrorProblem(e);
        if (p) problems.push(p);
        else if (n > bytes.length && (e as DecodeError).reason !== 'trailing') problems.push(`long variant: ${(e as DecodeError).reason}`);
      }
    }
    if (problems.length && failures.length < 5) failures.push(`#${i}: ${problems.join('; ')}`);
  }
  t.same(failures, [], `${count} messages (${bytesTotal} bytes) round-trip`);
  assertRoundTripMany(t, messageContents, 1000, () => {
    const { typed: _typed, ...c } = g.messageContents();
    return c;
  });
  assertRoundTripMany(t, messageExtension, 1000, () => g.messageExtension());
  t.equal(encodeMessage({ ...pingExample(), security: { certificates: [], signature: UNSIGNED } }).length, 143 - 10 - 45 + 2 + 7);
});
