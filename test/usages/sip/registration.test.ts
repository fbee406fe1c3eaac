/**
 * SipRegistration (RFC 7904 §3.2) byte layouts, the round-trip invariant, unknown types
 * kept opaque, typed errors, and the AOR → Resource Name rule (RFC 7904 §2, §3.3).
 */
import t from 'tap';
import { DecodeError, EncodeError, decode, encode, resourceIdOf, toHex, utf8 } from '../../../src/wire/index.js';
import {
  type SipRegistration,
  aorResourceId,
  aorResourceName,
  decodeSipRegistration,
  encodeSipRegistration,
  sipRegistration,
} from '../../../usages/sip/registration.js';
import { hex, roundTripProblems } from '../../helpers/roundtrip.js';

const nodeA = Uint8Array.from({ length: 16 }, (_, i) => i + 1);

function decodeErrorOf(fn: () => unknown): { structure: string; field: string; reason: string } | string {
  try {
    fn();
  } catch (e) {
    if (e instanceof DecodeError) return { structure: e.structure, field: e.field, reason: e.reason };
    return `${(e as Error).name}: ${(e as Error).message}`;
  }
  return 'nothing thrown';
}

t.test('sip_registration_uri: u8 type=1, u16 length, opaque uri<0..2^16-1>', async (t) => {
  const v: SipRegistration = { type: 'uri', uri: 'bob@dht.example.com' };
  t.equal(toHex(encodeSipRegistration(v)), hex(`01 0015 0013 ${toHex(utf8('bob@dht.example.com'))}`));
  t.same(roundTripProblems(sipRegistration, v), []);
});

t.test('sip_registration_route: contact_prefs and a destination list', async (t) => {
  const v: SipRegistration = {
    type: 'route',
    contactPrefs: '(sip.schemes=SIPS)',
    destinations: [
      { type: 'compressed', id: 0x8123 },
      { type: 'node', id: nodeA },
    ],
  };
  const bytes = encodeSipRegistration(v);
  t.equal(
    toHex(bytes),
    hex(`
      02 002a                                  # type 2, length 42 = (2 + 18) + (2 + 20)
      0012 ${toHex(utf8('(sip.schemes=SIPS)'))} # contact_prefs<0..2^16-1>
      0014                                     # destination_list: 20 bytes
      8123                                     # compressed id
      0110 0102030405060708090a0b0c0d0e0f10    # node
    `),
  );
  t.same(decodeSipRegistration(bytes), v);
  t.same(roundTripProblems(sipRegistration, v), []);
  t.same(roundTripProblems(sipRegistration, { type: 'route', contactPrefs: '', destinations: [{ type: 'resource', id: utf8('FOO') }] }), []);
});

t.test('an unknown SipRegistrationType is kept opaque by its length', async (t) => {
  const bytes = hex('07 0003 aabbcc');
  const v = decodeSipRegistration(Buffer.from(bytes, 'hex'));
  t.same(v, { type: 'unknown', code: 7, data: new Uint8Array([0xaa, 0xbb, 0xcc]) });
  t.equal(toHex(encodeSipRegistration(v)), bytes);
  t.same(roundTripProblems(sipRegistration, v), []);
  t.throws(() => encode(sipRegistration, { type: 'unknown', code: 2, data: new Uint8Array(0) }), EncodeError, 'a known code cannot pose as unknown');
});

t.test('malformed values are typed DecodeErrors naming the field', async (t) => {
  const b = (s: string) => new Uint8Array(Buffer.from(hex(s), 'hex'));
  t.same(decodeErrorOf(() => decodeSipRegistration(b('02 0004 0000 0000'))), {
    structure: 'SipRegistration',
    field: 'destination_list',
    reason: 'length',
  }, 'destination_list<3..2^16-1> cannot be empty');
  t.same(decodeErrorOf(() => decodeSipRegistration(b('01 0010 0003 616263'))), {
    structure: 'SipRegistration',
    field: 'data',
    reason: 'length',
  }, 'length beyond the value');
  t.same(decodeErrorOf(() => decodeSipRegistration(b('01 0006 0003 616263 00'))), {
    structure: 'SipRegistration',
    field: '(end)',
    reason: 'trailing',
  }, 'data longer than the uri');
  t.same(decodeErrorOf(() => decodeSipRegistration(b('01 0004 0002 c328'))), {
    structure: 'SipRegistration',
    field: 'uri',
    reason: 'value',
  }, 'uri is not UTF-8');
  t.same(decodeErrorOf(() => decodeSipRegistration(b('02'))), { structure: 'SipRegistration', field: 'length', reason: 'truncated' });
  t.same(decodeErrorOf(() => decode(sipRegistration, b('01 0005 0003 616263 ff'))), {
    structure: 'SipRegistration',
    field: '(end)',
    reason: 'trailing',
  }, 'bytes after the structure');
  t.throws(() => encodeSipRegistration({ type: 'route', contactPrefs: '', destinations: [] }), EncodeError, 'empty route');
});

t.test('AOR → Resource Name: strip sip:/sips:, decode %-escapes', async (t) => {
  t.equal(aorResourceName('sip:alice@example.org'), 'alice@example.org');
  t.equal(aorResourceName('SIPS:alice@example.org'), 'alice@example.org', 'scheme is case-insensitive');
  t.equal(aorResourceName('alice@example.org'), 'alice@example.org', 'already scheme-less');
  t.equal(aorResourceName('sip:%61lice@example.org'), 'alice@example.org');
  t.equal(aorResourceName('sip:ren%C3%A9@example.org'), 'rené@example.org', 'UTF-8 escapes');
  t.equal(aorResourceName('tel:+123'), 'tel:+123', 'only sip and sips are stripped');
  t.same(decodeErrorOf(() => aorResourceName('sip:a%zz@example.org')), { structure: 'AOR', field: 'percent_encoding', reason: 'value' });
  t.same(decodeErrorOf(() => aorResourceName('sip:a%4')), { structure: 'AOR', field: 'percent_encoding', reason: 'value' });
  t.same(decodeErrorOf(() => aorResourceName('sip:a%ff@example.org')), { structure: 'AOR', field: 'percent_encoding', reason: 'value' }, 'not UTF-8');
  // rfc6940-wire.md §1.1 test vector.
  t.equal(toHex(aorResourceId('sip:alice@example.org')), '45a6b241a242c97f0492d382c390dfa3');
  t.equal(toHex(aorResourceId('sip:%61lice@example.org')), toHex(resourceIdOf('alice@example.org')));
});
