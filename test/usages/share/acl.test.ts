import t from 'tap';
import { DecodeError, EncodeError, encode, toHex, utf8 } from '../../../src/wire/codec.js';
import {
  ACCESS_CONTROL_LIST_KIND,
  type AccessControlListItem,
  aclItem,
  aclItemCodec,
  decodeAclItem,
  encodeAclItem,
  isIndexOf,
  joinNamedValue,
  localIndexOf,
  nodeIdLow24,
  resourceNameExtension,
  resourceNameOf,
  resourceNameText,
  shareArrayIndex,
  splitNamedValue,
} from '../../../usages/share/acl.js';
import { assertDecodeError, assertRoundTrip, assertRoundTripMany } from '../../helpers/roundtrip.js';

t.test('ACCESS-CONTROL-LIST is Kind 0x4 (RFC 8076 §9.2)', async (t) => {
  t.equal(ACCESS_CONTROL_LIST_KIND, 4);
});

t.test('AccessControlListItem without res_name_ext: hand-computed bytes', async (t) => {
  const item: AccessControlListItem = { toUser: utf8('bob@example.org'), kind: 0xf0000101, allowDelegation: true };
  assertRoundTrip(
    t,
    aclItemCodec(false),
    item,
    `000f 626f62406578616d706c652e6f7267   # to_user<0..2^16-1> "bob@example.org"
     f0000101                             # kind
     01                                   # allow_delegation`,
  );
  const noAd = encodeAclItem({ ...item, allowDelegation: false }, false);
  t.equal(noAd[noAd.length - 1], 0, 'allow_delegation false is 0');
  t.same(decodeAclItem(noAd, false).allowDelegation, false);
  // An empty to_user is representable (the policy refuses it as a grant to nobody).
  assertRoundTrip(t, aclItemCodec(false), { toUser: new Uint8Array(0), kind: 1, allowDelegation: false }, '0000 00000001 00');
});

t.test('AccessControlListItem with a pattern ResourceNameExtension: hand-computed bytes', async (t) => {
  const item = aclItem('bob@x.org', 1234, false, 'a-conf-alice@x.org');
  assertRoundTrip(
    t,
    aclItemCodec(true),
    item,
    `01                                   # ResourceNameType pattern(1)
     0014                                 # length = 2 + 18
     0012 612d636f6e662d616c69636540782e6f7267  # resource_name "a-conf-alice@x.org"
     0009 626f6240782e6f7267              # to_user "bob@x.org"
     000004d2                             # kind 1234
     00                                   # allow_delegation`,
  );
  t.equal(resourceNameText(resourceNameOf(item.resNameExt)!), 'a-conf-alice@x.org');
});

t.test('the presence of res_name_ext follows the Kind, in both directions', async (t) => {
  const plain = aclItem('bob@x.org', 7, true);
  const named = aclItem('bob@x.org', 7, true, 'r');
  t.throws(() => encodeAclItem(plain, true), EncodeError, 'required when the Kind enables names');
  t.throws(() => encodeAclItem(named, false), EncodeError, 'refused when it does not');
  // Decoding a named item with the plain codec misreads the name as to_user and fails.
  t.throws(() => decodeAclItem(encodeAclItem(named, true), false), DecodeError);
});

t.test('unknown ResourceNameTypes are kept opaque through their length', async (t) => {
  const ext = { type: 'unknown' as const, code: 7, data: Uint8Array.of(0xde, 0xad, 0xbe, 0xef) };
  assertRoundTrip(t, resourceNameExtension, ext, '07 0004 deadbeef');
  const item: AccessControlListItem = { resNameExt: ext, toUser: utf8('u'), kind: 2, allowDelegation: true };
  const bytes = assertRoundTrip(t, aclItemCodec(true), item, '07 0004 deadbeef 0001 75 00000002 01');
  t.equal(resourceNameOf(decodeAclItem(bytes, true).resNameExt), undefined, 'no Resource Name from an unknown type');
  t.throws(() => encode(resourceNameExtension, { type: 'unknown', code: 1, data: new Uint8Array(0) }), EncodeError, 'code 1 is pattern');
  t.throws(() => encode(resourceNameExtension, { type: 'unknown', code: 256, data: new Uint8Array(0) }), EncodeError);
});

