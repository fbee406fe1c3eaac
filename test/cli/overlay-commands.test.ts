/**
 * The operator and user commands end to end, over real HTTPS on 127.0.0.1:
 * init-overlay → add-user ×3 → serve-enrollment → enroll ×3, and every bad argument.
 */
import t from 'tap';
import { execFileSync, spawn } from 'node:child_process';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { fetchConfiguration, loadIdentity } from '../../certs/enrollment-client.js';
import { overlayPaths, identityPaths } from '../../certs/files.js';
import { pemToDer } from '../../certs/ca.js';
import { verifyPeerCertificate } from '../../certs/verify.js';
import { serveEnrollmentUntil } from '../../src/cli/commands/serve-enrollment.js';
import { parseHostPort, parseKindSpec } from '../../src/cli/commands/init-overlay.js';
import { UsageError } from '../../src/cli/command.js';
import { toHex } from '../../src/wire/codec.js';
import { captureIO, cli, freePort, tempDir } from '../certs/helpers.js';

const OVERLAY = 'overlay.example.org';

async function waitFor(cond: () => boolean, what: string, ms = 20_000): Promise<void> {
  const until = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 20));
  }
}

t.test('init-overlay → add-user ×3 → serve-enrollment → enroll ×3', async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  const init = await cli([
    'init-overlay',
    '--name', OVERLAY,
    '--dir', dir,
    '--enrollment-url', `https://127.0.0.1:${port}/enroll`,
    '--bootstrap', '127.0.0.1:6084',
    '--bootstrap', '[::1]',
    '--kind', 'SIP-REGISTRATION:dictionary:USER-NODE-MATCH',
    '--kind', '0xF0000001:array:USER-MATCH:8:512',
    '--landmark', '127.0.0.1:7000',
  ]);
  t.equal(init.code, 0, init.err);
  t.match(init.out, `overlay ${OVERLAY} created in ${dir}`);
  const p = overlayPaths(dir);
  t.equal(statSync(p.caKey).mode & 0o777, 0o600, 'CA key is 0600');
  t.equal(statSync(p.operatorKey).mode & 0o777, 0o600, 'operator key is 0600');
  t.same(JSON.parse(readFileSync(p.users, 'utf8')), {});
  const configText = readFileSync(p.config, 'utf8');
  t.match(configText, '<bootstrap-node address="127.0.0.1" port="6084"/>');
  t.match(configText, '<bootstrap-node address="::1" port="6084"/>');
  t.match(configText, '<kind name="SIP-REGISTRATION">');
  t.match(configText, `<kind id="${0xf0000001}">`);
  t.match(configText, '<lm:landmark address="127.0.0.1" port="7000"/>');

  for (const u of ['alice', 'bob', 'carol']) {
    const r = await cli(['add-user', '--dir', dir, '--user', `${u}@example.org`, '--password', `${u}-secret`]);
    t.equal(r.code, 0, r.err);
  }
  const users = JSON.parse(readFileSync(p.users, 'utf8')) as Record<string, { salt: string; hash: string; nodeIds: string[] }>;
  t.same(Object.keys(users).sort(), ['alice@example.org', 'bob@example.org', 'carol@example.org']);
  t.notOk(readFileSync(p.users, 'utf8').includes('alice-secret'), 'no clear-text password on disk');
  const dup = await cli(['add-user', '--dir', dir, '--user', 'alice@example.org', '--password', 'x']);
  t.equal(dup.code, 1);
  t.match(dup.err, 'user alice@example.org already exists');

  const io = captureIO();
  let stop!: () => void;
  const stopped = new Promise<void>((r) => (stop = r));
  const serving = serveEnrollmentUntil(['--dir', dir, '--listen', `127.0.0.1:${port}`], io, stopped);
  await waitFor(() => io.out().includes('enrollment:'), 'the server to start');
  const configUrl = `https://127.0.0.1:${port}/.well-known/reload-config`;
  t.match(io.out(), `configuration: ${configUrl}`);
  t.notMatch(io.err(), 'warning');

  const ids: string[] = [];
  for (const u of ['alice', 'bob', 'carol']) {
    const out = join(dir, `id-${u}`);
    const r = await cli(['enroll', '--url', configUrl, '--user', `${u}@example.org`, '--password', `${u}-secret`, '--out', out, '--ca-file', p.caCert]);
    t.equal(r.code, 0, r.err);
    const id = await loadIdentity(out);
    t.equal(id.credentials.certificate.userName, `${u}@example.org`);
    t.equal(id.credentials.certificate.nodeIds.length, 1);
    ids.push(toHex(id.credentials.nodeId));
    t.match(r.out, `Node-ID      ${toHex(id.credentials.nodeId)}`);
    const ip = identityPaths(out);
    t.equal(statSync(ip.key).mode & 0o777, 0o600, 'key.pem is 0600');
    t.same(readFileSync(ip.config), readFileSync(p.config), 'config.xml saved byte for byte');
    t.same(readFileSync(ip.root, 'utf8'), readFileSync(p.caCert, 'utf8'), 'root.pem is the overlay CA');
    // The certificate chains to the overlay root.
    const root = pemToDer(readFileSync(p.caCert, 'utf8'));
    const checked = verifyPeerCertificate(id.certificateDer, [root], Date.now(), { overlay: OVERLAY });
    t.equal(toHex(checked.nodeIds[0]!), ids.at(-1));
    // OpenSSL reads the RELOAD URI and the user name from subjectAltName.
    const der = join(out, 'cert.der');
    writeFileSync(der, id.certificateDer);
    const text = execFileSync('openssl', ['x509', '-inform', 'DER', '-in', der, '-text', '-noout'], { encoding: 'utf8' });
    t.match(text, `URI:reload://0110${ids.at(-1)}@${OVERLAY}/`);
    t.match(text, `email:${u}@example.org`);
    t.match(text, /X509v3 Subject Alternative Name: critical/);
    t.match(text, /CA:FALSE/);
  }
  t.equal(new Set(ids).size, 3, 'three distinct Node-IDs');
  const after = JSON.parse(readFileSync(p.users, 'utf8')) as Record<string, { nodeIds: string[] }>;
  t.same(after['alice@example.org']!.nodeIds, [ids[0]], 'users.json records the issued Node-ID');

  // Re-enrollment returns the same Node-ID (behaviour digest §4.1).
  const again = await cli(['enroll', '--url', configUrl, '--user', 'alice@example.org', '--password', 'alice-secret', '--out', join(dir, 'id-alice-2'), '--ca-file', p.caCert]);
  t.equal(again.code, 0, again.err);
  t.equal(toHex((await loadIdentity(join(dir, 'id-alice-2'))).credentials.nodeId), ids[0]);

  const wrong = await cli(['enroll', '--url', configUrl, '--user', 'bob@example.org', '--password', 'nope', '--out', join(dir, 'x'), '--ca-file', p.caCert]);
  t.equal(wrong.code, 1);
  t.match(wrong.err, 'enrollment refused: failed_authentication');

  const noCa = await cli(['enroll', '--url', configUrl, '--user', 'bob@example.org', '--password', 'bob-secret', '--out', join(dir, 'y')]);
  t.equal(noCa.code, 1, 'the HTTPS certificate is not trusted without --ca-file');
  t.match(noCa.err, /self.signed|unable to (get|verify)|certificate/i);

  stop();
  t.equal(await serving, 0);
  t.match(io.out(), 'enrollment server stopped');
  t.match(io.err(), /enrolled alice@example\.org: Node-ID [0-9a-f]{32}/);
  t.match(io.err(), 'enrollment refused (failed_authentication)');
});

