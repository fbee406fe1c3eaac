/**
 * SecurityBlock, GenericCertificate, Signature and SignerIdentity (rfc6940-wire.md §4).
 */
import t from 'tap';
import { EncodeError, decode, encode, toHex } from '../../src/wire/codec.js';
import { HashAlgorithm, SignatureAlgorithm } from '../../src/wire/constants.js';
import {
  UNSIGNED,
  genericCertificate,
  securityBlock,
  signature,
  signerIdentity,
} from '../../src/wire/security-block.js';
import { Gen } from '../helpers/gen.js';
import { assertDecodeError, assertRoundTrip, assertRoundTripMany, bytesOf } from '../helpers/roundtrip.js';

/** A 32-byte "certificate hash" chosen for the examples: 00 01 02 ... 1f. */
const H32 = Uint8Array.from({ length: 32 }, (_, i) => i);
const H32_HEX = '000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f';
const H20 = Uint8Array.from({ length: 20 }, (_, i) => 0xa0 + i);
const H20_HEX = 'a0a1a2a3a4a5a6a7a8a9aaabacadaeafb0b1b2b3';

t.test('GenericCertificate: type byte, 2-byte length, DER bytes', async (t) => {
  assertRoundTrip(t, genericCertificate, { type: 0, certificate: bytesOf('3003020100') }, `
    00           # CertificateType X.509
    0005         # length 5
    3003020100   # the dummy DER certificate of §11
  `);
  assertRoundTrip(t, genericCertificate, { type: 1, certificate: new Uint8Array(0) }, '01 0000');
});

t.test('SignerIdentity in each form', async (t) => {
  assertRoundTrip(t, signerIdentity, { type: 'cert_hash', hashAlg: HashAlgorithm.sha256, hash: H32 }, `
    01       # cert_hash
    0022     # length 34 = hash_alg + prefix + 32
    04       # sha256
    20       # certificate_hash<0..2^8-1>: 32 bytes
    ${H32_HEX}
  `);
  assertRoundTrip(t, signerIdentity, { type: 'cert_hash_node_id', hashAlg: HashAlgorithm.sha1, hash: H20 }, `
    02 0016 02 14 ${H20_HEX}   # cert_hash_node_id, length 22, sha1, 20-byte hash
  `);
  assertRoundTrip(t, signerIdentity, { type: 'none' }, '03 0000');
  // An identity type this node does not know is skipped by its length and kept as is.
  assertRoundTrip(t, signerIdentity, { type: 'unknown', code: 9, value: bytesOf('cafe') }, '09 0002 cafe');
});

t.test('the unsigned Signature is 00 00 03 00 00 00 00 (§4)', async (t) => {
  assertRoundTrip(t, signature, UNSIGNED, `
    00 00     # algorithm: hash none, signature anonymous
    03 0000   # SignerIdentity none, length 0
    0000      # empty signature_value
  `);
  t.ok(Object.isFrozen(UNSIGNED));
});

t.test('an RSA/SHA-256 Signature with a cert_hash identity', async (t) => {
  const s = {
    hashAlg: HashAlgorithm.sha256,
    sigAlg: SignatureAlgorithm.rsa,
    identity: { type: 'cert_hash' as const, hashAlg: HashAlgorithm.sha256, hash: H32 },
    value: bytesOf('00000000'),
  };
  assertRoundTrip(t, signature, s, `
    04 01                      # SignatureAndHashAlgorithm: sha256, rsa (hash byte first)
    01 0022 04 20 ${H32_HEX}   # SignerIdentity cert_hash
    0004 00000000              # signature_value<0..2^16-1>
  `);
  assertRoundTrip(t, securityBlock, { certificates: [{ type: 0, certificate: bytesOf('3003020100') }], signature: s }, `
    0008 00 0005 3003020100    # certificates<0..2^16-1>: 8 bytes, one X.509 certificate
    04 01 01 0022 04 20 ${H32_HEX} 0004 00000000
  `);
  assertRoundTrip(t, securityBlock, { certificates: [], signature: UNSIGNED }, '0000 00 00 03 0000 0000');
  assertRoundTrip(t, securityBlock, {
    certificates: [
      { type: 0, certificate: bytesOf('aa') },
      { type: 0, certificate: bytesOf('bbcc') },
    ],
    signature: UNSIGNED,
  }, '0009 00 0001 aa 00 0002 bbcc  00 00 03 0000 0000'); // 4 + 5 certificate bytes
});

