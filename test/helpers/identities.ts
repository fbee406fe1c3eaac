/**
 * Test identities: one overlay CA per process and RELOAD credentials for N nodes with
 * chosen or random Node-IDs. RSA keys come from node:crypto (≈100 ms each).
 */
import { createOverlayCA, generateRsaKey, issueCertificate, type OverlayCA } from '../../certs/ca.js';
import { type Credentials, makeCredentials } from '../../src/security/credentials.js';

export const TEST_OVERLAY = 'overlay.test.example';

const cas = new Map<string, OverlayCA>();

export function testCA(overlay = TEST_OVERLAY): OverlayCA {
  let ca = cas.get(overlay);
  if (!ca) cas.set(overlay, (ca = createOverlayCA(overlay)));
  return ca;
}

/** Credentials for user `name` with the given Node-ID (16 bytes). */
export function testCredentials(name: string, nodeId: Uint8Array, overlay = TEST_OVERLAY): Credentials {
  const ca = testCA(overlay);
  const k = generateRsaKey();
  const der = issueCertificate(ca, { publicKey: k.publicKey, userName: `${name}@${overlay}`, nodeIds: [nodeId] });
  return makeCredentials(der, k.privateKey);
}

/** A Node-ID whose first byte is `b` (spreads nodes around the ring predictably). */
export function nodeIdWithPrefix(b: number, rest = 0): Uint8Array {
  const id = new Uint8Array(16);
  id[0] = b;
  id[15] = rest;
  return id;
}
