/**
 * Signing and verifying the configuration document (RFC 6940 §11.1; behaviour digest §9.2,
 * §9.5). A `<signature>` is the base64 of a SecurityBlock (wire digest §4) whose Signature
 * covers the exact bytes of the preceding `<configuration>` element; a `<kind-signature>`
 * the same over the exact bytes of its `<kind>` element. The signer is a RELOAD identity
 * (a certificate with a Node-ID) listed as configuration-signer (kind-signer) — of the
 * configuration currently held, or, on first load, of the document itself, whose signer
 * must then chain to one of the document's own root-certs (or to pinned roots).
 */
import { Buffer } from 'node:buffer';
import { CertificateError } from '../../certs/identity.js';
import { expectationsOf, verifyPeerCertificate } from '../../certs/verify.js';
import type { Clock } from '../common/clock.js';
import { ReloadError } from '../common/errors.js';
import { signatureAlgorithmOf } from '../security/algorithms.js';
import type { Signer } from '../security/signer.js';
import { CertificateStore } from '../security/trust.js';
import { type SignerInfo, checkSignature, findSigner } from '../security/verifier.js';
import { DecodeError, bytesEqual, decode, encode, toHex, utf8 } from '../wire/codec.js';
import { CertificateType, HashAlgorithm } from '../wire/constants.js';
import { type SecurityBlock, securityBlock } from '../wire/security-block.js';
import { ConfigurationError, type ConfigurationErrorReason } from './errors.js';
import { type ParseOptions, parseOverlayDocument, selectConfiguration } from './parse.js';
import { isNewerSequence } from './sequence.js';
import type { OverlayConfiguration, OverlayDocument, ParsedConfiguration, ParsedKindBlock } from './types.js';

/** The SecurityBlock signing `bytes` with `signer` (its certificate included), as base64. */
export function signConfigurationBytes(bytes: Uint8Array, signer: Signer): string {
  const block: SecurityBlock = {
    certificates: [{ type: CertificateType.x509, certificate: signer.credentials.certificate.der }],
    signature: {
      hashAlg: HashAlgorithm.sha256,
      sigAlg: signatureAlgorithmOf(signer.credentials.privateKey),
      identity: signer.identity,
      value: signer.signBytes(bytes),
    },
  };
  return Buffer.from(encode(securityBlock, block)).toString('base64');
}

/** The error reason for each way a signature can fail. */
interface FailureReasons {
  unsigned: ConfigurationErrorReason;
  untrusted: ConfigurationErrorReason;
  bad: ConfigurationErrorReason;
  notListed: ConfigurationErrorReason;
}
const CONFIGURATION_FAILURES: FailureReasons = { unsigned: 'unsigned', untrusted: 'untrusted_signer', bad: 'bad_signature', notListed: 'not_a_signer' };
// A kind-block is refused as a whole, whatever is wrong with its signature.
const KIND_FAILURES: FailureReasons = { unsigned: 'kind_signature', untrusted: 'kind_signature', bad: 'kind_signature', notListed: 'kind_signature' };

/** Who may sign, and which certificates are trusted, for one verification. */
interface SignerTrust {
  config: OverlayConfiguration;
  roots: readonly Uint8Array[];
  signers: readonly Uint8Array[];
  signerRole: 'configuration-signer' | 'kind-signer';
  now: number;
}

function fixedClock(now: number): Clock {
  return {
    now: () => now,
    monotonic: () => now,
    setTimeout: () => ({ cancel: () => undefined }),
  };
}

/**
 * Verifies a base64 SecurityBlock over `signed`. Order of checks: the block decodes, its
 * signer certificate is trusted, the signature verifies over the exact bytes (so any
 * changed byte is reported as bad_signature), and the signer is listed.
 */
function verifySignedBytes(
  signed: Uint8Array,
  signatureBase64: string | undefined,
  trust: SignerTrust,
  what: string,
  reasons: FailureReasons,
): SignerInfo {
  if (signatureBase64 === undefined) throw new ConfigurationError(reasons.unsigned, `${what} is not signed`);
  let block: SecurityBlock;
  try {
    block = decode(securityBlock, new Uint8Array(Buffer.from(signatureBase64, 'base64')));
  } catch (err) {
    if (err instanceof DecodeError) throw new ConfigurationError(reasons.bad, `${what}: signature is not a SecurityBlock (${err.message})`, { cause: err });
    throw err;
  }
  const c = trust.config;
  const expect = expectationsOf(c);
  const store = new CertificateStore(
    {
      overlay: c.instanceName,
      rootCerts: trust.roots,
      selfSigned: expect.selfSigned,
      badNodes: new Set(c.badNodes.map(toHex)),
      nodeIdLength: c.nodeIdLength,
    },
    fixedClock(trust.now),
  );
  let signer: SignerInfo;
  try {
    signer = findSigner(block.signature.identity, block.certificates, store);
    // The stricter link-level checks (root is a CA, root validity) on top of the store's.
    verifyPeerCertificate(signer.certificate.der, trust.roots, trust.now, expect);
  } catch (err) {
    if (err instanceof ReloadError || err instanceof CertificateError) {
      throw new ConfigurationError(reasons.untrusted, `${what}: signer is not trusted: ${err.message}`, { cause: err });
    }
    throw err;
  }
  if (!checkSignature(block.signature, signer.certificate, signed)) {
    throw new ConfigurationError(reasons.bad, `${what}: signature does not verify over the signed bytes (the text was changed after signing)`);
  }
  if (!trust.signers.some((id) => bytesEqual(id, signer.nodeId))) {
    throw new ConfigurationError(
      reasons.notListed,
      `${what}: signed by Node-ID ${toHex(signer.nodeId)}, which is not a ${trust.signerRole}`,
    );
  }
  return signer;
}

