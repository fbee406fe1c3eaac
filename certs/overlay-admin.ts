/**
 * The operator's side of an overlay: create it (CA, operator identity, signed
 * configuration, empty accounts file), add accounts, and run its enrollment server from
 * the overlay directory (layout in certs/files.ts). The CLI commands init-overlay,
 * add-user and serve-enrollment are thin wrappers over these.
 */
import { type KeyObject, X509Certificate, createPrivateKey } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { isIP } from 'node:net';
import { type Clock, systemClock } from '../src/common/clock.js';
import { type Random, cryptoRandom } from '../src/common/random.js';
import { loadConfiguration, type VerifiedConfiguration } from '../src/config/signature.js';
import {
  type BootstrapNode,
  CONFIG_WELL_KNOWN_PATH,
  type KindDefinition,
  type Landmark,
  type OverlayConfiguration,
  defaultConfiguration,
} from '../src/config/types.js';
import { writeOverlayDocument } from '../src/config/write.js';
import { makeCredentials, type Credentials } from '../src/security/credentials.js';
import { Signer } from '../src/security/signer.js';
import {
  DAY_MS,
  type OverlayCA,
  certificateToPem,
  createOverlayCA,
  generateRsaKey,
  issueCertificate,
  issueServerCertificate,
  loadOverlayCA,
  pemToDer,
  privateKeyToPem,
} from './ca.js';
import { EnrollmentServer, type EnrollmentServerOptions } from './enrollment-server.js';
import { exists, overlayPaths, writeFileSafely } from './files.js';
import { RandomNodeIdStrategy } from './node-id-strategy.js';
import { UserDatabase, checkNewAccount } from './users.js';
import { LandmarkNodeIdStrategy } from '../topology/landmarks/strategy.js';

export interface InitOverlayOptions {
  /** Overlay instance name (a DNS name). */
  name: string;
  /** Directory to create the overlay in (must not hold one already). */
  dir: string;
  /** Permit self-signed certificates (self-signed-permitted, digest sha256). */
  selfSigned?: boolean;
  bootstrapNodes?: BootstrapNode[];
  kinds?: KindDefinition[];
  /**
   * The enrollment-server URL written into the configuration. Default
   * https://localhost:6084/enroll, or none for a self-signed overlay.
   */
  enrollmentUrl?: string;
  landmarks?: Landmark[];
  /** User name of the operator identity that signs the configuration (default operator@NAME). */
  operatorUser?: string;
  /** How long the configuration is valid, days (default 365). */
  configurationValidityDays?: number;
  /** max-message-size, bytes (default {@link DEFAULT_OVERLAY_MAX_MESSAGE_SIZE}). */
  maxMessageSize?: number;
  clock?: Clock;
  random?: Random;
}

export interface Overlay {
  dir: string;
  ca: OverlayCA;
  /** The configuration and kind signer. */
  operator: Credentials;
  verified: VerifiedConfiguration;
  configuration: OverlayConfiguration;
  /** config.xml, exact bytes. */
  configurationBytes: Uint8Array;
}

/**
 * max-message-size of overlays made by init-overlay. RFC 6940's default (5000 bytes, used
 * when a document has no such element) is too small for this overlay's own traffic: a
 * ConfigUpdate carries the whole signed document (each kind-signature holds the signer's
 * certificate), and Fetch answers and replica Stores carry the certificate of every writer.
 */
export const DEFAULT_OVERLAY_MAX_MESSAGE_SIZE = 65_536;

/** Default enrollment URL of a new overlay (IANA port 6084, RFC 6940 §14.2). */
export const DEFAULT_ENROLLMENT_URL = 'https://localhost:6084/enroll';

