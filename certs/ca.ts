/**
 * The overlay certificate authority (RFC 6940 §11.3 enrollment; behaviour digest §4.1,
 * §10): a root key and certificate, and certificates for enrolled users whose
 * subjectAltName holds the user name (rfc822Name) and one or more Node-IDs (RELOAD URIs),
 * with an empty subject DN. node-forge builds the certificates (node:crypto cannot);
 * keys come from node:crypto (fast, OpenSSL).
 */
import { type KeyObject, createPrivateKey, generateKeyPairSync, randomBytes, sign as cryptoSign } from 'node:crypto';
import forge from 'node-forge';
import { isIP } from 'node:net';
import { nodeIdUri } from '../src/wire/reload-uri.js';
import { selfSignedNodeId } from '../src/security/trust.js';

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

/** One day in milliseconds (certificate validity arithmetic). */
export const DAY_MS = 86_400_000;

/** An RSA-2048 key pair (RSASSA-PKCS1-v1_5 with SHA-256 is RELOAD's mandatory algorithm). */
export function generateRsaKey(bits = 2048): { privateKey: KeyObject; publicKey: KeyObject } {
  return generateKeyPairSync('rsa', { modulusLength: bits, publicExponent: 0x10001 });
}

/** A node:crypto RSA private key as node-forge's (for signing certificates and CSRs). */
export function toForgePrivate(key: KeyObject): forge.pki.rsa.PrivateKey {
  return forge.pki.privateKeyFromPem(key.export({ type: 'pkcs1', format: 'pem' }) as string) as forge.pki.rsa.PrivateKey;
}

/** A node:crypto RSA public key as node-forge's. */
export function toForgePublic(key: KeyObject): forge.pki.rsa.PublicKey {
  if (key.asymmetricKeyType !== 'rsa') {
    throw new Error(`only RSA keys can be certified (got ${key.asymmetricKeyType})`);
  }
  return forge.pki.publicKeyFromPem(key.export({ type: 'spki', format: 'pem' }) as string) as forge.pki.rsa.PublicKey;
}

export function certificateToDer(cert: forge.pki.Certificate): Uint8Array {
  return new Uint8Array(Buffer.from(forge.asn1.toDer(forge.pki.certificateToAsn1(cert)).getBytes(), 'binary'));
}

function serialNumber(): string {
  // Positive 16-byte serial (top bit cleared) whose first byte is not zero: DER INTEGERs are
  // minimal (X.690 §8.3.2), and OpenSSL refuses a certificate whose serial starts 00 00 —
  // one certificate in ~65,000 was unreadable (seen in 10,000-peer simulator runs).
  const b = randomBytes(16);
  b[0] = (b[0]! & 0x7f) || 0x01;
  return b.toString('hex');
}

/** What a certificate holds; {@link signCertificate} makes it (SHA-256 with RSA). */
interface CertificateTemplate {
  publicKey: KeyObject;
  subject: forge.pki.CertificateField[];
  issuer: forge.pki.CertificateField[];
  extensions: object[];
  notBefore: number;
  notAfter: number;
  signingKey: KeyObject;
}

/** node-forge's TBSCertificate builder (present at runtime, missing from its typings). */
const forgeTbs = forge.pki as unknown as { getTBSCertificate(cert: forge.pki.Certificate): forge.asn1.Asn1 };

function signCertificate(t: CertificateTemplate): Uint8Array {
  const cert = forge.pki.createCertificate();
  cert.publicKey = forgePublicOf(t.publicKey);
  cert.serialNumber = serialNumber();
  cert.validity.notBefore = new Date(t.notBefore);
  cert.validity.notAfter = new Date(t.notAfter);
  cert.setSubject(t.subject);
  cert.setIssuer(t.issuer);
  cert.setExtensions(t.extensions);
  // sha256WithRSAEncryption, signed by node:crypto over forge's DER TBSCertificate: the same
  // bytes forge's own cert.sign would produce (PKCS#1 v1.5 is deterministic), ~50x faster.
  cert.siginfo.algorithmOid = forge.pki.oids.sha256WithRSAEncryption!;
  cert.signatureOid = forge.pki.oids.sha256WithRSAEncryption!;
  const tbs = Buffer.from(forge.asn1.toDer(forgeTbs.getTBSCertificate(cert)).getBytes(), 'binary');
  cert.signature = cryptoSign('sha256', tbs, t.signingKey).toString('binary');
  return certificateToDer(cert);
}