export interface VerifyConfigurationOptions {
  /** Time of the check, ms since the epoch. */
  now: number;
  /**
   * The configuration currently held. When given, the new document must be signed by one
   * of its configuration-signers (chaining to its root-certs) and carry a newer sequence
   * number (RFC 6940 §6.5.4, §11.1). When absent this is a first load: the signer must be
   * listed in the document itself and chain to `trustedRoots` or, without those, to the
   * document's own root-certs.
   */
  previous?: OverlayConfiguration;
  /** Pinned trust anchors for a first load (e.g. the root.pem saved at enrollment). */
  trustedRoots?: readonly Uint8Array[];
  /** Accept a document whose expiration has passed (default false). */
  allowExpired?: boolean;
}

export interface VerifiedConfiguration {
  document: OverlayDocument;
  parsed: ParsedConfiguration;
  configuration: OverlayConfiguration;
  /** Who signed the configuration. */
  signer: SignerInfo;
  /** Who signed each kind-block, in `configuration.requiredKinds` order. */
  kindSigners: SignerInfo[];
}

/** Verifies one parsed configuration: signature, signer, sequence, expiration, kind-signatures. */
export function verifyConfiguration(parsed: ParsedConfiguration, opts: VerifyConfigurationOptions): { signer: SignerInfo; kindSigners: SignerInfo[] } {
  const c = parsed.configuration;
  const prev = opts.previous;
  if (prev && prev.instanceName.toLowerCase() !== c.instanceName.toLowerCase()) {
    throw new ConfigurationError('instance_name', `configuration is for overlay ${c.instanceName}, not ${prev.instanceName}`);
  }
  const trustConfig = prev ?? c;
  const signer = verifySignedBytes(
    parsed.signedBytes,
    parsed.signatureBase64,
    {
      config: { ...trustConfig, badNodes: [...trustConfig.badNodes, ...(prev ? c.badNodes : [])] },
      roots: prev ? prev.rootCerts : (opts.trustedRoots ?? c.rootCerts),
      signers: trustConfig.configurationSigners,
      signerRole: 'configuration-signer',
      now: opts.now,
    },
    `configuration ${c.instanceName} (sequence ${c.sequence})`,
    CONFIGURATION_FAILURES,
  );
  if (prev && !isNewerSequence(c.sequence, prev.sequence)) {
    throw new ConfigurationError('sequence', `configuration sequence ${c.sequence} is not newer than the current ${prev.sequence}`);
  }
  if (!opts.allowExpired && c.expiration !== undefined && opts.now > c.expiration) {
    throw new ConfigurationError('expired', `configuration ${c.instanceName} expired at ${new Date(c.expiration).toISOString()}`);
  }
  const kindSigners = parsed.kindBlocks.map((kb) => verifyKindBlock(kb, c, opts.now));
  return { signer, kindSigners };
}

/**
 * Verifies a kind-block's kind-signature against `config` (the configuration the kind
 * belongs to, or the current one for a ConfigUpdate of type kind, RFC 6940 §6.5.4): the
 * signer chains to its root-certs and is one of its kind-signers.
 */
export function verifyKindBlock(block: ParsedKindBlock, config: OverlayConfiguration, now: number): SignerInfo {
  const label = block.kind.name ?? `id ${block.kind.id}`;
  return verifySignedBytes(
    utf8(block.kindXml),
    block.signatureBase64,
    { config, roots: config.rootCerts, signers: config.kindSigners, signerRole: 'kind-signer', now },
    `kind ${label}`,
    KIND_FAILURES,
  );
}

export interface LoadConfigurationOptions extends VerifyConfigurationOptions, ParseOptions {
  /** The overlay expected; needed when the document holds several configurations. */
  instanceName?: string;
}

/**
 * Parses and verifies a configuration document: the one entry point for bytes that came
 * from the network, disk or a ConfigUpdate. Throws ConfigurationError naming the problem.
 */
export function loadConfiguration(bytes: Uint8Array | string, opts: LoadConfigurationOptions): VerifiedConfiguration {
  const document = parseOverlayDocument(bytes, opts);
  const parsed = selectConfiguration(document, opts.instanceName ?? opts.previous?.instanceName);
  const { signer, kindSigners } = verifyConfiguration(parsed, opts);
  return { document, parsed, configuration: parsed.configuration, signer, kindSigners };
}
