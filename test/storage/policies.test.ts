import { createHash } from 'node:crypto';
import t, { type Test } from 'tap';
import { ErrorCode } from '../../src/wire/constants.js';
import { concatBytes, toHex, utf8 } from '../../src/wire/codec.js';
import { ReloadError } from '../../src/common/errors.js';
import {
  NODE_MATCH,
  NODE_MULTIPLE,
  PolicyRegistrationError,
  PolicyRegistry,
  USER_MATCH,
  USER_NODE_MATCH,
  nodeMultipleResourceId,
  type AccessPolicy,
  type PolicyCheck,
  type ResourceView,
} from '../../src/storage/policies.js';
import type { KindDefinition } from '../../src/storage/kinds.js';
import type { StoredDataValue } from '../../src/wire/storage.js';
import type { SignerInfo } from '../../src/security/verifier.js';
import { K, alice, bob, carol, dictEntry, entry, hash, newRegistry, newStore, put, reloadError, signed, single, storeReq, ctx, userRid } from './fixtures.js';

const sha1_16 = (...parts: Uint8Array[]) => {
  const h = createHash('sha1');
  for (const p of parts) h.update(p);
  return new Uint8Array(h.digest()).subarray(0, 16);
};

const emptyView: ResourceView = {
  resourceId: new Uint8Array(16),
  kinds: () => [],
  values: () => [],
  single: () => undefined,
  arrayEntry: () => undefined,
  dictionaryEntry: () => undefined,
};

function kindDef(accessControl: string, dataModel: KindDefinition['dataModel'], maxNodeMultiple?: number): KindDefinition {
  return { id: 0xf0000100, dataModel, accessControl, maxCount: 10, maxSize: 100, source: 'test', ...(maxNodeMultiple ? { maxNodeMultiple } : {}) };
}

function check(policy: AccessPolicy, kind: KindDefinition, resourceId: Uint8Array, signer: SignerInfo, value: StoredDataValue): ReloadError | undefined {
  const args: PolicyCheck = {
    resourceId,
    kind,
    value,
    signer,
    role: 'value',
    valueSigner: signer,
    requestSigner: signer,
    replicaNumber: 0,
    hash,
    stored: emptyView,
    storedData: { storageTime: 1n, lifetime: 1, value, signature: { hashAlg: 0, sigAlg: 0, identity: { type: 'none' }, value: new Uint8Array() } },
  };
  try {
    policy.check(args);
    return undefined;
  } catch (err) {
    if (err instanceof ReloadError) return err;
    throw err;
  }
}

const forbidden = (t: Test, e: ReloadError | undefined, msg: string) => {
  t.ok(e, msg);
  t.equal(e?.errorCode, ErrorCode.forbidden, `${msg}: Error_Forbidden`);
};

const v1 = single('x');

t.test('USER-MATCH: Hash(user name) must be the Resource-ID', async (t) => {
  const kind = kindDef('USER-MATCH', 'single');
  const rid = sha1_16(utf8('alice@example.org'));
  t.equal(toHex(rid), toHex(userRid(alice.userName)));
  t.equal(check(USER_MATCH, kind, rid, alice.info, v1), undefined, 'alice at Hash(alice)');
  forbidden(t, check(USER_MATCH, kind, rid, bob.info, v1), 'bob at Hash(alice)');
  forbidden(t, check(USER_MATCH, kind, sha1_16(alice.nodeId), alice.info, v1), 'alice at Hash(her Node-ID)');
});

t.test('NODE-MATCH: Hash(the designated Node-ID) must be the Resource-ID', async (t) => {
  const kind = kindDef('NODE-MATCH', 'array');
  const v = entry(0, 'cert');
  t.equal(check(NODE_MATCH, kind, sha1_16(alice.nodeId), alice.info, v), undefined, 'alice at Hash(her Node-ID)');
  forbidden(t, check(NODE_MATCH, kind, sha1_16(alice.nodeId), bob.info, v), 'bob at Hash(alice Node-ID)');
  forbidden(t, check(NODE_MATCH, kind, alice.nodeId, alice.info, v), 'at the Node-ID itself (not its hash)');
  // Carol has two Node-IDs and signs as the second: only that one counts.
  const [c0, c1] = carol.info.certificate.nodeIds;
  t.equal(check(NODE_MATCH, kind, sha1_16(c1!), carol.info, v), undefined, 'carol at Hash(her designated Node-ID)');
  forbidden(t, check(NODE_MATCH, kind, sha1_16(c0!), carol.info, v), 'carol at Hash(her other Node-ID)');
  // A SignerInfo whose Node-ID is not in the certificate.
  forbidden(t, check(NODE_MATCH, kind, sha1_16(bob.nodeId), { certificate: alice.info.certificate, nodeId: bob.nodeId }, v), 'Node-ID not in the certificate');
});

