import { createHash } from 'node:crypto';
import { ReloadError } from '../../src/common/errors.js';
import t from 'tap';
import { ErrorCode, HashAlgorithm } from '../../src/wire/constants.js';
import { decode, encode, toHex, utf8 } from '../../src/wire/codec.js';
import { UNSIGNED } from '../../src/wire/security-block.js';
import { storageCodecs, type FetchReq, type StoredData, type StoredDataSpecifier } from '../../src/wire/storage.js';
import { verifyStoredData } from '../../src/security/verifier.js';
import { CertificateType } from '../../src/wire/constants.js';
import { DataStore, EXPIRY_SWEEP_INTERVAL_MS } from '../../src/storage/store.js';
import {
  K,
  alice,
  allCerts,
  bob,
  carol,
  ctx,
  dictEntry,
  entry,
  newRegistry,
  newStore,
  put,
  reloadError,
  signed,
  single,
  storeReq,
  userRid,
} from './fixtures.js';

const rid = userRid(alice.userName);
const s = (kind: number, generation = 0n): StoredDataSpecifier => ({ kind, generation, model: 'single' });
const a = (kind: number, indices: [number, number][], generation = 0n): StoredDataSpecifier => ({
  kind,
  generation,
  model: 'array',
  indices: indices.map(([first, last]) => ({ first, last })),
});
const d = (kind: number, keys: Uint8Array[], generation = 0n): StoredDataSpecifier => ({ kind, generation, model: 'dictionary', keys });
const fetchReq = (specifiers: StoredDataSpecifier[], resource = rid): FetchReq => ({ resource, specifiers });
const text = (v: StoredData) => (v.value.model === 'unknown' ? '?' : Buffer.from(v.value.value.value).toString());
const idx = (v: StoredData) => (v.value.model === 'array' ? v.value.index : -1);

t.test('single value: store, fetch, stat, overwrite', async (t) => {
  const { ds, kinds } = newStore();
  const v1 = signed(alice, rid, K.single, single('one'), 1000n, 600);
  const ans = put(ds, rid, [{ kind: K.single, values: [v1] }]);
  t.same(ans, { kindResponses: [{ kind: K.single, generationCounter: 1n, replicas: [] }] });
  const f = ds.fetch(fetchReq([s(K.single)]));
  t.equal(f.answer.kindResponses.length, 1);
  const got = f.answer.kindResponses[0]!;
  t.equal(got.generation, 1n);
  t.equal(got.values.length, 1);
  t.equal(text(got.values[0]!), 'one');
  t.equal(got.values[0]!.storageTime, 1000n);
  t.equal(got.values[0]!.lifetime, 600);
  // The answer carries the signer's certificate, and the value verifies with it.
  t.same(f.certificates.map(toHex), [toHex(alice.cert.certificate)]);
  // The answer encodes with the registry as WireContext and decodes to the same values.
  const codecs = storageCodecs(kinds);
  const back = decode(codecs.fetchAns, encode(codecs.fetchAns, f.answer));
  t.equal(text(back.kindResponses[0]!.values[0]!), 'one');

  // Overwrite with a newer storage_time.
  const v2 = signed(alice, rid, K.single, single('two'), 2000n);
  t.equal(put(ds, rid, [{ kind: K.single, values: [v2] }]).kindResponses[0]!.generationCounter, 2n);
  t.equal(text(ds.fetch(fetchReq([s(K.single)])).answer.kindResponses[0]!.values[0]!), 'two');
  t.equal(ds.numResources(), 1);
  t.equal(ds.statsFor(rid)?.values, 1);
});

t.test('fetched values verify against the returned certificates', async (t) => {
  const { ds } = newStore();
  const bobRid = userRid(bob.userName);
  put(ds, rid, [{ kind: K.array, values: [signed(alice, rid, K.array, entry(0xffffffff, 'x'), 1n)] }]);
  put(ds, bobRid, [{ kind: K.array, values: [signed(bob, bobRid, K.array, entry(0xffffffff, 'y'), 1n)] }], { by: bob });
  const f = ds.fetch(fetchReq([a(K.array, [[0, 0xffffffff]])], bobRid));
  t.same(f.certificates.map(toHex), [toHex(bob.cert.certificate)]);
  // A fetching node trusting the overlay CA verifies the value with only these certificates.
  const { certificates: trust } = newStore();
  const certs = f.certificates.map((c) => ({ type: CertificateType.x509, certificate: c }));
  const value = f.answer.kindResponses[0]!.values[0]!;
  t.equal(verifyStoredData(bobRid, K.array, value, certs, trust).certificate.userName, bob.userName);
  t.throws(() => verifyStoredData(bobRid, K.array, value, [alice.cert], trust), 'not with another certificate');
});