/** Creates a new overlay directory. Throws if DIR already holds an overlay. */
export async function initOverlay(opts: InitOverlayOptions): Promise<Overlay> {
  const p = overlayPaths(opts.dir);
  for (const f of [p.config, p.caKey, p.users]) {
    if (await exists(f)) throw new Error(`${opts.dir} already holds an overlay (${f} exists)`);
  }
  const clock = opts.clock ?? systemClock;
  const now = clock.now();
  const ca = createOverlayCA(opts.name, { now });

  // The operator identity: an ordinary RELOAD certificate whose Node-ID is listed as
  // configuration-signer and kind-signer (RFC 6940 §11.1).
  const operatorKey = generateRsaKey();
  const operatorUser = opts.operatorUser ?? `operator@${opts.name}`;
  const [operatorNodeId] = new RandomNodeIdStrategy(16, opts.random ?? cryptoRandom).assign({
    userName: operatorUser,
    count: 1,
    csrPublicKey: operatorKey.publicKey,
  });
  const operatorCert = issueCertificate(ca, {
    publicKey: operatorKey.publicKey,
    userName: operatorUser,
    nodeIds: [operatorNodeId!],
    notBefore: now - 5 * 60_000,
    notAfter: now + 3650 * DAY_MS,
  });
  const operator = makeCredentials(operatorCert, operatorKey.privateKey);

  const enrollmentUrl = opts.enrollmentUrl ?? (opts.selfSigned ? undefined : DEFAULT_ENROLLMENT_URL);
  const configuration = defaultConfiguration(opts.name, {
    sequence: 1,
    expiration: Math.floor((now + (opts.configurationValidityDays ?? 365) * DAY_MS) / 1000) * 1000,
    rootCerts: [ca.certificate],
    enrollmentServers: enrollmentUrl ? [enrollmentUrl] : [],
    selfSignedPermitted: opts.selfSigned ?? false,
    selfSignedDigest: opts.selfSigned ? 'sha256' : undefined,
    bootstrapNodes: opts.bootstrapNodes ?? [],
    configurationSigners: [operator.nodeId],
    kindSigners: [operator.nodeId],
    requiredKinds: opts.kinds ?? [],
    landmarks: opts.landmarks ?? [],
    maxMessageSize: opts.maxMessageSize ?? DEFAULT_OVERLAY_MAX_MESSAGE_SIZE,
  });
  const signer = new Signer(operator);
  const configurationBytes = writeOverlayDocument({ configuration, signer, kindSigner: signer });
  const verified = loadConfiguration(configurationBytes, { now, trustedRoots: [ca.certificate] });

  await writeFileSafely(p.caCert, certificateToPem(ca.certificate));
  await writeFileSafely(p.caKey, privateKeyToPem(ca.privateKey), true);
  await writeFileSafely(p.operatorCert, certificateToPem(operatorCert));
  await writeFileSafely(p.operatorKey, privateKeyToPem(operatorKey.privateKey), true);
  await writeFileSafely(p.config, configurationBytes);
  await UserDatabase.create(p.users);
  return { dir: opts.dir, ca, operator, verified, configuration: verified.configuration, configurationBytes };
}

/**
 * Opens an existing overlay directory: the CA, the operator identity and config.xml,
 * whose signature is checked against the overlay's own CA.
 */
export async function openOverlay(dir: string, opts: { clock?: Clock } = {}): Promise<Overlay> {
  const p = overlayPaths(dir);
  const caDer = pemToDer(await fs.readFile(p.caCert, 'utf8'));
  const configurationBytes = new Uint8Array(await fs.readFile(p.config));
  const verified = loadConfiguration(configurationBytes, { now: (opts.clock ?? systemClock).now(), trustedRoots: [caDer] });
  const ca = loadOverlayCA(verified.configuration.instanceName, caDer, await fs.readFile(p.caKey, 'utf8'));
  const operator = makeCredentials(pemToDer(await fs.readFile(p.operatorCert, 'utf8')), await fs.readFile(p.operatorKey, 'utf8'));
  return { dir, ca, operator, verified, configuration: verified.configuration, configurationBytes };
}

/** Adds an enrollment account to DIR/users.json. */
export async function addUser(dir: string, userName: string, password: string): Promise<void> {
  checkNewAccount(userName, password);
  const p = overlayPaths(dir);
  if (!(await exists(p.users))) throw new Error(`${dir} holds no overlay (no users.json; run init-overlay first)`);
  await new UserDatabase(p.users).addUser(userName, password);
}

