/**
 * Operating an overlay from nothing with the command line only (issue: identity,
 * enrollment and bootstrap): init-overlay, add-user, a bootstrap peer that also runs the
 * enrollment server, three users enrolling over HTTPS and joining through the bootstrap
 * node, a client storing and fetching; and the refusals at the door: a peer with a
 * certificate from another CA, and one with an expired certificate, cannot join.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { cliPath, startPeer, type PeerProcess } from '../helpers/processes.js';
import { freePort } from '../../src/demo/demo.js';
import { generateRsaKey, issueCertificate } from '../../certs/ca.js';
import { saveIdentity } from '../../certs/enrollment-client.js';
import { openOverlay } from '../../certs/overlay-admin.js';
import { makeOverlay } from '../helpers/overlay-dir.js';

const exec = promisify(execFile);
const cli = (...args: string[]) => exec(process.execPath, [cliPath(), ...args], { timeout: 60_000 });

t.test('init-overlay to three enrolled peers joined through the bootstrap node', async (t) => {
  const dir = await mkdtemp(join(tmpdir(), 'reload-e2e-'));
  const bootPort = await freePort();
  const enrollPort = await freePort();
  const name = 'e2e.example.org';
  await cli('init-overlay', '--name', name, '--dir', join(dir, 'ov'), '--bootstrap', `127.0.0.1:${bootPort}`,
    '--enrollment-url', `https://127.0.0.1:${enrollPort}/enroll`, '--kind', '0xF0000001:single:USER-MATCH:1:1024');
  const users = ['boot', 'ann', 'ben', 'cat', 'dan', 'eve'];
  for (const u of users) await cli('add-user', '--dir', join(dir, 'ov'), '--user', `${u}@${name}`, '--password', `pw-${u}`);
  // The bootstrap peer's identity: enrolled against a short-lived enrollment server first.
  const peers: PeerProcess[] = [];
  t.teardown(() => peers.forEach((p) => p.child.kill('SIGKILL')));
  const tmpServer = await (await import('../../certs/overlay-admin.js')).serveEnrollment(join(dir, 'ov'), { host: '127.0.0.1', port: enrollPort });
  const configUrl = tmpServer.configUrl;
  const ca = join(dir, 'ov', 'ca', 'root.pem');
  await cli('enroll', '--url', configUrl, '--user', `boot@${name}`, '--password', 'pw-boot', '--out', join(dir, 'boot'), '--ca-file', ca);
  await tmpServer.close();
  // The bootstrap peer runs the enrollment server in the same process.
  const boot = await startPeer(['--identity', join(dir, 'boot'), '--listen', `tls:127.0.0.1:${bootPort}`, '--bootstrap',
    '--enrollment', `127.0.0.1:${enrollPort}`, '--overlay-dir', join(dir, 'ov'), '--log-level', 'warn']);
  peers.push(boot);
  t.match(boot.output(), /enrollment server: https:\/\/127\.0\.0\.1:\d+\/\.well-known\/reload-config/, 'the bootstrap peer serves enrollment');
  const ids = new Set([boot.nodeId]);
  for (const u of ['ann', 'ben', 'cat']) {
    const out = await cli('enroll', '--url', configUrl, '--user', `${u}@${name}`, '--password', `pw-${u}`, '--out', join(dir, u), '--ca-file', ca);
    t.match(out.stdout, /cert/, `${u} enrolled`);
    const p = await startPeer(['--identity', join(dir, u), '--listen', 'tls:127.0.0.1:0', '--log-level', 'warn']);
    peers.push(p);
    ids.add(p.nodeId);
    t.pass(`${u} joined through the bootstrap node (the configuration's bootstrap-node)`);
  }
  t.equal(ids.size, 4, 'four distinct Node-IDs');
  await cli('enroll', '--url', configUrl, '--user', `dan@${name}`, '--password', 'pw-dan', '--out', join(dir, 'dan'), '--ca-file', ca);
  const stored = await cli('store', '--identity', join(dir, 'dan'), '--kind', '0xF0000001', '--resource', `dan@${name}`, '--value', 'from dan');
  t.match(stored.stdout, /generation 1/, 'a client stores through the overlay');
  // Another client (a client must not reuse a running peer's Node-ID).
  await cli('enroll', '--url', configUrl, '--user', `eve@${name}`, '--password', 'pw-eve', '--out', join(dir, 'eve'), '--ca-file', ca);
  const fetched = await cli('fetch', '--identity', join(dir, 'eve'), '--kind', '0xF0000001', '--resource', `dan@${name}`, '--json',
    '--bootstrap-node', `127.0.0.1:${bootPort}`);
  t.equal(JSON.parse(fetched.stdout).values[0].value, 'from dan', 'and it is fetched back');
  const wrong = await cli('enroll', '--url', configUrl, '--user', `ben@${name}`, '--password', 'nope', '--out', join(dir, 'x'), '--ca-file', ca).catch((e: { code: number; stderr: string }) => e);
  t.not((wrong as { code: number }).code, 0, 'a wrong password gets no certificate');
  t.match((wrong as { stderr: string }).stderr, /failed_authentication/);

  // A peer from another CA, and one with an expired certificate, are refused by TLS.
  const other = await makeOverlay(name);
  const foreignDir = await other.identity('mallory');
  const foreign = await cli('start', '--identity', foreignDir, '--listen', 'tls:127.0.0.1:0', '--bootstrap-node', `127.0.0.1:${bootPort}`, '--log-level', 'silent')
    .catch((e: { code: number; stderr: string }) => e);
  t.equal((foreign as { code: number }).code, 1, 'a certificate from another CA cannot join');
  t.match((foreign as { stderr: string }).stderr, /no bootstrap node reachable/);
  const ov = await openOverlay(join(dir, 'ov'));
  const key = generateRsaKey();
  const expired = issueCertificate(ov.ca, { publicKey: key.publicKey, userName: `old@${name}`, nodeIds: [new Uint8Array(16).fill(7)], notBefore: Date.now() - 3 * 86_400_000, notAfter: Date.now() - 86_400_000 });
  const expiredDir = join(dir, 'old');
  await saveIdentity(expiredDir, { config: ov.configuration, configurationBytes: ov.configurationBytes, certificateDer: expired, privateKey: key.privateKey });
  const old = await cli('start', '--identity', expiredDir, '--listen', 'tls:127.0.0.1:0', '--log-level', 'silent').catch((e: { code: number; stderr: string }) => e);
  t.equal((old as { code: number }).code, 1, 'an expired certificate is refused before joining');
  t.match((old as { stderr: string }).stderr, /expired/i);
});