t.test('array: append, explicit index, gaps synthesized unsigned', async (t) => {
  const { ds } = newStore();
  const ans = put(ds, rid, [
    {
      kind: K.array,
      values: [signed(alice, rid, K.array, entry(0xffffffff, 'a0'), 1n), signed(alice, rid, K.array, entry(0xffffffff, 'a1'), 1n)],
    },
  ]);
  t.equal(ans.kindResponses[0]!.generationCounter, 1n, 'one increment per Kind and request');
  put(ds, rid, [{ kind: K.array, values: [signed(alice, rid, K.array, entry(4, 'a4'), 1n)] }]);
  put(ds, rid, [{ kind: K.array, values: [signed(alice, rid, K.array, entry(0xffffffff, 'a5'), 1n)] }]);
  const all = ds.fetch(fetchReq([a(K.array, [[0, 0xffffffff]])])).answer.kindResponses[0]!;
  t.equal(all.generation, 3n);
  t.same(all.values.map(idx), [0, 1, 2, 3, 4, 5]);
  t.same(all.values.map(text), ['a0', 'a1', '', '', 'a4', 'a5']);
  for (const gap of [all.values[2]!, all.values[3]!]) {
    t.same(gap.value, { model: 'array', index: idx(gap), value: { exists: false, value: new Uint8Array() } });
    t.same(gap.signature, UNSIGNED);
    t.equal(gap.lifetime, 0);
    t.equal(gap.storageTime, 0n);
  }
  // Each stored value is signed and verifies at its real index (signature over index 0).
  t.equal(all.values[5]!.signature!.identity.type, 'cert_hash');
  // Ranges: a sub-range, the last element, overlapping ranges merged, past the end clipped.
  const sub = ds.fetch(fetchReq([a(K.array, [[1, 2], [2, 4]])])).answer.kindResponses[0]!;
  t.same(sub.values.map(idx), [1, 2, 3, 4]);
  const last = ds.fetch(fetchReq([a(K.array, [[0xffffffff, 0xffffffff]])])).answer.kindResponses[0]!;
  t.same(last.values.map(text), ['a5']);
  const past = ds.fetch(fetchReq([a(K.array, [[5, 100]])])).answer.kindResponses[0]!;
  t.same(past.values.map(idx), [5]);
  t.same(ds.fetch(fetchReq([a(K.array, [[9, 12]])])).answer.kindResponses[0]!.values, []);
  // Stat lists only the values held.
  const st = ds.stat(fetchReq([a(K.array, [[0, 0xffffffff]])])).kindResponses[0]!;
  t.same(
    st.values.map((m) => (m.metadata.model === 'array' ? m.metadata.index : -1)),
    [0, 1, 4, 5],
  );
});

t.test('array: a very sparse array returns only its values past the synthesis bound', async (t) => {
  const { ds } = newStore(undefined, { maxSynthesizedEntries: 3 });
  put(ds, rid, [{ kind: K.array, values: [signed(alice, rid, K.array, entry(1, 'x'), 1n), signed(alice, rid, K.array, entry(5, 'y'), 1n)] }]);
  t.same(ds.fetch(fetchReq([a(K.array, [[0, 0xffffffff]])])).answer.kindResponses[0]!.values.map(idx), [1, 5], '5 gaps > 3');
  t.same(ds.fetch(fetchReq([a(K.array, [[1, 4]])])).answer.kindResponses[0]!.values.map(idx), [1, 2, 3, 4], '3 gaps');
  // A ShaRe-style index far out does not make a huge answer.
  const { ds: big } = newStore();
  put(big, rid, [{ kind: K.array, values: [signed(alice, rid, K.array, entry(0x123abc01, 'acl'), 1n)] }]);
  t.same(big.fetch(fetchReq([a(K.array, [[0, 0xffffffff]])])).answer.kindResponses[0]!.values.map(idx), [0x123abc01]);
});

t.test('dictionary: per key, all keys, missing keys synthesized', async (t) => {
  const { ds } = newStore();
  const k1 = utf8('k1');
  const k2 = utf8('k2');
  const k3 = utf8('k3');
  put(ds, rid, [{ kind: K.dict, values: [signed(alice, rid, K.dict, dictEntry(k2, 'v2'), 1n), signed(alice, rid, K.dict, dictEntry(k1, 'v1'), 1n)] }]);
  put(ds, rid, [{ kind: K.dict, values: [signed(alice, rid, K.dict, dictEntry(k1, 'v1b'), 2n)] }]);
  const all = ds.fetch(fetchReq([d(K.dict, [])])).answer.kindResponses[0]!;
  t.same(all.values.map(text), ['v1b', 'v2'], 'every key, in key order');
  const some = ds.fetch(fetchReq([d(K.dict, [k3, k2, k3])])).answer.kindResponses[0]!;
  t.equal(some.values.length, 2);
  t.same(some.values[0]!.value, { model: 'dictionary', key: k3, value: { exists: false, value: new Uint8Array() } });
  t.same(some.values[0]!.signature, UNSIGNED);
  t.equal(text(some.values[1]!), 'v2');
  t.equal(ds.stat(fetchReq([d(K.dict, [])])).kindResponses[0]!.values.length, 2);
});

t.test('single value not held: a synthesized non-existent value', async (t) => {
  const { ds } = newStore();
  const r = ds.fetch(fetchReq([s(K.single)])).answer.kindResponses[0]!;
  t.same(r, { kind: K.single, generation: 0n, values: [{ storageTime: 0n, lifetime: 0, value: { model: 'single', value: { exists: false, value: new Uint8Array() } }, signature: UNSIGNED }] });
  t.same(ds.stat(fetchReq([s(K.single)])).kindResponses[0]!.values, []);
  t.same(ds.fetch(fetchReq([s(K.single)])).certificates, []);
});

