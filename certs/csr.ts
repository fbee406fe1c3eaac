/**
 * PKCS#10 certificate signing requests for enrollment (RFC 6940 §11.3; behaviour digest
 * §10): the client sends one (DER, part type application/pkcs10) with its public key; the
 * enrollment server checks it and certifies the key.
 *
 * How the requested user name is written inside a CSR is not specified by RFC 6940
 * (UNCONFIRMED; subject and requested SAN are both plausible). Decision:
 *  - createCsr writes it in both places: the subject commonName and an extensionRequest
 *    subjectAltName rfc822Name, so servers reading either find it.
 *  - parseCsr accepts a name in either place (or none); if both are present they must be
 *    equal, and at most one rfc822Name may be requested, else the CSR is refused (bad_CSR).
 *  - The name in the issued certificate is always the authenticated account name (the
 *    form's `username`); a CSR naming a different user is refused by the server with
 *    username_not_available. Other requested SAN entries (URIs, DNS names) are ignored:
 *    the server alone chooses Node-IDs.
 */
import { type KeyObject, createPublicKey } from 'node:crypto';
import forge from 'node-forge';
import { toForgePrivate, toForgePublic } from './ca.js';

/** Smallest RSA modulus accepted in a CSR; shorter keys are refused as too weak. */
export const MIN_RSA_BITS = 2048;
/** Largest CSR accepted, bytes (a 16384-bit RSA CSR is about 2.2 KB). */
export const MAX_CSR_BYTES = 16 * 1024;

export type CsrErrorReason = 'malformed' | 'bad_signature' | 'unsupported_key' | 'weak_key' | 'bad_user_name';

/** A refused CSR; enrollment answers every one of these with the token bad_CSR. */
export class CsrError extends Error {
  readonly code = 'ERR_RELOAD_CSR';
  constructor(
    readonly reason: CsrErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'CsrError';
  }
}

export interface CsrInfo {
  /** The key to certify. */
  publicKey: KeyObject;
  /** RSA modulus length in bits. */
  keyBits: number;
  /** The user name the CSR requests (subject CN or rfc822Name SAN), if any. */
  requestedUserName: string | undefined;
}

/** Creates a DER PKCS#10 CSR for an RSA key, requesting `userName` (see the decision above). */
export function createCsr(privateKey: KeyObject, publicKey: KeyObject, userName: string): Uint8Array {
  const csr = forge.pki.createCertificationRequest();
  csr.publicKey = toForgePublic(publicKey);
  csr.setSubject([{ name: 'commonName', value: userName }]);
  csr.setAttributes([
    { name: 'extensionRequest', extensions: [{ name: 'subjectAltName', altNames: [{ type: 1, value: userName }] }] },
  ]);
  csr.sign(toForgePrivate(privateKey), forge.md.sha256.create());
  return new Uint8Array(Buffer.from(forge.asn1.toDer(forge.pki.certificationRequestToAsn1(csr)).getBytes(), 'binary'));
}

/**
 * Parses and checks a DER CSR: well-formed, RSA, self-signature valid, key at least
 * {@link MIN_RSA_BITS} bits, at most one consistent requested user name. Never throws
 * anything but CsrError.
 */
export function parseCsr(der: Uint8Array): CsrInfo {
  if (der.length === 0 || der.length > MAX_CSR_BYTES) throw new CsrError('malformed', `CSR is ${der.length} bytes`);
  let csr: forge.pki.CertificateSigningRequest;
  try {
    // node-forge's defaults: strict DER, every byte consumed, bounded nesting depth.
    const asn1 = forge.asn1.fromDer(Buffer.from(der).toString('binary'));
    csr = forge.pki.certificationRequestFromAsn1(asn1, false);
  } catch (err) {
    const msg = (err as Error)?.message ?? String(err);
    // node-forge reads only RSA keys: anything else is an unsupported key, not garbage.
    if (/OID is not RSA/i.test(msg)) throw new CsrError('unsupported_key', 'CSR key is not RSA', { cause: err });
    throw new CsrError('malformed', `not a DER PKCS#10 request: ${msg}`, { cause: err });
  }
  let publicKey: KeyObject;
  try {
    publicKey = createPublicKey(forge.pki.publicKeyToPem(csr.publicKey as forge.pki.rsa.PublicKey));
  } catch (err) {
    throw new CsrError('unsupported_key', 'CSR public key cannot be read', { cause: err });
  }
  const keyBits = publicKey.asymmetricKeyDetails?.modulusLength ?? 0;
  if (keyBits < MIN_RSA_BITS) throw new CsrError('weak_key', `CSR key is ${keyBits} bits, at least ${MIN_RSA_BITS} are required`);
  let valid = false;
  let cause: unknown;
  try {
    valid = csr.verify();
  } catch (err) {
    // node-forge throws on a signature whose padding or DigestInfo is wrong.
    cause = err;
  }
  if (!valid) throw new CsrError('bad_signature', 'CSR signature does not verify', { cause });
  return { publicKey, keyBits, requestedUserName: requestedUserName(csr) };
}

function requestedUserName(csr: forge.pki.CertificateSigningRequest): string | undefined {
  const cnField = csr.subject.getField('CN') as { value?: unknown } | null;
  const cn = typeof cnField?.value === 'string' ? cnField.value : undefined;
  const emails: string[] = [];
  const ext = csr.getAttribute({ name: 'extensionRequest' }) as { extensions?: { name?: string; altNames?: { type: number; value?: unknown }[] }[] } | null;
  for (const e of ext?.extensions ?? []) {
    if (e.name !== 'subjectAltName') continue;
    for (const n of e.altNames ?? []) if (n.type === 1 && typeof n.value === 'string') emails.push(n.value);
  }
  if (emails.length > 1) throw new CsrError('bad_user_name', 'CSR requests more than one user name');
  const san = emails[0];
  if (cn !== undefined && san !== undefined && cn !== san) {
    throw new CsrError('bad_user_name', 'CSR subject commonName and rfc822Name request different user names');
  }
  return san ?? cn;
}
