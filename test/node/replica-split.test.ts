import t from 'tap';
import { splitReplicaStore } from '../../src/node/replica-split.js';
import { encodeBody } from '../../src/wire/body.js';
import { toHex } from '../../src/wire/codec.js';
import { MessageCode } from '../../src/wire/constants.js';
import type { StoreKindData, StoredData } from '../../src/wire/storage.js';
import { ACL, KS, type Identity, aclEntry, alice, bob, carol, dave, dictValue, erin, rid, shareRegistry, signed } from '../usages/share/fixtures.js';
import { aclItem } from '../../usages/share/acl.js';

const kinds = shareRegistry({ aclNames: false });
const R = rid(alice.userName);
const signerOf = new Map<string, Identity>();
function sign(who: Identity, kind: number, v: Parameters<typeof signed>[3]): StoredData {
  const sd = signed(who, R, kind, v);
  signerOf.set(toHex(sd.signature.value), who);
  return sd;
}
const certificateOf = (_kind: number, v: StoredData) => signerOf.get(toHex(v.signature!.value))?.cert.certificate;

const writers = [alice, bob, carol, dave, erin];
const kindData: StoreKindData[] = [
  { kind: ACL, generationCounter: 7n, values: writers.map((w, i) => sign(alice, ACL, aclEntry(alice, i, aclItem(w.userName, KS.dict, true), false))) },
  { kind: KS.dict, generationCounter: 3n, values: writers.map((w) => sign(w, KS.dict, dictValue(w.nodeId, `value of ${w.userName}`))) },
];

function bodySize(kd: StoreKindData[]): number {
  return encodeBody(MessageCode.storeReq, { resource: R, replicaNumber: 1, kindData: kd }, kinds).length;
}

t.test('a resource that fits is one part with every signer certificate', async (t) => {
  const parts = splitReplicaStore(kinds, R, 1, kindData, certificateOf, 1_000_000);
  t.equal(parts.length, 1);
  t.same(parts[0]!.kindData, kindData);
  t.equal(parts[0]!.certificates.length, 5);
});

t.test('a budget splits it in order, each part within budget, with only its signers’ certificates', async (t) => {
  const budget = 4000;
  const parts = splitReplicaStore(kinds, R, 1, kindData, certificateOf, budget);
  t.ok(parts.length > 2, `${parts.length} parts`);
  const flat = parts.flatMap((p) => p.kindData.flatMap((k) => k.values.map((v) => `${k.kind}:${toHex(v.signature!.value)}`)));
  t.same(flat, kindData.flatMap((k) => k.values.map((v) => `${k.kind}:${toHex(v.signature!.value)}`)), 'every value once, Kinds and values in order');
  for (const [i, p] of parts.entries()) {
    const size = bodySize(p.kindData) + p.certificates.reduce((n, c) => n + c.length + 3, 0);
    t.ok(size <= budget, `part ${i}: ${size} bytes within ${budget}`);
    const needed = new Set(p.kindData.flatMap((k) => k.values.map((v) => toHex(certificateOf(k.kind, v)!))));
    t.same(new Set(p.certificates.map(toHex)), needed, `part ${i} carries exactly its signers' certificates`);
    for (const k of p.kindData) t.equal(k.generationCounter, k.kind === ACL ? 7n : 3n, 'generation counters copied');
  }
  const aclLast = parts.map((p) => p.kindData.some((k) => k.kind === ACL)).lastIndexOf(true);
  const dictFirst = parts.findIndex((p) => p.kindData.some((k) => k.kind === KS.dict));
  t.ok(aclLast <= dictFirst, 'the ACL Kind is sent before the Kind it governs');
});

t.test('a value larger than the budget travels alone', async (t) => {
  const big: StoreKindData[] = [{ kind: KS.dict, generationCounter: 1n, values: [sign(bob, KS.dict, dictValue(bob.nodeId, 'x'.repeat(3000))), sign(carol, KS.dict, dictValue(carol.nodeId, 'small'))] }];
  const parts = splitReplicaStore(kinds, R, 1, big, certificateOf, 1000);
  t.same(parts.map((p) => p.kindData[0]!.values.length), [1, 1]);
  t.same(splitReplicaStore(kinds, R, 1, [], certificateOf, 1000), [], 'nothing to send');
});
