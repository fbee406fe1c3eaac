/**
 * messageToJson (src/wire/json.ts) beyond what the decode CLI test covers: codes without a
 * known body, stored values whose usage payload does not parse, registry names, malformed
 * bodies, and a stable key order.
 */
import t from 'tap';
import {
  DecodeError,
  FRAGMENT_UNFRAGMENTED,
  KindIds,
  MessageCode,
  RELOAD_VERSION,
  UNSIGNED,
  assembleMessage,
  decodeMessage,
  encode,
  encodeBody,
  messageContents,
  securityBlock,
  wireContext,
} from '../../src/wire/index.js';
import { bodyToJson, candTypeName, certificateSummary, kindName, messageToJson, overlayLinkName } from '../../src/wire/json.js';

const ctx = wireContext();

function message(code: number, body: Uint8Array) {
  const contents = encode(messageContents, { code, body, extensions: [] });
  const bytes = assembleMessage(
    {
      overlay: 0x9aa32b8d,
      configurationSequence: 0,
      version: RELOAD_VERSION,
      ttl: 100,
      fragment: FRAGMENT_UNFRAGMENTED,
      length: 0,
      transactionId: 0xffffffffffffffffn,
      maxResponseLength: 0,
      viaList: [],
      destinationList: [{ type: 'opaque', id: new Uint8Array([1, 2]) }],
      options: [],
    },
    contents,
    encode(securityBlock, { certificates: [], signature: UNSIGNED }),
  );
  return decodeMessage(bytes);
}

t.test('a code without a known body keeps the body as hex', async (t) => {
  const j = messageToJson(message(MessageCode.expAReq, new Uint8Array([0xde, 0xad])), ctx) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  t.equal(j.messageContents.messageName, 'exp_a_req');
  t.equal(j.messageContents.body, null);
  t.equal(j.messageContents.bodyHex, 'dead');
  t.equal(j.forwardingHeader.transactionId, '18446744073709551615', 'uint64 as decimal');
  t.same(j.forwardingHeader.destinationList, [{ type: 'opaque', id: '0102' }]);
  t.same(j.securityBlock.signature.identity, { type: 'none', typeCode: 3 });
  t.equal(j.securityBlock.signature.algorithm.hashName, 'none');
  t.equal(j.securityBlock.signerCertificate, null);
  t.same(Object.keys(j.forwardingHeader).slice(0, 6), ['reloToken', 'overlay', 'configurationSequence', 'version', 'versionName', 'ttl']);
  t.equal(JSON.stringify(j), JSON.stringify(messageToJson(message(MessageCode.expAReq, new Uint8Array([0xde, 0xad])), ctx)), 'same input, same text');
});

t.test('a malformed body throws the DecodeError', async (t) => {
  const m = message(MessageCode.pingAns, new Uint8Array(15));
  t.throws(() => messageToJson(m, ctx), DecodeError);
});

t.test('a stored value whose usage payload does not parse is reported, not fatal', async (t) => {
  const body = encodeBody(
    MessageCode.fetchAns,
    {
      kindResponses: [
        {
          kind: KindIds.sipRegistration,
          generation: 1n,
          values: [
            {
              storageTime: 1n,
              lifetime: 60,
              value: { model: 'dictionary', key: new Uint8Array(16), value: { exists: true, value: new Uint8Array([2, 0, 9]) } },
              signature: UNSIGNED,
            },
          ],
        },
        {
          kind: KindIds.turnService,
          generation: 1n,
          values: [{ storageTime: 1n, lifetime: 60, value: { model: 'single', value: { exists: false, value: new Uint8Array(0) } }, signature: UNSIGNED }],
        },
      ],
    },
    ctx,
  );
  const j = bodyToJson(MessageCode.fetchAns, body, ctx) as Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any
  const sip = j.kindResponses[0].values[0].value.value;
  t.match(sip.valueDecodeError, /^SipRegistration\.data: /);
  t.notOk('valueDecoded' in sip);
  const deleted = j.kindResponses[1].values[0].value.value;
  t.same(deleted, { exists: false, value: '' }, 'a deleted value has nothing to decode');
  t.equal(j.kindResponses[1].values[0].signature.identity.type, 'none');
});

t.test('registry names', async (t) => {
  t.equal(kindName(1), 'SIP-REGISTRATION');
  t.equal(kindName(0x10), 'CERTIFICATE_BY_USER');
  t.equal(kindName(0xf0000001), 'private-use');
  t.equal(kindName(0x7777), 'unknown');
  t.equal(candTypeName(4), 'relay');
  t.equal(candTypeName(3), 'reserved');
  t.equal(overlayLinkName(3), 'DTLS-UDP-SR-NO-ICE');
  t.match(certificateSummary(new Uint8Array([0x30, 0x03, 2, 1, 0])), { error: /^not a DER X\.509 certificate/ });
});
