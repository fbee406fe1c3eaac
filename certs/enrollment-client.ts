/**
 * The enrolling node's side (RFC 6940 §11.2, §11.3; behaviour digest §9.3, §10): fetch the
 * configuration over HTTPS, verify its signature, make a key and a CSR, POST them to the
 * document's enrollment server, check the certificate that comes back (chains to a
 * root-cert of the document, carries Node-IDs, certifies our key and user name), and save
 * the identity directory that `start --identity DIR` reads back with {@link loadIdentity}.
 */
import { type KeyObject, createPrivateKey, createPublicKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { request as httpsRequest } from 'node:https';
import { type Clock, systemClock } from '../src/common/clock.js';
import { type VerifiedConfiguration, loadConfiguration } from '../src/config/signature.js';
import { CONFIG_MEDIA_TYPE, type OverlayConfiguration } from '../src/config/types.js';
import { type Credentials, makeCredentials } from '../src/security/credentials.js';
import { bytesEqual } from '../src/wire/codec.js';
import { certificateToPem, createSelfSignedCertificate, derToPemBundle, generateRsaKey, pemBundleToDer, privateKeyToPem } from './ca.js';
import { createCsr } from './csr.js';
import { EnrollmentFailure, PKCS10_MEDIA_TYPE, PKIX_CERT_MEDIA_TYPE } from './enrollment-server.js';
import { identityPaths, writeFileSafely } from './files.js';
import { CertificateError } from './identity.js';
import { buildMultipart, mediaTypeOf } from './multipart.js';
import { LANDMARK_BIN_FIELD } from './node-id-strategy.js';
import { expectationsOf, verifyPeerCertificate } from './verify.js';

export type EnrollmentErrorReason =
  /** RFC 6940 §11.3 failure tokens. */
  | 'failed_authentication'
  | 'username_not_available'
  | 'Node-IDs_not_available'
  | 'bad_CSR'
  /** 403 with a token this node does not know (an unspecified failure). */
  | 'forbidden'
  /** Another HTTP status. */
  | 'http'
  /** The answer is not what the protocol says (media type, size, not a certificate). */
  | 'bad_response'
  /** The certificate returned does not check out. */
  | 'bad_certificate'
  /** The configuration names no enrollment server (or forbids what was asked). */
  | 'no_enrollment_server'
  | 'self_signed_not_permitted'
  /** Connection, TLS or timeout failure. */
  | 'network';

export class EnrollmentError extends Error {
  readonly code = 'ERR_RELOAD_ENROLLMENT';
  /** The HTTP status, when the server answered. */
  readonly status: number | undefined;
  constructor(
    readonly reason: EnrollmentErrorReason,
    message: string,
    options?: { cause?: unknown; status?: number },
  ) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'EnrollmentError';
    this.status = options?.status;
  }
}

export interface HttpsClientOptions {
  /** Trust anchors for the HTTPS server certificate (PEM text or DER); default: the system's. */
  ca?: string | Uint8Array | readonly (string | Uint8Array)[];
  /** Per-request timeout, ms (default 15000). */
  timeoutMs?: number;
  clock?: Clock;
}

interface HttpsAnswer {
  status: number;
  contentType: string | undefined;
  body: Buffer;
}

function caOption(ca: HttpsClientOptions['ca']): string[] | undefined {
  if (ca === undefined) return undefined;
  const list = Array.isArray(ca) ? ca : [ca];
  return list.map((c) => (typeof c === 'string' ? c : certificateToPem(c as Uint8Array)));
}