/**
 * The HTTPS certificate of the enrollment server in DIR/enrollment/, issued by the
 * overlay CA for `hosts` (the listen host, the enrollment URL hosts, the overlay name).
 * An existing one is reused while it is valid and covers every host.
 */
export async function enrollmentServerCertificate(
  overlay: Overlay,
  hosts: readonly string[],
  clock: Clock = systemClock,
): Promise<{ key: KeyObject; cert: Uint8Array }> {
  const p = overlayPaths(overlay.dir);
  const now = clock.now();
  if ((await exists(p.enrollmentCert)) && (await exists(p.enrollmentKey))) {
    try {
      const cert = pemToDer(await fs.readFile(p.enrollmentCert, 'utf8'));
      const x = new X509Certificate(cert);
      const covers = hosts.every((h) => (isIP(h) ? x.checkIP(h) : x.checkHost(h)) !== undefined);
      const fresh = now < Date.parse(x.validTo) - DAY_MS && now > Date.parse(x.validFrom);
      if (covers && fresh && x.verify(new X509Certificate(overlay.ca.certificate).publicKey)) {
        return { key: createPrivateKey(await fs.readFile(p.enrollmentKey, 'utf8')), cert };
      }
    } catch {
      // Unreadable: make a new one below.
    }
  }
  const { privateKey, publicKey } = generateRsaKey();
  const cert = issueServerCertificate(overlay.ca, { publicKey, hosts, notBefore: now - 5 * 60_000 });
  await writeFileSafely(p.enrollmentKey, privateKeyToPem(privateKey), true);
  await writeFileSafely(p.enrollmentCert, certificateToPem(cert));
  return { key: privateKey, cert };
}

export interface ServeEnrollmentOptions extends Partial<Omit<EnrollmentServerOptions, 'ca' | 'configurationBytes' | 'configuration' | 'users' | 'tls'>> {
  host: string;
  port: number;
}

export interface RunningEnrollmentServer {
  server: EnrollmentServer;
  host: string;
  port: number;
  /** Where the configuration is served. */
  configUrl: string;
  /** The enrollment URLs the configuration names (clients POST there). */
  enrollmentUrls: string[];
  close(): Promise<void>;
}

function urlHost(host: string): string {
  return isIP(host) === 6 ? `[${host}]` : host;
}

/** Starts the enrollment server of the overlay in DIR on host:port. */
export async function serveEnrollment(dir: string, opts: ServeEnrollmentOptions): Promise<RunningEnrollmentServer> {
  const clock = opts.clock ?? systemClock;
  const overlay = await openOverlay(dir, { clock });
  const hosts = new Set<string>([opts.host]);
  for (const u of overlay.configuration.enrollmentServers) hosts.add(new URL(u).hostname.replace(/^\[|\]$/g, ''));
  if (!isIP(overlay.configuration.instanceName)) hosts.add(overlay.configuration.instanceName);
  const tls = await enrollmentServerCertificate(overlay, [...hosts].filter((h) => h !== '0.0.0.0' && h !== '::'), clock);
  // An overlay that lists landmarks gets landmark-aware Node-IDs: a client's measured bin
  // (form field landmark-bin) becomes its Node-ID prefix (landmarks-and-extras.md §A.2).
  const landmarks = overlay.configuration.landmarks.length;
  const nodeIdStrategy =
    opts.nodeIdStrategy ??
    (landmarks > 0 ? new LandmarkNodeIdStrategy({ landmarks, nodeIdLength: overlay.configuration.nodeIdLength }) : undefined);
  const server = new EnrollmentServer({
    ...opts,
    ...(nodeIdStrategy ? { nodeIdStrategy } : {}),
    ca: overlay.ca,
    configurationBytes: overlay.configurationBytes,
    configuration: overlay.configuration,
    users: new UserDatabase(overlayPaths(dir).users),
    tls,
    clock,
  });
  const bound = await server.listen(opts.host, opts.port);
  return {
    server,
    host: bound.host,
    port: bound.port,
    configUrl: `https://${urlHost(opts.host)}:${bound.port}${CONFIG_WELL_KNOWN_PATH}`,
    enrollmentUrls: overlay.configuration.enrollmentServers,
    close: () => server.close(),
  };
}
