/**
 * What a RELOAD certificate says (RFC 6940 §13.3 / behaviour digest §4.1): the user name
 * (one rfc822Name) and the Node-IDs (RELOAD URIs with one `node` Destination) in its
 * subjectAltName. Parsed once with node:crypto (OpenSSL speed) and cached by the callers.
 */
import { X509Certificate, type KeyObject, createHash } from 'node:crypto';
import { parseReloadUri } from '../src/wire/reload-uri.js';

export interface CertificateIdentity {
  /** The DER bytes. */
  readonly der: Uint8Array;
  readonly x509: X509Certificate;
  readonly publicKey: KeyObject;
  /** The rfc822Name user name, e.g. "alice@example.org"; undefined if absent. */
  readonly userName: string | undefined;
  /** Node-IDs from reload:// URIs, in certificate order. */
  readonly nodeIds: readonly Uint8Array[];
  /** The overlay name the Node-ID URIs name (lower case), if any. */
  readonly overlay: string | undefined;
  /** Validity period, ms since the epoch. */
  readonly notBefore: number;
  readonly notAfter: number;
  /** SHA-256 of the DER (cert_hash with hash_alg sha256). */
  readonly sha256: Uint8Array;
}

/** Why a certificate was refused, machine-readable (match on this, never on the text). */
export type CertificateErrorReason =
  | 'invalid' // not a well-formed RELOAD certificate (default)
  | 'not_yet_valid'
  | 'expired'
  | 'untrusted' // no chain to a trust anchor (and not an acceptable self-signed certificate)
  | 'no_node_id' // no reload:// Node-ID URI in subjectAltName
  | 'wrong_overlay' // Node-ID URIs name another overlay
  | 'bad_node' // a Node-ID listed as bad-node in the configuration
  | 'node_id_binding' // self-signed: Node-ID not derived from the public key (RFC 6940 §13.4)
  | 'identity_mismatch'; // not the user name, Node-ID or key that was expected

export class CertificateError extends Error {
  readonly code = 'ERR_RELOAD_CERTIFICATE';
  readonly reason: CertificateErrorReason;
  constructor(message: string, options?: { cause?: unknown; reason?: CertificateErrorReason }) {
    super(message, options);
    this.name = 'CertificateError';
    this.reason = options?.reason ?? 'invalid';
  }
}

/**
 * Splits Node's subjectAltName text ("URI:a, email:b"). Node quotes entries containing
 * commas or quotes as JSON strings (CVE-2021-44532 fix), which is handled here.
 */
export function parseSubjectAltName(text: string | undefined): { type: string; value: string }[] {
  if (!text) return [];
  const out: { type: string; value: string }[] = [];
  let i = 0;
  while (i < text.length) {
    const colon = text.indexOf(':', i);
    if (colon < 0) break;
    const type = text.slice(i, colon).trim();
    let j = colon + 1;
    let value: string;
    if (text[j] === '"') {
      // JSON-quoted value.
      let k = j + 1;
      while (k < text.length && text[k] !== '"') k += text[k] === '\\' ? 2 : 1;
      value = JSON.parse(text.slice(j, k + 1)) as string;
      j = k + 1;
    } else {
      const comma = text.indexOf(', ', j);
      value = text.slice(j, comma < 0 ? text.length : comma);
      j = comma < 0 ? text.length : comma;
    }
    out.push({ type, value });
    i = j;
    while (text[i] === ',' || text[i] === ' ') i++;
  }
  return out;
}

/** Parses a DER certificate into its RELOAD identity. */
export function parseCertificate(der: Uint8Array): CertificateIdentity {
  let x509: X509Certificate;
  try {
    x509 = new X509Certificate(der);
  } catch (err) {
    throw new CertificateError('not a DER X.509 certificate', { cause: err });
  }
  let userName: string | undefined;
  const nodeIds: Uint8Array[] = [];
  let overlay: string | undefined;
  for (const { type, value } of parseSubjectAltName(x509.subjectAltName)) {
    if (type === 'email') {
      if (userName !== undefined) throw new CertificateError('certificate carries more than one user name');
      userName = value;
    } else if (type === 'URI' && value.toLowerCase().startsWith('reload://')) {
      let uri;
      try {
        uri = parseReloadUri(value);
      } catch (err) {
        throw new CertificateError(`bad RELOAD URI in subjectAltName: ${value}`, { cause: err });
      }
      const d = uri.destinations[0]!;
      if (uri.destinations.length !== 1 || d.type !== 'node') {
        throw new CertificateError(`Node-ID URI must hold one node Destination: ${value}`);
      }
      if (overlay !== undefined && overlay !== uri.overlay) {
        throw new CertificateError('Node-ID URIs name different overlays');
      }
      overlay = uri.overlay;
      nodeIds.push(new Uint8Array(d.id));
    }
  }
  const bytes = new Uint8Array(der);
  return {
    der: bytes,
    x509,
    publicKey: x509.publicKey,
    userName,
    nodeIds,
    overlay,
    notBefore: Date.parse(x509.validFrom),
    notAfter: Date.parse(x509.validTo),
    sha256: new Uint8Array(createHash('sha256').update(bytes).digest()),
  };
}
