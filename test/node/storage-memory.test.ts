import t from 'tap';
import { randomBytes } from 'node:crypto';
import { testCredentials } from '../helpers/identities.js';
import { KIND_ARRAY_NODE, KIND_DICT_USER_NODE, KIND_SINGLE_MULTIPLE, KIND_SINGLE_USER, testnet } from '../helpers/testnet.js';
import { signValues } from '../../src/node/data.js';
import { storedTexts } from '../helpers/values.js';
import { resourceIdOf } from '../../src/wire/ids.js';
import { concatBytes, toHex, utf8 } from '../../src/wire/codec.js';
import { ErrorCode } from '../../src/wire/constants.js';
import { ReloadError } from '../../src/common/errors.js';
import type { ReloadNode } from '../../src/node/node.js';
import type { Testnet } from '../../src/node/testnet.js';

async function ring(n: number, seed: number): Promise<{ net: Testnet; nodes: ReloadNode[] }> {
  // Neighbor Updates every 5 s double as liveness checks on the memory link (no TCP FIN).
  const net = testnet({ seed, chord: { updateIntervalMs: 5000 } });
  for (let i = 0; i < n; i++) await net.add(testCredentials(`user${i}`, new Uint8Array(randomBytes(16))));
  await net.settle(10_000);
  return { net, nodes: net.nodes };
}

// eslint-disable-next-line @typescript-eslint/no-explicit-any
type TestLike = { ok(...a: any[]): unknown; equal(...a: any[]): unknown; fail(...a: any[]): unknown };

async function refusedWith(t: TestLike, p: Promise<unknown>, code: number, what: string): Promise<void> {
  try {
    await p;
    t.fail(`${what}: expected error ${code}`);
  } catch (err) {
    t.ok(err instanceof ReloadError, `${what}: a ReloadError`);
    t.equal((err as ReloadError).errorCode, code, `${what}: error code ${code}`);
  }
}