/** Parsed once per key object: a CA issuing many certificates for one key is fast. */
const forgePublicKeys = new WeakMap<KeyObject, forge.pki.rsa.PublicKey>();

function forgePublicOf(key: KeyObject): forge.pki.rsa.PublicKey {
  let k = forgePublicKeys.get(key);
  if (!k) forgePublicKeys.set(key, (k = toForgePublic(key)));
  return k;
}

const caSubjects = new WeakMap<Uint8Array, forge.pki.CertificateField[]>();

/** The subject of a CA certificate: the issuer name of what it signs (parsed once per CA). */
function subjectOf(caDer: Uint8Array): forge.pki.CertificateField[] {
  let subject = caSubjects.get(caDer);
  if (!subject) {
    subject = forge.pki.certificateFromAsn1(forge.asn1.fromDer(Buffer.from(caDer).toString('binary'))).subject.attributes;
    caSubjects.set(caDer, subject);
  }
  return subject;
}

/** Creates a new overlay root CA (self-signed, CA:true, keyCertSign). */
export function createOverlayCA(overlay: string, opts: { validityDays?: number; now?: number } = {}): OverlayCA {
  const { privateKey, publicKey } = generateRsaKey();
  const now = opts.now ?? Date.now();
  const name = [
    { name: 'commonName', value: `RELOAD overlay CA ${overlay}` },
    { name: 'organizationName', value: overlay },
  ];
  const certificate = signCertificate({
    publicKey,
    subject: name,
    issuer: name,
    extensions: [
      { name: 'basicConstraints', cA: true, critical: true },
      { name: 'keyUsage', keyCertSign: true, cRLSign: true, critical: true },
      { name: 'subjectKeyIdentifier' },
    ],
    notBefore: now - 5 * 60_000,
    notAfter: now + (opts.validityDays ?? 3650) * DAY_MS,
    signingKey: privateKey,
  });
  return { overlay, certificate, privateKey };
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
  const notBefore = opts.notBefore ?? Date.now() - 5 * 60_000;
  return signCertificate({
    publicKey: opts.publicKey,
    subject: [],
    issuer: subjectOf(ca.certificate),
    extensions: [
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
    ],
    notBefore,
    notAfter: opts.notAfter ?? notBefore + 365 * DAY_MS,
    signingKey: ca.privateKey,
  });
}

/** PEM text of a DER certificate. */
export function certificateToPem(der: Uint8Array): string {
  const b64 = Buffer.from(der).toString('base64').replace(/(.{64})/g, '$1\n').replace(/\n$/, '');
  return `-----BEGIN CERTIFICATE-----\n${b64}\n-----END CERTIFICATE-----\n`;
}

/** DER bytes of a PEM certificate (the first one in the text). */
export function pemToDer(pem: string): Uint8Array {
  const [first] = pemBundleToDer(pem);
  if (!first) throw new Error('no PEM certificate found');
  return first;
}

/** Every certificate of a PEM bundle, as DER (in text order). */
export function pemBundleToDer(pem: string): Uint8Array[] {
  const out: Uint8Array[] = [];
  for (const m of pem.matchAll(/-----BEGIN CERTIFICATE-----([\s\S]+?)-----END CERTIFICATE-----/g)) {
    out.push(new Uint8Array(Buffer.from(m[1]!.replace(/\s+/g, ''), 'base64')));
  }
  return out;
}

/** A PEM bundle of DER certificates. */
export function derToPemBundle(ders: readonly Uint8Array[]): string {
  return ders.map(certificateToPem).join('');
}



