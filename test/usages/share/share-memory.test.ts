/**
 * ShaRe end to end on the memory testnet (virtual time): 8 peers, the client API of the
 * usage (grant, revoke, listAcl, writeShared, fetchShared, validateFetched), refusals with
 * the RFC error code, variable resource names, and the replica set holding the same data.
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { ReloadError } from '../../../src/common/errors.js';
import { signValues } from '../../../src/node/data.js';
import type { ReloadNode } from '../../../src/node/node.js';
import type { Testnet } from '../../../src/node/testnet.js';
import { installUsages } from '../../../src/node/usage.js';
import { toHex, utf8 } from '../../../src/wire/codec.js';
import { ErrorCode } from '../../../src/wire/constants.js';
import { resourceIdOf } from '../../../src/wire/ids.js';
import { ACCESS_CONTROL_LIST_KIND, aclItem, encodeAclItem, shareArrayIndex } from '../../../usages/share/acl.js';
import { type ShareUsage, ShareUsageError, shareUsage } from '../../../usages/share/index.js';
import { testCredentials, TEST_OVERLAY } from '../../helpers/identities.js';
import { KIND_SINGLE_USER, testnet } from '../../helpers/testnet.js';
import { CONF_PATTERN, KS } from './fixtures.js';

const ACL = ACCESS_CONTROL_LIST_KIND;
const USERS = ['alice', 'bob', 'carol', 'dave', 'erin', 'frank', 'grace', 'heidi'];

interface Peer {
  user: string;
  node: ReloadNode;
  share: ShareUsage;
}

/** An 8-peer ring, each peer with the ShaRe usage and the shared Kinds of the configuration. */
async function shareNet(seed: number): Promise<{ net: Testnet; peers: Record<string, Peer> }> {
  const net = testnet({ seed, chord: { updateIntervalMs: 5000 } });
  const peers: Record<string, Peer> = {};
  const names = { variableResourceNames: { enable: true, patterns: [CONF_PATTERN] } };
  for (const user of USERS) {
    const node = net.createNode(testCredentials(user, new Uint8Array(randomBytes(16))));
    const share = shareUsage();
    // As createNode does: usage policies, the configuration's Kinds, then usage Kinds.
    installUsages([share], { kinds: node.kinds, policies: node.kinds.policies, phase: 'policies' });
    node.kinds.register({ id: KS.dict, dataModel: 'dictionary', accessControl: 'USER-CHAIN-ACL', maxCount: 32, maxSize: 512, source: 'config' });
    node.kinds.register({ id: KS.array, dataModel: 'array', accessControl: 'USER-CHAIN-ACL', maxCount: 32, maxSize: 512, source: 'config' });
    node.kinds.register({ id: KS.named, dataModel: 'dictionary', accessControl: 'USER-CHAIN-ACL', maxCount: 32, maxSize: 512, source: 'config', params: names });
    node.kinds.register({ id: ACL, dataModel: 'array', accessControl: 'USER-CHAIN-ACL', maxCount: 64, maxSize: 1024, source: 'config', params: names });
    installUsages([share], { kinds: node.kinds, policies: node.kinds.policies, phase: 'kinds' });
    await net.run(node.start());
    share.start(node.usageApi('share'));
    peers[user] = { user: `${user}@${TEST_OVERLAY}`, node, share };
  }
  await net.settle(15_000);
  return { net, peers };
}

/** The RFC 6940 error code a call fails with, or 'ok'. */
async function codeOf(net: Testnet, p: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await net.run(p);
    return 'ok';
  } catch (err) {
    if (err instanceof ReloadError) return err.errorCode;
    throw err;
  }
}

/** The reason of the ShareUsageError a call fails with. */
async function usageError(net: Testnet, p: Promise<unknown>): Promise<string> {
  try {
    await net.run(p);
    return 'resolved';
  } catch (err) {
    if (err instanceof ShareUsageError) return err.reason;
    throw err;
  }
}

