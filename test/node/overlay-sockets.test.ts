/**
 * The overlay on real loopback sockets, for both link types (TLS with the framed header,
 * and plain UDP with simple reliability behind --insecure-link): 8 peers form one ring,
 * store and fetch through each other under every data model and policy, survive a
 * SIGKILLed peer (a child process) without losing a value, and hand data over on a
 * graceful leave.
 */
import { randomBytes } from 'node:crypto';
import t from 'tap';
import { makeOverlay } from '../helpers/overlay-dir.js';
import { startPeer } from '../helpers/processes.js';
import { createNodeFromIdentity } from '../../src/node/create.js';
import type { ReloadNode } from '../../src/node/node.js';
import { resourceIdOf } from '../../src/wire/ids.js';
import { compareIds } from '../../src/wire/ids.js';
import { concatBytes, fromHex, toHex, utf8 } from '../../src/wire/codec.js';
import { ErrorCode } from '../../src/wire/constants.js';
import { ReloadError } from '../../src/common/errors.js';
import { KIND_ARRAY_NODE, KIND_DICT_USER_NODE, KIND_SINGLE_MULTIPLE, KIND_SINGLE_USER } from '../helpers/testnet.js';
import { storedTexts } from '../helpers/values.js';

const UPDATE_S = 2;

async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function ringCorrect(nodes: ReloadNode[], allIds: string[]): boolean {
  const sorted = allIds.slice().sort((a, b) => compareIds(fromHex(a), fromHex(b)));
  return nodes.every((n) => {
    const i = sorted.indexOf(toHex(n.nodeId));
    const s = n.topology.snapshot();
    return (
      s.successors[0] !== undefined &&
      toHex(s.successors[0]) === sorted[(i + 1) % sorted.length] &&
      s.predecessors[0] !== undefined &&
      toHex(s.predecessors[0]) === sorted[(i - 1 + sorted.length) % sorted.length]
    );
  });
}

/**
 * Peer i's Node-ID starts in the i-th eighth of the ring (the rest random): every peer is
 * responsible for about an eighth, so the values written below always reach the child's
 * range (with 8 fully random IDs a peer's range is under 0.5 % of the ring in ~4 % of runs,
 * and then none of 160 values may land there).
 */
function spreadNodeId(i: number): Uint8Array {
  const id = new Uint8Array(randomBytes(16));
  id[0] = i * 32 + (id[0]! & 0x1f);
  return id;
}

async function refused(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return err instanceof ReloadError ? err.errorCode : -1;
  }
}

