/**
 * USER-CHAIN-ACL at the storing peer (RFC 8076 §6.3, §6.4, §6.6), through a DataStore built
 * like a node's, and the pure chain validation.
 */
import t from 'tap';
import { KindRegistrationError } from '../../../src/storage/kinds.js';
import { installUsages } from '../../../src/node/usage.js';
import { KindRegistry } from '../../../src/storage/kinds.js';
import { PolicyRegistry } from '../../../src/storage/policies.js';
import type { DataStore } from '../../../src/storage/store.js';
import { toHex, utf8 } from '../../../src/wire/codec.js';
import { ErrorCode } from '../../../src/wire/constants.js';
import type { StoreKindData } from '../../../src/wire/storage.js';
import { aclItem, shareArrayIndex } from '../../../usages/share/acl.js';
import { shareUsage } from '../../../usages/share/index.js';
import { type AclRecord, USER_CHAIN_ACL, delegationChain, ownerTest } from '../../../usages/share/policy.js';
import {
  ACL,
  KS,
  type Identity,
  aclEntry,
  alice,
  allCerts,
  arrayValue,
  bob,
  carol,
  dave,
  dictValue,
  enroll,
  erin,
  hash,
  newStore,
  outcome,
  put,
  refusal,
  rid,
  shareRegistry,
  signed,
  tombstone,
} from './fixtures.js';

const FORBIDDEN = ErrorCode.forbidden;
const INVALID = ErrorCode.invalidMessage;
const R = rid(alice.userName);
const idx = (who: Identity, local: number) => shareArrayIndex(who.nodeId, local);
const grant = (who: Identity, local: number, to: Identity, kind: number, ad: boolean, name?: string) =>
  aclEntry(who, local, aclItem(to.userName, kind, ad, name), name !== undefined);
const plainStore = () => newStore(shareRegistry({ aclNames: false }));

t.test('the plugin registers USER-CHAIN-ACL and ACCESS-CONTROL-LIST; the configuration’s limits win', async (t) => {
  const withConfig = shareRegistry();
  const acl = withConfig.get(ACL)!;
  t.equal(acl.accessControl, 'USER-CHAIN-ACL');
  t.equal(acl.dataModel, 'array');
  t.same([acl.maxCount, acl.maxSize], [16, 4096], 'limits of the kind-block');
  t.same(acl.params?.variableResourceNames, { enable: true, patterns: ['.*-conf-$USER@$DOMAIN'] }, 'kind-block parameters kept');
  const alone = shareRegistry({ aclNames: false }).get(ACL)!;
  t.same([alone.maxCount, alone.maxSize], [128, 2048], 'the usage defaults without a kind-block');
  // A shared Kind must be an array or a dictionary (RFC 8076 §3.1).
  const policies = new PolicyRegistry();
  const kinds = new KindRegistry({ policies });
  installUsages([shareUsage()], { kinds, policies, phase: 'policies' });
  t.equal(policies.get('user-chain-acl'), USER_CHAIN_ACL);
  try {
    kinds.register({ id: 0xf0000999, dataModel: 'single', accessControl: 'USER-CHAIN-ACL', maxCount: 1, maxSize: 1, source: 'config' });
    t.fail('a single-value Kind was accepted');
  } catch (err) {
    t.ok(err instanceof KindRegistrationError && err.reason === 'policy-refused', 'a single-value Kind is refused');
  }
});