/** The peers that hold a resource, and a fingerprint of what each holds. */
function holders(peers: Record<string, Peer>, resourceId: Uint8Array): { who: string[]; copies: string[] } {
  const who: string[] = [];
  const copies: string[] = [];
  for (const p of Object.values(peers)) {
    const ex = p.node.storage.exportResource(resourceId);
    if (ex.length === 0) continue;
    who.push(p.user);
    copies.push(
      ex
        .map((k) => `${k.kind}/${k.generationCounter}:` + k.values.map((v) => `${JSON.stringify(v.value, (_, x) => (x instanceof Uint8Array ? toHex(x) : x))}@${v.storageTime}#${toHex(v.signature!.value)}`).join(','))
        .join('|'),
    );
  }
  return { who, copies };
}

t.test('grant, delegate, write, refuse, revoke — over an 8-peer ring', async (t) => {
  const { net, peers } = await shareNet(31);
  t.teardown(async () => {
    for (const p of Object.values(peers)) await p.node.stop();
  });
  const { alice, bob, carol, dave, erin, frank } = peers as Record<string, Peer>;
  const R = alice!.user; // the owner's user-name resource
  const RID = resourceIdOf(R);

  // The owner shares KS.dict with bob (delegation allowed): root item + grant in one Store.
  const bobIdx = await net.run(alice!.share.grant(R, KS.dict, bob!.user, true));
  t.equal(bobIdx, shareArrayIndex(alice!.node.nodeId, 1), 'bob’s grant at the owner’s local index 1 (root at 0)');
  const carolIdx = await net.run(bob!.share.grant(R, KS.dict, carol!.user, false));
  t.equal(carolIdx, shareArrayIndex(bob!.node.nodeId, 0), 'carol’s grant in bob’s range');
  t.equal(await codeOf(net, carol!.share.writeShared(R, KS.dict, utf8('carol was here'))), 'ok', 'carol writes');
  t.equal(await codeOf(net, bob!.share.writeShared(R, KS.dict, utf8('bob too'))), 'ok', 'bob writes');
  // Dave was never granted: the storing peer answers Error_Forbidden (2).
  t.equal(await codeOf(net, dave!.share.writeShared(R, KS.dict, utf8('dave?'))), ErrorCode.forbidden, 'dave refused with Error_Forbidden');
  // Carol cannot delegate (no allow_delegation).
  t.equal(await codeOf(net, carol!.share.grant(R, KS.dict, dave!.user)), ErrorCode.forbidden, 'carol may not grant');
  // Any peer reads the ACL (Stat then Fetch) and the shared values, and checks them itself.
  const acl = await net.run(erin!.share.listAcl(R));
  const rootIdx = shareArrayIndex(alice!.node.nodeId, 0);
  t.same(
    acl.map((e) => [e.index, e.toUser, e.signer.userName, e.item?.allowDelegation, e.valid]),
    [
      [rootIdx, alice!.user, alice!.user, true, true],
      [bobIdx, bob!.user, alice!.user, true, true],
      [carolIdx, carol!.user, bob!.user, false, true],
    ].sort((a, b) => (a[0] as number) - (b[0] as number)),
    'root, bob’s grant, carol’s grant — all valid, in index order',
  );
  const read = await net.run(erin!.share.fetchShared(R, KS.dict));
  t.same(read.values.map((v) => Buffer.from(v.payload).toString()).sort(), ['bob too', 'carol was here']);
  t.same(read.rejected, []);

  // Client-side refusals, before anything is sent.
  t.equal(await usageError(net, dave!.share.createRoot(R, KS.dict)), 'not-owner', 'dave is not the owner');
  t.equal(await usageError(net, alice!.share.writeShared(R, KIND_SINGLE_USER, utf8('x'))), 'not-shared');
  t.equal(await usageError(net, alice!.share.writeShared(R, 0xf0000fff, utf8('x'))), 'unknown-kind');
  t.equal(await usageError(net, shareUsage().listAcl(R)), 'not-started', 'a usage no node started');

  // A forged item: bob's signature, the value changed afterwards.
  const forged = await signValues(bob!.node.signer, RID, ACL, [{ model: 'array', index: shareArrayIndex(bob!.node.nodeId, 5), value: encodeAclItem(aclItem(dave!.user, KS.dict, false, R), true) }], net.clock.now());
  const v = forged[0]!.value as { value: { value: Uint8Array } };
  v.value.value = encodeAclItem(aclItem(dave!.user, KS.dict, true, R), true);
  t.equal(await codeOf(net, bob!.node.store(RID, [{ kind: ACL, generationCounter: 0n, values: forged }])), ErrorCode.forbidden, 'a tampered ACL item is refused');

  // Replicas hold what the responsible peer holds.
  await net.settle(5_000);
  const h = holders(peers, RID);
  t.equal(h.who.length, 3, 'the responsible peer and two replicas hold the resource');
  t.equal(new Set(h.copies).size, 1, 'identical copies (values, signatures, generation counters)');

  // The owner revokes bob (without clearing the subtree): bob and carol are refused.
  const revoked = await net.run(alice!.share.revoke(R, bobIdx, { subtree: false }));
  t.same(revoked, [bobIdx]);
  t.equal(await codeOf(net, bob!.share.writeShared(R, KS.dict, utf8('bob again'))), ErrorCode.forbidden, 'bob refused after revocation');
  t.equal(await codeOf(net, carol!.share.writeShared(R, KS.dict, utf8('carol again'))), ErrorCode.forbidden, 'carol refused after revocation');
  // Readers now reject the stale entries the storing peer still holds (RFC 8076 §6.5).
  const after = await net.run(frank!.share.fetchShared(R, KS.dict));
  t.same(after.values, [], 'no valid shared value left');
  t.equal(after.rejected.length, 2, 'bob’s and carol’s entries are rejected');
  t.match(after.rejected.map((r) => r.reason).join('\n'), /no ACL item grants|no delegation chain/);
  const acl2 = await net.run(frank!.share.listAcl(R));
  t.same(acl2.filter((e) => !e.valid).map((e) => e.item ? e.toUser : 'revoked').sort(), [carol!.user, 'revoked'].sort(), 'the revoked entry and carol’s now invalid grant');

  // Revocation with the subtree (the default for the owner, §6.2 SHOULD).
  await net.run(alice!.share.grant(R, KS.dict, erin!.user, true));
  const frankIdx = await net.run(erin!.share.grant(R, KS.dict, frank!.user, false));
  const erinIdx = (await net.run(alice!.share.listAcl(R))).find((e) => e.toUser === erin!.user)!.index;
  const cleared = await net.run(alice!.share.revoke(R, (await net.run(alice!.share.listAcl(R))).find((e) => e.index === erinIdx)!));
  t.same(cleared.sort((a, b) => a - b), [erinIdx, frankIdx, carolIdx].sort((a, b) => a - b), 'erin’s grant, what she delegated, and carol’s orphaned grant');
  const acl3 = await net.run(dave!.share.listAcl(R));
  t.same(acl3.filter((e) => e.item !== undefined).map((e) => e.toUser), [alice!.user], 'only the root item is left');

  await net.settle(5_000);
  const h2 = holders(peers, RID);
  t.equal(h2.who.length, 3);
  t.equal(new Set(h2.copies).size, 1, 'replicas still identical after revocations');
});

