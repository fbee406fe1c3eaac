import { hash, randomBytes } from 'node:crypto';
import t from 'tap';
import { createOverlayCA, generateRsaKey, issueCertificate } from '../../certs/ca.js';
import { ReloadError } from '../../src/common/errors.js';
import { VirtualClock } from '../../src/common/clock.js';
import { makeCredentials } from '../../src/security/credentials.js';
import { Signer } from '../../src/security/signer.js';
import { CertificateStore } from '../../src/security/trust.js';
import { findSigner, verifyMessage, verifyStoredData } from '../../src/security/verifier.js';
import { CertificateType, FRAGMENT_UNFRAGMENTED, HashAlgorithm, MessageCode, RELOAD_VERSION } from '../../src/wire/constants.js';
import { encode } from '../../src/wire/codec.js';
import type { ForwardingHeader } from '../../src/wire/forwarding-header.js';
import { assembleMessage, decodeMessage, messageContents } from '../../src/wire/message.js';
import type { StoredData } from '../../src/wire/storage.js';

const OVERLAY = 'verifier-test.example.org';
const ca = createOverlayCA(OVERLAY);
const otherCa = createOverlayCA(OVERLAY);

function signer(authority: typeof ca, name: string): Signer {
  const { privateKey, publicKey } = generateRsaKey();
  const der = issueCertificate(authority, { publicKey, userName: `${name}@${OVERLAY}`, nodeIds: [new Uint8Array(randomBytes(16))] });
  return new Signer(makeCredentials(der, privateKey));
}

const alice = signer(ca, 'alice');
const bob = signer(ca, 'bob');
const mallory = signer(otherCa, 'mallory');
const newStore = () => new CertificateStore({ overlay: OVERLAY, rootCerts: [ca.certificate], nodeIdLength: 16 }, new VirtualClock(Date.now()));
const x509 = (der: Uint8Array) => ({ type: CertificateType.x509, certificate: der });
const sha256 = (der: Uint8Array) => new Uint8Array(hash('sha256', der, 'buffer'));

function message(s: Signer, body: Uint8Array, extra: Uint8Array[] = []): Uint8Array {
  const header: ForwardingHeader = {
    overlay: 0x01020304,
    configurationSequence: 1,
    version: RELOAD_VERSION,
    ttl: 100,
    fragment: FRAGMENT_UNFRAGMENTED,
    length: 0,
    transactionId: 0x1122334455667788n,
    maxResponseLength: 0,
    viaList: [],
    destinationList: [{ type: 'node', id: new Uint8Array(16).fill(7) }],
    options: [],
  };
  const contents = encode(messageContents, { code: MessageCode.pingReq, body, extensions: [] });
  return assembleMessage(header, contents, s.signMessage(header.overlay, header.transactionId, contents, extra));
}

t.test('checkCertHash: the certificate with that SHA-256, checked; others are not it', async (t) => {
  const store = newStore();
  const a = alice.credentials.certificate.der;
  t.equal(store.checkCertHash(bob.credentials.certificate.der, sha256(a)), undefined, 'another certificate: not a match');
  const first = store.checkCertHash(a, sha256(a));
  t.ok(first, 'matched and trusted');
  t.same(first!.nodeIds, alice.credentials.certificate.nodeIds);
  // Seen before: recognised by its bytes (a copy, as when it arrives in another message).
  t.equal(store.checkCertHash(new Uint8Array(a), sha256(a)), first, 'the cached identity');
  t.equal(store.checkCertHash(bob.credentials.certificate.der, sha256(a)), undefined, 'still not bob, though alice is cached');
  const tampered = new Uint8Array(a);
  tampered[tampered.length - 1] ^= 1;
  t.equal(store.checkCertHash(tampered, sha256(a)), undefined, 'one byte changed: another hash');
  t.equal(store.checkCertHash(a, sha256(a).subarray(0, 20)), undefined, 'not a SHA-256');
  const m = mallory.credentials.certificate.der;
  t.throws(() => store.checkCertHash(m, sha256(m)), { code: 'ERR_RELOAD_CERTIFICATE' }, 'untrusted: refused');
  t.throws(() => store.checkCertHash(new Uint8Array(m), sha256(m)), { code: 'ERR_RELOAD_CERTIFICATE' }, 'refused again from the cache');
});

t.test('findSigner picks the signer among several certificates, whatever their order', async (t) => {
  const store = newStore();
  const certs = [x509(bob.credentials.certificate.der), x509(alice.credentials.certificate.der)];
  for (let round = 0; round < 2; round++) {
    const s = findSigner(alice.identity, certs, store);
    t.same(s.nodeId, alice.nodeId, `round ${round}: alice`);
    t.same(findSigner(bob.identity, [...certs].reverse(), store).nodeId, bob.nodeId, `round ${round}: bob`);
  }
  t.throws(() => findSigner(alice.identity, [x509(bob.credentials.certificate.der)], store), ReloadError, 'signer certificate missing');
  t.throws(
    () => findSigner(mallory.identity, [x509(mallory.credentials.certificate.der)], store),
    { errorCode: 2, message: /signer certificate refused/ },
    'untrusted signer: Error_Forbidden',
  );
});

t.test('message signatures through the reused input buffer: valid ones verify, altered ones do not', async (t) => {
  const store = newStore();
  // Messages of very different sizes one after the other (the input buffer is reused), and
  // one larger than the buffer (it gets its own).
  for (const size of [10, 3000, 5, 70_000, 200]) {
    const bytes = message(alice, new Uint8Array(randomBytes(size)), [bob.credentials.certificate.der]);
    t.same(verifyMessage(decodeMessage(bytes), store).nodeId, alice.nodeId, `${size}-byte body verifies`);
    const altered = new Uint8Array(bytes);
    // The last byte of the body (just before the extensions' 4-byte length).
    const m = decodeMessage(bytes);
    altered[m.contentsBytes.byteOffset - bytes.byteOffset + m.contentsBytes.length - 5] ^= 1;
    t.throws(() => verifyMessage(decodeMessage(altered), store), { message: /signature does not verify/ }, `${size}-byte body altered`);
  }
});

t.test('stored-data signatures through the reused input buffer', async (t) => {
  const store = newStore();
  const resource = new Uint8Array(16).fill(3);
  const certs = [x509(alice.credentials.certificate.der)];
  for (const size of [1, 2000, 70_000, 8]) {
    const value = { model: 'single' as const, value: { exists: true, value: new Uint8Array(randomBytes(size)) } };
    const data: StoredData = { storageTime: 1000n, lifetime: 60, value, signature: alice.signStoredData(resource, 42, 1000n, value) };
    t.same(verifyStoredData(resource, 42, data, certs, store).nodeId, alice.nodeId, `${size}-byte value verifies`);
    t.throws(() => verifyStoredData(resource, 43, data, certs, store), { message: /stored data signature does not verify/ }, 'another Kind: refused');
    const later = { ...data, storageTime: 1001n };
    t.throws(() => verifyStoredData(resource, 42, later, certs, store), { message: /does not verify/ }, 'another storage_time: refused');
  }
  t.equal(alice.identity.type === 'cert_hash' && alice.identity.hashAlg, HashAlgorithm.sha256, 'cert_hash with SHA-256 (the recognised path)');
});
