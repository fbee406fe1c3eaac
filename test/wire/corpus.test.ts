/**
 * The golden corpus (src/wire/corpus.ts) against our own decoder and verifier: every file
 * decodes, its message signature and every stored-data signature verify under the corpus
 * CA, and decoding then re-encoding gives the same bytes (frame, header, body, security
 * block). Also `reload-node wire-corpus` writes files that pass the same checks.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import t from 'tap';
import { pemToDer } from '../../certs/ca.js';
import { main } from '../../src/cli/main.js';
import { VirtualClock } from '../../src/common/clock.js';
import { ReloadError } from '../../src/common/errors.js';
import { CertificateStore } from '../../src/security/trust.js';
import { verifyMessage, verifyStoredData } from '../../src/security/verifier.js';
import { type Corpus, buildCorpus } from '../../src/wire/corpus.js';
import {
  type FetchAns,
  type StatAns,
  type StoreReq,
  ErrorCode,
  MessageCode,
  chordCodecs,
  decode,
  decodeAnyBody,
  decodeFrame,
  decodeMessage,
  encode,
  encodeBody,
  encodeFrame,
  encodeMessage,
  isKnownBody,
  toHex,
  unknownKinds,
} from '../../src/wire/index.js';
import { decodeSipRegistration, encodeSipRegistration } from '../../usages/sip/registration.js';

const clock = new VirtualClock(Date.UTC(2026, 0, 1));
const corpus = buildCorpus({ clock });
/** A second corpus: another CA, another seed. */
const other = buildCorpus({ clock, seed: 'other' });

function trustFor(c: Pick<Corpus, 'overlay' | 'caCertificate'>, at = clock): CertificateStore {
  return new CertificateStore({ overlay: c.overlay, rootCerts: [c.caCertificate], nodeIdLength: 16 }, at);
}

/** Decodes a frame file and checks everything; returns the problems found. */
function checkFrame(frame: Uint8Array, store: CertificateStore, ctx = corpus.ctx): { code: number; signer: string } {
  const f = decodeFrame(frame);
  if (f.type !== 'data') throw new Error('not a data frame');
  const m = decodeMessage(f.message);
  const signer = verifyMessage(m, store);
  // Re-encode from the decoded structures: body, contents, header, security block, frame.
  const code = m.contents.code;
  if (!isKnownBody(code)) throw new Error(`unknown code ${code}`);
  const body = encodeBody(code, decodeAnyBody(code, m.contents.body, ctx) as never, ctx);
  if (toHex(body) !== toHex(m.contents.body)) throw new Error('body does not re-encode identically');
  const message = encodeMessage({ header: { ...m.header }, contents: { ...m.contents, body }, security: m.security });
  if (toHex(message) !== toHex(f.message)) throw new Error('message does not re-encode identically');
  if (toHex(encodeFrame({ type: 'data', sequence: f.sequence, message })) !== toHex(frame)) {
    throw new Error('frame does not re-encode identically');
  }
  return { code, signer: toHex(signer.nodeId) };
}

/** The RFC 6940 error code `fn` throws as a ReloadError; fails if it throws anything else. */
function errorCodeThrownBy(fn: () => unknown): number | undefined {
  try {
    fn();
  } catch (err) {
    if (err instanceof ReloadError) return err.errorCode;
    throw err;
  }
  return undefined;
}

t.test('every corpus entry decodes, verifies and round-trips byte for byte', async (t) => {
  const store = trustFor(corpus);
  t.equal(corpus.entries.length, 32);
  for (const e of corpus.entries) {
    const { code, signer } = checkFrame(e.frame, store);
    t.equal(code, e.code, `${e.fileName}: message code`);
    t.equal(signer, e.signerNodeId, `${e.fileName}: signed by ${e.signer}`);
    t.match(e.fileName, /^\d\d-[a-z_]+\.bin$/, `${e.fileName}: NN-name.bin`);
  }
  t.same(
    corpus.entries.map((e) => e.fileName).slice(0, 4),
    ['01-probe_req.bin', '02-probe_ans.bin', '03-attach_req.bin', '04-attach_ans.bin'],
  );
});

t.test('alice signs with cert_hash, bob (two Node-IDs) with cert_hash_node_id', async (t) => {
  for (const e of corpus.entries) {
    const m = decodeMessage(e.message);
    t.equal(m.security.signature.identity.type, e.signer === 'alice' ? 'cert_hash' : 'cert_hash_node_id', e.fileName);
  }
  t.equal(corpus.alice.nodeIds.length, 1);
  t.equal(corpus.bob.nodeIds.length, 2);
});