t.test('stat: SHA-256 over DataValue.value with its 4-byte length prefix', async (t) => {
  const { ds, clock } = newStore();
  const payload = utf8('hello, stat');
  put(ds, rid, [{ kind: K.single, values: [signed(alice, rid, K.single, single(payload), 77n, 100)] }]);
  clock.advance(30_500);
  const m = ds.stat(fetchReq([s(K.single)])).kindResponses[0]!;
  t.equal(m.generation, 1n);
  const expected = createHash('sha256').update(Buffer.from([0, 0, 0, payload.length])).update(payload).digest('hex');
  t.same(m.values[0], {
    storageTime: 77n,
    lifetime: 69,
    metadata: { model: 'single', metadata: { exists: true, valueLength: payload.length, hashAlgorithm: HashAlgorithm.sha256, hashValue: Buffer.from(expected, 'hex') } },
  });
  t.equal(toHex((m.values[0]!.metadata as { metadata: { hashValue: Uint8Array } }).metadata.hashValue), expected);
  // Dictionary metadata carries the key.
  put(ds, rid, [{ kind: K.dict, values: [signed(alice, rid, K.dict, dictEntry(utf8('key'), ''), 1n)] }]);
  const dm = ds.stat(fetchReq([d(K.dict, [])])).kindResponses[0]!.values[0]!;
  t.equal(dm.metadata.model, 'dictionary');
  t.equal(toHex((dm.metadata as { metadata: { hashValue: Uint8Array } }).metadata.hashValue), createHash('sha256').update(Buffer.alloc(4)).digest('hex'));
});

t.test('generation counters', async (t) => {
  const { ds } = newStore();
  const v = (n: bigint) => signed(alice, rid, K.single, single(`v${n}`), n);
  t.equal(put(ds, rid, [{ kind: K.single, values: [v(1n)] }]).kindResponses[0]!.generationCounter, 1n);
  t.equal(put(ds, rid, [{ kind: K.single, values: [v(2n)], gen: 1n }]).kindResponses[0]!.generationCounter, 2n, 'counter equal to the current');
  t.equal(put(ds, rid, [{ kind: K.single, values: [v(3n)], gen: 0n }]).kindResponses[0]!.generationCounter, 3n, '0 = do not check');
  put(ds, rid, [{ kind: K.array, values: [signed(alice, rid, K.array, entry(0, 'x'), 1n)] }]);
  // Stale counter: the whole request fails; error_info is a StoreAns with the correct
  // counters (every Kind of the request) and empty replica lists.
  const e = reloadError(() =>
    put(ds, rid, [
      { kind: K.array, values: [signed(alice, rid, K.array, entry(1, 'y'), 2n)], gen: 1n },
      { kind: K.single, values: [v(4n)], gen: 2n },
      { kind: K.dict, values: [signed(alice, rid, K.dict, dictEntry(utf8('k'), 'z'), 1n)], gen: 0n },
    ]),
  );
  t.equal(e.errorCode, ErrorCode.generationCounterTooLow);
  t.equal(
    toHex(e.errorInfo!),
    '002a' + // kind_responses<0..2^16-1>: 3 x 14 bytes
      'f0000002' + '0000000000000001' + '0000' +
      'f0000001' + '0000000000000003' + '0000' +
      'f0000003' + '0000000000000000' + '0000',
  );
  t.same(ds.fetch(fetchReq([a(K.array, [[0, 0xffffffff]])])).answer.kindResponses[0]!.values.map(text), ['x'], 'nothing stored');
  t.equal(ds.fetch(fetchReq([s(K.single)])).answer.kindResponses[0]!.generation, 3n);
  t.equal(ds.fetch(fetchReq([d(K.dict, [])])).answer.kindResponses[0]!.generation, 0n);
  // A counter for a Kind not stored yet must be 0.
  t.equal(reloadError(() => put(ds, rid, [{ kind: K.dict, values: [], gen: 5n }])).errorCode, ErrorCode.generationCounterTooLow);
});

t.test('fetch with the current generation returns the Kind without values', async (t) => {
  const { ds } = newStore();
  put(ds, rid, [{ kind: K.single, values: [signed(alice, rid, K.single, single('x'), 1n)] }]);
  put(ds, rid, [{ kind: K.dict, values: [signed(alice, rid, K.dict, dictEntry(utf8('k'), 'x'), 1n)] }]);
  const f = ds.fetch(fetchReq([s(K.single, 1n), d(K.dict, [], 2n), d(K.dict, [], 1n)]));
  t.same(f.answer.kindResponses.map((r) => [r.kind, r.generation, r.values.length]), [
    [K.single, 1n, 0],
    [K.dict, 1n, 1],
    [K.dict, 1n, 0],
  ]);
  t.same(f.certificates.map(toHex), [toHex(alice.cert.certificate)]);
  t.same(ds.stat(fetchReq([s(K.single, 1n)])).kindResponses[0]!.values, []);
});

