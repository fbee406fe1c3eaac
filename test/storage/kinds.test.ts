import t, { type Test } from 'tap';
import { KindRegistrationError, KindRegistry, IANA_KINDS, ianaKind, type KindDefinition } from '../../src/storage/kinds.js';
import { PolicyRegistry } from '../../src/storage/policies.js';
import { decode, encode, fromHex, toHex } from '../../src/wire/codec.js';
import { storageCodecs, storedDataCodec } from '../../src/wire/storage.js';
import { UNSIGNED } from '../../src/wire/security-block.js';

const base: KindDefinition = { id: 0xf0000010, name: 'MY-KIND', dataModel: 'array', accessControl: 'USER-MATCH', maxCount: 10, maxSize: 100, source: 'config' };

function registry(): KindRegistry {
  return new KindRegistry({ policies: new PolicyRegistry() });
}

function refused(t: Test, fn: () => unknown, reason: string): void {
  try {
    fn();
    t.fail(`expected KindRegistrationError ${reason}`);
  } catch (err) {
    t.type(err, KindRegistrationError);
    t.equal((err as KindRegistrationError).reason, reason);
    t.equal((err as KindRegistrationError).code, 'ERR_RELOAD_KIND');
  }
}

t.test('registration and lookup; the registry is a WireContext', async (t) => {
  const r = registry();
  const def = r.register(base);
  t.same(def, base);
  t.equal(r.get(base.id), def);
  t.equal(r.byName('my-kind'), def);
  t.equal(r.dataModel(base.id), 'array');
  t.equal(r.dataModel(0xf0000099), undefined);
  t.equal(r.nodeIdLength, 16);
  // The storage codec decodes a value of the registered Kind with its model...
  const bytes = encode(storedDataCodec('array'), {
    storageTime: 5n,
    lifetime: 60,
    value: { model: 'array', index: 3, value: { exists: true, value: fromHex('aabb') } },
    signature: UNSIGNED,
  });
  const kd = fromHex('f0000010' + '0000000000000001' + toHex(Uint8Array.of(0, 0, 0, bytes.length)) + toHex(bytes));
  const c = storageCodecs(r);
  const req = decode(c.storeReq, fromHex('01ab' + '00' + toHex(Uint8Array.of(0, 0, 0, kd.length)) + toHex(kd)));
  const v = req.kindData[0]!.values[0]!;
  t.equal(v.value.model, 'array');
  t.same(v.value, { model: 'array', index: 3, value: { exists: true, value: fromHex('aabb') } });
  // ...and keeps an unregistered Kind's value raw.
  const unknownKd = fromHex('f0000099' + '0000000000000001' + toHex(Uint8Array.of(0, 0, 0, bytes.length)) + toHex(bytes));
  const req2 = decode(c.storeReq, fromHex('01ab' + '00' + toHex(Uint8Array.of(0, 0, 0, unknownKd.length)) + toHex(unknownKd)));
  t.equal(req2.kindData[0]!.values[0]!.value.model, 'unknown');
});

t.test('a Kind-ID registered by another source with a different definition is refused', async (t) => {
  const r = registry();
  r.register(base);
  refused(t, () => r.register({ ...base, source: 'my-usage', maxCount: 11 }), 'clash');
  refused(t, () => r.register({ ...base, source: 'my-usage', dataModel: 'dictionary' }), 'clash');
  // Another Kind-ID under a name already taken.
  refused(t, () => r.register({ ...base, id: 0xf0000011, source: 'my-usage' }), 'clash');
  t.equal(r.get(base.id)!.maxCount, 10, 'the first registration stands');
});

t.test('the same definition from another source is fine and both validation hooks apply', async (t) => {
  const r = registry();
  const calls: string[] = [];
  r.register({ ...base, validate: () => void calls.push('config') });
  const merged = r.register({ ...base, source: 'my-usage', validate: () => void calls.push('usage'), params: { x: 1 } });
  t.equal(merged.source, 'config');
  t.same(merged.params, { x: 1 });
  merged.validate!({ model: 'array', index: 0, value: { exists: true, value: new Uint8Array() } }, {} as never);
  t.same(calls, ['config', 'usage']);
});

t.test('the same source replaces its own registration (a new configuration)', async (t) => {
  const r = registry();
  r.register(base);
  r.register({ ...base, maxCount: 50 });
  t.equal(r.get(base.id)!.maxCount, 50);
  r.register({ ...base, id: 0xf0000020, name: 'OTHER' });
  t.same(r.unregisterSource('config').sort(), [0xf0000010, 0xf0000020]);
  t.equal(r.has(base.id), false);
  t.equal(r.all().length, 0);
});