t.test('a changed byte breaks the message signature (signatures are real)', async (t) => {
  const store = trustFor(corpus);
  const e = corpus.entries.find((x) => x.name === 'ping_ans')!;
  const message = e.message.slice();
  // The last byte of PingAns.time, inside the signed MessageContents.
  const m0 = decodeMessage(message);
  const bodyEnd = m0.contentsBytes.byteOffset - message.byteOffset + 6 + 16 - 1;
  message[bodyEnd]! ^= 0x01;
  const m = decodeMessage(message);
  t.equal(errorCodeThrownBy(() => verifyMessage(m, store)), ErrorCode.forbidden);
});

t.test('a store trusting another CA refuses the corpus', async (t) => {
  const store = trustFor(other);
  const m = decodeMessage(corpus.entries[0]!.message);
  t.equal(errorCodeThrownBy(() => verifyMessage(m, store)), ErrorCode.forbidden);
});

t.test('StoreReq: all three data models, stored-data signatures verify', async (t) => {
  const store = trustFor(corpus);
  const e = corpus.entries.find((x) => x.name === 'store_req')!;
  const m = decodeMessage(e.message);
  const req = decodeAnyBody(MessageCode.storeReq, m.contents.body, corpus.ctx) as StoreReq;
  t.equal(toHex(req.resource), toHex(corpus.resourceId));
  t.same(
    req.kindData.map((k) => [k.kind, k.values[0]!.value.model]),
    [
      [0x2, 'single'],
      [0x10, 'array'],
      [0x1, 'dictionary'],
    ],
  );
  for (const k of req.kindData) {
    for (const v of k.values) {
      const signer = verifyStoredData(req.resource, k.kind, v, m.security.certificates, store);
      t.equal(toHex(signer.nodeId), toHex(corpus.alice.nodeIds[0]!), `Kind ${k.kind} value signed by alice`);
    }
  }
  // The TURN-SERVICE value: TurnServer { iteration 1, 192.0.2.10:3478 }.
  const turn = req.kindData[0]!.values[0]!.value;
  t.equal(turn.model === 'single' && toHex(turn.value.value), '010106c000020a0d96');
  // The array entry is an append (index 0xFFFFFFFF) of alice's DER certificate.
  const cert = req.kindData[1]!.values[0]!.value;
  t.equal(cert.model === 'array' && cert.index, 0xffffffff);
  t.equal(cert.model === 'array' && toHex(cert.value.value), toHex(corpus.alice.certificate));
  // The dictionary entry: key = alice's Node-ID, value = a SipRegistration route to alice.
  const sip = req.kindData[2]!.values[0]!.value;
  if (sip.model !== 'dictionary') throw new Error('not a dictionary value');
  t.equal(toHex(sip.key), toHex(corpus.alice.nodeIds[0]!));
  const reg = decodeSipRegistration(sip.value.value);
  t.same(reg, { type: 'route', contactPrefs: '(&(sip.schemes=SIP)(sip.audio=TRUE))', destinations: [{ type: 'node', id: corpus.alice.nodeIds[0]! }] });
  t.equal(toHex(encodeSipRegistration(reg)), toHex(sip.value.value), 'SipRegistration re-encodes identically');
});

t.test('FetchAns: values keep the storer signatures; the answer carries the storer certificate', async (t) => {
  const store = trustFor(corpus);
  const e = corpus.entries.find((x) => x.name === 'fetch_ans')!;
  const m = decodeMessage(e.message);
  t.equal(m.security.certificates.length, 2, "bob's and alice's certificates");
  const ans = decodeAnyBody(MessageCode.fetchAns, m.contents.body, corpus.ctx) as FetchAns;
  t.equal(ans.kindResponses.length, 3);
  for (const k of ans.kindResponses) {
    for (const v of k.values) {
      const signer = verifyStoredData(corpus.resourceId, k.kind, v, m.security.certificates, store);
      t.equal(toHex(signer.nodeId), toHex(corpus.alice.nodeIds[0]!), `Kind ${k.kind}`);
    }
  }
  const arrayValue = ans.kindResponses[1]!.values[0]!.value;
  t.equal(arrayValue.model === 'array' && arrayValue.index, 0, 'stored at index 0; the signature still verifies');

  // StatAns describes the same values: length and SHA-256 over the length-prefixed value.
  const stat = corpus.entries.find((x) => x.name === 'stat_ans')!;
  const sa = decodeAnyBody(MessageCode.statAns, decodeMessage(stat.message).contents.body, corpus.ctx) as StatAns;
  ans.kindResponses.forEach((k, i) => {
    const v = k.values[0]!.value;
    if (v.model === 'unknown') throw new Error('unknown model');
    const meta = sa.kindResponses[i]!.values[0]!.metadata;
    if (meta.model === 'unknown') throw new Error('unknown model');
    const len = Buffer.alloc(4);
    len.writeUInt32BE(v.value.value.length);
    t.equal(meta.metadata.valueLength, v.value.value.length, `Kind ${k.kind} value_length`);
    t.equal(toHex(meta.metadata.hashValue), createHash('sha256').update(len).update(v.value.value).digest('hex'), `Kind ${k.kind} hash`);
  });
});