t.test('hostile signer identities', async (t) => {
  // invalidSignerIdentityType (0), rejected before its length is trusted.
  assertDecodeError(t, () => decode(signerIdentity, bytesOf('00 0000')), { structure: 'SignerIdentity', field: 'identity_type', reason: 'value', offset: 0 });
  assertDecodeError(t, () => decode(signerIdentity, bytesOf('00 ffff')), { structure: 'SignerIdentity', field: 'identity_type', reason: 'value' });
  // Identity length larger than what is left.
  assertDecodeError(t, () => decode(signerIdentity, bytesOf('01 0022 04 20 0001')), { structure: 'SignerIdentity', field: 'identity', reason: 'length' });
  // Inner hash length larger than the identity length.
  assertDecodeError(t, () => decode(signerIdentity, bytesOf('01 0003 04 05 aa')), { structure: 'SignerIdentity', field: 'certificate_hash', reason: 'length' });
  // Bytes left over inside the identity.
  assertDecodeError(t, () => decode(signerIdentity, bytesOf('01 0004 04 01 aa bb')), { structure: 'SignerIdentity', field: '(end)', reason: 'trailing' });
  // `none` must be empty.
  assertDecodeError(t, () => decode(signerIdentity, bytesOf('03 0001 00')), { structure: 'SignerIdentity', field: '(end)', reason: 'trailing' });
  // cert_hash without its hash_alg byte.
  assertDecodeError(t, () => decode(signerIdentity, bytesOf('01 0000')), { structure: 'SignerIdentity', field: 'hash_alg', reason: 'truncated' });
});

t.test('hostile signatures and security blocks', async (t) => {
  assertDecodeError(t, () => decode(signature, bytesOf('04 01 03 0000 0005 0000')), { structure: 'Signature', field: 'signature_value', reason: 'length' });
  assertDecodeError(t, () => decode(signature, bytesOf('04')), { structure: 'Signature', field: 'algorithm.signature', reason: 'truncated' });
  assertDecodeError(t, () => decode(securityBlock, bytesOf('0010 00 0005 3003020100 0000 03 0000 0000')), {
    structure: 'SecurityBlock.certificates',
    field: 'length',
    reason: 'length',
    offset: 0,
  });
  assertDecodeError(t, () => decode(genericCertificate, bytesOf('00 0006 3003020100')), { structure: 'GenericCertificate', field: 'certificate', reason: 'length' });
  // A certificate list whose byte count cuts a certificate: the element runs out.
  assertDecodeError(t, () => decode(securityBlock, bytesOf('0004 00 0005 3003020100 0000 03 0000 0000')), {
    structure: 'GenericCertificate',
    field: 'certificate',
    reason: 'length',
  });
});

t.test('encoders refuse oversized fields', async (t) => {
  t.throws(() => encode(signerIdentity, { type: 'cert_hash', hashAlg: 4, hash: new Uint8Array(256) }), EncodeError);
  t.throws(() => encode(signature, { ...UNSIGNED, value: new Uint8Array(0x10000) }), EncodeError);
  t.throws(() => encode(genericCertificate, { type: 0, certificate: new Uint8Array(0x10000) }), EncodeError);
  t.equal(toHex(encode(signerIdentity, { type: 'unknown', code: 200, value: new Uint8Array(0) })), 'c80000');
});

t.test('property: random security blocks round-trip', async (t) => {
  const g = new Gen('security-block');
  assertRoundTripMany(t, signerIdentity, 2000, () => g.signerIdentity());
  assertRoundTripMany(t, signature, 1500, () => g.signature());
  assertRoundTripMany(t, genericCertificate, 1000, () => g.genericCertificate());
  assertRoundTripMany(t, securityBlock, 1500, () => g.securityBlock());
});