t.test('invalid definitions are refused with a typed reason', async (t) => {
  const r = registry();
  refused(t, () => r.register({ ...base, dataModel: 'list' as never }), 'invalid-data-model');
  refused(t, () => r.register({ ...base, accessControl: 'NOBODY-MATCH' }), 'unknown-policy');
  refused(t, () => r.register({ ...base, id: 0 }), 'invalid-id');
  refused(t, () => r.register({ ...base, id: 0x7fffffff }), 'invalid-id');
  refused(t, () => r.register({ ...base, id: 0x1_0000_0000 }), 'invalid-id');
  refused(t, () => r.register({ ...base, id: 1.5 }), 'invalid-id');
  refused(t, () => r.register({ ...base, maxCount: 0 }), 'invalid-limits');
  refused(t, () => r.register({ ...base, maxSize: -1 }), 'invalid-limits');
  refused(t, () => r.register({ ...base, source: '' }), 'invalid-limits');
  // Policies refuse Kinds they cannot govern.
  refused(t, () => r.register({ ...base, accessControl: 'USER-NODE-MATCH' }), 'policy-refused');
  refused(t, () => r.register({ ...base, dataModel: 'single', accessControl: 'NODE-MULTIPLE' }), 'policy-refused');
  refused(t, () => r.register({ ...base, dataModel: 'single', accessControl: 'NODE-MULTIPLE', maxNodeMultiple: 256 }), 'policy-refused');
  t.equal(r.all().length, 0);
  t.ok(r.register({ ...base, dataModel: 'single', accessControl: 'node-multiple', maxNodeMultiple: 3 }), 'policy names are case-insensitive');
});

t.test('IANA Kinds keep their registered data model and policy (RFC 6940 §11.1)', async (t) => {
  const r = registry();
  // A configuration that gets TURN-SERVICE wrong.
  const turn = r.register({ id: 0x2, dataModel: 'array', accessControl: 'USER-MATCH', maxCount: 3, maxSize: 50, source: 'config' });
  t.same(
    { id: turn.id, name: turn.name, dataModel: turn.dataModel, accessControl: turn.accessControl, maxNodeMultiple: turn.maxNodeMultiple, maxCount: turn.maxCount },
    { id: 2, name: 'TURN-SERVICE', dataModel: 'single', accessControl: 'NODE-MULTIPLE', maxNodeMultiple: 20, maxCount: 3 },
  );
  const sip = r.register({ id: 0x1, dataModel: 'single', accessControl: 'USER-MATCH', maxCount: 3, maxSize: 50, source: 'config' });
  t.equal(sip.dataModel, 'dictionary');
  t.equal(sip.accessControl, 'USER-NODE-MATCH');
  const byNode = r.register({ id: 0x3, dataModel: 'single', accessControl: 'USER-MATCH', maxCount: 3, maxSize: 50, source: 'config' });
  t.same([byNode.dataModel, byNode.accessControl, byNode.name], ['array', 'NODE-MATCH', 'CERTIFICATE_BY_NODE']);
  const byUser = r.register({ id: 0x10, dataModel: 'single', accessControl: 'NODE-MATCH', maxCount: 3, maxSize: 50, source: 'config' });
  t.same([byUser.dataModel, byUser.accessControl, byUser.name], ['array', 'USER-MATCH', 'CERTIFICATE_BY_USER']);
  // ACCESS-CONTROL-LIST needs ShaRe's USER-CHAIN-ACL, which is not registered here.
  refused(t, () => r.register({ id: 0x4, dataModel: 'array', accessControl: 'USER-MATCH', maxCount: 3, maxSize: 50, source: 'config' }), 'unknown-policy');
  t.equal(ianaKind('turn-service')?.id, 2);
  t.equal(ianaKind(0x10)?.name, 'CERTIFICATE_BY_USER');
  t.equal(IANA_KINDS.length, 5);
});

t.test('NodeIdLength must be 16..20', async (t) => {
  t.throws(() => new KindRegistry({ policies: new PolicyRegistry(), nodeIdLength: 15 }), RangeError);
  t.equal(new KindRegistry({ policies: new PolicyRegistry(), nodeIdLength: 20 }).nodeIdLength, 20);
});