t.test('storage_time must be strictly newer', async (t) => {
  const { ds } = newStore();
  put(ds, rid, [{ kind: K.single, values: [signed(alice, rid, K.single, single('x'), 100n)] }]);
  const older = reloadError(() => put(ds, rid, [{ kind: K.single, values: [signed(alice, rid, K.single, single('y'), 99n)] }]));
  t.equal(older.errorCode, ErrorCode.dataTooOld);
  const equal = reloadError(() => put(ds, rid, [{ kind: K.single, values: [signed(alice, rid, K.single, single('y'), 100n)] }]));
  t.equal(equal.errorCode, ErrorCode.dataTooOld, 'equal is too old');
  t.equal(text(ds.fetch(fetchReq([s(K.single)])).answer.kindResponses[0]!.values[0]!), 'x');
  // The rule is per value: another dictionary key or array index is not compared.
  put(ds, rid, [{ kind: K.dict, values: [signed(alice, rid, K.dict, dictEntry(utf8('a'), 'x'), 100n)] }]);
  t.ok(put(ds, rid, [{ kind: K.dict, values: [signed(alice, rid, K.dict, dictEntry(utf8('b'), 'x'), 5n)] }]));
});

t.test('too large: max-size per value, max-count per Kind, the memory cap', async (t) => {
  const { ds } = newStore();
  // TEST-SMALL: max-size 4, max-count 2.
  t.ok(put(ds, rid, [{ kind: K.small, values: [signed(alice, rid, K.small, entry(0, '1234'), 1n)] }]));
  t.equal(reloadError(() => put(ds, rid, [{ kind: K.small, values: [signed(alice, rid, K.small, entry(1, '12345'), 1n)] }])).errorCode, ErrorCode.dataTooLarge);
  t.ok(put(ds, rid, [{ kind: K.small, values: [signed(alice, rid, K.small, entry(1, 'b'), 1n)] }]));
  const e = reloadError(() => put(ds, rid, [{ kind: K.small, values: [signed(alice, rid, K.small, entry(0xffffffff, 'c'), 1n)] }]));
  t.equal(e.errorCode, ErrorCode.dataTooLarge, 'a third value');
  t.ok(put(ds, rid, [{ kind: K.small, values: [signed(alice, rid, K.small, entry(1, 'b2'), 2n)] }]), 'replacing keeps the count');
  t.equal(ds.statsFor(rid)?.values, 2);

  // Memory cap on the bytes held.
  const { ds: capped } = newStore(undefined, { maxResourcesBytes: 500 });
  const first = put(capped, rid, [{ kind: K.array, values: [signed(alice, rid, K.array, entry(0, 'x'), 1n)] }]);
  t.ok(first);
  const used = capped.storedBytes();
  t.ok(used > 300 && used < 500, `one value takes ${used} bytes`);
  t.equal(reloadError(() => put(capped, rid, [{ kind: K.array, values: [signed(alice, rid, K.array, entry(1, 'y'), 1n)] }])).errorCode, ErrorCode.dataTooLarge);
  t.equal(capped.storedBytes(), used);
});

t.test('unknown Kinds: Error_Unknown_Kind with the Kind-IDs in error_info', async (t) => {
  const { ds } = newStore();
  const e = reloadError(() =>
    put(ds, rid, [
      { kind: K.single, values: [signed(alice, rid, K.single, single('x'), 1n)] },
      { kind: 0xf00000aa, values: [] },
      { kind: 0xf00000bb, values: [] },
    ]),
  );
  t.equal(e.errorCode, ErrorCode.unknownKind);
  t.equal(toHex(e.errorInfo!), '08' + 'f00000aa' + 'f00000bb');
  t.equal(ds.numResources(), 0, 'nothing stored');
  const f = reloadError(() => ds.fetch(fetchReq([s(K.single), { kind: 0xf00000cc, generation: 0n, model: 'unknown', raw: new Uint8Array() }])));
  t.equal(f.errorCode, ErrorCode.unknownKind);
  t.equal(toHex(f.errorInfo!), '04f00000cc');
  t.equal(reloadError(() => ds.stat(fetchReq([{ kind: 0xf00000cc, generation: 0n, model: 'unknown', raw: new Uint8Array() }]))).errorCode, ErrorCode.unknownKind);
  // A specifier of the wrong model for a known Kind.
  t.equal(reloadError(() => ds.fetch(fetchReq([a(K.single, [[0, 1]])]))).errorCode, ErrorCode.invalidMessage);
});

t.test('invalid requests', async (t) => {
  const { ds } = newStore();
  const v = signed(alice, rid, K.single, single('x'), 1n);
  t.equal(reloadError(() => put(ds, rid, [{ kind: K.single, values: [v] }, { kind: K.single, values: [] }])).errorCode, ErrorCode.invalidMessage, 'duplicate Kind');
  t.equal(reloadError(() => put(ds, rid, [{ kind: K.single, values: [v] }], { replica: 1 })).errorCode, ErrorCode.invalidMessage, 'replica with counter 0');
  const asArray = { ...v, value: entry(0, 'x') } as StoredData;
  t.equal(reloadError(() => put(ds, rid, [{ kind: K.single, values: [asArray] }])).errorCode, ErrorCode.invalidMessage, 'value of another model');
  t.equal(reloadError(() => put(ds, new Uint8Array(), [{ kind: K.single, values: [v] }])).errorCode, ErrorCode.invalidMessage, 'empty Resource-ID');
  t.equal(ds.numResources(), 0);
});