for (const kind of ['tls', 'udp'] as const) {
  t.test(`8 peers over ${kind} on loopback`, async (t) => {
    const ov = await makeOverlay();
    const nodes: ReloadNode[] = [];
    const common = {
      insecureLink: kind === 'udp',
      bootstrapKind: kind,
      topologyParams: { updateIntervalMs: UPDATE_S * 1000, replicaHoldDownMs: 2000 },
    };
    t.teardown(async () => {
      for (const n of nodes) await n.stop();
    });
    const first = (
      await createNodeFromIdentity(await ov.identity('peer0', spreadNodeId(0)), {
        ...common,
        listen: [{ kind, host: '127.0.0.1', port: 0 }],
        firstNode: true,
      })
    ).node;
    await first.start();
    nodes.push(first);
    const boot = first.addresses[0]!.address;
    for (let i = 1; i < 7; i++) {
      const { node } = await createNodeFromIdentity(await ov.identity(`peer${i}`, spreadNodeId(i)), {
        ...common,
        listen: [{ kind, host: '127.0.0.1', port: 0 }],
        bootstrap: [boot],
      });
      await node.start();
      nodes.push(node);
    }
    // The eighth peer is a separate process, so it can be SIGKILLed.
    const child = await startPeer([
      '--identity', await ov.identity('peer7', spreadNodeId(7)),
      '--listen', `${kind}:127.0.0.1:0`,
      '--bootstrap-node', `${boot.host}:${boot.port}`,
      '--update-interval', String(UPDATE_S),
      ...(kind === 'udp' ? ['--insecure-link'] : []),
      '--log-level', 'warn',
    ]);
    t.teardown(() => void child.child.kill('SIGKILL'));
    const allIds = [...nodes.map((n) => toHex(n.nodeId)), child.nodeId];
    await until('a correct ring', () => ringCorrect(nodes, allIds));
    t.pass('every peer has the right successor and predecessor');

    // Each data model and policy, storing at one peer and fetching at another.
    const [a, b, c] = [nodes[1]!, nodes[3]!, nodes[5]!];
    const userA = a.signer.credentials.certificate.userName!;
    await a.storeValues(userA, KIND_SINGLE_USER, [{ model: 'single', value: utf8('single-a') }]);
    const f1 = await c.fetchValues(userA, KIND_SINGLE_USER);
    t.equal(Buffer.from(f1.values[0]!.data.value.value.value).toString(), 'single-a', 'USER-MATCH single value fetched elsewhere');
    t.equal(await refused(b.storeValues(userA, KIND_SINGLE_USER, [{ model: 'single', value: utf8('x') }])), ErrorCode.forbidden, 'USER-MATCH refuses another user');
    await a.storeValues({ id: resourceIdOf(a.nodeId) }, KIND_ARRAY_NODE, [{ model: 'array', value: utf8('arr') }]);
    t.same(storedTexts(await b.fetchValues({ id: resourceIdOf(a.nodeId) }, KIND_ARRAY_NODE)), ['arr'], 'NODE-MATCH array value fetched');
    t.equal(await refused(b.storeValues({ id: resourceIdOf(a.nodeId) }, KIND_ARRAY_NODE, [{ model: 'array', value: utf8('x') }])), ErrorCode.forbidden, 'NODE-MATCH refuses another node');
    await a.storeValues(userA, KIND_DICT_USER_NODE, [{ model: 'dictionary', key: a.nodeId, value: utf8('dict') }]);
    t.same(storedTexts(await c.fetchValues(userA, KIND_DICT_USER_NODE)), ['dict'], 'USER-NODE-MATCH entry fetched');
    t.equal(await refused(a.storeValues(userA, KIND_DICT_USER_NODE, [{ model: 'dictionary', key: b.nodeId, value: utf8('x') }])), ErrorCode.forbidden, 'USER-NODE-MATCH refuses a foreign key');
    const multi = { id: resourceIdOf(concatBytes(a.nodeId, new Uint8Array([1]))) };
    await a.storeValues(multi, KIND_SINGLE_MULTIPLE, [{ model: 'single', value: utf8('turn') }]);
    t.same(storedTexts(await b.fetchValues(multi, KIND_SINGLE_MULTIPLE)), ['turn'], 'NODE-MULTIPLE value fetched');
    t.equal(await refused(b.storeValues(multi, KIND_SINGLE_MULTIPLE, [{ model: 'single', value: utf8('x') }])), ErrorCode.forbidden, 'NODE-MULTIPLE refuses another node');

    // Values spread over the ring, at least one in the range of the child process.
    const sorted = allIds.slice().sort((x, y) => compareIds(fromHex(x), fromHex(y)));
    const ci = sorted.indexOf(child.nodeId);
    const childPred = fromHex(sorted[(ci + sorted.length - 1) % sorted.length]!);
    const childId = fromHex(child.nodeId);
    const inChildRange = (r: Uint8Array): boolean =>
      compareIds(childPred, childId) < 0
        ? compareIds(r, childPred) > 0 && compareIds(r, childId) <= 0
        : compareIds(r, childPred) > 0 || compareIds(r, childId) <= 0;
    const stored: { writer: ReloadNode; resource: Uint8Array; value: string }[] = [];
    let childHeld = 0;
    // NODE-MULTIPLE (max 20 here) gives each writer 20 Resource-IDs: Hash(Node-ID || i).
    for (let i = 0; i < nodes.length * 20 && (stored.length < 24 || childHeld < 2); i++) {
      const writer = nodes[i % nodes.length]!;
      const resource = resourceIdOf(concatBytes(writer.nodeId, new Uint8Array([1 + Math.floor(i / nodes.length)])));
      await writer.storeValues({ id: resource }, KIND_SINGLE_MULTIPLE, [{ model: 'single', value: utf8(`v${i}`) }]);
      stored.push({ writer, resource, value: `v${i}` });
      if (inChildRange(resource)) childHeld++;
    }
    t.ok(childHeld >= 1, `${childHeld} value(s) are in the child's range`);

    // Replication follows the StoreAns (RFC 6940 §9.7.3 order: store, answer, replicate):
    // let the child's replica Stores reach its successors before it dies.
    await until('replicas of the child\'s values', () =>
      stored.filter((s) => inChildRange(s.resource)).every((s) => nodes.some((n) => n.storage.exportResource(s.resource).length > 0)),
    );
    // SIGKILL the child: no Leave, its links just die.
    child.child.kill('SIGKILL');
    await child.exited;
    const survivors = allIds.filter((id) => id !== child.nodeId);
    await until('the ring to repair', () => ringCorrect(nodes, survivors), 60_000);
    t.pass('the ring repaired after SIGKILL');
    let ok = 0;
    for (const s of stored) {
      const r = await nodes[(ok + 2) % nodes.length]!.fetchValues({ id: s.resource }, KIND_SINGLE_MULTIPLE);
      if (r.values.length === 1 && Buffer.from(r.values[0]!.data.value.value.value).toString() === s.value) ok++;
      else {
        const holders = nodes.filter((n) => n.storage.exportResource(s.resource).length > 0).map((n) => toHex(n.nodeId).slice(0, 8));
        t.comment(`lost ${toHex(s.resource).slice(0, 8)} (${s.value}): answered by ${toHex(r.from).slice(0, 8)}, held by [${holders.join(', ')}], child ${child.nodeId.slice(0, 8)}, in child range ${inChildRange(s.resource)}`);
      }
    }
    t.equal(ok, stored.length, 'every stored value is still fetchable after the crash');

    // Graceful leave of a peer hands its data over.
    const leaver = nodes[4]!;
    const its = stored.filter((s) => leaver.topology.isResponsible(s.resource));
    await leaver.leave();
    nodes.splice(nodes.indexOf(leaver), 1);
    await until('the ring to close over the leaver', () => ringCorrect(nodes, survivors.filter((id) => id !== toHex(leaver.nodeId))), 30_000);
    let handed = 0;
    for (const s of its) {
      const r = await nodes[0]!.fetchValues({ id: s.resource }, KIND_SINGLE_MULTIPLE);
      if (r.values.length === 1) handed++;
    }
    t.equal(handed, its.length, `all ${its.length} value(s) of the leaving peer are still fetchable`);
  });
}