t.test('owner grants bob (with delegation), bob grants carol, carol writes; dave is refused', async (t) => {
  const { ds } = plainStore();
  // The owner writes without any ACL (§6.3: validation can be skipped for the owner).
  t.equal(outcome(() => put(ds, R, alice, KS.dict, [dictValue(alice.nodeId, 'owner')])), 'ok', 'owner writes her own entry');
  // Nobody else can, before an ACL exists.
  t.equal(outcome(() => put(ds, R, bob, KS.dict, [dictValue(bob.nodeId, 'b')])), FORBIDDEN, 'bob before any grant');
  // Root item + grant in one StoreReq (§6.1 steps 1-2); indexes from the owner's range (Figure 1).
  t.equal(outcome(() => put(ds, R, alice, ACL, [grant(alice, 1, alice, KS.dict, true), grant(alice, 2, bob, KS.dict, true)])), 'ok', 'root + grant');
  t.ok(ds.resourceView(R).arrayEntry(ACL, 0x123abc01), 'root at 0x123abc01');
  t.ok(ds.resourceView(R).arrayEntry(ACL, 0x123abc02), 'grant at 0x123abc02');
  t.equal(outcome(() => put(ds, R, bob, ACL, [grant(bob, 1, carol, KS.dict, false)])), 'ok', 'bob delegates to carol at 0x456def01');
  t.equal(outcome(() => put(ds, R, bob, KS.dict, [dictValue(bob.nodeId, 'b')])), 'ok', 'bob writes');
  t.equal(outcome(() => put(ds, R, carol, KS.dict, [dictValue(carol.nodeId, 'c')])), 'ok', 'carol writes');
  t.equal(ds.resourceView(R).values(KS.dict).length, 3);

  // Dave was never granted: Error_Forbidden (RFC 6940 code 2).
  t.equal(FORBIDDEN, 2);
  t.equal(outcome(() => put(ds, R, dave, KS.dict, [dictValue(dave.nodeId, 'd')])), FORBIDDEN, 'dave refused');
  t.match(refusal(() => put(ds, R, dave, KS.dict, [dictValue(dave.nodeId, 'd')])), /no ACL item grants "dave@example.org" write access to Kind/);
  // Isolation (§3.1): carol cannot write bob's key; the owner cannot create entries under others' keys.
  t.match(refusal(() => put(ds, R, carol, KS.dict, [dictValue(bob.nodeId, 'x')])), /only its signer or the Resource Owner/);
  t.match(refusal(() => put(ds, R, carol, KS.dict, [dictValue(dave.nodeId, 'x')])), /is not the signer's Node-ID/);
  t.equal(outcome(() => put(ds, R, alice, KS.dict, [dictValue(dave.nodeId, 'x')])), FORBIDDEN, 'owner creates only under her own key');
  // Carol has no allow_delegation: she cannot grant.
  t.match(refusal(() => put(ds, R, carol, ACL, [grant(carol, 0, erin, KS.dict, false)])), /may not delegate/);
  // Grants are per Kind: carol may not write the array Kind.
  t.equal(outcome(() => put(ds, R, carol, KS.array, [arrayValue(idx(carol, 0), 'x')])), FORBIDDEN, 'not granted for another Kind');
  // Only the owner stores root items (§6.4); an item outside one's range is refused (§3.1).
  t.match(refusal(() => put(ds, R, bob, ACL, [grant(bob, 2, bob, KS.dict, true)])), /only the Resource Owner stores a root item/);
  t.match(refusal(() => put(ds, R, dave, ACL, [grant(dave, 0, dave, KS.dict, true)])), /only the Resource Owner stores a root item/);
  t.match(refusal(() => put(ds, R, bob, ACL, [grant(alice, 7, erin, KS.dict, true)])), /not in the signer's range/);
  t.match(refusal(() => put(ds, R, bob, ACL, [grant(alice, 2, erin, KS.dict, true)])), /signed by "alice@example.org"; only its signer or the Resource Owner/);
  // An item signed by bob but claimed in carol's range is refused.
  t.equal(outcome(() => put(ds, R, bob, ACL, [grant(carol, 5, erin, KS.dict, false)])), FORBIDDEN);
  // Step 5 of RFC 6940 §7.4.1.1: dave may not send carol's valid value either.
  const carols = signed(carol, R, KS.dict, dictValue(carol.nodeId, 'c2'));
  t.equal(outcome(() => ds.store({ resource: R, replicaNumber: 0, kindData: [{ kind: KS.dict, generationCounter: 0n, values: [carols] }] }, { requestSigner: dave.info, certificates: allCerts, replicas: [] })), FORBIDDEN);
});

t.test('arrays: each writer uses its own 256-slot range', async (t) => {
  const { ds } = plainStore();
  put(ds, R, alice, ACL, [grant(alice, 0, alice, KS.array, true), grant(alice, 1, carol, KS.array, false)]);
  t.equal(outcome(() => put(ds, R, carol, KS.array, [arrayValue(idx(carol, 0), 'c0'), arrayValue(idx(carol, 255), 'c255')])), 'ok');
  t.match(refusal(() => put(ds, R, carol, KS.array, [arrayValue(idx(alice, 0), 'x')])), /not in the signer's range/);
  // An append (0xFFFFFFFF) lands after the highest index, which is not carol's: refused.
  t.equal(outcome(() => put(ds, R, carol, KS.array, [arrayValue(0xffffffff, 'x')])), FORBIDDEN, 'appends are refused');
  t.equal(outcome(() => put(ds, R, alice, KS.array, [arrayValue(idx(alice, 9), 'a')])), 'ok', 'owner in her range');
  // The owner may overwrite an existing entry in anyone's range (§8: "overwrite malicious contributions").
  t.equal(outcome(() => put(ds, R, alice, KS.array, [{ model: 'array', index: idx(carol, 0), value: { exists: false, value: new Uint8Array(0) } }])), 'ok');
  t.equal(ds.resourceView(R).arrayEntry(KS.array, idx(carol, 0))?.signer.certificate.userName, alice.userName);
});

t.test('an index collision (§6.1): a colliding writer may not overwrite the other’s items', async (t) => {
  const { ds } = plainStore();
  const mallory = enroll('mallory@example.org', 0x456def, 0xa0); // same low 24 bits as bob
  put(ds, R, alice, ACL, [grant(alice, 0, alice, KS.dict, true), grant(alice, 1, bob, KS.dict, true), grant(alice, 2, mallory, KS.dict, true)]);
  put(ds, R, bob, ACL, [grant(bob, 0, carol, KS.dict, false)]);
  t.equal(idx(mallory, 0), idx(bob, 0), 'the ranges collide');
  const attempt = () =>
    ds.store(
      { resource: R, replicaNumber: 0, kindData: [{ kind: ACL, generationCounter: 0n, values: [signed(mallory, R, ACL, grant(mallory, 0, erin, KS.dict, true))] }] },
      { requestSigner: mallory.info, certificates: [...allCerts, mallory.cert], replicas: [] },
    );
  t.match(refusal(attempt), /signed by "bob@example.org"; only its signer or the Resource Owner may overwrite it/);
  t.equal(ds.resourceView(R).arrayEntry(ACL, idx(bob, 0))?.signer.certificate.userName, bob.userName, 'bob’s item is intact');
  // Mallory's next slot is free: she can use it.
  t.equal(
    outcome(() =>
      ds.store(
        { resource: R, replicaNumber: 0, kindData: [{ kind: ACL, generationCounter: 0n, values: [signed(mallory, R, ACL, grant(mallory, 1, erin, KS.dict, false))] }] },
        { requestSigner: mallory.info, certificates: [...allCerts, mallory.cert], replicas: [] },
      ),
    ),
    'ok',
  );
});

t.test('revocation (§6.2): revoking bob invalidates his delegations', async (t) => {
  const { ds } = plainStore();
  put(ds, R, alice, ACL, [grant(alice, 0, alice, KS.dict, true), grant(alice, 1, bob, KS.dict, true)]);
  put(ds, R, bob, ACL, [grant(bob, 0, carol, KS.dict, true)]);
  put(ds, R, carol, ACL, [grant(carol, 0, dave, KS.dict, false)]);
  for (const w of [bob, carol, dave]) t.equal(outcome(() => put(ds, R, w, KS.dict, [dictValue(w.nodeId, 'v')])), 'ok', `${w.userName} writes`);
  // The owner revokes bob's item (it is hers, at her index) with a non-existent value.
  t.equal(outcome(() => put(ds, R, alice, ACL, [tombstone(idx(alice, 1))])), 'ok', 'owner revokes bob');
  t.equal(ds.resourceView(R).arrayEntry(ACL, idx(alice, 1))?.data.value.value.exists, false);
  for (const w of [bob, carol, dave]) {
    t.equal(outcome(() => put(ds, R, w, KS.dict, [dictValue(w.nodeId, 'again')])), FORBIDDEN, `${w.userName} refused after the revocation`);
  }
  // Revoked bob may not touch what he delegated (his chain is gone)...
  t.equal(outcome(() => put(ds, R, bob, ACL, [tombstone(idx(bob, 0))])), FORBIDDEN, 'bob can no longer revoke carol');
  // ...while the owner can overwrite the invalidated subtree (§6.2 SHOULD).
  t.equal(outcome(() => put(ds, R, alice, ACL, [tombstone(idx(bob, 0)), tombstone(idx(carol, 0))])), 'ok', 'owner clears the subtree');
  // A re-grant restores bob (a new item at a new index).
  put(ds, R, alice, ACL, [grant(alice, 2, bob, KS.dict, false)]);
  t.equal(outcome(() => put(ds, R, bob, KS.dict, [dictValue(bob.nodeId, 'back')])), 'ok');
  t.equal(outcome(() => put(ds, R, carol, KS.dict, [dictValue(carol.nodeId, 'no')])), FORBIDDEN, 'carol stays out');
  // Overwriting the root item with a non-existent value invalidates the whole tree.
  put(ds, R, alice, ACL, [tombstone(idx(alice, 0))]);
  t.match(refusal(() => put(ds, R, bob, KS.dict, [dictValue(bob.nodeId, 'x')])), /reaches a root item/);
  t.equal(outcome(() => put(ds, R, alice, KS.dict, [dictValue(alice.nodeId, 'owner still writes')])), 'ok');
});

t.test('a broken link: an intermediate without allow_delegation breaks the chain below it', async (t) => {
  const { ds } = plainStore();
  put(ds, R, alice, ACL, [grant(alice, 0, alice, KS.dict, true), grant(alice, 1, bob, KS.dict, true)]);
  put(ds, R, bob, ACL, [grant(bob, 0, carol, KS.dict, true)]);
  put(ds, R, carol, ACL, [grant(carol, 0, erin, KS.dict, false)]);
  t.equal(outcome(() => put(ds, R, erin, KS.dict, [dictValue(erin.nodeId, 'e')])), 'ok', 'erin ← carol ← bob ← root');
  // The owner overwrites bob's item with allow_delegation = 0.
  put(ds, R, alice, ACL, [grant(alice, 1, bob, KS.dict, false)]);
  t.equal(outcome(() => put(ds, R, bob, KS.dict, [dictValue(bob.nodeId, 'b')])), 'ok', 'bob still writes data');
  t.equal(outcome(() => put(ds, R, carol, KS.dict, [dictValue(carol.nodeId, 'c')])), FORBIDDEN, 'carol: bob may not delegate');
  t.equal(outcome(() => put(ds, R, erin, KS.dict, [dictValue(erin.nodeId, 'e2')])), FORBIDDEN, 'erin: a link without allow_delegation');
  t.equal(outcome(() => put(ds, R, bob, ACL, [grant(bob, 1, dave, KS.dict, false)])), FORBIDDEN, 'bob may not grant');
  // A root item without allow_delegation delegates nothing either.
  const { ds: ds2 } = plainStore();
  put(ds2, R, alice, ACL, [grant(alice, 0, alice, KS.dict, false), grant(alice, 1, bob, KS.dict, true)]);
  t.match(refusal(() => put(ds2, R, bob, KS.dict, [dictValue(bob.nodeId, 'b')])), /reaches a root item/);
});

t.test('a delegation cycle (bob → carol → bob) ends, and without the root it grants nothing', async (t) => {
  const { ds } = plainStore();
  put(ds, R, alice, ACL, [grant(alice, 0, alice, KS.dict, true), grant(alice, 1, bob, KS.dict, true)]);
  put(ds, R, bob, ACL, [grant(bob, 0, carol, KS.dict, true)]);
  put(ds, R, carol, ACL, [grant(carol, 0, bob, KS.dict, true)]);
  t.equal(outcome(() => put(ds, R, carol, KS.dict, [dictValue(carol.nodeId, 'c')])), 'ok');
  put(ds, R, alice, ACL, [tombstone(idx(alice, 1))]);
  const started = process.hrtime.bigint();
  t.equal(outcome(() => put(ds, R, bob, KS.dict, [dictValue(bob.nodeId, 'b')])), FORBIDDEN, 'bob: only the cycle is left');
  t.equal(outcome(() => put(ds, R, carol, KS.dict, [dictValue(carol.nodeId, 'c2')])), FORBIDDEN, 'carol too');
  t.ok(process.hrtime.bigint() - started < 2_000_000_000n, 'and it ends');
});

t.test('forged links are refused', async (t) => {
  const { ds } = plainStore();
  put(ds, R, alice, ACL, [grant(alice, 0, alice, KS.dict, true), grant(alice, 1, bob, KS.dict, true)]);
  const send = (sd: ReturnType<typeof signed>, by: Identity) =>
    outcome(() => ds.store({ resource: R, replicaNumber: 0, kindData: [{ kind: ACL, generationCounter: 0n, values: [sd] }] }, { requestSigner: by.info, certificates: allCerts, replicas: [] }));
  // A tampered item: bob's signature over "carol, no delegation", the value changed to delegation.
  const tampered = signed(bob, R, ACL, grant(bob, 0, carol, KS.dict, false));
  const bytes = new Uint8Array(tampered.value.value.value);
  bytes[bytes.length - 1] = 1;
  t.equal(send({ ...tampered, value: { ...tampered.value, value: { exists: true, value: bytes } } as typeof tampered.value }, bob), FORBIDDEN, 'a tampered item');
  // An item dave signed but claimed as bob's (bob's certificate in the signer identity).
  const byDave = signed(dave, R, ACL, grant(bob, 0, carol, KS.dict, true));
  const claimed = signed(bob, R, ACL, grant(bob, 0, erin, KS.dict, true));
  t.equal(send({ ...byDave, signature: { ...byDave.signature, identity: claimed.signature.identity } }, bob), FORBIDDEN, 'signed by someone else than claimed');
  // A root item signed by someone who is not the owner does not anchor a chain.
  t.equal(outcome(() => put(ds, R, dave, ACL, [grant(dave, 0, dave, KS.dict, true)])), FORBIDDEN);
  t.equal(ds.resourceView(R).values(ACL).length, 2, 'nothing forged was stored');
  t.equal(outcome(() => put(ds, R, erin, KS.dict, [dictValue(erin.nodeId, 'e')])), FORBIDDEN);
});

t.test('variable resource names (§5, §6.6)', async (t) => {
  const { ds } = newStore(); // KS.named and the ACL kind enable names with .*-conf-$USER@$DOMAIN
  const NAME = 'team-conf-alice@example.org';
  const RN = rid(NAME);
  t.equal(outcome(() => put(ds, RN, alice, ACL, [grant(alice, 0, alice, KS.named, true, NAME), grant(alice, 1, bob, KS.named, true, NAME)])), 'ok', 'the owner by pattern stores root + grant');
  t.equal(outcome(() => put(ds, RN, alice, KS.named, [dictValue(alice.nodeId, 'focus-a', NAME)])), 'ok', 'the owner writes');
  t.equal(outcome(() => put(ds, RN, bob, KS.named, [dictValue(bob.nodeId, 'focus-b', NAME)])), 'ok', 'bob (granted) writes');
  t.equal(outcome(() => put(ds, RN, erin, KS.named, [dictValue(erin.nodeId, 'x', NAME)])), FORBIDDEN, 'erin not granted');
  t.equal(outcome(() => put(ds, RN, bob, KS.named, [dictValue(bob.nodeId, 'no extension')])), INVALID, 'a named value must begin with the extension');
  t.match(refusal(() => put(ds, RN, bob, KS.named, [dictValue(bob.nodeId, 'x', 'other-conf-alice@example.org')])), /hashed Resource Name is not the Resource-ID/);
  // An ACL item without res_name_ext cannot be decoded under this Kind-block.
  t.equal(outcome(() => put(ds, RN, bob, ACL, [aclEntry(bob, 0, aclItem(carol.userName, KS.named, false), false)])), INVALID);
  // A name outside the pattern: alice owns no "-meet-" names.
  const MEET = 'team-meet-alice@example.org';
  t.match(refusal(() => put(ds, rid(MEET), alice, ACL, [grant(alice, 0, alice, KS.named, true, MEET)])), /only the Resource Owner stores a root item/);
  t.equal(outcome(() => put(ds, rid(MEET), alice, KS.named, [dictValue(alice.nodeId, 'x', MEET)])), FORBIDDEN, 'no value either');
  // Bob cannot claim a name made of alice's user name.
  const CLAIM = 'x-conf-alice@example.org';
  t.equal(outcome(() => put(ds, rid(CLAIM), bob, ACL, [grant(bob, 0, bob, KS.named, true, CLAIM)])), FORBIDDEN, 'bob cannot own alice’s names');
  t.equal(outcome(() => put(ds, rid(CLAIM), alice, ACL, [grant(alice, 0, alice, KS.named, true, CLAIM)])), 'ok', 'alice can');
  // Revoking at a variable name: the owner is recognized from the name the stored items carry.
  t.equal(outcome(() => put(ds, RN, alice, ACL, [tombstone(idx(alice, 1))])), 'ok', 'owner revokes bob (a value without a name)');
  t.equal(outcome(() => put(ds, RN, bob, KS.named, [dictValue(bob.nodeId, 'again', NAME)])), FORBIDDEN, 'bob refused after revocation');
  // The user-name resource still works with names enabled (USER-MATCH owner, extension names it).
  t.equal(outcome(() => put(ds, R, alice, ACL, [grant(alice, 0, alice, KS.named, true, alice.userName), grant(alice, 1, carol, KS.named, false, alice.userName)])), 'ok');
  t.equal(outcome(() => put(ds, R, carol, KS.named, [dictValue(carol.nodeId, 'c', alice.userName)])), 'ok');
});

t.test('an invalid pattern is ignored: names fall back to the user name (§5.3)', async (t) => {
  const { ds } = newStore(shareRegistry({ patterns: ['.*-conf-$USER'] })); // no $DOMAIN
  const NAME = 'team-conf-alice@example.org';
  t.equal(outcome(() => put(ds, rid(NAME), alice, ACL, [grant(alice, 0, alice, KS.named, true, NAME)])), FORBIDDEN, 'not an owner by pattern');
  t.equal(outcome(() => put(ds, R, alice, ACL, [grant(alice, 0, alice, KS.named, true, alice.userName)])), 'ok', 'the user name still works');
});

function exportOf(ds: DataStore): string[] {
  return (ds.exportResource(R) ?? []).flatMap((k) => k.values.map((v) => `${k.kind}:${JSON.stringify(v.value, (_, x) => (x instanceof Uint8Array ? toHex(x) : x))}:${v.storageTime}`)).sort();
}

function replicate(from: DataStore, to: DataStore): number | 'ok' {
  const ex = from.exportWithCertificates(R)!;
  const kindData: StoreKindData[] = ex.kindData;
  return outcome(() => to.store({ resource: R, replicaNumber: 1, kindData }, { requestSigner: alice.info, certificates: allCerts, replicas: [] }));
}

t.test('replica stores: the same checks against the ACL the replica holds; refused values are left out', async (t) => {
  const { ds: primary } = plainStore();
  // A chain whose links sit at indexes in the "wrong" order: carol's item (0x000102xx) is
  // below erin's (0x777777xx), which it depends on.
  put(primary, R, alice, ACL, [grant(alice, 0, alice, KS.dict, true), grant(alice, 1, erin, KS.dict, true)]);
  put(primary, R, erin, ACL, [grant(erin, 0, carol, KS.dict, true)]);
  put(primary, R, carol, ACL, [grant(carol, 0, dave, KS.dict, false)]);
  for (const w of [alice, erin, carol, dave]) put(primary, R, w, KS.dict, [dictValue(w.nodeId, `${w.userName}`)]);
  const { ds: replica } = plainStore();
  t.equal(replicate(primary, replica), 'ok', 'the snapshot is accepted');
  t.same(exportOf(replica), exportOf(primary), 'the replica holds exactly what the primary holds');
  t.equal(replica.resourceView(R).values(KS.dict).length, 4);
  t.equal(replica.resourceView(R).values(ACL).length, 4);
  // Replication is idempotent.
  t.equal(replicate(primary, replica), 'ok');
  t.same(exportOf(replica), exportOf(primary));

  // The owner revokes erin: carol's and dave's entries now fail the chain, but the primary keeps them.
  put(primary, R, alice, ACL, [tombstone(idx(alice, 1))]);
  put(primary, R, alice, KS.dict, [dictValue(alice.nodeId, 'after revocation')]);
  t.equal(primary.resourceView(R).values(KS.dict).length, 4, 'the primary still holds the stale entries');
  // A replica that already holds them keeps its copies; the new ACL and values arrive.
  t.equal(replicate(primary, replica), 'ok', 'the next snapshot is not refused as a whole');
  t.equal(replica.resourceView(R).arrayEntry(ACL, idx(alice, 1))?.data.value.value.exists, false, 'the revocation reached the replica');
  t.equal(Buffer.from(replica.resourceView(R).dictionaryEntry(KS.dict, alice.nodeId)!.data.value.value.value).toString(), 'after revocation');
  // A new replica does not take entries whose chain is broken.
  const { ds: fresh } = plainStore();
  t.equal(replicate(primary, fresh), 'ok');
  t.same(
    fresh.resourceView(R).values(KS.dict).map((v) => v.signer.certificate.userName).sort(),
    [alice.userName],
    'only the owner’s entry: erin, carol and dave lost their chain',
  );
});

t.test('delegationChain (pure): paths, alternative grantors, cycles, Kinds', async (t) => {
  const rec = (index: number, signer: string, to: string, kind: number, ad: boolean, exists = true): AclRecord => ({
    index,
    item: exists ? aclItem(to, kind, ad) : undefined,
    signerUser: utf8(signer),
    signerNodeId: new Uint8Array(16),
  });
  const owner = 'o@x';
  const isOwner = ownerTest(hash, hash(utf8(owner)), undefined, []);
  t.ok(isOwner(utf8(owner)));
  t.notOk(isOwner(utf8('a@x')));
  t.notOk(isOwner(new Uint8Array(0)), 'an empty user name owns nothing');
  const acl = [rec(1, owner, owner, 7, true), rec(2, owner, 'a@x', 7, true), rec(3, 'a@x', 'b@x', 7, false), rec(4, 'z@x', 'b@x', 7, true)];
  const r = delegationChain(utf8('b@x'), 7, acl, isOwner, false);
  t.same(r.valid ? r.path.map((p) => p.index) : r.reason, [3, 2, 1], 'b ← a ← root');
  const w = delegationChain(utf8('b@x'), 7, acl, isOwner, true);
  t.same(w, { valid: false, reason: 'no delegation chain for "b@x" reaches a root item of Kind 7 signed by the Resource Owner' }, 'z’s grant with delegation has no chain');
  const acl2 = [...acl, rec(5, 'a@x', 'b@x', 7, true)];
  const w2 = delegationChain(utf8('b@x'), 7, acl2, isOwner, true);
  t.same(w2.valid ? w2.path.map((p) => p.index) : w2.reason, [5, 2, 1], 'another grantor with delegation');
  t.same(delegationChain(utf8('b@x'), 8, acl2, isOwner, false), { valid: false, reason: 'no ACL item grants "b@x" write access to Kind 8' }, 'grants are per Kind');
  // A revoked (non-existent) link breaks the chain.
  const acl3 = [rec(1, owner, owner, 7, true), rec(2, owner, 'a@x', 7, true, false), rec(3, 'a@x', 'b@x', 7, false)];
  t.equal(delegationChain(utf8('b@x'), 7, acl3, isOwner, false).valid, false);
  // Cycles: a ↔ b without a root, and a ring of 500 users.
  const cycle = [rec(1, 'a@x', 'b@x', 7, true), rec(2, 'b@x', 'a@x', 7, true)];
  t.equal(delegationChain(utf8('a@x'), 7, cycle, isOwner, true).valid, false, 'a → b → a ends');
  const ring = Array.from({ length: 500 }, (_, i) => rec(i, `u${i}@x`, `u${(i + 1) % 500}@x`, 7, true));
  const t0 = process.hrtime.bigint();
  t.equal(delegationChain(utf8('u0@x'), 7, ring, isOwner, true).valid, false, 'a ring of 500 ends');
  t.ok(process.hrtime.bigint() - t0 < 2_000_000_000n);
  // A self-grant by someone who is not the owner is not a root.
  t.equal(delegationChain(utf8('z@x'), 7, [rec(1, 'z@x', 'z@x', 7, true)], isOwner, false).valid, false);
  // User names are compared as bytes: no case folding, no normalization.
  t.equal(delegationChain(utf8('B@x'), 7, acl, isOwner, false).valid, false);
  const composed = [...acl, rec(6, owner, '\u00e9@x', 7, false)];
  t.equal(delegationChain(utf8('\u00e9@x'), 7, composed, isOwner, false).valid, true, 'é (composed) is granted');
  t.equal(delegationChain(utf8('e\u0301@x'), 7, composed, isOwner, false).valid, false, 'e + combining accent is another user');
});
