/**
 * Peer certificate checks (certs/verify.ts) and the self-signed mode (certs/ca.ts
 * createSelfSignedCertificate; RFC 6940 §13.4) through src/security/trust.ts.
 */
import t from 'tap';
import { X509Certificate } from 'node:crypto';
import {
  type OverlayCA,
  createOverlayCA,
  createSelfSignedCertificate,
  generateRsaKey,
  issueCertificate,
  issueServerCertificate,
} from '../../certs/ca.js';
import { CertificateError } from '../../certs/identity.js';
import { peerCertificateVerifier, verifyPeerCertificate } from '../../certs/verify.js';
import { VirtualClock } from '../../src/common/clock.js';
import { defaultConfiguration } from '../../src/config/types.js';
import { CertificateStore, selfSignedNodeId } from '../../src/security/trust.js';
import { toHex } from '../../src/wire/codec.js';

const OVERLAY = 'overlay.example.org';
const DAY = 86_400_000;
const NOW = Date.now();
const ca = createOverlayCA(OVERLAY);
const key = generateRsaKey();
const nodeId = new Uint8Array(16).map((_, i) => i + 1);
const good = issueCertificate(ca, { publicKey: key.publicKey, userName: 'alice@example.org', nodeIds: [nodeId] });

function reason(fn: () => unknown): string | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof CertificateError) return `${err.reason}: ${err.message}`;
    throw err;
  }
  return undefined;
}

t.test('an enrolled certificate passes and yields its identity', async (t) => {
  const id = verifyPeerCertificate(good, [ca.certificate], NOW, { overlay: OVERLAY, userName: 'alice@example.org', nodeId });
  t.equal(id.userName, 'alice@example.org');
  t.same(id.nodeIds.map(toHex), [toHex(nodeId)]);
  t.equal(id.overlay, OVERLAY);
  t.ok(verifyPeerCertificate(good, [createOverlayCA('x.example').certificate, ca.certificate], NOW, { overlay: 'OVERLAY.example.org' }), 'any of several roots, overlay compared case-insensitively');
});

t.test('refusals name the problem', async (t) => {
  const otherCa = createOverlayCA(OVERLAY);
  const foreign = issueCertificate(otherCa, { publicKey: key.publicKey, userName: 'alice@example.org', nodeIds: [nodeId] });
  t.match(reason(() => verifyPeerCertificate(foreign, [ca.certificate], NOW, { overlay: OVERLAY })), /^untrusted: certificate does not chain to a trusted root$/, 'another CA');

  const expired = issueCertificate(ca, { publicKey: key.publicKey, userName: 'a@example.org', nodeIds: [nodeId], notBefore: NOW - 10 * DAY, notAfter: NOW - DAY });
  t.match(reason(() => verifyPeerCertificate(expired, [ca.certificate], NOW, { overlay: OVERLAY })), /^expired: certificate expired at /);
  const future = issueCertificate(ca, { publicKey: key.publicKey, userName: 'a@example.org', nodeIds: [nodeId], notBefore: NOW + DAY, notAfter: NOW + 10 * DAY });
  t.match(reason(() => verifyPeerCertificate(future, [ca.certificate], NOW, { overlay: OVERLAY })), /^not_yet_valid: /);

  const elsewhere = issueCertificate({ ...ca, overlay: 'elsewhere.example.org' }, { publicKey: key.publicKey, userName: 'a@example.org', nodeIds: [nodeId] });
  t.equal(reason(() => verifyPeerCertificate(elsewhere, [ca.certificate], NOW, { overlay: OVERLAY })), 'wrong_overlay: certificate is for overlay elsewhere.example.org, not overlay.example.org');

  const server = issueServerCertificate(ca, { publicKey: key.publicKey, hosts: ['localhost'] });
  t.equal(reason(() => verifyPeerCertificate(server, [ca.certificate], NOW, { overlay: OVERLAY })), 'no_node_id: certificate carries no Node-ID (reload:// URI in subjectAltName)');

  t.equal(reason(() => verifyPeerCertificate(good, [ca.certificate], NOW, { overlay: OVERLAY, badNodes: [nodeId] })), `bad_node: Node-ID ${toHex(nodeId)} is a bad-node`);
  t.match(reason(() => verifyPeerCertificate(good, [ca.certificate], NOW, { overlay: OVERLAY, nodeIdLength: 20 })), /^invalid: Node-ID .* is not 20 bytes long$/);
  t.match(reason(() => verifyPeerCertificate(good, [ca.certificate], NOW, { overlay: OVERLAY, nodeId: new Uint8Array(16) })), /^identity_mismatch: certificate does not carry Node-ID 0{32}$/);
  t.equal(reason(() => verifyPeerCertificate(good, [ca.certificate], NOW, { overlay: OVERLAY, userName: 'bob@example.org' })), 'identity_mismatch: certificate is for user alice@example.org, not bob@example.org');
  t.equal(reason(() => verifyPeerCertificate(ca.certificate, [ca.certificate], NOW, { overlay: OVERLAY })), 'invalid: a CA certificate cannot be a node certificate');
  t.match(reason(() => verifyPeerCertificate(new Uint8Array([1, 2, 3]), [ca.certificate], NOW, { overlay: OVERLAY })), /^invalid: not a DER X.509 certificate/);
  t.match(reason(() => verifyPeerCertificate(good, [new Uint8Array([1])], NOW, { overlay: OVERLAY })), /^invalid: a trust anchor is not a DER X.509 certificate/);
});