t.test('signatures: forged, tampered, unsigned and untrusted values are Error_Forbidden', async (t) => {
  const { ds } = newStore();
  const good = signed(alice, rid, K.single, single('x'), 1n);
  // Signed with bob's key under alice's identity.
  const forged: StoredData = { ...good, signature: { ...bob.signer.signStoredData(rid, K.single, 1n, single('x')), identity: alice.signer.identity } };
  t.equal(reloadError(() => put(ds, rid, [{ kind: K.single, values: [forged] }])).errorCode, ErrorCode.forbidden, 'forged');
  const tampered: StoredData = { ...good, value: single('y') };
  t.equal(reloadError(() => put(ds, rid, [{ kind: K.single, values: [tampered] }])).errorCode, ErrorCode.forbidden, 'tampered value');
  const retimed: StoredData = { ...good, storageTime: 2n };
  t.equal(reloadError(() => put(ds, rid, [{ kind: K.single, values: [retimed] }])).errorCode, ErrorCode.forbidden, 'tampered storage_time');
  const otherRid = userRid('mallory@example.org');
  t.equal(reloadError(() => put(ds, otherRid, [{ kind: K.single, values: [good] }])).errorCode, ErrorCode.forbidden, 'replayed at another Resource-ID');
  const unsigned: StoredData = { ...good, signature: UNSIGNED };
  t.equal(reloadError(() => put(ds, rid, [{ kind: K.single, values: [unsigned] }])).errorCode, ErrorCode.forbidden, 'identity none');
  const alg00: StoredData = { ...good, signature: { ...good.signature!, hashAlg: 0, sigAlg: 0 } };
  t.equal(reloadError(() => put(ds, rid, [{ kind: K.single, values: [alg00] }])).errorCode, ErrorCode.forbidden, 'algorithm {0,0}');
  const noCert = reloadError(() => ds.store(storeReq(rid, [{ kind: K.single, values: [good] }]), ctx(alice, [bob.cert])));
  t.equal(noCert.errorCode, ErrorCode.forbidden, 'signer certificate missing from the SecurityBlock');
  t.equal(ds.numResources(), 0);
  // Multi-Node-ID certificate (cert_hash_node_id identity) is fine.
  const crid = userRid(carol.userName);
  t.ok(put(ds, crid, [{ kind: K.single, values: [signed(carol, crid, K.single, single('c'), 1n)] }], { by: carol }));
});

t.test('atomicity: a failing Kind leaves every Kind of the request unstored', async (t) => {
  const { ds } = newStore();
  const req = (second: StoredData) => [
    { kind: K.array, values: [signed(alice, rid, K.array, entry(0, 'first'), 1n)] },
    { kind: K.single, values: [second] },
  ];
  // Second Kind refused by its policy (bob's value at alice's resource).
  t.equal(reloadError(() => put(ds, rid, req(signed(bob, rid, K.single, single('x'), 1n)))).errorCode, ErrorCode.forbidden);
  // Second Kind too large.
  t.equal(reloadError(() => put(ds, rid, req(signed(alice, rid, K.single, single('x'.repeat(65)), 1n)))).errorCode, ErrorCode.dataTooLarge);
  t.equal(ds.numResources(), 0);
  t.equal(ds.storedBytes(), 0);
  t.same(ds.fetch(fetchReq([a(K.array, [[0, 0xffffffff]])])).answer.kindResponses[0]!.values, []);
  // Second Kind too old: the first Kind keeps its previous value and counter.
  put(ds, rid, [{ kind: K.single, values: [signed(alice, rid, K.single, single('s'), 10n)] }]);
  t.equal(reloadError(() => put(ds, rid, req(signed(alice, rid, K.single, single('old'), 5n)))).errorCode, ErrorCode.dataTooOld);
  t.same(ds.fetch(fetchReq([a(K.array, [[0, 0xffffffff]])])).answer.kindResponses[0], { kind: K.array, generation: 0n, values: [] });
  // A usage validation hook refusing the second value.
  const kinds = newRegistry();
  kinds.register({
    id: 0xf0000050,
    dataModel: 'single',
    accessControl: 'USER-MATCH',
    maxCount: 1,
    maxSize: 64,
    source: 'test-usage',
    validate(value) {
      if (value.model === 'single' && value.value.value[0] !== 0x7b) throw ReloadError.invalidMessage('not JSON');
    },
  });
  const { ds: ds2 } = newStore(undefined, { kinds });
  const bad = signed(alice, rid, 0xf0000050, single('nope'), 1n);
  t.equal(reloadError(() => put(ds2, rid, [{ kind: K.array, values: [signed(alice, rid, K.array, entry(0, 'first'), 1n)] }, { kind: 0xf0000050, values: [bad] }])).errorCode, ErrorCode.invalidMessage);
  t.equal(ds2.numResources(), 0);
  t.ok(put(ds2, rid, [{ kind: 0xf0000050, values: [signed(alice, rid, 0xf0000050, single('{}'), 1n)] }]));
  t.ok(put(ds2, rid, [{ kind: 0xf0000050, values: [signed(alice, rid, 0xf0000050, single('', false), 2n)] }]), 'tombstones skip usage validation');
});