t.test('every data model and policy through an 8-peer ring', async (t) => {
  const { net, nodes } = await ring(8, 11);
  const [a, b] = [nodes[2]!, nodes[5]!];
  const userA = a.signer.credentials.certificate.userName!;
  const now = () => net.clock.now();

  // USER-MATCH single value at Hash(user name).
  const resA = resourceIdOf(userA);
  const single = await signValues(a.signer, resA, KIND_SINGLE_USER, [{ model: 'single', value: utf8('hello') }], now());
  const ans = await net.run(a.store(resA, [{ kind: KIND_SINGLE_USER, generationCounter: 0n, values: single }]));
  t.equal(ans.kindResponses[0]!.generationCounter, 1n, 'generation counter starts at 1');
  t.equal(ans.kindResponses[0]!.replicas.length, 2, 'two replicas named');
  // Fetch it from another peer.
  const f = await net.run(nodes[7]!.fetch(resA, [{ kind: KIND_SINGLE_USER, generation: 0n, model: 'single' }]));
  const v = f.answer.kindResponses[0]!.values[0]!;
  t.equal(v.value.model, 'single');
  t.equal(Buffer.from((v.value as { value: { value: Uint8Array } }).value.value).toString(), 'hello');
  // The wrong signer is refused.
  const forged = await signValues(b.signer, resA, KIND_SINGLE_USER, [{ model: 'single', value: utf8('mine') }], now() + 1);
  await refusedWith(t, net.run(b.store(resA, [{ kind: KIND_SINGLE_USER, generationCounter: 0n, values: forged }])), ErrorCode.forbidden, 'USER-MATCH wrong user');

  // NODE-MATCH array at Hash(Node-ID).
  const resNodeA = resourceIdOf(a.nodeId);
  const arr = await signValues(a.signer, resNodeA, KIND_ARRAY_NODE, [{ model: 'array', value: utf8('x') }, { model: 'array', value: utf8('y') }], now());
  await net.run(a.store(resNodeA, [{ kind: KIND_ARRAY_NODE, generationCounter: 0n, values: arr }]));
  const fa = await net.run(b.fetch(resNodeA, [{ kind: KIND_ARRAY_NODE, generation: 0n, model: 'array', indices: [{ first: 0, last: 0xffffffff }] }]));
  t.same(fa.answer.kindResponses[0]!.values.map((x) => (x.value as { index: number }).index), [0, 1], 'appended at 0 and 1');
  const wrongArr = await signValues(b.signer, resNodeA, KIND_ARRAY_NODE, [{ model: 'array', value: utf8('z') }], now() + 5);
  await refusedWith(t, net.run(b.store(resNodeA, [{ kind: KIND_ARRAY_NODE, generationCounter: 0n, values: wrongArr }])), ErrorCode.forbidden, 'NODE-MATCH wrong node');

  // USER-NODE-MATCH dictionary keyed by Node-ID.
  const dict = await signValues(a.signer, resA, KIND_DICT_USER_NODE, [{ model: 'dictionary', key: a.nodeId, value: utf8('reg') }], now());
  await net.run(a.store(resA, [{ kind: KIND_DICT_USER_NODE, generationCounter: 0n, values: dict }]));
  const badKey = await signValues(a.signer, resA, KIND_DICT_USER_NODE, [{ model: 'dictionary', key: b.nodeId, value: utf8('reg') }], now() + 2);
  await refusedWith(t, net.run(a.store(resA, [{ kind: KIND_DICT_USER_NODE, generationCounter: 0n, values: badKey }])), ErrorCode.forbidden, 'USER-NODE-MATCH wrong key');
  const fd = await net.run(b.fetch(resA, [{ kind: KIND_DICT_USER_NODE, generation: 0n, model: 'dictionary', keys: [] }]));
  t.equal(fd.answer.kindResponses[0]!.values.length, 1, 'one dictionary entry');

  // NODE-MULTIPLE: Hash(Node-ID || i) for i = 1..3.
  const resMulti = resourceIdOf(concatBytes(a.nodeId, new Uint8Array([2])));
  const m = await signValues(a.signer, resMulti, KIND_SINGLE_MULTIPLE, [{ model: 'single', value: utf8('turn') }], now());
  await net.run(a.store(resMulti, [{ kind: KIND_SINGLE_MULTIPLE, generationCounter: 0n, values: m }]));
  const resMulti9 = resourceIdOf(concatBytes(a.nodeId, new Uint8Array([9])));
  const m9 = await signValues(a.signer, resMulti9, KIND_SINGLE_MULTIPLE, [{ model: 'single', value: utf8('turn') }], now());
  await refusedWith(t, net.run(a.store(resMulti9, [{ kind: KIND_SINGLE_MULTIPLE, generationCounter: 0n, values: m9 }])), ErrorCode.forbidden, 'NODE-MULTIPLE beyond max');

  // Data too old, generation counter too low.
  const old = await signValues(a.signer, resA, KIND_SINGLE_USER, [{ model: 'single', value: utf8('old') }], now() - 60_000);
  await refusedWith(t, net.run(a.store(resA, [{ kind: KIND_SINGLE_USER, generationCounter: 0n, values: old }])), ErrorCode.dataTooOld, 'older storage_time');
  const newer = await signValues(a.signer, resA, KIND_SINGLE_USER, [{ model: 'single', value: utf8('new') }], now() + 10);
  await refusedWith(t, net.run(a.store(resA, [{ kind: KIND_SINGLE_USER, generationCounter: 7n, values: newer }])), ErrorCode.generationCounterTooLow, 'wrong generation');
  for (const n of nodes) await n.stop();
});

/** `writer` stores `text` under its user name's Resource-ID (USER-MATCH single value); returns that Resource-ID once replicated. */
async function storeUserValue(net: Testnet, writer: ReloadNode, text: string): Promise<Uint8Array> {
  const res = resourceIdOf(writer.signer.credentials.certificate.userName!);
  const vals = await signValues(writer.signer, res, KIND_SINGLE_USER, [{ model: 'single', value: utf8(text) }], net.clock.now());
  await net.run(writer.store(res, [{ kind: KIND_SINGLE_USER, generationCounter: 0n, values: vals }]));
  await net.settle(1000);
  return res;
}

t.test('a crashed peer loses no data; a leaving peer hands its data over', async (t) => {
  const { net, nodes } = await ring(8, 23);
  const writer = nodes[0]!;
  const res = await storeUserValue(net, writer, 'durable');
  const holder = nodes.find((n) => n.topology.isResponsible(res))!;
  t.ok(holder, 'someone is responsible');
  const reader = nodes.find((n) => n !== holder && n !== writer)!;
  // Crash the responsible peer: no Leave, links just go silent.
  const addr = holder.addresses[0]!.address;
  net.network.kill(addr);
  holder.router.stop();
  holder.topology.stop();
  await net.settle(120_000);
  const f = await net.run(reader.fetch(res, [{ kind: KIND_SINGLE_USER, generation: 0n, model: 'single' }]));
  t.same(storedTexts(f.answer), ['durable'], 'value still fetchable after the crash');
  t.not(toHex(f.from), toHex(holder.nodeId), 'answered by another peer');
  // The ring repaired: every survivor's successor is alive.
  const alive = nodes.filter((n) => n !== holder);
  for (const n of alive) {
    t.not(toHex(n.topology.snapshot().successors[0]!), toHex(holder.nodeId), 'no survivor points at the dead peer');
  }
  // Graceful leave of the new responsible peer hands the data over.
  const holder2 = alive.find((n) => n.topology.isResponsible(res))!;
  await net.run(holder2.leave());
  await net.settle(30_000);
  const rest = alive.filter((n) => n !== holder2);
  const f2 = await net.run(rest[0]!.fetch(res, [{ kind: KIND_SINGLE_USER, generation: 0n, model: 'single' }]));
  t.same(storedTexts(f2.answer), ['durable'], 'value fetchable after a graceful leave');
  const newHolder = rest.find((n) => n.topology.isResponsible(res))!;
  t.ok(newHolder.storage.exportResource(res).length > 0, 'new responsible peer holds it');
  for (const n of nodes) await n.stop();
});