t.test('the root must be a CA (basicConstraints) and inside its validity period', async (t) => {
  // A "root" without CA:true issues a certificate: refused.
  const notCaKey = generateRsaKey();
  const notCa = createSelfSignedCertificate({ privateKey: notCaKey.privateKey, publicKey: notCaKey.publicKey, overlay: OVERLAY, userName: 'fake-ca@example.org', digest: 'sha256' });
  t.equal(new X509Certificate(notCa.certificate).ca, false);
  const fakeCa: OverlayCA = { overlay: OVERLAY, certificate: notCa.certificate, privateKey: notCaKey.privateKey };
  const leaf = issueCertificate(fakeCa, { publicKey: key.publicKey, userName: 'a@example.org', nodeIds: [nodeId] });
  t.equal(
    reason(() => verifyPeerCertificate(leaf, [notCa.certificate], NOW, { overlay: OVERLAY })),
    'untrusted: certificate does not chain to a trusted root: the issuing root-cert is not a CA (basicConstraints)',
  );

  // An expired root.
  const oldCa = createOverlayCA(OVERLAY, { now: NOW - 20 * DAY, validityDays: 10 });
  const fresh = issueCertificate(oldCa, { publicKey: key.publicKey, userName: 'a@example.org', nodeIds: [nodeId], notBefore: NOW - DAY, notAfter: NOW + DAY });
  t.equal(
    reason(() => verifyPeerCertificate(fresh, [oldCa.certificate], NOW, { overlay: OVERLAY })),
    'untrusted: certificate does not chain to a trusted root: the issuing root-cert is outside its validity period',
  );
});

t.test('peerCertificateVerifier follows the configuration and the clock', async (t) => {
  const clock = new VirtualClock(NOW);
  const config = defaultConfiguration(OVERLAY, { rootCerts: [ca.certificate], badNodes: [new Uint8Array(16).fill(9)] });
  const check = peerCertificateVerifier(config, clock);
  t.equal(check(good).userName, 'alice@example.org');
  clock.advance(400 * DAY);
  t.match(reason(() => check(good)), /^expired: /, 'a year later the certificate has expired');
  const banned = issueCertificate(ca, { publicKey: key.publicKey, userName: 'b@example.org', nodeIds: [new Uint8Array(16).fill(9)] });
  t.match(reason(() => peerCertificateVerifier(config, new VirtualClock(NOW))(banned)), /^bad_node: /);
});