t.test('tombstones are stored, fetched and replaced like any value', async (t) => {
  const { ds } = newStore();
  put(ds, rid, [{ kind: K.single, values: [signed(alice, rid, K.single, single('x'), 1n, 100)] }]);
  put(ds, rid, [{ kind: K.single, values: [signed(alice, rid, K.single, single('', false), 2n, 1000)] }]);
  const r = ds.fetch(fetchReq([s(K.single)]));
  const v = r.answer.kindResponses[0]!.values[0]!;
  t.equal(v.value.model === 'single' && v.value.value.exists, false);
  t.equal(v.storageTime, 2n);
  t.equal(v.signature!.identity.type, 'cert_hash', 'a stored tombstone is signed');
  t.equal(r.certificates.length, 1);
  t.equal(ds.stat(fetchReq([s(K.single)])).kindResponses[0]!.values[0]!.metadata.model, 'single');
  // A replay of the deleted value is too old.
  t.equal(reloadError(() => put(ds, rid, [{ kind: K.single, values: [signed(alice, rid, K.single, single('x'), 1n, 100)] }])).errorCode, ErrorCode.dataTooOld);
  // Find does not report a resource holding only tombstones.
  t.same(toHex(ds.find({ resource: rid, kinds: [K.single] }, () => true).results[0]!.closest), '00'.repeat(16));
  t.ok(put(ds, rid, [{ kind: K.single, values: [signed(alice, rid, K.single, single('back'), 3n)] }]));
});

t.test('expiry on the virtual clock; stop() cancels the sweep', async (t) => {
  const { ds, clock } = newStore();
  put(ds, rid, [
    { kind: K.array, values: [signed(alice, rid, K.array, entry(0, 'short'), 1n, 10), signed(alice, rid, K.array, entry(1, 'long'), 1n, 100)] },
  ]);
  put(ds, rid, [{ kind: K.single, values: [signed(alice, rid, K.single, single('s'), 1n, 10)] }]);
  t.equal(clock.pendingTimers, 1, 'one sweep timer');
  clock.advance(9_999);
  t.same(ds.fetch(fetchReq([a(K.array, [[0, 0xffffffff]])])).answer.kindResponses[0]!.values.map(text), ['short', 'long']);
  clock.advance(1);
  // Expired: the array gap is synthesized, the single value is gone (before any sweep).
  const arr = ds.fetch(fetchReq([a(K.array, [[0, 0xffffffff]])])).answer.kindResponses[0]!.values;
  t.same(arr.map((v) => [idx(v), text(v), v.signature === UNSIGNED]), [
    [0, '', true],
    [1, 'long', false],
  ]);
  t.equal(arr[1]!.lifetime, 90, 'remaining lifetime');
  t.same(ds.fetch(fetchReq([s(K.single)])).answer.kindResponses[0]!.values[0]!.signature, UNSIGNED);
  t.equal(ds.statsFor(rid)?.values, 3, 'not swept yet');
  clock.advance(EXPIRY_SWEEP_INTERVAL_MS);
  t.equal(ds.statsFor(rid)?.values, 1, 'swept');
  t.equal(ds.statsFor(rid)?.kinds, 1);
  clock.advance(100_000);
  t.equal(ds.numResources(), 0);
  t.equal(ds.storedBytes(), 0);
  t.equal(clock.pendingTimers, 0, 'no timer while nothing is held');
  put(ds, rid, [{ kind: K.single, values: [signed(alice, rid, K.single, single('s'), 2n, 10)] }]);
  t.equal(clock.pendingTimers, 1);
  ds.stop();
  t.equal(clock.pendingTimers, 0, 'stop() cancels the timer');
  put(ds, rid, [{ kind: K.single, values: [signed(alice, rid, K.single, single('s'), 3n, 10)] }]);
  t.equal(clock.pendingTimers, 0, 'and no new one is armed');
  clock.advance(20_000);
  t.equal(ds.sweep(), 1, 'an explicit sweep still works');
});

t.test('a value stored with an expired predecessor is not compared with it', async (t) => {
  const { ds, clock } = newStore();
  put(ds, rid, [{ kind: K.single, values: [signed(alice, rid, K.single, single('x'), 100n, 1)] }]);
  clock.advance(1_000);
  t.ok(put(ds, rid, [{ kind: K.single, values: [signed(alice, rid, K.single, single('y'), 50n, 10)] }]));
  t.equal(ds.statsFor(rid)?.values, 1);
});