function httpsCall(
  url: string,
  init: { method: 'GET' | 'POST'; headers?: Record<string, string>; body?: Buffer; maxBytes: number },
  opts: HttpsClientOptions,
): Promise<HttpsAnswer> {
  const clock = opts.clock ?? systemClock;
  let target: URL;
  try {
    target = new URL(url);
  } catch {
    return Promise.reject(new EnrollmentError('network', `not a URL: ${url}`));
  }
  if (target.protocol !== 'https:') return Promise.reject(new EnrollmentError('network', `${url} is not an https: URL`));
  return new Promise((resolve, reject) => {
    let settled = false;
    const timeoutMs = opts.timeoutMs ?? 15_000;
    const timer = clock.setTimeout(() => {
      finish(new EnrollmentError('network', `${init.method} ${url}: no answer within ${timeoutMs} ms`));
      req.destroy();
    }, timeoutMs);
    const finish = (err: Error | undefined, answer?: HttpsAnswer): void => {
      if (settled) return;
      settled = true;
      timer.cancel();
      if (err) reject(err instanceof EnrollmentError ? err : new EnrollmentError('network', `${init.method} ${url}: ${err.message}`, { cause: err }));
      else resolve(answer!);
    };
    const headers: Record<string, string> = { ...init.headers };
    if (init.body) headers['Content-Length'] = String(init.body.length);
    const req = httpsRequest(target, { method: init.method, headers, ca: caOption(opts.ca), agent: false }, (res) => {
      const chunks: Buffer[] = [];
      let total = 0;
      res.on('data', (c: Buffer) => {
        total += c.length;
        if (total > init.maxBytes) {
          finish(new EnrollmentError('bad_response', `${url}: answer larger than ${init.maxBytes} bytes`));
          req.destroy();
          return;
        }
        chunks.push(c);
      });
      res.on('end', () => finish(undefined, { status: res.statusCode ?? 0, contentType: res.headers['content-type'], body: Buffer.concat(chunks) }));
      res.on('error', (err) => finish(err));
    });
    req.on('error', (err) => finish(err));
    req.end(init.body);
  });
}

/** GETs a configuration document (RFC 6940 §11.2); returns its exact bytes, unverified. */
export async function fetchConfigurationDocument(url: string, opts: HttpsClientOptions = {}): Promise<Uint8Array> {
  const a = await httpsCall(url, { method: 'GET', headers: { Accept: CONFIG_MEDIA_TYPE }, maxBytes: 1024 * 1024 }, opts);
  if (a.status !== 200) throw new EnrollmentError('http', `GET ${url}: HTTP ${a.status}`, { status: a.status });
  if (mediaTypeOf(a.contentType) !== CONFIG_MEDIA_TYPE) {
    throw new EnrollmentError('bad_response', `GET ${url}: answer is ${a.contentType ?? 'untyped'}, not ${CONFIG_MEDIA_TYPE}`);
  }
  return new Uint8Array(a.body);
}

/** Fetches a configuration and verifies it as a first load (signer listed in it, chaining to its root-cert). */
export async function fetchConfiguration(
  url: string,
  opts: HttpsClientOptions & { instanceName?: string } = {},
): Promise<VerifiedConfiguration> {
  const bytes = await fetchConfigurationDocument(url, opts);
  return loadConfiguration(bytes, { now: (opts.clock ?? systemClock).now(), instanceName: opts.instanceName });
}

export interface EnrollOptions extends HttpsClientOptions {
  /** Where the configuration is served, e.g. https://host:port/.well-known/reload-config. */
  configUrl: string;
  userName: string;
  password: string;
  /** Node-IDs wanted (default 1; sent as `nodeids` only when more than one). */
  nodeIdCount?: number;
  /** Extra form fields for the server's NodeIdStrategy (e.g. a landmark bin). */
  hints?: Record<string, string>;
  /**
   * The measured landmark bin (topology/landmarks: `formatBin(binOf(rtts))`, e.g.
   * "2.0.1:0.1.2"), sent as the form field `landmark-bin` so that a server running the
   * LandmarkNodeIdStrategy gives a Node-ID with that bin's prefix. A function is called with
   * the verified configuration, before the key is made, to measure the bin against the
   * landmarks it lists (topology/landmarks/probe.ts); undefined from it sends no bin.
   */
  landmarkBin?: string | ((config: OverlayConfiguration) => Promise<string | undefined>);
  /** Saves the identity there when given (see {@link saveIdentity}). */
  outDir?: string;
  /** Expected overlay name, when the user knows it. */
  instanceName?: string;
}

export interface EnrolledIdentity {
  verified: VerifiedConfiguration;
  config: OverlayConfiguration;
  configurationBytes: Uint8Array;
  certificateDer: Uint8Array;
  privateKey: KeyObject;
  nodeIds: Uint8Array[];
}

