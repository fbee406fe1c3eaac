/** Identifiers (rfc6940-wire.md §1.1): the overlay hash, Resource-IDs, Node-ID helpers. */
import t from 'tap';
import { toHex } from '../../src/wire/codec.js';
import { compareIds, idHex, isWildcardNodeId, overlayHash, resourceIdOf, wildcardNodeId } from '../../src/wire/ids.js';
import { bytesOf } from '../helpers/roundtrip.js';

t.test('the test vectors of §1.1', async (t) => {
  // SHA-1("overlay.example.org") = 74b9a543 a333b17c f6972962 2ee7b321 9aa32b8d: the last 4 bytes.
  t.equal(overlayHash('overlay.example.org'), 0x9aa32b8d);
  t.equal(toHex(resourceIdOf('alice@example.org')), '45a6b241a242c97f0492d382c390dfa3');
  t.equal(toHex(resourceIdOf(bytesOf('0102030405060708090a0b0c0d0e0f10'))), '2cc429832452134629f1f6d296ec8aef');
});

t.test('Resource-IDs keep the first NodeIdLength bytes of SHA-1', async (t) => {
  t.equal(resourceIdOf('alice@example.org').length, 16);
  t.equal(toHex(resourceIdOf('alice@example.org', 20)), '45a6b241a242c97f0492d382c390dfa335aac986');
  t.equal(overlayHash(''), 0xafd80709, 'SHA-1("") = da39a3ee...afd80709');
});

t.test('wildcard Node-ID and id comparison', async (t) => {
  t.equal(toHex(wildcardNodeId()), 'ff'.repeat(16));
  t.equal(wildcardNodeId(20).length, 20);
  t.ok(isWildcardNodeId(wildcardNodeId()));
  t.notOk(isWildcardNodeId(bytesOf(`${'ff'.repeat(15)}fe`)));
  t.equal(compareIds(bytesOf('0001'), bytesOf('0002')), -1);
  t.equal(compareIds(bytesOf('0100'), bytesOf('00ff')), 1, 'big-endian unsigned');
  t.equal(compareIds(bytesOf('80'), bytesOf('7f')), 1, 'no sign');
  t.equal(compareIds(bytesOf('0102'), bytesOf('0102')), 0);
  t.equal(idHex(bytesOf('0aff')), '0aff');
});