/** PKCS#8 PEM text of a private key (what key.pem files hold). */
export function privateKeyToPem(key: KeyObject): string {
  return key.export({ type: 'pkcs8', format: 'pem' }) as string;
}

export interface ServerCertificateOptions {
  publicKey: KeyObject;
  /** Host names and IP addresses the server answers on (subjectAltName dNSName / iPAddress). */
  hosts: readonly string[];
  notBefore?: number;
  notAfter?: number;
}

/**
 * An HTTPS server certificate issued by the overlay CA, for the enrollment server
 * (RFC 6940 §11.3: the client checks the server certificate per RFC 2818). It carries
 * no Node-ID, so it can never pass as a node certificate.
 */
export function issueServerCertificate(ca: OverlayCA, opts: ServerCertificateOptions): Uint8Array {
  if (opts.hosts.length === 0) throw new Error('a server certificate needs at least one host');
  const notBefore = opts.notBefore ?? Date.now() - 5 * 60_000;
  return signCertificate({
    publicKey: opts.publicKey,
    subject: [{ name: 'commonName', value: opts.hosts[0]! }],
    issuer: subjectOf(ca.certificate),
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'keyUsage', digitalSignature: true, keyEncipherment: true, critical: true },
      { name: 'extKeyUsage', serverAuth: true },
      { name: 'subjectAltName', altNames: opts.hosts.map((h) => (isIP(h) ? { type: 7, ip: h } : { type: 2, value: h })) },
    ],
    notBefore,
    notAfter: opts.notAfter ?? notBefore + 365 * DAY_MS,
    signingKey: ca.privateKey,
  });
}

export interface SelfSignedOptions {
  privateKey: KeyObject;
  publicKey: KeyObject;
  overlay: string;
  userName: string;
  /** The configuration's self-signed-permitted digest. */
  digest: 'sha1' | 'sha256';
  nodeIdLength?: number;
  /** Number of Node-IDs (default 1). */
  count?: number;
  notBefore?: number;
  notAfter?: number;
}

/**
 * A self-signed RELOAD certificate (RFC 6940 §13.4, behaviour digest §4.1), for overlays
 * whose configuration sets self-signed-permitted: its Node-IDs are not chosen but derived
 * from the key — the high-order NodeIdLength bytes of digest(SPKI), or of
 * digest(uint32(j) || SPKI) for Node-ID j when there are several. The subject (= issuer)
 * names the user, since RFC 5280 §4.1.2.4 wants a non-empty issuer; keyUsage is left out
 * so the certificate counts as its own issuer in OpenSSL's checks.
 */
export function createSelfSignedCertificate(opts: SelfSignedOptions): { certificate: Uint8Array; nodeIds: Uint8Array[] } {
  const count = opts.count ?? 1;
  const length = opts.nodeIdLength ?? 16;
  if (!Number.isInteger(count) || count < 1) throw new Error('a RELOAD certificate needs at least one Node-ID');
  const spki = new Uint8Array(opts.publicKey.export({ type: 'spki', format: 'der' }));
  const nodeIds =
    count === 1
      ? [selfSignedNodeId(spki, opts.digest, length)]
      : Array.from({ length: count }, (_, i) => selfSignedNodeId(spki, opts.digest, length, i + 1));
  const notBefore = opts.notBefore ?? Date.now() - 5 * 60_000;
  const name = [{ name: 'commonName', value: opts.userName }];
  const certificate = signCertificate({
    publicKey: opts.publicKey,
    subject: name,
    issuer: name,
    extensions: [
      { name: 'basicConstraints', cA: false, critical: true },
      { name: 'extKeyUsage', serverAuth: true, clientAuth: true },
      {
        name: 'subjectAltName',
        altNames: [...nodeIds.map((id) => ({ type: 6, value: nodeIdUri(id, opts.overlay) })), { type: 1, value: opts.userName }],
      },
    ],
    notBefore,
    notAfter: opts.notAfter ?? notBefore + 365 * DAY_MS,
    signingKey: opts.privateKey,
  });
  return { certificate, nodeIds };
}
