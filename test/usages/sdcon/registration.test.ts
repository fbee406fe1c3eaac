/**
 * The DISCO-REGISTRATION value codec (usages/sdcon/registration.ts): byte-exact encodings of
 * the full form and of the reference implementation's two-field form, the round-trip
 * invariant, the errors of malformed values, and the conference URI → Resource Name rule.
 */
import t from 'tap';
import { DecodeError, EncodeError, fromHex, toHex } from '../../../src/wire/codec.js';
import {
  DISCO_REGISTRATION_KIND,
  type DisCoRegistration,
  conferenceResourceName,
  decodeDisCoRegistration,
  disCoRegistrationCodec,
  encodeDisCoRegistration,
} from '../../../usages/sdcon/registration.js';
import { decodeFocusAdvertisement, encodeFocusAdvertisement, registeredFoci } from '../../../usages/sdcon/index.js';
import { assertRoundTrip } from '../../helpers/roundtrip.js';

const ID = fromHex('000102030405060708090a0b0c0d0e0f');
const FULL: DisCoRegistration = {
  coordinate: '2.1',
  nodeId: ID,
  ext: { destinations: [{ type: 'node', id: ID }], sipContact: 'sip:f', role: 'primary', term: 7, capacity: 3, participants: 2 },
};
// u16 length 57 | coordinate<2> "2.1" | NodeId | destination_list<2> (node, 16, id) | sip_contact<2> "sip:f" | role 1 | term 7 | capacity 3 | participants 2
const FULL_HEX =
  '0039' + '0003322e31' + toHex(ID) + '0012' + '0110' + toHex(ID) + '0005' + '7369703a66' + '01' + '00000007' + '0003' + '0002';

t.test('byte-exact encoding of the full form', async (t) => {
  t.equal(DISCO_REGISTRATION_KIND, 0xf0051003, 'a Kind-ID from the private range (no IANA value exists)');
  t.equal(toHex(encodeDisCoRegistration(FULL)), FULL_HEX);
  assertRoundTrip(t, disCoRegistrationCodec(16), FULL, FULL_HEX);
  const secondary: DisCoRegistration = { ...FULL, ext: { ...FULL.ext!, role: 'secondary', term: 0xffffffff, capacity: 0xffff, participants: 0 } };
  const hex = toHex(encodeDisCoRegistration(secondary));
  t.equal(hex.slice(-18), '02' + 'ffffffff' + 'ffff' + '0000', 'role 2, uint32 / uint16 limits at the end');
  assertRoundTrip(t, disCoRegistrationCodec(16), secondary);
});

t.test('the reference implementation’s form (coordinate + node_id) decodes without the extension', async (t) => {
  const bare: DisCoRegistration = { coordinate: '', nodeId: ID };
  const hex = '0012' + '0000' + toHex(ID);
  t.equal(toHex(encodeDisCoRegistration(bare)), hex);
  t.same(decodeDisCoRegistration(fromHex(hex)), bare);
  assertRoundTrip(t, disCoRegistrationCodec(16), bare, hex);
});

t.test('20-byte Node-IDs (node-id-length 20)', async (t) => {
  const id20 = new Uint8Array(20).fill(0xab);
  const v: DisCoRegistration = { coordinate: 'x', nodeId: id20, ext: { destinations: [{ type: 'node', id: id20 }], sipContact: '', role: 'secondary', term: 1, capacity: 1, participants: 1 } };
  assertRoundTrip(t, disCoRegistrationCodec(20), v);
  t.throws(() => disCoRegistrationCodec(16).size(v), EncodeError, 'a 16-byte codec refuses a 20-byte Node-ID');
});

t.test('malformed values are DecodeErrors; bad fields EncodeErrors', async (t) => {
  const bytes = fromHex(FULL_HEX);
  t.throws(() => decodeDisCoRegistration(bytes.subarray(0, bytes.length - 1)), DecodeError, 'truncated');
  const role9 = fromHex(FULL_HEX);
  role9[2 + 5 + 16 + 2 + 18 + 7] = 9;
  t.throws(() => decodeDisCoRegistration(role9), DecodeError, 'an unknown role');
  const longer = fromHex(FULL_HEX.replace(/^0039/, '003a') + '00');
  t.same(decodeDisCoRegistration(longer), FULL, 'a longer tail (a later version’s fields) is skipped within the length');
  t.throws(() => decodeDisCoRegistration(fromHex(FULL_HEX + '00')), DecodeError, 'bytes after the length are an error');
  t.throws(() => encodeDisCoRegistration({ ...FULL, ext: { ...FULL.ext!, capacity: 70000 } }), EncodeError, 'capacity beyond uint16');
  t.throws(() => encodeDisCoRegistration({ ...FULL, ext: { ...FULL.ext!, term: -1 } }), EncodeError, 'negative term');
});

t.test('registeredFoci keeps only consistent, live entries', async (t) => {
  const other = fromHex('ff0102030405060708090a0b0c0d0e0f');
  const good = { key: ID, exists: true, payload: encodeDisCoRegistration(FULL), signer: { userName: 'p1@x', nodeId: ID }, lifetimeS: 10 };
  const foci = registeredFoci(
    [
      good,
      { ...good, key: other }, // key is not the value's node_id
      { ...good, signer: { userName: 'p2@x', nodeId: other } }, // signed by another node
      { ...good, exists: false },
      { ...good, lifetimeS: 0 },
      { ...good, payload: fromHex('0012') }, // malformed
      { ...good, payload: encodeDisCoRegistration({ coordinate: '', nodeId: ID }) }, // no extension: no way to reach it
    ],
    16,
  );
  t.equal(foci.length, 1);
  t.match(foci[0], { nodeHex: toHex(ID), role: 'primary', term: 7, capacity: 3, participants: 2, sipContact: 'sip:f', coordinate: '2.1', userName: 'p1@x' });
});

t.test('focus advertisement data and the conference Resource Name', async (t) => {
  t.equal(toHex(encodeFocusAdvertisement(3, 1)), '00030001');
  t.same(decodeFocusAdvertisement(fromHex('000a0000')), { capacity: 10, free: 0 });
  t.throws(() => decodeFocusAdvertisement(fromHex('000a')), DecodeError);
  t.equal(conferenceResourceName('sip:team-conf-alice@Example.ORG'), 'team-conf-alice@example.org', 'scheme removed, domain lower-cased (RFC 7904 §3)');
  t.equal(conferenceResourceName('<sips:team-conf-alice@example.org;gr=abc?x=y>'), 'team-conf-alice@example.org', 'parameters and headers removed');
  t.equal(conferenceResourceName('sip:a%2Db-conf-alice@example.org'), 'a-b-conf-alice@example.org', '%-escapes decoded');
});
