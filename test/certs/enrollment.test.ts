/**
 * The enrollment server and client over real HTTPS on 127.0.0.1 (certs/enrollment-server.ts,
 * certs/enrollment-client.ts, certs/overlay-admin.ts): the protocol of RFC 6940 §11.2-11.3,
 * every refusal, the rate limit, hostile input, and the checks the client makes.
 */
import t from 'tap';
import { createServer as createHttpsServer, request as httpsRequest } from 'node:https';
import { connect as tlsConnect } from 'node:tls';
import { readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { type AddressInfo, connect as netConnect } from 'node:net';
import {
  certificateToPem,
  createOverlayCA,
  generateRsaKey,
  issueCertificate,
  privateKeyToPem,
} from '../../certs/ca.js';
import { createCsr } from '../../certs/csr.js';
import { EnrollmentError, enroll, fetchConfiguration, loadIdentity } from '../../certs/enrollment-client.js';
import { EnrollmentServer } from '../../certs/enrollment-server.js';
import { identityPaths, overlayPaths } from '../../certs/files.js';
import { buildMultipart, type FormField } from '../../certs/multipart.js';
import { type NodeIdRequest, RandomNodeIdStrategy } from '../../certs/node-id-strategy.js';
import { addUser, enrollmentServerCertificate, initOverlay, openOverlay, serveEnrollment } from '../../certs/overlay-admin.js';
import { UserDatabase } from '../../certs/users.js';
import { VirtualClock } from '../../src/common/clock.js';
import { ConfigurationError } from '../../src/config/errors.js';
import { toHex } from '../../src/wire/codec.js';
import { freePort, tempDir } from './helpers.js';

const OVERLAY = 'overlay.example.org';

interface Answer {
  status: number;
  headers: Record<string, string | string[] | undefined>;
  body: Buffer;
}

function call(port: number, ca: string, method: string, path: string, headers: Record<string, string> = {}, body?: Buffer | string): Promise<Answer> {
  return new Promise((resolve, reject) => {
    const req = httpsRequest({ host: '127.0.0.1', port, method, path, headers, ca, agent: false }, (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('end', () => resolve({ status: res.statusCode!, headers: res.headers, body: Buffer.concat(chunks) }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function form(fields: FormField[]): { body: Buffer; headers: Record<string, string> } {
  const { body, contentType } = buildMultipart(fields);
  return { body, headers: { 'Content-Type': contentType, Accept: 'application/pkix-cert' } };
}

const key = generateRsaKey();
const csrFor = (user: string): Uint8Array => createCsr(key.privateKey, key.publicKey, user);

t.test('enrollment over HTTPS', async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  await initOverlay({ name: OVERLAY, dir, enrollmentUrl: `https://127.0.0.1:${port}/reload/enroll` });
  for (const u of ['alice', 'bob', 'carol']) await addUser(dir, `${u}@example.org`, `${u}-pw`);
  const hints: NodeIdRequest['hints'][] = [];
  const random = new RandomNodeIdStrategy();
  const strategy = {
    assign(r: NodeIdRequest) {
      hints.push(r.hints);
      return random.assign(r);
    },
  };
  const log: string[] = [];
  const running = await serveEnrollment(dir, { host: '127.0.0.1', port, nodeIdStrategy: strategy, maxBodyBytes: 8192, rateLimit: { burst: 10_000, perSecond: 1000 }, log: (l) => log.push(l) });
  t.teardown(() => running.close());
  const ca = readFileSync(overlayPaths(dir).caCert, 'utf8');
  const configUrl = running.configUrl;
  t.equal(configUrl, `https://127.0.0.1:${port}/.well-known/reload-config`);
  const post = (fields: FormField[], extra: Record<string, string> = {}): Promise<Answer> => {
    const f = form(fields);
    return call(port, ca, 'POST', '/reload/enroll', { ...f.headers, ...extra }, f.body);
  };
  const creds = (user: string, pw: string): FormField[] => [
    { name: 'username', data: user },
    { name: 'password', data: pw },
  ];
  const csrField = (der: Uint8Array, contentType = 'application/pkcs10'): FormField => ({ name: 'csr', data: der, contentType });

  await t.test('the configuration is served exactly, with its media type', async (t) => {
    const a = await call(port, ca, 'GET', '/.well-known/reload-config');
    t.equal(a.status, 200);
    t.equal(a.headers['content-type'], 'application/p2p-overlay+xml');
    t.same(a.body, readFileSync(overlayPaths(dir).config));
    const h = await call(port, ca, 'HEAD', '/.well-known/reload-config?x=1');
    t.equal(h.status, 200);
    t.equal(h.headers['content-length'], String(a.body.length));
    const v = await fetchConfiguration(configUrl, { ca });
    t.equal(v.configuration.instanceName, OVERLAY);
  });

  await t.test('wrong method 405, unknown path 404', async (t) => {
    const a = await call(port, ca, 'POST', '/.well-known/reload-config', {}, 'x');
    t.equal(a.status, 405);
    t.equal(a.headers.allow, 'GET, HEAD');
    const b = await call(port, ca, 'GET', '/reload/enroll');
    t.equal(b.status, 405);
    t.equal(b.headers.allow, 'POST');
    const c = await call(port, ca, 'GET', '/.well-known/p2psip-enroll');
    t.equal(c.status, 404);
    t.equal((await call(port, ca, 'GET', '//%')).status, 400, 'an unparseable request target');
  });

  await t.test('the client enrolls; re-enrollment returns the same Node-IDs', async (t) => {
    const out = join(dir, 'alice');
    const a = await enroll({ configUrl, userName: 'alice@example.org', password: 'alice-pw', ca, outDir: out });
    t.equal(a.nodeIds.length, 1);
    const loaded = await loadIdentity(out);
    t.equal(toHex(loaded.credentials.nodeId), toHex(a.nodeIds[0]!));
    t.equal(loaded.config.instanceName, OVERLAY);
    t.same(loaded.configurationBytes, readFileSync(overlayPaths(dir).config));
    const again = await enroll({ configUrl, userName: 'alice@example.org', password: 'alice-pw', ca });
    t.same(again.nodeIds.map(toHex), a.nodeIds.map(toHex), 'same Node-ID, new key');

    const b3 = await enroll({ configUrl, userName: 'bob@example.org', password: 'bob-pw', ca, nodeIdCount: 3, hints: { 'landmark-bin': 'L2L1L3:010' } });
    t.equal(b3.nodeIds.length, 3);
    t.same(hints.at(-1), { 'landmark-bin': 'L2L1L3:010' }, 'extra form fields reach the Node-ID strategy as hints');
    const b1 = await enroll({ configUrl, userName: 'bob@example.org', password: 'bob-pw', ca });
    t.same(b1.nodeIds.map(toHex), [toHex(b3.nodeIds[0]!)], 'fewer Node-IDs: the first ones again');
    const users = await new UserDatabase(overlayPaths(dir).users).read();
    t.same(users['bob@example.org']!.nodeIds, b3.nodeIds.map(toHex));
    const all = Object.values(users).flatMap((u) => u.nodeIds);
    t.equal(new Set(all).size, all.length, 'no Node-ID issued twice');
  });

  await t.test('RFC 6940 §11.3 failure tokens', async (t) => {
    await t.rejects(enroll({ configUrl, userName: 'carol@example.org', password: 'wrong', ca }), {
      name: 'EnrollmentError',
      reason: 'failed_authentication',
      status: 403,
    });
    await t.rejects(enroll({ configUrl, userName: 'mallory@example.org', password: 'x', ca }), { name: 'EnrollmentError', reason: 'failed_authentication' });

    const expectToken = async (a: Answer, token: string, what: string): Promise<void> => {
      t.equal(a.status, 403, what);
      t.equal(a.headers['content-type'], 'text/plain; charset=utf-8');
      t.equal(a.body.toString(), token, what);
    };
    await expectToken(await post([{ name: 'username', data: 'carol@example.org' }, csrField(csrFor('carol@example.org'))]), 'failed_authentication', 'no password');
    await expectToken(await post([...creds('carol@example.org', 'carol-pw'), csrField(new Uint8Array([0x30, 0x03, 1, 2, 3]))]), 'bad_CSR', 'malformed CSR');
    const weak = generateRsaKey(1024);
    await expectToken(await post([...creds('carol@example.org', 'carol-pw'), csrField(createCsr(weak.privateKey, weak.publicKey, 'carol@example.org'))]), 'bad_CSR', '1024-bit key');
    await expectToken(await post([...creds('carol@example.org', 'carol-pw'), csrField(csrFor('carol@example.org'), 'application/octet-stream')]), 'bad_CSR', 'csr part of the wrong type');
    await expectToken(await post(creds('carol@example.org', 'carol-pw')), 'bad_CSR', 'no csr part');
    await expectToken(await post([...creds('carol@example.org', 'carol-pw'), csrField(csrFor('alice@example.org'))]), 'username_not_available', 'CSR names another user');
    await expectToken(await post([...creds('carol@example.org', 'carol-pw'), { name: 'nodeids', data: '100' }, csrField(csrFor('carol@example.org'))]), 'Node-IDs_not_available', '100 Node-IDs');
    await expectToken(await post([...creds('carol@example.org', 'carol-pw'), { name: 'nodeids', data: 'two' }, csrField(csrFor('carol@example.org'))]), 'Node-IDs_not_available', 'nodeids not a number');
    // A CSR naming no user is fine: the account name goes into the certificate.
    const ok = await post([...creds('carol@example.org', 'carol-pw'), csrField(csrFor('carol@example.org'))], { Accept: 'application/*' });
    t.equal(ok.status, 200);
    t.equal(ok.headers['content-type'], 'application/pkix-cert');
    t.ok(log.some((l) => l.startsWith('enrollment refused (bad_CSR): carol@example.org: CSR key is 1024 bits')), 'refusals are logged with the reason');
    t.notOk(log.some((l) => l.includes('carol-pw')), 'passwords never reach the log');
  });

  await t.test('protocol refusals: 406, 413, 415, 400', async (t) => {
    const good = form([...creds('carol@example.org', 'carol-pw'), csrField(csrFor('carol@example.org'))]);
    t.equal((await call(port, ca, 'POST', '/reload/enroll', { ...good.headers, Accept: 'text/html' }, good.body)).status, 406);
    t.equal((await call(port, ca, 'POST', '/reload/enroll', { ...good.headers, Accept: 'application/pkix-cert;q=0, text/*' }, good.body)).status, 406);
    const big = form([...creds('carol@example.org', 'carol-pw'), { name: 'pad', data: 'x'.repeat(10_000) }, csrField(csrFor('carol@example.org'))]);
    const tooLarge = await call(port, ca, 'POST', '/reload/enroll', big.headers, big.body);
    t.equal(tooLarge.status, 413);
    t.equal(tooLarge.body.toString(), 'request body larger than 8192 bytes');
    // Without a Content-Length (chunked), the limit holds while reading.
    const chunked = await new Promise<number>((resolve, reject) => {
      const req = httpsRequest({ host: '127.0.0.1', port, method: 'POST', path: '/reload/enroll', headers: { ...big.headers, 'Transfer-Encoding': 'chunked' }, ca, agent: false }, (res) => {
        res.resume();
        resolve(res.statusCode!);
      });
      req.on('error', reject);
      req.write(big.body.subarray(0, 5000));
      setTimeout(() => req.end(big.body.subarray(5000)), 20);
    });
    t.equal(chunked, 413);
    t.equal((await call(port, ca, 'POST', '/reload/enroll', { 'Content-Type': 'application/json' }, '{}')).status, 415);
    t.equal((await call(port, ca, 'POST', '/reload/enroll', {}, 'x')).status, 415);
    const broken = await call(port, ca, 'POST', '/reload/enroll', { 'Content-Type': 'multipart/form-data; boundary=abc' }, '--abc\r\nno-colon\r\n\r\nx\r\n--abc--');
    t.equal(broken.status, 400);
    t.match(broken.body.toString(), 'malformed multipart/form-data: malformed part header');
    t.equal((await call(port, ca, 'POST', '/reload/enroll', { 'Content-Type': 'multipart/form-data' }, 'x')).status, 400);
    const dup = form([...creds('carol@example.org', 'carol-pw'), { name: 'username', data: 'alice@example.org' }]);
    const dupA = await call(port, ca, 'POST', '/reload/enroll', dup.headers, dup.body);
    t.equal(dupA.status, 400);
    t.equal(dupA.body.toString(), 'form field username appears twice');
  });

  await t.test('hostile input never takes the server down', async (t) => {
    let seed = 17;
    const rnd = (n: number): number => {
      seed = (seed * 1103515245 + 12345) & 0x7fffffff;
      return seed % n;
    };
    const base = form([...creds('carol@example.org', 'carol-pw'), csrField(csrFor('carol@example.org'))]);
    const statuses = new Set<number>();
    for (let i = 0; i < 40; i++) {
      const m = Buffer.from(base.body);
      for (let k = 0; k < 1 + rnd(6); k++) m[rnd(m.length)] = rnd(256);
      const a = await call(port, ca, 'POST', '/reload/enroll', base.headers, m);
      statuses.add(a.status);
      t.not(a.status, 500, 'no internal error');
    }
    t.ok([...statuses].every((s) => [200, 400, 403].includes(s)), `statuses seen: ${[...statuses]}`);
    // Garbage instead of a TLS handshake, and garbage HTTP inside TLS.
    await new Promise<void>((resolve) => {
      const s = tlsConnect({ host: '127.0.0.1', port, ca }, () => {
        s.write('GARBAGE / HTTP/9.9\r\n\x00\x01\r\n\r\n');
      });
      s.on('data', () => undefined);
      s.on('error', () => resolve());
      s.on('close', () => resolve());
    });
    await new Promise<void>((resolve) => {
      const s = netConnect(port, '127.0.0.1', () => s.write(Buffer.alloc(300, 0x16)));
      s.on('error', () => resolve());
      s.on('close', () => resolve());
    });
    t.equal((await call(port, ca, 'GET', '/.well-known/reload-config')).status, 200, 'still serving');
  });

  await t.test('the client refuses a tampered configuration', async (t) => {
    const overlay = await openOverlay(dir);
    const tampered = Buffer.from(overlay.configurationBytes).toString('utf8').replace('<initial-ttl>100</initial-ttl>', '<initial-ttl>99</initial-ttl>');
    const tls = await enrollmentServerCertificate(overlay, ['127.0.0.1']);
    const evil = new EnrollmentServer({
      ca: overlay.ca,
      configurationBytes: Buffer.from(tampered),
      configuration: overlay.configuration,
      users: new UserDatabase(overlayPaths(dir).users),
      tls,
    });
    const { port: evilPort } = await evil.listen('127.0.0.1', 0);
    t.teardown(() => evil.close());
    const url = `https://127.0.0.1:${evilPort}/.well-known/reload-config`;
    const err = await enroll({ configUrl: url, userName: 'carol@example.org', password: 'carol-pw', ca }).catch((e: unknown) => e);
    t.ok(err instanceof ConfigurationError, 'ConfigurationError');
    t.equal((err as ConfigurationError).reason, 'bad_signature');
    t.match((err as Error).message, 'the text was changed after signing');
  });

  t.ok(running.server);
});

t.test('the client checks what the enrollment server returns', async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  const overlay = await initOverlay({ name: OVERLAY, dir, enrollmentUrl: `https://127.0.0.1:${port}/enroll` });
  const tls = await enrollmentServerCertificate(overlay, ['127.0.0.1']);
  const otherCa = createOverlayCA(OVERLAY);
  let reply: { status: number; type: string; body: Buffer } = { status: 200, type: 'application/pkix-cert', body: Buffer.alloc(0) };
  const fake = createHttpsServer({ key: privateKeyToPem(tls.key), cert: certificateToPem(tls.cert) }, (req, res) => {
    if (req.url === '/.well-known/reload-config') {
      res.writeHead(200, { 'Content-Type': 'application/p2p-overlay+xml' }).end(overlay.configurationBytes);
      return;
    }
    req.resume();
    req.on('end', () => res.writeHead(reply.status, { 'Content-Type': reply.type }).end(reply.body));
  });
  await new Promise<void>((r) => fake.listen(port, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => fake.close(() => r())));
  const ca = certificateToPem(overlay.ca.certificate);
  const configUrl = `https://127.0.0.1:${port}/.well-known/reload-config`;
  const attempt = (): Promise<unknown> => enroll({ configUrl, userName: 'alice@example.org', password: 'pw', ca }).catch((e: unknown) => e);

  const stranger = generateRsaKey();
  reply = { status: 200, type: 'application/pkix-cert', body: Buffer.from(issueCertificate(otherCa, { publicKey: stranger.publicKey, userName: 'alice@example.org', nodeIds: [new Uint8Array(16).fill(1)] })) };
  let e = (await attempt()) as EnrollmentError;
  t.equal(e.reason, 'bad_certificate');
  t.match(e.message, 'does not chain to a trusted root');

  reply.body = Buffer.from(issueCertificate(overlay.ca, { publicKey: stranger.publicKey, userName: 'alice@example.org', nodeIds: [new Uint8Array(16).fill(1)] }));
  e = (await attempt()) as EnrollmentError;
  t.equal(e.reason, 'bad_certificate');
  t.equal(e.message, 'certificate does not certify the key that was sent');

  reply.body = Buffer.from(issueCertificate(overlay.ca, { publicKey: stranger.publicKey, userName: 'eve@example.org', nodeIds: [new Uint8Array(16).fill(1)] }));
  e = (await attempt()) as EnrollmentError;
  t.match(e.message, 'certificate is for user eve@example.org, not alice@example.org');

  reply = { status: 200, type: 'text/html', body: Buffer.from('<html/>') };
  e = (await attempt()) as EnrollmentError;
  t.equal(e.reason, 'bad_response');
  reply = { status: 403, type: 'text/plain', body: Buffer.from('account_locked') };
  e = (await attempt()) as EnrollmentError;
  t.equal(e.reason, 'forbidden');
  t.equal(e.status, 403);
  reply = { status: 503, type: 'text/plain', body: Buffer.from('busy') };
  e = (await attempt()) as EnrollmentError;
  t.equal(e.reason, 'http');
  t.equal(e.status, 503);

  e = (await enroll({ configUrl: `https://127.0.0.1:${port}/nothing`, userName: 'a@b.c', password: 'p', ca }).catch((x: unknown) => x)) as EnrollmentError;
  t.equal(e.reason, 'http');
  const clock = new VirtualClock();
  const hang = createHttpsServer({ key: privateKeyToPem(tls.key), cert: certificateToPem(tls.cert) }, () => undefined);
  await new Promise<void>((r) => hang.listen(0, '127.0.0.1', () => r()));
  const hangPort = (hang.address() as AddressInfo).port;
  const pending = fetchConfiguration(`https://127.0.0.1:${hangPort}/.well-known/reload-config`, { ca, clock, timeoutMs: 1000 }).catch((x: unknown) => x);
  await new Promise((r) => setTimeout(r, 200));
  clock.advance(1000);
  e = (await pending) as EnrollmentError;
  t.equal(e.reason, 'network');
  t.match(e.message, 'no answer within 1000 ms');
  hang.closeAllConnections();
  await new Promise<void>((r) => hang.close(() => r()));
});

t.test('loadIdentity refuses a tampered identity directory', async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  await initOverlay({ name: OVERLAY, dir, enrollmentUrl: `https://127.0.0.1:${port}/enroll` });
  await addUser(dir, 'alice@example.org', 'pw');
  const running = await serveEnrollment(dir, { host: '127.0.0.1', port });
  t.teardown(() => running.close());
  const ca = readFileSync(overlayPaths(dir).caCert, 'utf8');
  const out = join(dir, 'id');
  await enroll({ configUrl: running.configUrl, userName: 'alice@example.org', password: 'pw', ca, outDir: out });
  const p = identityPaths(out);
  const original = { config: readFileSync(p.config), key: readFileSync(p.key), cert: readFileSync(p.cert), root: readFileSync(p.root) };
  const restore = (): void => {
    writeFileSync(p.config, original.config);
    writeFileSync(p.key, original.key);
    writeFileSync(p.cert, original.cert);
    writeFileSync(p.root, original.root);
  };
  t.ok(await loadIdentity(out));

  writeFileSync(p.config, original.config.toString('utf8').replace('<turn-density>1</turn-density>', '<turn-density>2</turn-density>'));
  await t.rejects(loadIdentity(out), { name: 'ConfigurationError', reason: 'bad_signature' });
  restore();

  // A whole different overlay document (self-consistent, but not under the pinned root).
  const dir2 = tempDir(t);
  const other = await initOverlay({ name: OVERLAY, dir: dir2 });
  writeFileSync(p.config, other.configurationBytes);
  await t.rejects(loadIdentity(out), { name: 'ConfigurationError', reason: 'untrusted_signer' });
  restore();

  writeFileSync(p.key, privateKeyToPem(generateRsaKey().privateKey));
  await t.rejects(loadIdentity(out), { name: 'CertificateError', reason: 'identity_mismatch' });
  writeFileSync(p.key, 'not a key');
  await t.rejects(loadIdentity(out), { name: 'CertificateError', reason: 'identity_mismatch' });
  restore();

  const foreign = issueCertificate(createOverlayCA(OVERLAY), { publicKey: key.publicKey, userName: 'alice@example.org', nodeIds: [new Uint8Array(16).fill(3)] });
  writeFileSync(p.cert, certificateToPem(foreign));
  await t.rejects(loadIdentity(out), { name: 'CertificateError', reason: 'untrusted' });
  writeFileSync(p.cert, 'nothing');
  await t.rejects(loadIdentity(out), { name: 'CertificateError', message: /holds no PEM certificate/ });
  restore();
  t.ok(await loadIdentity(out), 'restored files load again');
});

t.test('rate limit: 429 after the burst, per client address, on the injected clock', async (t) => {
  const dir = tempDir(t);
  const overlay = await initOverlay({ name: OVERLAY, dir });
  const clock = new VirtualClock();
  const tls = await enrollmentServerCertificate(overlay, ['127.0.0.1']);
  const server = new EnrollmentServer({
    ca: overlay.ca,
    configurationBytes: overlay.configurationBytes,
    configuration: overlay.configuration,
    users: new UserDatabase(overlayPaths(dir).users),
    tls,
    clock,
    rateLimit: { burst: 5, perSecond: 1 },
  });
  const { port } = await server.listen('127.0.0.1', 0);
  t.teardown(() => server.close());
  const ca = certificateToPem(overlay.ca.certificate);
  const statuses: number[] = [];
  for (let i = 0; i < 7; i++) statuses.push((await call(port, ca, 'GET', '/.well-known/reload-config')).status);
  t.same(statuses, [200, 200, 200, 200, 200, 429, 429]);
  const limited = await call(port, ca, 'GET', '/.well-known/reload-config');
  t.equal(limited.status, 429);
  t.equal(limited.headers['retry-after'], '1');
  clock.advance(1000);
  t.equal((await call(port, ca, 'GET', '/.well-known/reload-config')).status, 200, 'a token comes back after a second');
  t.equal((await call(port, ca, 'GET', '/.well-known/reload-config')).status, 429);
  // Enrollment POSTs count too.
  const f = form([{ name: 'username', data: 'x@y.z' }]);
  t.equal((await call(port, ca, 'POST', '/enroll', f.headers, f.body)).status, 429);
});
