/**
 * Signing off the event loop: the asynchronous forms give byte-identical results to the
 * synchronous ones (RSASSA-PKCS1-v1_5 is deterministic), the shared signature-input buffer
 * may be reused while the thread pool signs, and schemes without `signAsync` (the
 * simulator's, virtual-time runs) stay synchronous.
 */
import { randomBytes, verify } from 'node:crypto';
import t from 'tap';
import { createOverlayCA, generateRsaKey, issueCertificate } from '../../certs/ca.js';
import { makeCredentials } from '../../src/security/credentials.js';
import { availableParallelism } from 'node:os';
import {
  NODE_CRYPTO_INLINE_SIGNATURES,
  NODE_CRYPTO_SIGNATURES,
  NODE_CRYPTO_THREADED_SIGNATURES,
  nodeCryptoSignatures,
} from '../../src/security/signature-scheme.js';
import { Signer } from '../../src/security/signer.js';
import { signatureInputBuffer } from '../../src/security/algorithms.js';
import { DIGEST_SIGNATURES } from '../../src/sim/crypto.js';
import type { StoredDataValue } from '../../src/wire/storage.js';

const OVERLAY = 'signer-test.example.org';
const ca = createOverlayCA(OVERLAY);
const { privateKey, publicKey } = generateRsaKey();
const der = issueCertificate(ca, { publicKey, userName: `alice@${OVERLAY}`, nodeIds: [new Uint8Array(randomBytes(16))] });
const credentials = makeCredentials(der, privateKey);

t.test('signAsync copies its input: the buffer may be overwritten at once', async (t) => {
  const data = new Uint8Array(randomBytes(600));
  const original = data.slice();
  const pending = NODE_CRYPTO_THREADED_SIGNATURES.signAsync!('sha256', data, privateKey);
  data.fill(0);
  const signature = await pending;
  t.ok(verify('sha256', original, publicKey, signature), 'verifies against the bytes as they were at the call');
  t.same(signature, NODE_CRYPTO_THREADED_SIGNATURES.sign('sha256', original, privateKey), 'the same bytes as the synchronous form');
  t.equal(NODE_CRYPTO_INLINE_SIGNATURES.signAsync, undefined, 'the inline scheme has no asynchronous form');
});

t.test('asynchronous message and stored-data signatures equal the synchronous ones', async (t) => {
  const s = new Signer(credentials, NODE_CRYPTO_THREADED_SIGNATURES);
  const contents = new Uint8Array(randomBytes(300));
  const extra = [new Uint8Array([1, 2, 3])];
  // Several at once, each followed by a synchronous signature that reuses the scratch buffer.
  const pending = [1n, 2n, 3n].map((txid) => s.signMessageAsync(0x01020304, txid, contents, extra));
  const expected = [1n, 2n, 3n].map((txid) => s.signMessage(0x01020304, txid, contents, extra));
  t.same(await Promise.all(pending), expected, 'three concurrent message signatures');
  const value: StoredDataValue = { model: 'single', value: { exists: true, value: new Uint8Array([9, 9]) } };
  const sd = s.signStoredDataAsync(new Uint8Array(16).fill(5), 42, 1000n, value);
  t.same(await sd, s.signStoredData(new Uint8Array(16).fill(5), 42, 1000n, value));
  t.equal((await pending[0]!).certificates.length, 2, 'own certificate plus the extra one');
});

t.test('a scheme without signAsync signs synchronously', async (t) => {
  const s = new Signer(credentials, DIGEST_SIGNATURES);
  const r = s.signBytesAsync(signatureInputBuffer().subarray(0, 10));
  t.ok(r instanceof Uint8Array, 'a value, not a promise: no thread pool, no reordering on a virtual clock');
  const inline = new Signer(credentials, NODE_CRYPTO_INLINE_SIGNATURES).signBytesAsync(new Uint8Array(10));
  t.ok(inline instanceof Uint8Array);
});

t.test('a node signs on the thread pool only when it may use another CPU', async (t) => {
  t.equal(nodeCryptoSignatures(1), NODE_CRYPTO_INLINE_SIGNATURES, 'one CPU: inline (the pool adds no capacity, only hand-over cost)');
  t.equal(nodeCryptoSignatures(2), NODE_CRYPTO_THREADED_SIGNATURES, 'two CPUs: off the event loop');
  t.equal(NODE_CRYPTO_SIGNATURES, nodeCryptoSignatures(availableParallelism()), 'the default follows this process\'s CPUs');
});
