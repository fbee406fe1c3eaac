/**
 * The overlay certificate authority (RFC 6940 §11.3 enrollment; behaviour digest §4.1,
 * §10): a root key and certificate, and certificates for enrolled users whose
 * subjectAltName holds the user name (rfc822Name) and one or more Node-IDs (RELOAD URIs),
 * with an empty subject DN. node-forge builds the certificates (node:crypto cannot);
 * keys come from node:crypto (fast, OpenSSL).
 */
import { type KeyObject, createPrivateKey, generateKeyPairSync, randomBytes } from 'node:crypto';
import forge from 'node-forge';
import { nodeIdUri } from '../src/wire/reload-uri.js';

export interface OverlayCA {
  overlay: string;
  /** Root certificate, DER. */
  certificate: Uint8Array;
  privateKey: KeyObject;
}

export interface IssueOptions {
  publicKey: KeyObject;
  userName: string;
  nodeIds: Uint8Array[];
  /** Validity start, ms since the epoch (default: now - 5 minutes of clock skew). */
  notBefore?: number;
  /** Validity end, ms since the epoch (default: notBefore + 365 days). */
  notAfter?: number;
}

const DAY_MS = 86_400_000;

/** An RSA-2048 key pair (RSASSA-PKCS1-v1_5 with SHA-256 is RELOAD's mandatory algorithm). */
export function generateRsaKey(bits = 2048): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 0x10001 });
}

function toForgePrivate(key: KeyObject): forge.pki.rsa.PrivateKey {
  return forge.pki.privateKeyFromPem(key.export({ type: 'pkcs1', format: 'pem' }) as string) as forge.pki.rsa.PrivateKey;
}

function toForgePublic(key: KeyObject): forge.pki.rsa.PublicKey {
  if (key.asymmetricKeyType !== 'rsa') {
    throw new Error(`only RSA keys can be certified (got ${key.asymmetricKeyType})`);
  }
  return forge.pki.publicKeyFromPem(key.export({ type: 'spki', format: 'pem' }) as string) as forge.pki.rsa.PublicKey;
}

export function certificateToDer(cert: forge.pki.Certificate): Uint8Array {
  return new Uint8Array(Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary'));
}

function serialNumber(): string {
  // Positive 16-byte serial (top bit cleared).
  const b = randomBytes(16);
  b[0]! &= 0x7f;
  return b.toString('hex');
}

/** Creates a new overlay root CA (self-signed, CA:true, keyCertSign). */
export function createOverlayCA(overlay: string, opts: { validityDays?: number; now?: number } = {}): OverlayCA {
  const { privateKey, publicKey } = generateRsaKey();
  const now = opts.now ?? Date.now();
  const cert = forge.pki.createCertificate();
  cert.publicKey = toForgePublic(publicKey);
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = new Date(now - 5 * 60_000);
  cert.validity.notAfter = new Date(now + (opts.validityDays ?? 3650) * DAY_MS);
  const name = [
    { name: 'commonName', value: `RELOAD overlay CA ${overlay}` },
    { name: 'organizationName', value: overlay },
  ];
  cert.setSubject(name);
  cert.setIssuer(name);
  cert.setExtensions([
    { name: 'basicConstraints', cA: true, critical: true },
    { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
    { name: 'subjectKeyIdentifier' },
  ]);
  cert.sign(toForgePrivate(privateKey), forge.md.sha256.create());
  return { overlay, certificate: certificateToDer(cert), privateKey };
}

/** Loads a CA from its PEM/DER parts. */
export function loadOverlayCA(overlay: string, certificate: Uint8Array, privateKeyPem: string): OverlayCA {
  return { overlay, certificate, privateKey: createPrivateKey(privateKeyPem) };
}

/**
 * Issues a RELOAD certificate: empty subject, subjectAltName = the Node-IDs as
 * reload://…@overlay/ URIs plus the user name as rfc822Name, nothing else.
 */
export function issueCertificate(ca: OverlayCA, opts: IssueOptions): Uint8Array {
  if (opts.nodeIds.length === 0) throw new Error('a RELOAD certificate needs at least one Node-ID');
  const caCert = forge.pki.certificateFromAsn1(forge.asn1.fromDer(Buffer.from(ca.certificate).toString('binary')));
  const notBefore = opts.notBefore ?? Date.now() - 5 * 60_000;
  const notAfter = opts.notAfter ?? notBefore + 365 * DAY_MS;
  const cert = forge.pki.createCertificate();
  cert.publicKey = toForgePublic(opts.publicKey);
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = new Date(notBefore);
  cert.validity.notAfter = new Date(notAfter);
  cert.setSubject([]);
  cert.setIssuer(caCert.subject.attributes);
  cert.setExtensions([
    { name: 'basicConstraints', cA: false, critical: true },
    { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
    { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
    {
      name: 'subjectAltName',
      // An empty subject makes the SAN extension critical (RFC 5280 §4.2.1.6).
      critical: true,
      altNames: [
        ...opts.nodeIds.map((id) => ({ type: 6, value: nodeIdUri(id, ca.overlay) })),
        { type: 1, value: opts.userName },
      ],
    },
  ]);
  cert.sign(toForgePrivate(ca.privateKey), forge.md.sha256.create());
  return certificateToDer(cert);
}

/** PEM text of a DER certificate. */
export function certificateToPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/** DER bytes of a PEM certificate. */
export function pemToDer(pem: string): Uint8Array {
  const m = /-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/.exec(pem);
  if (!m) throw new Error('no PEM certificate found');
  return new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64'));
}