t.test('a cycle and a broken link over the network', async (t) => {
  const { net, peers } = await shareNet(37);
  t.teardown(async () => {
    for (const p of Object.values(peers)) await p.node.stop();
  });
  const { alice, bob, carol, dave } = peers as Record<string, Peer>;
  const R = alice!.user;
  const bobIdx = await net.run(alice!.share.grant(R, KS.array, bob!.user, true));
  await net.run(bob!.share.grant(R, KS.array, carol!.user, true));
  await net.run(carol!.share.grant(R, KS.array, bob!.user, true)); // bob → carol → bob
  await net.run(carol!.share.grant(R, KS.array, dave!.user, false));
  t.equal(await codeOf(net, dave!.share.writeShared(R, KS.array, utf8('d'), { localIndex: 3 })), 'ok', 'dave ← carol ← bob ← root');
  // Broken link: the owner overwrites bob's item with allow_delegation = 0.
  await net.run(alice!.node.storeValues(R, ACL, [{ model: 'array', index: bobIdx, value: encodeAclItem(aclItem(bob!.user, KS.array, false, R), true) }]));
  t.equal(await codeOf(net, dave!.share.writeShared(R, KS.array, utf8('d2'), { localIndex: 3 })), ErrorCode.forbidden, 'a link without allow_delegation');
  t.equal(await codeOf(net, bob!.share.writeShared(R, KS.array, utf8('b'))), 'ok', 'bob himself may still write');
  // Cycle: once the owner revokes bob, only bob ↔ carol is left; every check ends.
  await net.run(alice!.share.revoke(R, bobIdx, { subtree: false }));
  t.equal(await codeOf(net, bob!.share.writeShared(R, KS.array, utf8('b2'))), ErrorCode.forbidden, 'bob: the cycle grants nothing');
  t.equal(await codeOf(net, carol!.share.writeShared(R, KS.array, utf8('c2'))), ErrorCode.forbidden, 'carol: likewise');
  const acl = await net.run(dave!.share.listAcl(R));
  t.same(acl.filter((e) => e.item && !e.valid).length, 3, 'the three items of the cycle and below it are invalid');
  const read = await net.run(dave!.share.fetchShared(R, KS.array));
  t.same(read.values, [], 'no value of the array is valid any more');
  t.equal(read.rejected.length, 2, 'bob’s and dave’s entries');
});