t.test('serve-enrollment warns when the configuration sends enrollments elsewhere', async (t) => {
  const dir = tempDir(t);
  t.equal((await cli(['init-overlay', '--name', OVERLAY, '--dir', dir])).code, 0);
  const io = captureIO();
  const code = await serveEnrollmentUntil(['--dir', dir, '--listen', '127.0.0.1:0'], io, Promise.resolve());
  t.equal(code, 0);
  t.match(io.out(), 'enrollment:    https://localhost:6084/enroll');
  t.match(io.err(), /warning: the configuration sends enrollments to https:\/\/localhost:6084\/enroll, but this server listens on port \d+/);
});

t.test('enroll --self-signed makes a key-bound identity on a self-signed overlay', async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  t.equal((await cli(['init-overlay', '--name', OVERLAY, '--dir', dir, '--self-signed', '--enrollment-url', `https://127.0.0.1:${port}/enroll`])).code, 0);
  const io = captureIO();
  let stop!: () => void;
  const serving = serveEnrollmentUntil(['--dir', dir, '--listen', `127.0.0.1:${port}`], io, new Promise<void>((r) => (stop = r)));
  await waitFor(() => io.out().includes('enrollment:'), 'the server to start');
  const out = join(dir, 'self');
  const r = await cli(['enroll', '--self-signed', '--url', `https://127.0.0.1:${port}/.well-known/reload-config`, '--user', 'dave@example.org', '--out', out, '--ca-file', overlayPaths(dir).caCert]);
  t.equal(r.code, 0, r.err);
  t.match(r.out, '(self-signed)');
  const id = await loadIdentity(out);
  t.equal(id.credentials.certificate.userName, 'dave@example.org');
  t.ok(id.credentials.certificate.x509.checkIssued(id.credentials.certificate.x509), 'the certificate is self-issued');
  stop();
  t.equal(await serving, 0);

  // Without self-signed-permitted the same request is refused.
  const dir2 = tempDir(t);
  const port2 = await freePort();
  t.equal((await cli(['init-overlay', '--name', OVERLAY, '--dir', dir2, '--enrollment-url', `https://127.0.0.1:${port2}/enroll`])).code, 0);
  const io2 = captureIO();
  let stop2!: () => void;
  const serving2 = serveEnrollmentUntil(['--dir', dir2, '--listen', `127.0.0.1:${port2}`], io2, new Promise<void>((r) => (stop2 = r)));
  await waitFor(() => io2.out().includes('enrollment:'), 'the server to start');
  const r2 = await cli(['enroll', '--self-signed', '--url', `https://127.0.0.1:${port2}/.well-known/reload-config`, '--user', 'dave@example.org', '--out', join(dir2, 'x'), '--ca-file', overlayPaths(dir2).caCert]);
  t.equal(r2.code, 1);
  t.match(r2.err, `overlay ${OVERLAY} does not permit self-signed certificates`);
  stop2();
  await serving2;
});

