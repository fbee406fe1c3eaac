/** The RELOAD URI (rfc6940-wire.md §10). */
import t from 'tap';
import { toHex } from '../../src/wire/codec.js';
import { destinationsEqual } from '../../src/wire/destination.js';
import { formatReloadUri, nodeIdUri, parseReloadUri } from '../../src/wire/reload-uri.js';
import { Gen } from '../helpers/gen.js';
import { assertDecodeError, bytesOf, deepDiff } from '../helpers/roundtrip.js';

const ID = bytesOf('0102030405060708090a0b0c0d0e0f10');
const EXAMPLE = 'reload://01100102030405060708090a0b0c0d0e0f10@overlay.example.org/';

t.test('the Node-ID URI example of §10', async (t) => {
  t.equal(nodeIdUri(ID, 'overlay.example.org'), EXAMPLE); // 01 = node, 10 = length 16
  const u = parseReloadUri(EXAMPLE);
  t.equal(u.overlay, 'overlay.example.org');
  t.equal(u.destinations.length, 1);
  t.ok(destinationsEqual(u.destinations[0]!, { type: 'node', id: ID }));
  t.equal(u.specifier, undefined);
});

t.test('hex digits and the scheme compare case-insensitively; the overlay is lower-cased', async (t) => {
  const u = parseReloadUri('RELOAD://01100102030405060708090A0B0C0D0E0F10@Overlay.Example.ORG/');
  t.ok(destinationsEqual(u.destinations[0]!, { type: 'node', id: ID }));
  t.equal(u.overlay, 'overlay.example.org');
});

t.test('a URI naming a data item: several destinations and a specifier', async (t) => {
  const spec = bytesOf('00000010 0000000000000000 000a 0008 00000000 ffffffff'); // the §6.3 example
  const text = formatReloadUri({
    destinations: [{ type: 'compressed', id: 0x8123 }, { type: 'resource', id: bytesOf('464f4f') }],
    overlay: 'overlay.example.org',
    specifier: spec,
  });
  t.equal(text, 'reload://8123 02 04 03 464f4f@overlay.example.org/'.replace(/ /g, '') + toHex(spec));
  const u = parseReloadUri(text);
  t.equal(u.destinations.length, 2);
  t.equal(toHex(u.specifier!), toHex(spec));
});

t.test('malformed RELOAD URIs', async (t) => {
  for (const bad of [
    '',
    'reload://@overlay.example.org/',
    'http://0110@overlay.example.org/',
    'reload://0110overlay.example.org/',
    'reload://01100102@overlay.example.org',
    'reload://0110zz@overlay.example.org/',
    'reload://0110@over lay.example.org/',
    'reload://0110@over@lay/',
    'reload://0110@overlay.example.org/xyz',
    'reload://0110@overlay.example.org/00/',
    'reload://0110@%zzoverlay/',
  ]) {
    assertDecodeError(t, () => parseReloadUri(bad), { structure: 'ReloadUri', field: 'uri', reason: 'value' }, JSON.stringify(bad));
  }
  assertDecodeError(t, () => parseReloadUri(`reload://011${'0'.repeat(32)}@o/`), { structure: 'ReloadUri', field: 'destination', reason: 'value' }, 'odd number of hex digits');
  assertDecodeError(t, () => parseReloadUri('reload://8123@o/abc'), { structure: 'ReloadUri', field: 'specifier', reason: 'value' });
  assertDecodeError(t, () => parseReloadUri('reload://0010aa@o/'), { structure: 'Destination', field: 'type', reason: 'value' }, 'DestinationType 0');
  assertDecodeError(t, () => parseReloadUri('reload://0110aa@o/'), { structure: 'Destination', field: 'destination_data', reason: 'length' });
  t.equal(parseReloadUri('reload://8001@a-b.c_d~e%41!$&\'()*+,;=/').overlay, "a-b.c_d~e%41!$&'()*+,;=", 'every reg-name character');
});

t.test('property: random destination lists round-trip through the URI form', async (t) => {
  const g = new Gen('reload-uri');
  const problems: string[] = [];
  for (let i = 0; i < 2000; i++) {
    const destinations = g.destinationList(4);
    const specifier = g.bool(0.3) ? g.bytes(1 + g.int(40)) : undefined;
    const overlay = `${g.pick(['a', 'overlay', 'p2p-sip'])}.${g.pick(['example', 'test'])}.org`;
    const u = specifier ? { destinations, overlay, specifier } : { destinations, overlay };
    const back = parseReloadUri(formatReloadUri(u));
    const d = deepDiff(back, u);
    if (d && problems.length < 5) problems.push(`#${i}: ${d}`);
  }
  t.same(problems, [], '2000 URIs round-trip');
});
