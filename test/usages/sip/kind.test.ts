/**
 * The SIP-REGISTRATION Kind on a memory-link testnet: USER-NODE-MATCH plus the usage's
 * checks at the storing peer (RFC 7904 §3.3: a SipRegistration value, the AOR's domain
 * served by the overlay), and storing as another local identity (`StoreOptions.as`): the
 * values and the StoreReq signed with that identity, which USER-NODE-MATCH requires of
 * both (RFC 6940 §7.4.1.1 steps 4-5).
 */
import t from 'tap';
import { randomBytes } from 'node:crypto';
import { ReloadError } from '../../../src/common/errors.js';
import { signValues } from '../../../src/node/data.js';
import type { ReloadNode } from '../../../src/node/node.js';
import { Testnet } from '../../../src/node/testnet.js';
import { Signer } from '../../../src/security/signer.js';
import { bytesEqual, utf8 } from '../../../src/wire/codec.js';
import { ErrorCode } from '../../../src/wire/constants.js';
import { resourceIdOf } from '../../../src/wire/ids.js';
import { TEST_OVERLAY, testCA, testCredentials } from '../../helpers/identities.js';
import { SIP_REGISTRATION_KIND, decodeSipRegistration, encodeSipRegistration, sipRegistrationKind, sipUsage } from '../../../usages/sip/index.js';
import type { KindDefinition } from '../../../src/storage/kinds.js';

async function codeOf(p: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (e) {
    if (e instanceof ReloadError) return e.errorCode;
    throw e;
  }
}

async function overlay(kind: Omit<KindDefinition, 'source'>): Promise<{ net: Testnet; nodes: ReloadNode[] }> {
  const net = new Testnet({ overlay: TEST_OVERLAY, rootCertificate: testCA().certificate, kinds: [kind], seed: 7, chord: { updateIntervalMs: 5000 } });
  for (let i = 0; i < 4; i++) await net.add(testCredentials(`peer${i}`, new Uint8Array(randomBytes(16))));
  await net.settle(10_000);
  return { net, nodes: net.nodes };
}

const route = (id: Uint8Array) => encodeSipRegistration({ type: 'route', contactPrefs: '', destinations: [{ type: 'node', id }] });
const alice = testCredentials('alice', new Uint8Array(randomBytes(16)));
const ALICE = `alice@${TEST_OVERLAY}`;

t.test('the Kind as the usage declares it', async (t) => {
  const k = sipRegistrationKind();
  t.same([k.id, k.name, k.dataModel, k.accessControl], [1, 'SIP-REGISTRATION', 'dictionary', 'USER-NODE-MATCH']);
  t.equal(typeof k.validate, 'function');
  t.same(sipUsage().kinds?.map((x) => x.id), [SIP_REGISTRATION_KIND]);
});