t.test('reload-node serve-enrollment runs until SIGTERM', async (t) => {
  const dir = tempDir(t);
  t.equal((await cli(['init-overlay', '--name', OVERLAY, '--dir', dir])).code, 0);
  // The same TypeScript loader tap runs this test with.
  const loader = process.execArgv.filter((a) => a.includes('@tapjs/typescript'));
  const child = spawn(process.execPath, [...loader, 'src/cli/main.ts', 'serve-enrollment', '--dir', dir, '--listen', '127.0.0.1:0'], {
    cwd: process.cwd(),
    stdio: ['ignore', 'pipe', 'pipe'],
    // Type checking is the compiler's job (npx tsc); the child only needs to run.
    env: { ...process.env, TS_NODE_TRANSPILE_ONLY: '1' },
  });
  t.teardown(() => void child.kill('SIGKILL'));
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  await waitFor(() => out.includes('enrollment:') || child.exitCode !== null, 'the child to serve', 200_000);
  t.match(out, 'enrollment:', `the child serves (stderr: ${err.slice(0, 2000)})`);
  const url = /configuration: (\S+)/.exec(out)![1]!;
  const cfg = await fetchConfiguration(url, { ca: readFileSync(overlayPaths(dir).caCert, 'utf8') });
  t.equal(cfg.configuration.instanceName, OVERLAY, 'the child serves the configuration');
  child.kill('SIGTERM');
  t.equal(await exited, 0, 'exits 0 on SIGTERM');
  t.match(out, 'enrollment server stopped');
});

