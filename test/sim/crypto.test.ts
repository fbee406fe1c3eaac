import t from 'tap';
import { generateKeyPairSync } from 'node:crypto';
import { DIGEST_SIGNATURES } from '../../src/sim/crypto.js';
import { NODE_CRYPTO_SIGNATURES } from '../../src/security/signature-scheme.js';

const rsa = generateKeyPairSync('rsa', { modulusLength: 2048 });

t.test('the signature-free mode keeps signature sizes and checks the signed bytes', async (t) => {
  const data = new TextEncoder().encode('signed input');
  const sig = DIGEST_SIGNATURES.sign('sha256', data, rsa.privateKey);
  t.equal(sig.length, 256, 'as long as an RSA-2048 signature');
  t.equal(sig.length, NODE_CRYPTO_SIGNATURES.sign('sha256', data, rsa.privateKey).length);
  t.ok(DIGEST_SIGNATURES.verify('sha256', data, rsa.publicKey, sig));
  t.notOk(DIGEST_SIGNATURES.verify('sha256', new TextEncoder().encode('other input'), rsa.publicKey, sig), 'other bytes fail');
  const tampered = new Uint8Array(sig);
  tampered[100]! ^= 1;
  t.notOk(DIGEST_SIGNATURES.verify('sha256', data, rsa.publicKey, tampered), 'a changed byte fails');
  t.notOk(DIGEST_SIGNATURES.verify('sha256', data, rsa.publicKey, new Uint8Array(0)), 'empty fails');
  t.notOk(NODE_CRYPTO_SIGNATURES.verify('sha256', data, rsa.publicKey, sig), 'and is no real signature');
  t.match(DIGEST_SIGNATURES.name, /insecure/);
});

t.test('the checksum depends on every byte and on the hash name', async (t) => {
  const data = new Uint8Array(300).map((_, i) => (i * 7) & 0xff);
  const sig = DIGEST_SIGNATURES.sign('sha256', data, rsa.privateKey);
  for (const at of [0, 1, 150, 299]) {
    const other = new Uint8Array(data);
    other[at]! ^= 0x80;
    t.notOk(DIGEST_SIGNATURES.verify('sha256', other, rsa.publicKey, sig), `byte ${at} changed`);
  }
  t.notOk(DIGEST_SIGNATURES.verify('sha1', data, rsa.publicKey, sig), 'another hash algorithm');
  t.not(Buffer.from(sig.subarray(0, 8)).toString('hex'), Buffer.from(DIGEST_SIGNATURES.sign('sha256', data.subarray(1), rsa.privateKey).subarray(0, 8)).toString('hex'));
});
