/**
 * A node whose signatures fail (a key the crypto library refuses) sends nothing unsigned and
 * stays up: a request it cannot answer times out at the requester, an error answer it
 * cannot sign is dropped, and once signing works again it answers as before. Signing is
 * inline here (memory links, virtual time), so the failure is a synchronous throw inside
 * the router's sign step.
 */
import t from 'tap';
import { ReloadError } from '../../src/common/errors.js';
import { Testnet } from '../../src/node/testnet.js';
import { NODE_CRYPTO_INLINE_SIGNATURES, type SignatureScheme } from '../../src/security/signature-scheme.js';
import { encode } from '../../src/wire/codec.js';
import { encodeBody } from '../../src/wire/body.js';
import { ErrorCode, FRAGMENT_UNFRAGMENTED, MessageCode, RELOAD_VERSION } from '../../src/wire/constants.js';
import type { ForwardingHeader } from '../../src/wire/forwarding-header.js';
import { assembleMessage, messageContents } from '../../src/wire/message.js';
import { securityBlock } from '../../src/wire/security-block.js';
import { overlayHashOf } from '../../src/node/parameters.js';
import { TEST_OVERLAY, nodeIdWithPrefix, testCA, testCredentials } from '../helpers/identities.js';

const REFUSING: SignatureScheme = {
  ...NODE_CRYPTO_INLINE_SIGNATURES,
  sign() {
    throw new Error('key refused by the crypto library');
  },
};

t.test('a node that cannot sign answers nothing, drops its error answers, and recovers', async (t) => {
  const net = new Testnet({ overlay: TEST_OVERLAY, rootCertificate: testCA().certificate, seed: 23 });
  for (let i = 0; i < 3; i++) await net.add(testCredentials(`signfail${i}`, nodeIdWithPrefix(0x20 + i * 0x40)));
  await net.run(new Promise((r) => setTimeout(r, 0)));
  await net.settle(30_000);
  const [a, b, c] = net.nodes as [(typeof net.nodes)[number], (typeof net.nodes)[number], (typeof net.nodes)[number]];
  const ping = encodeBody(MessageCode.pingReq, { padding: new Uint8Array(0) }, a.kinds);
  const signer = b.signer as unknown as { scheme: SignatureScheme };
  const working = signer.scheme;
  signer.scheme = REFUSING;
  t.equal(b.signer.signsInline, true);

  // A request to b: its answer cannot be signed, so none is sent; a's transaction times out.
  const err = await net.run(a.request([{ type: 'node', id: b.nodeId }], MessageCode.pingReq, ping).then(
    () => undefined,
    (e: unknown) => e,
  ));
  t.ok(err instanceof ReloadError && err.errorCode === ErrorCode.requestTimeout, 'the requester times out (no unsigned answer)');

  // A request b must refuse (TTL 0, to be forwarded on to c): its error answer cannot be
  // signed either, and is dropped.
  const txid = 0x51f0000n;
  const h: ForwardingHeader = {
    overlay: overlayHashOf(a.params),
    configurationSequence: a.params.configurationSequence,
    version: RELOAD_VERSION,
    ttl: 0,
    fragment: FRAGMENT_UNFRAGMENTED,
    length: 0,
    transactionId: txid,
    maxResponseLength: 0,
    viaList: [],
    destinationList: [
      { type: 'node', id: b.nodeId },
      { type: 'node', id: c.nodeId },
    ],
    options: [],
  };
  const contents = encode(messageContents, { code: MessageCode.pingReq, body: ping, extensions: [] });
  const bytes = assembleMessage(h, contents, encode(securityBlock, a.signer.signMessage(h.overlay, txid, contents)));
  const droppedBefore = b.router.stats.dropped;
  const errorsBefore = b.router.stats.errorsSent;
  const sent: Uint8Array[] = [];
  const link = b.router.table.byNode(a.nodeId)!.connection;
  const send = link.send.bind(link);
  link.send = (head: Uint8Array, tail?: Uint8Array) => {
    sent.push(head);
    return send(head, tail);
  };
  await net.run(a.router.table.byNode(b.nodeId)!.connection.send(bytes));
  await net.settle(1_000);
  t.equal(b.router.stats.errorsSent, errorsBefore + 1, 'b meant to answer Error_TTL_Exceeded');
  t.equal(b.router.stats.dropped, droppedBefore + 2, 'the refusal and the unsigned error answer are both dropped');
  t.same(sent, [], 'nothing went back to a');

  // Signing works again: b answers.
  signer.scheme = working;
  const ans = await net.run(a.request([{ type: 'node', id: b.nodeId }], MessageCode.pingReq, ping));
  t.equal(ans.code, MessageCode.pingAns, 'b answers once it can sign');
});