t.test('every bad argument names the problem and exits 2', async (t) => {
  const dir = tempDir(t);
  const cases: [string[], string][] = [
    [['init-overlay', '--dir', dir], '--name is required'],
    [['init-overlay', '--name', OVERLAY], '--dir is required'],
    [['init-overlay', '--name', 'not a name', '--dir', dir], '--name not a name: an overlay name must be a DNS name'],
    [['init-overlay', '--name', OVERLAY, '--dir', dir, '--bootstrap', 'boot.example.org:6084'], '--bootstrap boot.example.org:6084: boot.example.org is not an IP address'],
    [['init-overlay', '--name', OVERLAY, '--dir', dir, '--bootstrap', '10.0.0.1:70000'], '--bootstrap 10.0.0.1:70000: port 70000 is not 0..65535'],
    [['init-overlay', '--name', OVERLAY, '--dir', dir, '--bootstrap', '10.0.0.1:0'], '--bootstrap 10.0.0.1:0: port 0 is not a port'],
    [['init-overlay', '--name', OVERLAY, '--dir', dir, '--kind', 'FOO:single:USER-MATCH'], '--kind FOO:single:USER-MATCH: FOO is neither an IANA kind name'],
    [['init-overlay', '--name', OVERLAY, '--dir', dir, '--kind', '42:single:USER-MATCH'], '--kind 42:single:USER-MATCH: Kind-ID 42 is not in the private range 0xF0000001-0xFFFFFFFE'],
    [['init-overlay', '--name', OVERLAY, '--dir', dir, '--kind', '0xFFFFFFFF:single:USER-MATCH'], 'Kind-ID 0xFFFFFFFF is not in the private range'],
    [['init-overlay', '--name', OVERLAY, '--dir', dir, '--kind', '0xF0000002:list:USER-MATCH'], 'data model list is not single, array or dictionary'],
    [['init-overlay', '--name', OVERLAY, '--dir', dir, '--kind', '0xF0000002:single:ANYONE'], 'access control ANYONE is not one of USER-MATCH, NODE-MATCH, USER-NODE-MATCH, NODE-MULTIPLE, USER-CHAIN-ACL'],
    [['init-overlay', '--name', OVERLAY, '--dir', dir, '--kind', 'SIP-REGISTRATION:single:USER-MATCH'], 'SIP-REGISTRATION is registered as dictionary with USER-NODE-MATCH'],
    [['init-overlay', '--name', OVERLAY, '--dir', dir, '--kind', '0xF0000002:single:USER-MATCH:0:10'], 'MAX-COUNT: "0" is not a positive integer'],
    [['init-overlay', '--name', OVERLAY, '--dir', dir, '--kind', '0xF0000002:single'], 'expected NAME:MODEL:POLICY[:MAX-COUNT:MAX-SIZE[:MAX-NODE-MULTIPLE]]'],
    [['init-overlay', '--name', OVERLAY, '--dir', dir, '--kind', '0xF0000002:single:USER-MATCH:1:1:5'], 'MAX-NODE-MULTIPLE only goes with NODE-MULTIPLE'],
    [['init-overlay', '--name', OVERLAY, '--dir', dir, '--kind', '0xF0000002:single:USER-MATCH', '--kind', '4026531842:array:NODE-MATCH'], 'given more than once'],
    [['init-overlay', '--name', OVERLAY, '--dir', dir, '--enrollment-url', 'http://x.example/enroll'], 'must be an https: URL'],
    [['init-overlay', '--name', OVERLAY, '--dir', dir, '--enrollment-url', 'nonsense'], '--enrollment-url nonsense: not a URL'],
    [['init-overlay', '--name', OVERLAY, '--dir', dir, '--landmark', 'bad host:1'], 'bad host is not a host name or IP address'],
    [['init-overlay', '--name', OVERLAY, '--dir', dir, '--bogus'], "Unknown option '--bogus'"],
    [['add-user', '--dir', dir, '--user', 'alice', '--password', 'pw'], 'user name "alice" is not of the form user@domain'],
    [['add-user', '--dir', dir, '--user', 'alice@example.org'], '--password is required'],
    [['serve-enrollment', '--dir', dir], '--listen is required'],
    [['serve-enrollment', '--dir', dir, '--listen', '127.0.0.1'], '--listen 127.0.0.1: the port is missing (HOST:PORT)'],
    [['serve-enrollment', '--dir', dir, '--listen', '127.0.0.1:1', '--rate-burst', 'x'], '--rate-burst x: not a positive number'],
    [['enroll', '--url', 'http://127.0.0.1/x', '--user', 'a@b.c', '--password', 'p', '--out', dir], '--url http://127.0.0.1/x: must be an https: URL'],
    [['enroll', '--url', 'https://127.0.0.1/x', '--user', 'a@b.c', '--password', 'p', '--out', dir, '--nodeids', '0'], '--nodeids 0: not a positive integer'],
    [['enroll', '--url', 'https://127.0.0.1/x', '--user', 'a@b.c', '--password', 'p', '--out', dir, '--ca-file', join(dir, 'missing.pem')], '--ca-file'],
    [['enroll', '--url', 'https://127.0.0.1/x', '--user', 'a@b.c', '--out', dir], '--password is required'],
  ];
  for (const [args, message] of cases) {
    const r = await cli(args);
    t.equal(r.code, 2, `${args.join(' ')} exits 2`);
    t.match(r.err, message, `${args.join(' ')} says what is wrong`);
  }
  t.equal((await cli(['init-overlay', '--name', OVERLAY, '--dir', dir])).code, 0, 'a good run still works after the refusals');
  const again = await cli(['init-overlay', '--name', OVERLAY, '--dir', dir]);
  t.equal(again.code, 1);
  t.match(again.err, 'already holds an overlay');
});