t.test('variable resource names: a conference-like resource', async (t) => {
  const { net, peers } = await shareNet(41);
  t.teardown(async () => {
    for (const p of Object.values(peers)) await p.node.stop();
  });
  const { alice, bob, carol } = peers as Record<string, Peer>;
  const NAME = `standup-conf-${alice!.user}`;
  t.ok(alice!.share.isOwner(NAME, KS.named), 'alice owns the name by the pattern');
  t.notOk(bob!.share.isOwner(NAME, KS.named));
  const root = await net.run(alice!.share.createRoot(NAME, KS.named));
  t.equal(root, shareArrayIndex(alice!.node.nodeId, 0), 'the root item at the owner’s local index 0');
  t.equal(await net.run(alice!.share.createRoot(NAME, KS.named)), root, 'createRoot is idempotent');
  t.equal(await net.run(alice!.share.grant(NAME, KS.named, bob!.user, false)), shareArrayIndex(alice!.node.nodeId, 1), 'no second root');
  t.equal((await net.run(carol!.share.listAcl(NAME))).length, 2);
  t.equal(await codeOf(net, bob!.share.writeShared(NAME, KS.named, utf8('focus: bob'))), 'ok', 'bob registers under his Node-ID');
  t.equal(await codeOf(net, alice!.share.writeShared(NAME, KS.named, utf8('focus: alice'))), 'ok');
  const read = await net.run(carol!.share.fetchShared(NAME, KS.named));
  t.same(read.values.map((v) => [Buffer.from(v.payload).toString(), Buffer.from(v.resourceName!).toString(), toHex(v.key!)]).sort(), [
    ['focus: alice', NAME, toHex(alice!.node.nodeId)],
    ['focus: bob', NAME, toHex(bob!.node.nodeId)],
  ]);
  // Outside the pattern: alice owns no "-meet-" name, so she cannot start sharing there.
  const MEET = `standup-meet-${alice!.user}`;
  t.notOk(alice!.share.isOwner(MEET, KS.named));
  t.equal(await usageError(net, alice!.share.createRoot(MEET, KS.named)), 'not-owner');
  // Sent anyway, the storing peer refuses it with Error_Forbidden.
  const item = encodeAclItem(aclItem(alice!.user, KS.named, true, MEET), true);
  t.equal(await codeOf(net, alice!.node.storeValues(MEET, ACL, [{ model: 'array', index: shareArrayIndex(alice!.node.nodeId, 0), value: item }])), ErrorCode.forbidden, 'a root item at a name outside the pattern');
  // Carol cannot register at a name of alice's.
  t.equal(await codeOf(net, carol!.share.writeShared(NAME, KS.named, utf8('focus: carol'))), ErrorCode.forbidden);
});