t.test('storing as another local identity (StoreOptions.as)', async (t) => {
  const { net, nodes } = await overlay(sipRegistrationKind());
  const [peer, other] = [nodes[1]!, nodes[3]!];
  // The peer's own identity may not write alice's AOR.
  t.equal(await codeOf(net.run(peer.storeValues(ALICE, 1, [{ model: 'dictionary', key: peer.nodeId, value: route(peer.nodeId) }]))), ErrorCode.forbidden, 'own identity at alice’s AOR: Error_Forbidden');
  // As alice: key = alice's Node-ID, value = a route to the peer (key and value differ, RFC 7904 §3.2).
  const ans = await net.run(peer.storeValues(ALICE, 1, [{ model: 'dictionary', key: alice.nodeId, value: route(peer.nodeId) }], { as: alice, lifetimeS: 90 }));
  t.equal(ans.kindResponses[0]!.kind, 1);
  const f = await net.run(other.fetchValues(ALICE, 1));
  t.equal(f.values.length, 1);
  t.equal(f.values[0]!.signer?.certificate.userName, ALICE, 'the value is signed by alice');
  t.ok(bytesEqual((f.values[0]!.data.value as { key: Uint8Array }).key, alice.nodeId), 'keyed by alice’s Node-ID');
  const reg = decodeSipRegistration((f.values[0]!.data.value as { value: { value: Uint8Array } }).value.value);
  t.ok(reg.type === 'route' && reg.destinations[0]!.type === 'node' && bytesEqual(reg.destinations[0]!.id, peer.nodeId), 'pointing at the peer');
  const left = f.values[0]!.data.lifetime;
  t.ok(left <= 90 && left >= 80, `lifetime 90 s as stored (${left} s left)`);
  // alice's key with the peer's key in the value is fine; the peer's Node-ID as key is not.
  t.equal(await codeOf(net.run(peer.storeValues(ALICE, 1, [{ model: 'dictionary', key: peer.nodeId, value: route(peer.nodeId) }], { as: alice }))), ErrorCode.forbidden, 'as alice, but keyed by the peer’s Node-ID: refused');
  // Values signed by alice inside a StoreReq signed by the peer: the request signer fails USER-NODE-MATCH.
  const rid = resourceIdOf(ALICE);
  const values = await signValues(new Signer(alice), rid, 1, [{ model: 'dictionary', key: alice.nodeId, value: route(peer.nodeId) }], net.clock.now() + 5000);
  t.equal(await codeOf(net.run(peer.store(rid, [{ kind: 1, generationCounter: 0n, values }]))), ErrorCode.forbidden, 'alice’s values in the peer’s StoreReq: refused (RFC 6940 §7.4.1.1 step 5)');
  // Un-registration: exists = false as alice.
  await net.run(peer.storeValues(ALICE, 1, [{ model: 'dictionary', key: alice.nodeId, value: new Uint8Array(0), exists: false }], { as: alice }));
  const g = await net.run(other.fetchValues(ALICE, 1));
  t.same(g.values.map((v) => v.data.value.value.exists), [false], 'the entry is a tombstone');
});

t.test('the storing peer refuses values that are not SipRegistrations', async (t) => {
  const { net, nodes } = await overlay(sipRegistrationKind());
  const peer = nodes[0]!;
  const bad = [utf8(''), utf8('garbage'), new Uint8Array([2, 0, 4, 0, 0, 0, 0]), new Uint8Array([1, 0, 2, 0, 5])];
  for (const value of bad) {
    t.equal(await codeOf(net.run(peer.storeValues(ALICE, 1, [{ model: 'dictionary', key: alice.nodeId, value }], { as: alice }))), ErrorCode.invalidMessage, `value ${Buffer.from(value).toString('hex') || '(empty)'}: Error_Invalid_Message`);
  }
  // An unknown SipRegistrationType is carried (RFC 7904 §3.2 "can be extended").
  t.equal(await codeOf(net.run(peer.storeValues(ALICE, 1, [{ model: 'dictionary', key: alice.nodeId, value: new Uint8Array([7, 0, 1, 9]) }], { as: alice }))), 'ok');
});

t.test('the domain restriction is enforced by the storing peer', async (t) => {
  const restricted = { ...sipRegistrationKind(), params: { domainRestriction: { enable: true, patterns: ['other\\.example'] } } };
  const { net, nodes } = await overlay(restricted);
  const code = await codeOf(net.run(nodes[2]!.storeValues(ALICE, 1, [{ model: 'dictionary', key: alice.nodeId, value: route(alice.nodeId) }], { as: alice })));
  t.equal(code, ErrorCode.forbidden, `${ALICE} is outside other.example: Error_Forbidden`);
  const own = { ...sipRegistrationKind(), params: { domainRestriction: { enable: false, patterns: [] } } };
  const second = await overlay(own);
  t.equal(await codeOf(second.net.run(second.nodes[2]!.storeValues(ALICE, 1, [{ model: 'dictionary', key: alice.nodeId, value: route(alice.nodeId) }], { as: alice }))), 'ok', 'enable=false: the overlay’s own domain is accepted');
});