t.test('a replica holder that leaves is replaced at once, not after the 30 s failure hold-down', async (t) => {
  const { net, nodes } = await ring(8, 29);
  const res = await storeUserValue(net, nodes[0]!, 'kept');
  const holds = (n: ReloadNode) => n.storage.exportResource(res).length > 0;
  const responsible = nodes.find((n) => n.topology.isResponsible(res))!;
  const [first] = responsible.topology.replicaSet(res).map((id) => nodes.find((n) => toHex(n.nodeId) === toHex(id))!);
  t.equal(nodes.filter(holds).length, 3, 'three copies: the responsible peer and two replicas');
  t.ok(holds(first!), 'the first replica holds it');
  await net.run(first!.leave());
  // Well inside the hold-down a failure would wait (30 s): the Leave named the successors.
  await net.settle(5000);
  const alive = nodes.filter((n) => n !== first);
  const set = responsible.topology.replicaSet(res).map(toHex);
  t.notOk(set.includes(toHex(first!.nodeId)), 'the leaver is out of the replica set');
  for (const id of set) t.ok(holds(alive.find((n) => toHex(n.nodeId) === id)!), `replica-set member ${id.slice(0, 8)} holds a copy 5 s after the Leave`);
  t.equal(alive.filter(holds).length, 3, 'three live copies again');
  for (const n of nodes) await n.stop();
});

t.test('a former replica hands its copy to the responsible peer before dropping it', async (t) => {
  const { net, nodes } = await ring(8, 31);
  const res = await storeUserValue(net, nodes[0]!, 'last copy');
  const holds = (n: ReloadNode) => n.storage.exportResource(res).length > 0;
  const byId = (id: Uint8Array) => nodes.find((n) => toHex(n.nodeId) === toHex(id))!;
  const responsible = nodes.find((n) => n.topology.isResponsible(res))!;
  const [first, second] = responsible.topology.replicaSet(res).map(byId);
  t.equal(nodes.filter(holds).length, 3, 'three copies');
  // The churn trace's state: the responsible peer and the first replica lost the value
  // (the peer now responsible took the range over from a holder that crashed before
  // replicating); the second replica keeps the only copy.
  responsible.storage.dropResource(res);
  first!.storage.dropResource(res);
  t.equal(nodes.filter(holds).length, 1, 'one copy left, at the second replica');
  // A peer joins between the responsible peer and the first replica: the second replica
  // is now third in line and drops the value as foreign after the hold-down.
  const lo = BigInt(`0x${toHex(responsible.nodeId)}`);
  const hi = BigInt(`0x${toHex(first!.nodeId)}`);
  const span = hi > lo ? hi - lo : hi + (1n << 128n) - lo;
  const mid = (lo + span / 2n) % (1n << 128n);
  const joinerId = Uint8Array.from(Buffer.from(mid.toString(16).padStart(32, '0'), 'hex'));
  const joiner = await net.add(testCredentials('joiner', joinerId));
  t.same(responsible.topology.replicaSet(res).map(toHex), [toHex(joiner.nodeId), toHex(first!.nodeId)], 'the joiner is the first replica now');
  await net.settle(90_000);
  t.notOk(holds(second!), 'the former second replica dropped its copy');
  t.ok(holds(responsible), 'the responsible peer holds the value it was handed');
  t.ok(holds(joiner) && holds(first!), 'and passed it on to its replica set');
  const f = await net.run(nodes[3]!.fetch(res, [{ kind: KIND_SINGLE_USER, generation: 0n, model: 'single' }]));
  t.same(storedTexts(f.answer), ['last copy'], 'fetchable');
  for (const n of [...nodes, joiner]) await n.stop();
});
