/**
 * Where the operator's overlay directory and a node's identity directory keep their files,
 * and small helpers to read and write them (private keys with mode 0600).
 *
 *     overlay DIR (init-overlay)               identity DIR (enroll)
 *       ca/root.pem      CA certificate          cert.pem    the node certificate
 *       ca/root.key      CA private key (0600)   key.pem     its private key (0600)
 *       operator/cert.pem  configuration signer  config.xml  the configuration, exact bytes
 *       operator/key.pem   its key (0600)        root.pem    the overlay root-cert(s)
 *       config.xml       the signed configuration
 *       users.json       enrollment accounts
 *       enrollment/server.pem, server.key   HTTPS certificate of serve-enrollment
 */
import { promises as fs } from 'node:fs';
import { dirname, join } from 'node:path';

export function overlayPaths(dir: string) {
  return {
    dir,
    caCert: join(dir, 'ca', 'root.pem'),
    caKey: join(dir, 'ca', 'root.key'),
    operatorCert: join(dir, 'operator', 'cert.pem'),
    operatorKey: join(dir, 'operator', 'key.pem'),
    config: join(dir, 'config.xml'),
    users: join(dir, 'users.json'),
    enrollmentCert: join(dir, 'enrollment', 'server.pem'),
    enrollmentKey: join(dir, 'enrollment', 'server.key'),
  };
}

export function identityPaths(dir: string) {
  return {
    dir,
    cert: join(dir, 'cert.pem'),
    key: join(dir, 'key.pem'),
    config: join(dir, 'config.xml'),
    root: join(dir, 'root.pem'),
  };
}

/** Writes a file, creating its directory; `secret` files get mode 0600 (and 0700 dirs). */
export async function writeFileSafely(path: string, data: string | Uint8Array, secret = false): Promise<void> {
  await fs.mkdir(dirname(path), { recursive: true, mode: secret ? 0o700 : 0o755 });
  await fs.writeFile(path, data, { mode: secret ? 0o600 : 0o644 });
  // writeFile keeps the mode of an existing file: set it explicitly.
  if (secret) await fs.chmod(path, 0o600);
}

export async function exists(path: string): Promise<boolean> {
  try {
    await fs.access(path);
    return true;
  } catch {
    return false;
  }
}