t.test('find: closest Resource-ID at or after the requested one, wrapping', async (t) => {
  const { ds } = newStore();
  const users = ['alice@example.org', 'bob@example.org', 'carol@example.org'];
  const who = [alice, bob, carol];
  const rids = users.map((u) => userRid(u));
  who.forEach((w, i) => put(ds, rids[i]!, [{ kind: K.single, values: [signed(w, rids[i]!, K.single, single('x'), 1n)] }], { by: w }));
  put(ds, rids[0]!, [{ kind: K.array, values: [signed(alice, rids[0]!, K.array, entry(0, 'x'), 1n)] }]);
  const sorted = [...rids].sort((x, y) => Buffer.compare(x, y)).map(toHex);
  const all = () => true;
  const find = (from: Uint8Array, kinds: number[], inRange: (r: Uint8Array) => boolean = all) => ds.find({ resource: from, kinds }, inRange).results;
  t.equal(toHex(find(Buffer.from(sorted[0]!, 'hex'), [K.single])[0]!.closest), sorted[0], 'an exact match');
  // Just above the first: the second.
  const above = Buffer.from(sorted[0]!, 'hex');
  above[15]! += 1;
  t.equal(toHex(find(above, [K.single])[0]!.closest), sorted[1]);
  // Above the last: wraps to the first.
  const top = Buffer.from(sorted[2]!, 'hex');
  top[15]! += 1;
  t.equal(toHex(find(top, [K.single])[0]!.closest), sorted[0], 'wrap-around');
  t.equal(toHex(find(new Uint8Array(16).fill(0xff), [K.single])[0]!.closest), sorted[0]);
  // Only resources in range count.
  t.equal(toHex(find(above, [K.single], (r) => toHex(r) !== sorted[1])[0]!.closest), sorted[2]);
  // Several Kinds; a Kind nothing is stored for and an unknown Kind: all-zero Resource-ID.
  const res = find(new Uint8Array(16), [K.array, K.dict, 0xf00000ee]);
  t.same(res.map((r) => [r.kind, toHex(r.closest)]), [
    [K.array, toHex(rids[0]!)],
    [K.dict, '00'.repeat(16)],
    [0xf00000ee, '00'.repeat(16)],
  ]);
  t.equal(reloadError(() => find(rid, [K.single, K.single])).errorCode, ErrorCode.invalidMessage, 'duplicate Kinds');
});

t.test('replication: export with reduced lifetimes, import as a replica store', async (t) => {
  const { ds, clock } = newStore();
  put(ds, rid, [
    { kind: K.array, values: [signed(alice, rid, K.array, entry(0xffffffff, 'a0'), 5n, 1000), signed(alice, rid, K.array, entry(3, 'a3'), 5n, 50)] },
    { kind: K.dict, values: [signed(alice, rid, K.dict, dictEntry(utf8('k'), 'v'), 5n, 1000)] },
  ]);
  put(ds, rid, [{ kind: K.dict, values: [signed(alice, rid, K.dict, dictEntry(utf8('k2'), 'v2'), 6n, 1000)] }]);
  clock.advance(100_400);
  const kindData = ds.exportResource(rid);
  t.same(
    kindData.map((k) => [k.kind, k.generationCounter, k.values.map((v) => [idx(v), text(v), v.lifetime])]),
    [
      [K.array, 1n, [[0, 'a0', 899]]], // index 3 (50 s) has expired
      [K.dict, 2n, [[-1, 'v', 899], [-1, 'v2', 899]]],
    ],
  );
  t.same(ds.signerCertificates(rid).map(toHex), [toHex(alice.cert.certificate)]);
  t.same(ds.exportResource(userRid('nobody')), []);
  t.equal(ds.exportWithCertificates(userRid('nobody')), undefined);

  // Import into another peer as replica 1, signed by the responsible peer (bob's node here).
  const { ds: replica, clock: rclock } = newStore();
  rclock.advance(100_400);
  const certs = ds.signerCertificates(rid).map((c) => ({ type: CertificateType.x509, certificate: c }));
  const ans = replica.store({ resource: rid, replicaNumber: 1, kindData }, { requestSigner: bob.info, certificates: [...certs, bob.cert], replicas: [] });
  t.same(ans.kindResponses.map((k) => [k.kind, k.generationCounter]), [
    [K.array, 1n],
    [K.dict, 2n],
  ]);
  const orig = ds.fetch(fetchReq([a(K.array, [[0, 0xffffffff]]), d(K.dict, [])])).answer;
  const copy = replica.fetch(fetchReq([a(K.array, [[0, 0xffffffff]]), d(K.dict, [])]));
  // Same signatures, values and generations.
  t.same(
    copy.answer.kindResponses.map((k) => [k.generation, k.values.map((v) => [text(v), toHex(v.signature!.value), v.storageTime])]),
    orig.kindResponses.map((k) => [k.generation, k.values.filter((v) => v.signature !== UNSIGNED).map((v) => [text(v), toHex(v.signature!.value), v.storageTime])]),
  );
  t.same(copy.answer.kindResponses[0]!.values.map((v) => v.lifetime), [899]);
  // Re-replicating the same data is accepted and changes nothing.
  t.ok(replica.store({ resource: rid, replicaNumber: 1, kindData }, { requestSigner: bob.info, certificates: certs, replicas: [] }));
  t.equal(replica.statsFor(rid)?.values, 3);
  // Older data in a replica store is refused (the caller then fetches the newer data).
  const older = [{ kind: K.dict, generationCounter: 1n, values: [signed(alice, rid, K.dict, dictEntry(utf8('k2'), 'old'), 1n)] }];
  t.equal(reloadError(() => replica.store({ resource: rid, replicaNumber: 2, kindData: older }, { requestSigner: bob.info, certificates: allCerts, replicas: [] })).errorCode, ErrorCode.dataTooOld);
  // Replica stores still check the values' signers against the policy.
  const bobs = [{ kind: K.dict, generationCounter: 3n, values: [signed(bob, rid, K.dict, dictEntry(utf8('k3'), 'b'), 9n)] }];
  t.equal(reloadError(() => replica.store({ resource: rid, replicaNumber: 1, kindData: bobs }, { requestSigner: bob.info, certificates: allCerts, replicas: [] })).errorCode, ErrorCode.forbidden);
  // Migration drop.
  t.equal(ds.dropResource(rid), true);
  t.equal(ds.dropResource(rid), false);
  t.equal(ds.numResources(), 0);
  t.equal(ds.storedBytes(), 0);
  t.same(ds.resources(), []);
  t.same(replica.resources().map(toHex), [toHex(rid)]);
});