/** Runs a whole enrollment (RFC 6940 §11.3). Throws EnrollmentError or ConfigurationError. */
export async function enroll(opts: EnrollOptions): Promise<EnrolledIdentity> {
  const clock = opts.clock ?? systemClock;
  const verified = await fetchConfiguration(opts.configUrl, opts);
  const config = verified.configuration;
  if (config.enrollmentServers.length === 0) {
    throw new EnrollmentError('no_enrollment_server', `overlay ${config.instanceName} names no enrollment-server`);
  }
  // Measured before the key is made, so key generation does not load the CPU while timing.
  const landmarkBin = typeof opts.landmarkBin === 'function' ? await opts.landmarkBin(config) : opts.landmarkBin;
  const { privateKey, publicKey } = generateRsaKey();
  const csr = createCsr(privateKey, publicKey, opts.userName);
  const fields = [
    { name: 'username', data: opts.userName },
    { name: 'password', data: opts.password },
    ...((opts.nodeIdCount ?? 1) > 1 ? [{ name: 'nodeids', data: String(opts.nodeIdCount) }] : []),
    ...Object.entries(opts.hints ?? {}).map(([name, data]) => ({ name, data })),
    ...(landmarkBin !== undefined ? [{ name: LANDMARK_BIN_FIELD, data: landmarkBin }] : []),
    { name: 'csr', data: csr, contentType: PKCS10_MEDIA_TYPE, filename: 'csr.der' },
  ];
  const { body, contentType } = buildMultipart(fields);
  let answer: HttpsAnswer | undefined;
  let lastError: unknown;
  // Servers in document order; the first one that answers decides.
  for (const url of config.enrollmentServers) {
    try {
      answer = await httpsCall(url, { method: 'POST', headers: { 'Content-Type': contentType, Accept: PKIX_CERT_MEDIA_TYPE }, body, maxBytes: 64 * 1024 }, opts);
      break;
    } catch (err) {
      lastError = err;
    }
  }
  if (!answer) throw lastError instanceof EnrollmentError ? lastError : new EnrollmentError('network', String(lastError), { cause: lastError });
  if (answer.status === 403) {
    const token = answer.body.toString('utf8').trim();
    const known = Object.values(EnrollmentFailure) as string[];
    if (known.includes(token)) throw new EnrollmentError(token as EnrollmentErrorReason, `enrollment refused: ${token}`, { status: 403 });
    throw new EnrollmentError('forbidden', `enrollment refused: ${JSON.stringify(token.slice(0, 80))}`, { status: 403 });
  }
  if (answer.status !== 200) throw new EnrollmentError('http', `enrollment failed: HTTP ${answer.status}`, { status: answer.status });
  if (mediaTypeOf(answer.contentType) !== PKIX_CERT_MEDIA_TYPE) {
    throw new EnrollmentError('bad_response', `enrollment answer is ${answer.contentType ?? 'untyped'}, not ${PKIX_CERT_MEDIA_TYPE}`);
  }
  const certificateDer = new Uint8Array(answer.body);
  let identity;
  try {
    // RFC 6940 §11.3: the chain to a root-cert (basicConstraints included), then the Node-IDs.
    identity = verifyPeerCertificate(certificateDer, config.rootCerts, clock.now(), { ...expectationsOf(config), userName: opts.userName });
  } catch (err) {
    throw new EnrollmentError('bad_certificate', `certificate from the enrollment server refused: ${(err as Error).message}`, { cause: err });
  }
  if (!sameKey(identity.publicKey, publicKey)) throw new EnrollmentError('bad_certificate', 'certificate does not certify the key that was sent');
  if (identity.nodeIds.length < (opts.nodeIdCount ?? 1)) {
    throw new EnrollmentError('bad_certificate', `certificate carries ${identity.nodeIds.length} Node-IDs, ${opts.nodeIdCount} were asked for`);
  }
  const out: EnrolledIdentity = {
    verified,
    config,
    configurationBytes: verified.document.bytes,
    certificateDer,
    privateKey,
    nodeIds: [...identity.nodeIds],
  };
  if (opts.outDir) await saveIdentity(opts.outDir, out);
  return out;
}

export interface SelfSignedEnrollOptions extends HttpsClientOptions {
  configUrl: string;
  userName: string;
  nodeIdCount?: number;
  outDir?: string;
  instanceName?: string;
}

/**
 * Makes a self-signed identity for an overlay whose configuration permits it (RFC 6940
 * §13.4): the Node-IDs come from the key, no enrollment server is involved.
 */
