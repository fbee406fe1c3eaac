/**
 * A node's credentials: its certificate, private key and the Node-ID it operates as.
 */
import { type KeyObject, createPrivateKey } from 'node:crypto';
import { type CertificateIdentity, CertificateError, parseCertificate } from '../../certs/identity.js';

export interface Credentials {
  readonly certificate: CertificateIdentity;
  readonly privateKey: KeyObject;
  /** The Node-ID this node uses (one of the certificate's). */
  readonly nodeId: Uint8Array;
}

export function makeCredentials(certDer: Uint8Array, privateKey: KeyObject | string, nodeIndex = 0): Credentials {
  const certificate = parseCertificate(certDer);
  const nodeId = certificate.nodeIds[nodeIndex];
  if (!nodeId) throw new CertificateError(`certificate has no Node-ID number ${nodeIndex}`);
  const key = typeof privateKey === 'string' ? createPrivateKey(privateKey) : privateKey;
  return { certificate, privateKey: key, nodeId };
}