t.test('USER-NODE-MATCH: Hash(user) and dictionary key == the designated Node-ID', async (t) => {
  const kind = kindDef('USER-NODE-MATCH', 'dictionary');
  const rid = userRid(alice.userName);
  t.equal(check(USER_NODE_MATCH, kind, rid, alice.info, dictEntry(alice.nodeId, 'reg')), undefined, 'right user, right key');
  forbidden(t, check(USER_NODE_MATCH, kind, rid, alice.info, dictEntry(bob.nodeId, 'reg')), 'right user, key of another node');
  forbidden(t, check(USER_NODE_MATCH, kind, rid, bob.info, dictEntry(bob.nodeId, 'reg')), 'wrong user, own key');
  forbidden(t, check(USER_NODE_MATCH, kind, rid, alice.info, single('x')), 'not a dictionary entry');
  const [c0, c1] = carol.info.certificate.nodeIds;
  const crid = userRid(carol.userName);
  t.equal(check(USER_NODE_MATCH, kind, crid, carol.info, dictEntry(c1!, 'reg')), undefined, 'carol keyed by her designated Node-ID');
  forbidden(t, check(USER_NODE_MATCH, kind, crid, carol.info, dictEntry(c0!, 'reg')), 'carol keyed by her other Node-ID');
  t.throws(() => USER_NODE_MATCH.validateKind!(kindDef('USER-NODE-MATCH', 'array')));
});

t.test('NODE-MULTIPLE: Hash(Node-ID || i), i one byte, 1..max-node-multiple', async (t) => {
  const kind = kindDef('NODE-MULTIPLE', 'single', 20);
  // i is encoded as one byte (UNCONFIRMED choice, see policies.ts).
  const at = (i: number) => sha1_16(alice.nodeId, Uint8Array.of(i));
  t.equal(toHex(nodeMultipleResourceId(hash, alice.nodeId, 7)), toHex(at(7)));
  t.equal(toHex(nodeMultipleResourceId(hash, alice.nodeId, 7)), toHex(sha1_16(concatBytes(alice.nodeId, Uint8Array.of(7)))));
  t.equal(check(NODE_MULTIPLE, kind, at(1), alice.info, v1), undefined, 'i = 1');
  t.equal(check(NODE_MULTIPLE, kind, at(20), alice.info, v1), undefined, 'i = max');
  forbidden(t, check(NODE_MULTIPLE, kind, at(21), alice.info, v1), 'i = max + 1');
  forbidden(t, check(NODE_MULTIPLE, kind, at(0), alice.info, v1), 'i = 0');
  forbidden(t, check(NODE_MULTIPLE, kind, at(1), bob.info, v1), 'another node');
  forbidden(t, check(NODE_MULTIPLE, kindDef('NODE-MULTIPLE', 'single', 3), at(4), alice.info, v1), 'beyond a smaller max');
  t.throws(() => nodeMultipleResourceId(hash, alice.nodeId, 256), RangeError);
});

t.test('policies through the DataStore: value signer and (original store) request signer', async (t) => {
  const { ds } = newStore();
  // TURN-SERVICE (NODE-MULTIPLE, max 20 from the IANA registration).
  const turnRid = nodeMultipleResourceId(hash, bob.nodeId, 20);
  t.ok(put(ds, turnRid, [{ kind: K.turn, values: [signed(bob, turnRid, K.turn, single('turn'), 1n)] }], { by: bob }));
  const tooFar = nodeMultipleResourceId(hash, bob.nodeId, 21);
  t.equal(reloadError(() => put(ds, tooFar, [{ kind: K.turn, values: [signed(bob, tooFar, K.turn, single('turn'), 1n)] }], { by: bob })).errorCode, ErrorCode.forbidden);
  // SIP-REGISTRATION (USER-NODE-MATCH).
  const rid = userRid(alice.userName);
  t.ok(put(ds, rid, [{ kind: K.sip, values: [signed(alice, rid, K.sip, dictEntry(alice.nodeId, 'sip:alice'), 1n)] }]));
  t.equal(
    reloadError(() => put(ds, rid, [{ kind: K.sip, values: [signed(alice, rid, K.sip, dictEntry(bob.nodeId, 'sip:alice'), 2n)] }])).errorCode,
    ErrorCode.forbidden,
  );
  // CERTIFICATE_BY_NODE (NODE-MATCH) at Hash(Node-ID).
  const nrid = hash(alice.nodeId);
  t.ok(put(ds, nrid, [{ kind: K.certByNode, values: [signed(alice, nrid, K.certByNode, entry(0xffffffff, 'der'), 1n)] }]));
  t.equal(reloadError(() => put(ds, nrid, [{ kind: K.certByNode, values: [signed(bob, nrid, K.certByNode, entry(0xffffffff, 'der'), 1n)] }], { by: bob })).errorCode, ErrorCode.forbidden);
  // The value is alice's, but bob signs the original StoreReq: refused (step 5)...
  const single1 = signed(alice, rid, K.single, single('v'), 10n);
  const e = reloadError(() => ds.store(storeReq(rid, [{ kind: K.single, values: [single1] }]), ctx(bob)));
  t.equal(e.errorCode, ErrorCode.forbidden);
  // ...while as a replica store (replica plausibility is the caller's) it is accepted.
  t.ok(ds.store(storeReq(rid, [{ kind: K.single, values: [single1], gen: 7n }], 1), ctx(bob)));
});