export async function createSelfSignedIdentity(opts: SelfSignedEnrollOptions): Promise<EnrolledIdentity> {
  const clock = opts.clock ?? systemClock;
  const verified = await fetchConfiguration(opts.configUrl, opts);
  const config = verified.configuration;
  if (!config.selfSignedPermitted || !config.selfSignedDigest) {
    throw new EnrollmentError('self_signed_not_permitted', `overlay ${config.instanceName} does not permit self-signed certificates`);
  }
  const { privateKey, publicKey } = generateRsaKey();
  const now = clock.now();
  const { certificate, nodeIds } = createSelfSignedCertificate({
    privateKey,
    publicKey,
    overlay: config.instanceName,
    userName: opts.userName,
    digest: config.selfSignedDigest,
    nodeIdLength: config.nodeIdLength,
    count: opts.nodeIdCount ?? 1,
    notBefore: now - 5 * 60_000,
  });
  const out: EnrolledIdentity = { verified, config, configurationBytes: verified.document.bytes, certificateDer: certificate, privateKey, nodeIds };
  if (opts.outDir) await saveIdentity(opts.outDir, out);
  return out;
}

function sameKey(a: KeyObject, b: KeyObject): boolean {
  return bytesEqual(new Uint8Array(a.export({ type: 'spki', format: 'der' })), new Uint8Array(b.export({ type: 'spki', format: 'der' })));
}

/**
 * Writes an identity directory: cert.pem, key.pem (mode 0600), config.xml (the exact bytes
 * received) and root.pem (the configuration's root-cert(s), pinned for later loads).
 */
export async function saveIdentity(dir: string, id: Pick<EnrolledIdentity, 'config' | 'configurationBytes' | 'certificateDer' | 'privateKey'>): Promise<void> {
  const p = identityPaths(dir);
  await fs.mkdir(dir, { recursive: true, mode: 0o700 });
  await writeFileSafely(p.key, privateKeyToPem(id.privateKey), true);
  await writeFileSafely(p.cert, certificateToPem(id.certificateDer));
  await writeFileSafely(p.config, id.configurationBytes);
  await writeFileSafely(p.root, derToPemBundle(id.config.rootCerts));
}

export interface LoadedIdentity {
  /** The overlay configuration (verified). */
  config: OverlayConfiguration;
  verified: VerifiedConfiguration;
  /** config.xml, exact bytes (what a ConfigUpdate would carry). */
  configurationBytes: Uint8Array;
  certificateDer: Uint8Array;
  privateKey: KeyObject;
  /** Certificate, key and the first Node-ID, ready for a Signer. */
  credentials: Credentials;
  /** The pinned trust anchors from root.pem (empty for a self-signed-only overlay). */
  rootCerts: Uint8Array[];
}

/**
 * Reads an identity directory written by enroll and checks it all again: config.xml's
 * signature (its signer must chain to the pinned root.pem, or to the document's own
 * root-cert when root.pem holds none), the certificate against the configuration
 * (chain, validity, overlay, Node-IDs) and that key.pem is the certificate's key.
 * Throws ConfigurationError or CertificateError naming the problem.
 */
export async function loadIdentity(dir: string, opts: { clock?: Clock; allowExpiredConfiguration?: boolean } = {}): Promise<LoadedIdentity> {
  const p = identityPaths(dir);
  const now = (opts.clock ?? systemClock).now();
  const configurationBytes = new Uint8Array(await fs.readFile(p.config));
  let rootCerts: Uint8Array[] = [];
  try {
    rootCerts = pemBundleToDer(await fs.readFile(p.root, 'utf8'));
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  const verified = loadConfiguration(configurationBytes, {
    now,
    trustedRoots: rootCerts.length ? rootCerts : undefined,
    allowExpired: opts.allowExpiredConfiguration,
  });
  const config = verified.configuration;
  const certText = await fs.readFile(p.cert, 'utf8');
  const certificateDer = pemBundleToDer(certText)[0];
  if (!certificateDer) throw new CertificateError(`${p.cert} holds no PEM certificate`);
  const cert = verifyPeerCertificate(certificateDer, config.rootCerts, now, expectationsOf(config));
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey(await fs.readFile(p.key, 'utf8'));
  } catch (err) {
    throw new CertificateError(`${p.key} is not a private key`, { cause: err, reason: 'identity_mismatch' });
  }
  if (!sameKey(cert.publicKey, createPublicKey(privateKey))) {
    throw new CertificateError(`${p.key} is not the key of ${p.cert}`, { reason: 'identity_mismatch' });
  }
  return {
    config,
    verified,
    configurationBytes,
    certificateDer,
    privateKey,
    credentials: makeCredentials(certificateDer, privateKey),
    rootCerts,
  };
}