t.test('the StoreAns lists the replicas the caller gives', async (t) => {
  const { ds } = newStore();
  const replicas = [bob.nodeId, carol.nodeId];
  const ans = ds.store(storeReq(rid, [{ kind: K.single, values: [signed(alice, rid, K.single, single('x'), 1n)] }]), ctx(alice, allCerts, replicas));
  t.same(ans.kindResponses[0]!.replicas.map(toHex), replicas.map(toHex));
});

t.test('the store keeps its own copies of the received bytes', async (t) => {
  const { ds, kinds, certificates } = newStore();
  const codecs = storageCodecs(kinds);
  const wire = encode(codecs.storeReq, storeReq(rid, [{ kind: K.single, values: [signed(alice, rid, K.single, single('keep'), 1n)] }]));
  const req = decode(codecs.storeReq, wire);
  ds.store(req, ctx());
  wire.fill(0); // a link reusing its receive buffer
  const v = ds.fetch(fetchReq([s(K.single)])).answer.kindResponses[0]!.values[0]!;
  t.equal(text(v), 'keep');
  t.equal(v.signature!.identity.type, 'cert_hash');
  t.ok(new DataStore({ kinds, policies: kinds.policies, clock: { now: () => 0, monotonic: () => 0, setTimeout: () => ({ cancel() {} }) }, certificates }));
  t.throws(() => new DataStore({ kinds, policies: kinds.policies, clock: { now: () => 0, monotonic: () => 0, setTimeout: () => ({ cancel() {} }) }, certificates, nodeIdLength: 20 }), RangeError);
});


t.test('plugin hooks that throw plain errors give typed refusals', async (t) => {
  const kinds = newRegistry();
  kinds.policies.register({
    name: 'TEST-BROKEN',
    check() {
      throw new TypeError('bug in a usage policy');
    },
  });
  kinds.register({ id: 0xf0000060, dataModel: 'single', accessControl: 'TEST-BROKEN', maxCount: 1, maxSize: 64, source: 'test' });
  kinds.register({
    id: 0xf0000061,
    dataModel: 'single',
    accessControl: 'USER-MATCH',
    maxCount: 1,
    maxSize: 64,
    source: 'test',
    validate() {
      throw new RangeError('truncated payload');
    },
  });
  const { ds } = newStore(undefined, { kinds });
  const e1 = reloadError(() => put(ds, rid, [{ kind: 0xf0000060, values: [signed(alice, rid, 0xf0000060, single('x'), 1n)] }]));
  t.equal(e1.errorCode, ErrorCode.forbidden);
  const e2 = reloadError(() => put(ds, rid, [{ kind: 0xf0000061, values: [signed(alice, rid, 0xf0000061, single('x'), 1n)] }]));
  t.equal(e2.errorCode, ErrorCode.invalidMessage);
  t.match(e2.message, /truncated payload/);
});

t.test('a Kind redefined with another data model does not serve its old values', async (t) => {
  const kinds = newRegistry();
  const { ds } = newStore(undefined, { kinds });
  put(ds, rid, [{ kind: K.single, values: [signed(alice, rid, K.single, single('x'), 1n)] }]);
  kinds.register({ id: K.single, name: 'TEST-SINGLE', dataModel: 'array', accessControl: 'USER-MATCH', maxCount: 4, maxSize: 64, source: 'config' });
  t.same(ds.fetch(fetchReq([a(K.single, [[0, 0xffffffff]])])).answer.kindResponses[0]!.values, []);
  const ans = put(ds, rid, [{ kind: K.single, values: [signed(alice, rid, K.single, entry(0xffffffff, 'y'), 1n)] }]);
  t.equal(ans.kindResponses[0]!.generationCounter, 2n, 'the counter keeps increasing');
  t.same(ds.fetch(fetchReq([a(K.single, [[0, 0xffffffff]])])).answer.kindResponses[0]!.values.map(text), ['y']);
  t.equal(ds.statsFor(rid)?.values, 1);
});

t.test('a lowered max-count still lets values be replaced', async (t) => {
  const kinds = newRegistry();
  const { ds } = newStore(undefined, { kinds });
  put(ds, rid, [{ kind: K.array, values: [0, 1, 2].map((i) => signed(alice, rid, K.array, entry(i, `v${i}`), 1n)) }]);
  kinds.register({ id: K.array, name: 'TEST-ARRAY', dataModel: 'array', accessControl: 'USER-MATCH', maxCount: 2, maxSize: 64, source: 'config' });
  t.ok(put(ds, rid, [{ kind: K.array, values: [signed(alice, rid, K.array, entry(1, 'new'), 2n)] }]));
  t.equal(reloadError(() => put(ds, rid, [{ kind: K.array, values: [signed(alice, rid, K.array, entry(3, 'more'), 2n)] }])).errorCode, ErrorCode.dataTooLarge);
});
