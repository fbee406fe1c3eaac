/**
 * Enrolled certificates in a mutual-TLS link (RFC 6940 §11.3, behaviour digest §4.2): a
 * node:tls server and client on 127.0.0.1, both presenting certificates obtained by
 * enrollment, OpenSSL checking the chain to the overlay root, and each side checking the
 * other with verifyPeerCertificate.
 */
import t from 'tap';
import { createServer, connect, type TLSSocket } from 'node:tls';
import type { AddressInfo } from 'node:net';
import { certificateToPem, createOverlayCA, generateRsaKey, issueCertificate, privateKeyToPem } from '../../certs/ca.js';
import { enroll } from '../../certs/enrollment-client.js';
import { addUser, initOverlay, serveEnrollment } from '../../certs/overlay-admin.js';
import { CertificateError } from '../../certs/identity.js';
import { expectationsOf, verifyPeerCertificate } from '../../certs/verify.js';
import { toHex } from '../../src/wire/codec.js';
import { freePort, tempDir } from './helpers.js';

const OVERLAY = 'overlay.example.org';

t.test('two enrolled peers authenticate each other over TLS', async (t) => {
  const dir = tempDir(t);
  const port = await freePort();
  const overlay = await initOverlay({ name: OVERLAY, dir, enrollmentUrl: `https://127.0.0.1:${port}/enroll` });
  await addUser(dir, 'alice@example.org', 'a');
  await addUser(dir, 'bob@example.org', 'b');
  const running = await serveEnrollment(dir, { host: '127.0.0.1', port });
  const rootPem = certificateToPem(overlay.ca.certificate);
  const alice = await enroll({ configUrl: running.configUrl, userName: 'alice@example.org', password: 'a', ca: rootPem });
  const bob = await enroll({ configUrl: running.configUrl, userName: 'bob@example.org', password: 'b', ca: rootPem });
  await running.close();
  const config = alice.config;
  const roots = config.rootCerts;
  const check = (s: TLSSocket): string => {
    const der = new Uint8Array(s.getPeerCertificate(true).raw);
    const id = verifyPeerCertificate(der, roots, Date.now(), expectationsOf(config));
    return `${id.userName} ${toHex(id.nodeIds[0]!)}`;
  };

  const seenByServer: string[] = [];
  const refusedByServer: string[] = [];
  const server = createServer(
    {
      key: privateKeyToPem(alice.privateKey),
      cert: certificateToPem(alice.certificateDer),
      ca: rootPem,
      requestCert: true,
      rejectUnauthorized: true,
      minVersion: 'TLSv1.2',
    },
    (s) => {
      try {
        const who = check(s);
        seenByServer.push(who);
        s.end(`hello ${who}\n`);
      } catch (err) {
        refusedByServer.push((err as CertificateError).reason);
        s.destroy();
      }
    },
  );
  server.on('tlsClientError', (err) => refusedByServer.push(`handshake: ${err.message}`));
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', () => r()));
  t.teardown(() => new Promise<void>((r) => server.close(() => r())));
  const serverPort = (server.address() as AddressInfo).port;

  const dial = (key: string, cert: string): Promise<{ serverIs?: string; reply: string; error?: string }> =>
    new Promise((resolve) => {
      let reply = '';
      let serverIs: string | undefined;
      const s = connect({
        host: '127.0.0.1',
        port: serverPort,
        key,
        cert,
        ca: rootPem,
        // Node certificates carry RELOAD URIs, not host names: the identity check is
        // verifyPeerCertificate (chain, overlay, Node-ID), done below.
        checkServerIdentity: () => undefined,
      });
      s.on('secureConnect', () => {
        serverIs = check(s);
      });
      s.on('data', (d: Buffer) => (reply += d.toString()));
      s.on('error', (err) => resolve({ serverIs, reply, error: err.message }));
      s.on('close', () => resolve({ serverIs, reply }));
    });

  const bobSees = await dial(privateKeyToPem(bob.privateKey), certificateToPem(bob.certificateDer));
  t.equal(bobSees.serverIs, `alice@example.org ${toHex(alice.nodeIds[0]!)}`, 'the client verified the server');
  t.equal(bobSees.reply, `hello bob@example.org ${toHex(bob.nodeIds[0]!)}\n`, 'the server verified the client');
  t.same(seenByServer, [`bob@example.org ${toHex(bob.nodeIds[0]!)}`]);

  // A client certificate from another CA fails the TLS handshake itself.
  const strangerKey = generateRsaKey();
  const stranger = issueCertificate(createOverlayCA(OVERLAY), { publicKey: strangerKey.publicKey, userName: 'eve@example.org', nodeIds: [new Uint8Array(16).fill(7)] });
  const eve = await dial(privateKeyToPem(strangerKey.privateKey), certificateToPem(stranger));
  t.equal(eve.reply, '', 'nothing answered to a foreign certificate');
  t.equal(seenByServer.length, 1);
  t.ok(refusedByServer.some((r) => r.startsWith('handshake:')), `refused in the handshake: ${refusedByServer.join('; ')}`);

  // Same CA, wrong overlay in the Node-ID URI: OpenSSL accepts the chain, the RELOAD check does not.
  const wrongKey = generateRsaKey();
  const wrong = issueCertificate({ ...overlay.ca, overlay: 'elsewhere.example.org' }, { publicKey: wrongKey.publicKey, userName: 'mallory@example.org', nodeIds: [new Uint8Array(16).fill(8)] });
  const mallory = await dial(privateKeyToPem(wrongKey.privateKey), certificateToPem(wrong));
  t.equal(mallory.reply, '');
  t.ok(refusedByServer.includes('wrong_overlay'), 'verifyPeerCertificate refused the other overlay');
});
