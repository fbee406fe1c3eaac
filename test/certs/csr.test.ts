/** PKCS#10 requests for enrollment (certs/csr.ts). */
import t from 'tap';
import { execFileSync } from 'node:child_process';
import { generateKeyPairSync } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import forge from 'node-forge';
import { generateRsaKey, toForgePrivate, toForgePublic } from '../../certs/ca.js';
import { CsrError, MAX_CSR_BYTES, createCsr, parseCsr } from '../../certs/csr.js';
import { tempDir } from './helpers.js';

const key = generateRsaKey();

function forgeCsr(build: (csr: forge.pki.CertificateSigningRequest) => void, k = key): Uint8Array {
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = toForgePublic(k.publicKey);
  build(csr);
  csr.sign(toForgePrivate(k.privateKey), forge.md.sha256.create());
  return new Uint8Array(Buffer.from(forge.asn1.toDer(forge.pki.certificationRequestToAsn1(csr)).getBytes(), 'binary'));
}

t.test('createCsr writes the user name in the subject CN and an rfc822Name SAN', async (t) => {
  const der = createCsr(key.privateKey, key.publicKey, 'alice@example.org');
  const info = parseCsr(der);
  t.equal(info.requestedUserName, 'alice@example.org');
  t.equal(info.keyBits, 2048);
  t.same(info.publicKey.export({ type: 'spki', format: 'der' }), key.publicKey.export({ type: 'spki', format: 'der' }));
  // OpenSSL reads it as a valid request with both names.
  const dir = tempDir(t);
  writeFileSync(join(dir, 'req.der'), der);
  const text = execFileSync('openssl', ['req', '-inform', 'DER', '-in', join(dir, 'req.der'), '-verify', '-text', '-noout'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
  t.match(text, /Subject: CN\s*=\s*alice@example\.org/);
  t.match(text, 'email:alice@example.org');
});

t.test('either place alone names the user; none is fine; conflicts are refused', async (t) => {
  const cnOnly = forgeCsr((c) => c.setSubject([{ name: 'commonName', value: 'bob@example.org' }]));
  t.equal(parseCsr(cnOnly).requestedUserName, 'bob@example.org');
  const sanOnly = forgeCsr((c) => c.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: [{ type: 1, value: 'carol@example.org' }] }] }]));
  t.equal(parseCsr(sanOnly).requestedUserName, 'carol@example.org');
  const none = forgeCsr(() => undefined);
  t.equal(parseCsr(none).requestedUserName, undefined);
  const otherSan = forgeCsr((c) => c.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: [{ type: 6, value: 'reload://0110ff@x/' }] }] }]));
  t.equal(parseCsr(otherSan).requestedUserName, undefined, 'requested URIs are ignored: the server chooses Node-IDs');
  const conflict = forgeCsr((c) => {
    c.setSubject([{ name: 'commonName', value: 'bob@example.org' }]);
    c.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: [{ type: 1, value: 'eve@example.org' }] }] }]);
  });
  t.throws(() => parseCsr(conflict), { name: 'CsrError', reason: 'bad_user_name', message: /request different user names/ });
  const two = forgeCsr((c) =>
    c.setAttributes([{ name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: [{ type: 1, value: 'a@x.org' }, { type: 1, value: 'b@x.org' }] }] }]),
  );
  t.throws(() => parseCsr(two), { name: 'CsrError', reason: 'bad_user_name', message: 'CSR requests more than one user name' });
});

t.test('weak, foreign and broken requests are refused', async (t) => {
  const weak = generateRsaKey(1024);
  t.throws(() => parseCsr(createCsr(weak.privateKey, weak.publicKey, 'a@example.org')), {
    name: 'CsrError',
    reason: 'weak_key',
    message: 'CSR key is 1024 bits, at least 2048 are required',
  });

  // An ECDSA request made by OpenSSL: only RSA keys are certified here.
  const dir = tempDir(t);
  const ec = generateKeyPairSync('ec', { namedCurve: 'P-256' });
  writeFileSync(join(dir, 'ec.pem'), ec.privateKey.export({ type: 'pkcs8', format: 'pem' }) as string);
  execFileSync('openssl', ['req', '-new', '-key', join(dir, 'ec.pem'), '-subj', '/CN=a@example.org', '-outform', 'DER', '-out', join(dir, 'ec.der')], { stdio: 'ignore' });
  t.throws(() => parseCsr(new Uint8Array(readFileSync(join(dir, 'ec.der')))), { name: 'CsrError', reason: 'unsupported_key' });

  const good = createCsr(key.privateKey, key.publicKey, 'a@example.org');
  const badSig = Uint8Array.from(good);
  badSig[badSig.length - 5]! ^= 0x01;
  t.throws(() => parseCsr(badSig), { name: 'CsrError', reason: 'bad_signature', message: 'CSR signature does not verify' });
  // The signed info changed (a byte of the subject): the signature no longer matches.
  const badInfo = Uint8Array.from(good);
  const at = Buffer.from(badInfo).indexOf('a@example.org');
  badInfo[at] = 0x62;
  t.throws(() => parseCsr(badInfo), { name: 'CsrError', reason: 'bad_signature' });

  t.throws(() => parseCsr(good.subarray(0, good.length - 1)), { name: 'CsrError', reason: 'malformed' });
  t.throws(() => parseCsr(new Uint8Array([...good, 0])), { name: 'CsrError', reason: 'malformed' }, 'trailing bytes');
  t.throws(() => parseCsr(new Uint8Array(0)), { name: 'CsrError', reason: 'malformed' });
  t.throws(() => parseCsr(new Uint8Array(MAX_CSR_BYTES + 1)), { name: 'CsrError', reason: 'malformed' });
  t.throws(() => parseCsr(Buffer.from('-----BEGIN CERTIFICATE REQUEST-----')), { name: 'CsrError', reason: 'malformed' });
  // A certificate is not a request.
  const { certificate } = (await import('../../certs/ca.js')).createOverlayCA('x.example');
  t.throws(() => parseCsr(certificate), { name: 'CsrError' });
});

t.test('random bytes and mutations only ever raise CsrError', async (t) => {
  const good = createCsr(key.privateKey, key.publicKey, 'a@example.org');
  let seed = 5;
  const rnd = (n: number): number => {
    seed = (seed * 1103515245 + 12345) & 0x7fffffff;
    return seed % n;
  };
  for (let i = 0; i < 400; i++) {
    const m = Uint8Array.from(good);
    for (let k = 0; k < 1 + rnd(3); k++) m[rnd(m.length)] = rnd(256);
    try {
      parseCsr(i % 4 === 0 ? m.subarray(0, rnd(m.length)) : m);
    } catch (err) {
      if (!(err instanceof CsrError)) t.fail(`threw ${String(err)}`);
    }
  }
  t.pass('400 mutated requests');
});
