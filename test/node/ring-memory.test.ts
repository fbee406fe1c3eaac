import t from 'tap';
import { Testnet } from '../../src/node/testnet.js';
import { testCA, testCredentials, TEST_OVERLAY } from '../helpers/identities.js';
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