t.test('argument parsers', async (t) => {
  t.same(parseHostPort('[2001:db8::1]:7000', 'x'), { host: '2001:db8::1', port: 7000 });
  t.same(parseHostPort('2001:db8::1', 'x', 6084), { host: '2001:db8::1', port: 6084 });
  t.same(parseHostPort('localhost:0', 'x'), { host: 'localhost', port: 0 });
  t.throws(() => parseHostPort('[nothost]:1', 'x'), UsageError);
  t.throws(() => parseHostPort(':80', 'x'), UsageError);
  const turn = parseKindSpec('turn-service:single:node-multiple');
  t.same(
    { name: turn.name, id: turn.id, model: turn.dataModel, policy: turn.accessControl, mc: turn.maxCount, ms: turn.maxSize, mnm: turn.maxNodeMultiple },
    { name: 'TURN-SERVICE', id: 2, model: 'SINGLE', policy: 'NODE-MULTIPLE', mc: 16, ms: 4096, mnm: 20 },
  );
  const acl = parseKindSpec('ACCESS-CONTROL-LIST:array:USER-CHAIN-ACL:32:1024');
  t.same([acl.id, acl.maxCount, acl.maxSize], [4, 32, 1024]);
  const priv = parseKindSpec('4294967294:single:NODE-MULTIPLE:1:100:3');
  t.same([priv.name, priv.id, priv.maxNodeMultiple], [undefined, 0xfffffffe, 3]);
});
