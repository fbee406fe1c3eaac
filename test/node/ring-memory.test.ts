import t from 'tap';
import { Testnet } from '../../src/node/testnet.js';
import { testCA, testCredentials, nodeIdWithPrefix, TEST_OVERLAY } from '../helpers/identities.js';
import { Router } from '../../src/routing/router.js';
import { joinPieces } from '../../src/routing/message-bytes.js';
import { encodeBody } from '../../src/wire/body.js';
import { MessageCode } from '../../src/wire/constants.js';
import { decodeForwardingHeader } from '../../src/wire/message.js';
import { toHex } from '../../src/wire/codec.js';
import { compareIds } from '../../src/wire/ids.js';
import { randomBytes } from 'node:crypto';

t.test('8 peers on the memory link form one CHORD ring', async (t) => {
  const net = new Testnet({ overlay: TEST_OVERLAY, rootCertificate: testCA().certificate, seed: 7 });
  const ids = Array.from({ length: 8 }, () => new Uint8Array(randomBytes(16)));
  for (let i = 0; i < ids.length; i++) {
    await net.add(testCredentials(`peer${i}`, ids[i]!));
  }
  await net.run(new Promise((r) => setTimeout(r, 0)));
  await net.settle(30_000);
  const sorted = ids.slice().sort(compareIds).map(toHex);
  for (const node of net.nodes) {
    const me = sorted.indexOf(toHex(node.nodeId));
    const snap = node.topology.snapshot();
    t.equal(toHex(snap.successors[0]!), sorted[(me + 1) % 8], `successor of ${me}`);
    t.equal(toHex(snap.predecessors[0]!), sorted[(me + 7) % 8], `predecessor of ${me}`);
  }
});

t.test('an intermediate peer forwards a message without copying its body (gather send)', async (t) => {
  const net = new Testnet({ overlay: TEST_OVERLAY, rootCertificate: testCA().certificate, seed: 11 });
  for (let i = 0; i < 6; i++) await net.add(testCredentials(`gather${i}`, nodeIdWithPrefix(i * 0x28)));
  await net.run(new Promise((r) => setTimeout(r, 0)));
  await net.settle(30_000);
  const [a, b, d] = [net.nodes[0]!, net.nodes[1]!, net.nodes[2]!];
  // Watch every link send: the origin's message, and what each hop hands its link.
  const sent: { from: string; head: Uint8Array; tail: Uint8Array | undefined }[] = [];
  for (const n of net.nodes) {
    for (const e of n.router.table.entries()) {
      const conn = e.connection;
      const send = conn.send.bind(conn);
      conn.send = (head: Uint8Array, tail?: Uint8Array) => {
        sent.push({ from: toHex(n.nodeId), head, tail });
        return send(head, tail);
      };
    }
  }
  // A source route through b to d (RFC 6940 §6.1.2): b pops its own entry and forwards.
  const body = encodeBody(MessageCode.pingReq, { padding: new Uint8Array(300).fill(0x5a) }, a.kinds);
  const answer = await net.run(a.request([{ type: 'node', id: b.nodeId }, { type: 'node', id: d.nodeId }], MessageCode.pingReq, body));
  t.equal(answer.code, MessageCode.pingAns, 'd answered through b');
  const origin = sent.find((s) => s.from === toHex(a.nodeId) && s.tail === undefined && s.head.length > 300)!;
  const hop = sent.find((s) => s.from === toHex(b.nodeId) && s.tail !== undefined && s.tail.length > 300)!;
  t.ok(origin && hop, 'the origin sent the request whole; b forwarded it as header + tail');
  t.equal(hop.tail!.buffer, origin.head.buffer, "b's tail is a view of the origin's very bytes");
  const originHeader = Router.headerSizeOf(origin.head);
  t.equal(hop.tail!.byteOffset, origin.head.byteOffset + originHeader, 'starting right after the original header');
  // +18 bytes (a's Via entry), -18 bytes (b's own Destination entry, popped).
  t.equal(hop.head.length + hop.tail!.length, origin.head.length, 'the same length after the rewrite');
  const fwd = decodeForwardingHeader(joinPieces(hop.head, hop.tail!));
  t.same(fwd.viaList.map((v) => v.type === 'node' && toHex(v.id)), [toHex(a.nodeId)], 'via list: a');
  t.same(fwd.destinationList.map((v) => v.type === 'node' && toHex(v.id)), [toHex(d.nodeId)], 'destination list: d');
});