t.test('nested structures round-trip: ChordLeaveData, Error_Unknown_Kind info', async (t) => {
  const leave = corpus.entries.find((x) => x.name === 'leave_req')!;
  const body = decodeAnyBody(MessageCode.leaveReq, decodeMessage(leave.message).contents.body, corpus.ctx) as { overlaySpecificData: Uint8Array };
  const chord = chordCodecs(16);
  const data = decode(chord.leaveData, body.overlaySpecificData);
  t.equal(data.type, 'from_succ');
  t.equal(toHex(encode(chord.leaveData, data)), toHex(body.overlaySpecificData));
  const err = corpus.entries.find((x) => x.name === 'error_unknown_kind')!;
  const eb = decodeAnyBody(MessageCode.error, decodeMessage(err.message).contents.body, corpus.ctx) as { errorInfo: Uint8Array };
  t.same(decode(unknownKinds, eb.errorInfo), [0xf0000042, 0x7f000001]);
});

t.test('routing shapes: forwarded requests TTL 98 with a via list, answers TTL 99, neighbours TTL 100', async (t) => {
  for (const e of corpus.entries) {
    const h = decodeMessage(e.message).header;
    t.ok(h.ttl <= 100, `${e.fileName}: TTL ${h.ttl}`);
    if (e.viaNodeIds.length >= 2) t.ok(h.ttl < 100, `${e.fileName}: forwarded, TTL < 100`);
  }
  const store = decodeMessage(corpus.entries.find((x) => x.name === 'store_req')!.message).header;
  t.same(store.destinationList, [{ type: 'resource', id: corpus.resourceId }], 'a Store goes to the Resource-ID');
  const ping = decodeMessage(corpus.entries.find((x) => x.name === 'ping_req')!.message).header;
  t.equal(ping.options.length, 1, 'a forwarding option');
});

t.test('the non-cryptographic choices are reproducible for a seed', async (t) => {
  const again = buildCorpus({ clock, seed: 'corpus' });
  t.same(
    again.entries.map((e) => e.transactionId),
    corpus.entries.map((e) => e.transactionId),
  );
  t.same(again.alice.nodeIds.map(toHex), corpus.alice.nodeIds.map(toHex));
  t.not(toHex(other.alice.nodeIds[0]!), toHex(corpus.alice.nodeIds[0]!));
});

t.test('reload-node wire-corpus writes files that decode, verify and round-trip', async (t) => {
  const dir = mkdtempSync(join(tmpdir(), 'wire-corpus-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const stdout = new PassThrough();
  const out: Buffer[] = [];
  stdout.on('data', (c: Buffer) => out.push(c));
  const code = await main(['wire-corpus', '--out', dir, '--overlay', 'p2psip.example.net'], {
    stdout,
    stderr: new PassThrough(),
    stdin: Readable.from([]),
  });
  t.equal(code, 0);
  const files = readdirSync(dir).sort();
  const bins = files.filter((f) => f.endsWith('.bin'));
  t.equal(bins.length, 32);
  t.ok(files.includes('ca.pem'));
  t.equal(Buffer.concat(out).toString().trim().split('\n').length, 33, 'one line per file written');
  // The command ran on the system clock: trust-check with it.
  const store = new CertificateStore(
    { overlay: 'p2psip.example.net', rootCerts: [pemToDer(readFileSync(join(dir, 'ca.pem'), 'utf8'))], nodeIdLength: 16 },
    { now: () => Date.now(), monotonic: () => 0, setTimeout: () => ({ cancel() {} }) },
  );
  for (const f of bins) {
    const { code: c } = checkFrame(new Uint8Array(readFileSync(join(dir, f))), store);
    t.equal(c, corpus.entries[Number(f.slice(0, 2)) - 1]!.code, `${f}: decodes, verifies, round-trips`);
  }
  t.equal(await main(['wire-corpus'], { stdout: new PassThrough(), stderr: new PassThrough(), stdin: Readable.from([]) }), 2, '--out is required');
});