t.test('self-signed certificates: Node-IDs bound to the key (RFC 6940 §13.4)', async (t) => {
  const k = generateRsaKey();
  const spki = new Uint8Array(k.publicKey.export({ type: 'spki', format: 'der' }));
  const one = createSelfSignedCertificate({ privateKey: k.privateKey, publicKey: k.publicKey, overlay: OVERLAY, userName: 'lan@example.org', digest: 'sha256' });
  t.same(one.nodeIds.map(toHex), [toHex(selfSignedNodeId(spki, 'sha256', 16))], 'Node-ID = first 16 bytes of SHA-256(SPKI)');
  const three = createSelfSignedCertificate({ privateKey: k.privateKey, publicKey: k.publicKey, overlay: OVERLAY, userName: 'lan@example.org', digest: 'sha1', count: 3 });
  t.same(three.nodeIds.map(toHex), [1, 2, 3].map((j) => toHex(selfSignedNodeId(spki, 'sha1', 16, j))), 'Node-ID j = SHA-1(uint32(j) || SPKI)');

  // verifyPeerCertificate: accepted only where the configuration permits it, with the right digest.
  t.equal(verifyPeerCertificate(one.certificate, [ca.certificate], NOW, { overlay: OVERLAY, selfSigned: { digest: 'sha256' } }).userName, 'lan@example.org');
  t.equal(verifyPeerCertificate(three.certificate, [], NOW, { overlay: OVERLAY, selfSigned: { digest: 'sha1' } }).nodeIds.length, 3);
  t.match(reason(() => verifyPeerCertificate(one.certificate, [ca.certificate], NOW, { overlay: OVERLAY })), /^untrusted: /, 'not permitted');
  t.equal(
    reason(() => verifyPeerCertificate(one.certificate, [], NOW, { overlay: OVERLAY, selfSigned: { digest: 'sha1' } })),
    'node_id_binding: self-signed certificate: Node-ID is not bound to its public key',
  );
  // A self-signed certificate claiming someone else's Node-ID (here: one made for another key).
  const other = generateRsaKey();
  const stolen = issueCertificate(
    { overlay: OVERLAY, certificate: one.certificate, privateKey: k.privateKey },
    { publicKey: other.publicKey, userName: 'x@example.org', nodeIds: one.nodeIds },
  );
  t.match(reason(() => verifyPeerCertificate(stolen, [], NOW, { overlay: OVERLAY, selfSigned: { digest: 'sha256' } })), /^untrusted: /, 'not self-signed: issued by a non-CA');

  // The same rules through src/security/trust.ts's CertificateStore.
  const clock = new VirtualClock(NOW);
  const store = new CertificateStore({ overlay: OVERLAY, rootCerts: [ca.certificate], selfSigned: { digest: 'sha256' }, nodeIdLength: 16 }, clock);
  t.equal(store.check(one.certificate).userName, 'lan@example.org');
  t.equal(store.check(good).userName, 'alice@example.org', 'CA-issued certificates still pass');
  const sha1Store = new CertificateStore({ overlay: OVERLAY, rootCerts: [], selfSigned: { digest: 'sha1' }, nodeIdLength: 16 }, clock);
  t.equal(sha1Store.check(three.certificate).nodeIds.length, 3);
  t.throws(() => sha1Store.check(one.certificate), { name: 'CertificateError', message: 'self-signed certificate: Node-ID is not bound to its public key' });
  const strict = new CertificateStore({ overlay: OVERLAY, rootCerts: [ca.certificate], nodeIdLength: 16 }, clock);
  t.throws(() => strict.check(one.certificate), { name: 'CertificateError', message: 'certificate does not chain to a trusted root' });
});

t.test('the enrollment server certificate names its hosts and has no Node-ID', async (t) => {
  const k = generateRsaKey();
  const der = issueServerCertificate(ca, { publicKey: k.publicKey, hosts: ['127.0.0.1', 'localhost', '::1'] });
  const x = new X509Certificate(der);
  t.equal(x.checkIP('127.0.0.1'), '127.0.0.1');
  t.equal(x.checkIP('::1'), '::1');
  t.equal(x.checkHost('localhost'), 'localhost');
  t.equal(x.checkHost('example.org'), undefined);
  t.ok(x.verify(new X509Certificate(ca.certificate).publicKey));
  t.equal(x.ca, false);
  t.throws(() => issueServerCertificate(ca, { publicKey: k.publicKey, hosts: [] }), /at least one host/);
});