t.test('malformed items are typed DecodeErrors', async (t) => {
  assertDecodeError(t, () => decodeAclItem(Uint8Array.of(0, 1, 0x75, 0, 0, 0, 2, 2), false), { structure: 'AccessControlListItem', field: 'allow_delegation', reason: 'value' });
  assertDecodeError(t, () => decodeAclItem(Uint8Array.of(0, 9, 0x75), false), { structure: 'AccessControlListItem', field: 'to_user', reason: 'length' });
  assertDecodeError(t, () => decodeAclItem(Uint8Array.of(0, 1, 0x75, 0, 0, 0, 2, 1, 0), false), { structure: 'AccessControlListItem', field: '(end)', reason: 'trailing' });
  // A pattern extension whose length holds more than resource_name is refused.
  assertDecodeError(t, () => decodeAclItem(Uint8Array.of(1, 0, 4, 0, 1, 0x72, 0xff, 0, 1, 0x75, 0, 0, 0, 2, 1), true), { structure: 'ResourceNameExtension', field: '(end)', reason: 'trailing' });
  // A length running past the value.
  assertDecodeError(t, () => decodeAclItem(Uint8Array.of(1, 0, 40, 0, 1), true), { structure: 'ResourceNameExtension', field: 'length', reason: 'length' });
});

t.test('generated items round-trip, with and without names', async (t) => {
  let seed = 7;
  const rnd = (n: number) => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  const bytes = (n: number) => Uint8Array.from({ length: n }, () => rnd(256));
  assertRoundTripMany(t, aclItemCodec(false), 300, () => ({ toUser: bytes(rnd(40)), kind: rnd(0x7fffffff) * 2 + rnd(2), allowDelegation: rnd(2) === 1 }), 'plain items');
  assertRoundTripMany(
    t,
    aclItemCodec(true),
    300,
    () => ({
      resNameExt: rnd(4) === 0 ? { type: 'unknown' as const, code: 2 + rnd(254), data: bytes(rnd(20)) } : { type: 'pattern' as const, resourceName: bytes(rnd(60)) },
      toUser: bytes(rnd(40)),
      kind: rnd(0x7fffffff),
      allowDelegation: rnd(2) === 1,
    }),
    'named items',
  );
});

t.test('shared values that begin with a ResourceNameExtension (RFC 8076 §3)', async (t) => {
  const v = joinNamedValue('room-conf-alice@x.org', utf8('payload'));
  t.equal(toHex(v.subarray(0, 5)), '0100170015', 'type 1, length 23, name length 21');
  const { ext, payload } = splitNamedValue(v);
  t.equal(resourceNameText(resourceNameOf(ext)!), 'room-conf-alice@x.org');
  t.equal(Buffer.from(payload).toString(), 'payload');
  t.throws(() => splitNamedValue(utf8('no extension here')), DecodeError, 'a value without the extension fails');
  t.equal(resourceNameText(Uint8Array.of(0xc3, 0x28)), undefined, 'a non-UTF-8 name has no text');
});

t.test('array indexes: low 24 bits of the Node-ID, then the local index (RFC 8076 §3.1, Figure 1)', async (t) => {
  const owner = new Uint8Array(16);
  owner.set([0x12, 0x3a, 0xbc], 13);
  const alice = new Uint8Array(20);
  alice.set([0x45, 0x6d, 0xef], 17);
  t.equal(nodeIdLow24(owner), 0x123abc);
  t.equal(shareArrayIndex(owner, 1), 0x123abc01);
  t.equal(shareArrayIndex(owner, 4), 0x123abc04);
  t.equal(shareArrayIndex(alice, 1), 0x456def01, '20-byte Node-IDs use their last three bytes too');
  t.equal(shareArrayIndex(new Uint8Array(16).fill(0xff), 0xff), 0xffffffff, 'the top of the range (unsigned)');
  t.equal(localIndexOf(0x123abc04), 4);
  t.ok(isIndexOf(0x123abc00, owner) && isIndexOf(0x123abcff, owner));
  t.notOk(isIndexOf(0x123abd00, owner));
  t.notOk(isIndexOf(0x456def01, owner));
  t.throws(() => shareArrayIndex(owner, 256), RangeError);
  t.throws(() => shareArrayIndex(owner, -1), RangeError);
  t.throws(() => nodeIdLow24(new Uint8Array(2)), RangeError);
});
