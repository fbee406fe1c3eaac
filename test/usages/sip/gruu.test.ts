/**
 * RELOAD GRUUs (RFC 7904 §6): the `gr` parameter is the base64 (RFC 4648 Table 1) of a
 * destination list with "~" in place of "=".
 */
import t from 'tap';
import { Reader, Writer } from '../../../src/wire/codec.js';
import { type Destination, decodeDestinationList, destinationListSize, encodeDestinationList } from '../../../src/wire/destination.js';
import { GRUU_PARAM, decodeGruuParam, encodeGruuParam, gruuUri } from '../../../usages/sip/index.js';
import { parseUri, getUriParam } from '../../../usages/sip/stack/index.js';

const n16 = (b: number): Uint8Array => new Uint8Array(16).fill(b);

t.test('round trip of node, resource and opaque destinations', async (t) => {
  const lists: Destination[][] = [
    [{ type: 'node', id: n16(1) }],
    [{ type: 'node', id: n16(2) }, { type: 'node', id: new Uint8Array(20).fill(3) }],
    [{ type: 'resource', id: new Uint8Array([9, 8, 7]) }, { type: 'opaque', id: new Uint8Array([1]) }],
  ];
  for (const list of lists) {
    const gr = encodeGruuParam(list);
    t.match(gr, /^[A-Za-z0-9+/]+~{0,2}$/, `${gr}: RFC 4648 alphabet, ~ for padding`);
    t.notOk(gr.includes('='));
    t.same(decodeGruuParam(gr), list);
    // The bytes under the base64 are exactly the concatenated Destination structures.
    const w = new Writer(new Uint8Array(destinationListSize(list)));
    encodeDestinationList(w, list);
    t.same(Buffer.from(gr.replace(/~/g, '='), 'base64'), Buffer.from(w.buf));
    t.same(decodeDestinationList(new Reader(w.buf)), list);
  }
});

t.test('padding: none, one and two ~', async (t) => {
  // An opaque Destination is type, length and a 1-byte-length vector: 3 + id octets.
  const opaque = (n: number): Destination[] => [{ type: 'opaque', id: new Uint8Array(n).fill(7) }];
  t.match(encodeGruuParam(opaque(6)), /[^~]$/, '9 octets: no padding');
  t.match(encodeGruuParam(opaque(5)), /[^~]~$/, '8 octets: one ~');
  t.match(encodeGruuParam(opaque(7)), /[^~]~~$/, '10 octets: two ~');
  for (const n of [5, 6, 7]) t.same(decodeGruuParam(encodeGruuParam(opaque(n))), opaque(n));
});

t.test('the GRUU URI: the AOR with a gr parameter that SIP parses back', async (t) => {
  const list: Destination[] = [{ type: 'node', id: n16(0xfe) }];
  const g = gruuUri('alice@example.com', list);
  t.match(g, /^sip:alice@example\.com;gr=/);
  const uri = parseUri(g);
  t.equal(uri.kind, 'sip');
  const gr = getUriParam(uri as never, GRUU_PARAM);
  t.same(decodeGruuParam(String(gr)), list, 'the URI parser keeps +, / and ~ in the parameter');
  t.equal(gruuUri('sips:alice@example.com', list).startsWith('sips:alice@example.com;gr='), true);
  t.throws(() => gruuUri('sip:alice@example.com;transport=tcp', list), RangeError);
});

t.test('refusals', async (t) => {
  t.throws(() => encodeGruuParam([]), RangeError);
  t.throws(() => encodeGruuParam([{ type: 'compressed', id: 5 }]), RangeError);
  // The RFC's illustrative value decodes to the ASCII digits, which are no Destination.
  t.throws(() => decodeGruuParam('MDEyMzQ1Njc4OTAxMjM0NTY3ODk~'), { name: 'DecodeError' });
  for (const bad of ['', 'AQID=', 'AQ-_', 'AQI', '~~~~', 'AQ~A']) {
    t.throws(() => decodeGruuParam(bad), { name: 'DecodeError' }, `"${bad}" is refused`);
  }
  // A compressed destination (two-byte form, top bit set) is refused.
  t.throws(() => decodeGruuParam(Buffer.from([0x80, 0x01, 0x80, 0x02]).toString('base64')), { name: 'DecodeError' });
});