t.test('a usage policy sees what the resource holds, with signers, including earlier values of the request', async (t) => {
  // An ACL-like policy: writing Kind B needs a value of Kind A at the same resource whose
  // content names the writer and that is signed by the resource owner (USER-MATCH).
  const seen: string[] = [];
  const granted: AccessPolicy = {
    name: 'TEST-GRANTED',
    check(c) {
      const acl = c.stored.values(0xf0000200);
      seen.push(acl.map((v) => `${v.signer.certificate.userName}:${Buffer.from(v.data.value.value.value).toString()}`).join(','));
      const ok = acl.some((v) => Buffer.from(v.data.value.value.value).toString() === c.signer.certificate.userName);
      if (!ok) throw ReloadError.forbidden('not granted');
      if (!acl.every((v) => toHex(c.hash(utf8(v.signer.certificate.userName!))) === toHex(c.resourceId))) throw ReloadError.forbidden('ACL not by owner');
    },
  };
  const kinds = newRegistry();
  kinds.policies.register(granted);
  kinds.register({ id: 0xf0000200, dataModel: 'array', accessControl: 'USER-MATCH', maxCount: 10, maxSize: 100, source: 'test' });
  kinds.register({ id: 0xf0000201, dataModel: 'dictionary', accessControl: 'TEST-GRANTED', maxCount: 10, maxSize: 100, source: 'test' });
  const { ds } = newStore(undefined, { kinds });
  const rid = userRid(alice.userName);
  const grantBob = signed(alice, rid, 0xf0000200, entry(0xffffffff, 'bob@example.org'), 1n);
  const bobValue = signed(bob, rid, 0xf0000201, dictEntry(bob.nodeId, 'hello'), 1n);
  // Bob alone: refused.
  t.equal(reloadError(() => ds.store(storeReq(rid, [{ kind: 0xf0000201, values: [bobValue], gen: 1n }], 1), ctx(bob))).errorCode, ErrorCode.forbidden);
  // Grant and value in one (replica) request, grant first: accepted.
  t.ok(ds.store(storeReq(rid, [{ kind: 0xf0000200, values: [grantBob], gen: 1n }, { kind: 0xf0000201, values: [bobValue], gen: 1n }], 1), ctx(alice)));
  t.same(seen, ['', 'alice@example.org:bob@example.org']);
  t.equal(ds.resourceView(rid).dictionaryEntry(0xf0000201, bob.nodeId)?.signer.certificate.userName, 'bob@example.org');
  t.same(ds.resourceView(rid).kinds(), [0xf0000200, 0xf0000201]);
});

t.test('PolicyRegistry', async (t) => {
  const r = new PolicyRegistry();
  t.same(r.names(), ['USER-MATCH', 'NODE-MATCH', 'USER-NODE-MATCH', 'NODE-MULTIPLE']);
  t.equal(r.get('user-match'), USER_MATCH);
  r.register(USER_MATCH); // the same policy again is fine
  t.throws(() => r.register({ name: 'USER-MATCH', check: () => undefined }), PolicyRegistrationError);
  t.throws(() => r.register({ name: 'bad name!', check: () => undefined }), PolicyRegistrationError);
  const custom: AccessPolicy = { name: 'USER-CHAIN-ACL', check: () => undefined };
  r.register(custom);
  t.equal(r.get('USER-CHAIN-ACL'), custom);
  t.equal(new PolicyRegistry({ standard: false }).names().length, 0);
});
