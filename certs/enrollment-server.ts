/**
 * The enrollment server (RFC 6940 §11.2, §11.3; behaviour digest §9.3, §10), on node:https:
 *
 *  - GET /.well-known/reload-config → 200, application/p2p-overlay+xml, the configuration
 *    document's exact bytes;
 *  - POST <path of an enrollment-server URL of the document> with multipart/form-data
 *    fields `username`, `password`, optional `nodeids` (how many Node-IDs) and `csr`
 *    (part type application/pkcs10, DER), Accept: application/pkix-cert → 200 with the DER
 *    certificate (application/pkix-cert), or 403 text/plain with one token:
 *    failed_authentication, username_not_available, Node-IDs_not_available, bad_CSR.
 *    Other form fields (short text) are handed to the NodeIdStrategy as hints, e.g.
 *    `landmark-bin` for topology/landmarks' LandmarkNodeIdStrategy; a strategy refusing a
 *    hint (NodeIdStrategyError) gets the client a 403 Node-IDs_not_available.
 *
 * Protocol-level refusals: 404 unknown path, 405 wrong method, 406 unacceptable Accept,
 * 413 body over the limit, 415 not multipart/form-data, 400 malformed multipart, 429 when
 * a client address exceeds its token-bucket rate. No input makes it crash: every request
 * handler is wrapped, and socket-level errors are contained.
 */
import { createServer, type Server } from 'node:https';
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { KeyObject } from 'node:crypto';
import type { AddressInfo, Socket } from 'node:net';
import { type Clock, systemClock } from '../src/common/clock.js';
import { fromUtf8, toHex } from '../src/wire/codec.js';
import { CONFIG_MEDIA_TYPE, CONFIG_WELL_KNOWN_PATH, type OverlayConfiguration } from '../src/config/types.js';
import { DAY_MS, type OverlayCA, certificateToPem, issueCertificate, privateKeyToPem } from './ca.js';
import { CsrError, parseCsr } from './csr.js';
import { MultipartError, type MultipartPart, boundaryOf, mediaTypeOf, parseMultipart } from './multipart.js';
import { type NodeIdStrategy, NodeIdStrategyError, RandomNodeIdStrategy, isReservedNodeId } from './node-id-strategy.js';
import { type RateLimitOptions, TokenBucketLimiter } from './rate-limit.js';
import type { UserDatabase } from './users.js';

/** Failure tokens of RFC 6940 §11.3 (403 text/plain body). */
export const EnrollmentFailure = {
  failedAuthentication: 'failed_authentication',
  usernameNotAvailable: 'username_not_available',
  nodeIdsNotAvailable: 'Node-IDs_not_available',
  badCsr: 'bad_CSR',
} as const;
export type EnrollmentFailureToken = (typeof EnrollmentFailure)[keyof typeof EnrollmentFailure];

/** Media types of RFC 6940 §11.3 (RFC 2585, RFC 2986). */
export const PKIX_CERT_MEDIA_TYPE = 'application/pkix-cert';
export const PKCS10_MEDIA_TYPE = 'application/pkcs10';

const HINT_NAME = /^[A-Za-z][A-Za-z0-9._-]{0,63}$/;
const MAX_HINT_BYTES = 1024;

export interface EnrollmentServerOptions {
  ca: OverlayCA;
  /** The configuration document, exact bytes (served as they are). */
  configurationBytes: Uint8Array;
  /** The same document, parsed: enrollment paths, NodeIdLength, overlay name. */
  configuration: OverlayConfiguration;
  users: UserDatabase;
  /** HTTPS server key and certificate (PEM or DER certificate). */
  tls: { key: KeyObject | string; cert: Uint8Array | string };
  clock?: Clock;
  /** How Node-IDs are chosen (default RandomNodeIdStrategy of the overlay's NodeIdLength). */
  nodeIdStrategy?: NodeIdStrategy;
  /** Largest request body, bytes (default 65536). */
  maxBodyBytes?: number;
  /** Per-client-address rate limit (default burst 20, 1 per second). */
  rateLimit?: RateLimitOptions;
  /** Lifetime of issued certificates, days (default 365). */
  certificateValidityDays?: number;
  /** Most Node-IDs one user may hold (default 8). */
  maxNodeIdsPerUser?: number;
  /** One line per notable event (enrollment, refusal); default none. */
  log?: (line: string) => void;
}

class HttpRefusal extends Error {
  constructor(
    readonly status: number,
    readonly body: string,
    readonly headers: Record<string, string> = {},
  ) {
    super(body);
  }
}

export class EnrollmentServer {
  private readonly server: Server;
  private readonly clock: Clock;
  private readonly limiter: TokenBucketLimiter;
  private readonly strategy: NodeIdStrategy;
  private readonly maxBodyBytes: number;
  private readonly maxNodeIds: number;
  private readonly validityMs: number;
  private readonly enrollmentPaths: Set<string>;
  private readonly sockets = new Set<Socket>();
  /** Node-ID assignments run one at a time, so a user never gets Node-IDs added twice. */
  private enrollQueue: Promise<unknown> = Promise.resolve();

  constructor(private readonly opts: EnrollmentServerOptions) {
    this.clock = opts.clock ?? systemClock;
    this.limiter = new TokenBucketLimiter(this.clock, opts.rateLimit);
    this.strategy = opts.nodeIdStrategy ?? new RandomNodeIdStrategy(opts.configuration.nodeIdLength);
    this.maxBodyBytes = opts.maxBodyBytes ?? 64 * 1024;
    this.maxNodeIds = opts.maxNodeIdsPerUser ?? 8;
    this.validityMs = (opts.certificateValidityDays ?? 365) * DAY_MS;
    this.enrollmentPaths = new Set(opts.configuration.enrollmentServers.map((u) => new URL(u).pathname));
    const key = typeof opts.tls.key === 'string' ? opts.tls.key : privateKeyToPem(opts.tls.key);
    const cert = typeof opts.tls.cert === 'string' ? opts.tls.cert : certificateToPem(opts.tls.cert);
    this.server = createServer({ key, cert, minVersion: 'TLSv1.2' }, (req, res) => {
      this.handle(req, res).catch((err: unknown) => this.internalError(res, err));
    });
    this.server.headersTimeout = 10_000;
    this.server.requestTimeout = 30_000;
    this.server.keepAliveTimeout = 5_000;
    this.server.maxHeadersCount = 64;
    // Malformed HTTP or failed TLS handshakes: drop the socket, never throw.
    this.server.on('clientError', (_err, socket: Socket) => {
      if (socket.writable) socket.end('HTTP/1.1 400 Bad Request\r\nConnection: close\r\n\r\n');
      socket.destroy();
    });
    this.server.on('tlsClientError', (_err, socket) => socket.destroy());
    this.server.on('connection', (s: Socket) => {
      this.sockets.add(s);
      s.on('close', () => this.sockets.delete(s));
    });
    this.server.on('secureConnection', (s) => s.on('error', () => undefined));
  }

  /** Starts listening; port 0 picks a free one. Resolves with the bound address. */
  listen(host: string, port: number): Promise<{ host: string; port: number }> {
    return new Promise((resolve, reject) => {
      const onError = (err: Error): void => reject(err);
      this.server.once('error', onError);
      this.server.listen(port, host, () => {
        this.server.off('error', onError);
        this.server.on('error', (err) => this.opts.log?.(`server error: ${err.message}`));
        const a = this.server.address() as AddressInfo;
        resolve({ host: a.address, port: a.port });
      });
    });
  }

  /** Stops accepting, closes open connections, resolves when closed. */
  close(): Promise<void> {
    return new Promise((resolve) => {
      this.server.close(() => resolve());
      for (const s of this.sockets) s.destroy();
    });
  }

  private send(res: ServerResponse, status: number, type: string, body: string | Uint8Array, headers: Record<string, string> = {}): void {
    const data = typeof body === 'string' ? Buffer.from(body, 'utf8') : Buffer.from(body);
    res.writeHead(status, { 'Content-Type': type, 'Content-Length': String(data.length), 'Cache-Control': 'no-store', ...headers });
    res.end(data);
  }

  private internalError(res: ServerResponse, err: unknown): void {
    this.opts.log?.(`internal error: ${(err as Error)?.stack ?? String(err)}`);
    if (!res.headersSent) this.send(res, 500, 'text/plain; charset=utf-8', 'internal error', { Connection: 'close' });
    else res.destroy();
  }

  private async handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const client = req.socket.remoteAddress ?? 'unknown';
    if (!this.limiter.take(client)) {
      const retry = this.limiter.retryAfterSeconds(client);
      this.send(res, 429, 'text/plain; charset=utf-8', 'too many requests', { 'Retry-After': String(Math.max(1, retry)), Connection: 'close' });
      req.resume();
      return;
    }
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'https://enrollment.invalid').pathname;
    } catch {
      this.send(res, 400, 'text/plain; charset=utf-8', 'bad request target');
      return;
    }
    if (path === CONFIG_WELL_KNOWN_PATH) {
      if (req.method !== 'GET' && req.method !== 'HEAD') return this.methodNotAllowed(req, res, 'GET, HEAD');
      req.resume();
      // RFC 6940 §11.2: the document exactly as signed.
      if (req.method === 'HEAD') {
        res.writeHead(200, { 'Content-Type': CONFIG_MEDIA_TYPE, 'Content-Length': String(this.opts.configurationBytes.length) });
        res.end();
      } else this.send(res, 200, CONFIG_MEDIA_TYPE, this.opts.configurationBytes);
      return;
    }
    if (this.enrollmentPaths.has(path)) {
      if (req.method !== 'POST') return this.methodNotAllowed(req, res, 'POST');
      try {
        const cert = await this.enrollRequest(req);
        this.send(res, 200, PKIX_CERT_MEDIA_TYPE, cert);
      } catch (err) {
        if (!(err instanceof HttpRefusal)) throw err;
        this.send(res, err.status, 'text/plain; charset=utf-8', err.body, err.headers);
      }
      return;
    }
    req.resume();
    this.send(res, 404, 'text/plain; charset=utf-8', 'not found');
  }

  private methodNotAllowed(req: IncomingMessage, res: ServerResponse, allow: string): void {
    req.resume();
    this.send(res, 405, 'text/plain; charset=utf-8', 'method not allowed', { Allow: allow });
  }

  /** Reads and checks the enrollment POST; returns the DER certificate or throws HttpRefusal. */
  private async enrollRequest(req: IncomingMessage): Promise<Uint8Array> {
    const accept = req.headers.accept;
    if (accept !== undefined && !acceptsPkixCert(accept)) throw new HttpRefusal(406, `only ${PKIX_CERT_MEDIA_TYPE} is offered`);
    const contentType = req.headers['content-type'];
    if (mediaTypeOf(contentType) !== 'multipart/form-data') throw new HttpRefusal(415, 'the request body must be multipart/form-data');
    const body = await this.readBody(req);
    let parts: MultipartPart[];
    try {
      parts = parseMultipart(body, boundaryOf(contentType));
    } catch (err) {
      if (err instanceof MultipartError) throw new HttpRefusal(400, `malformed multipart/form-data: ${err.message}`);
      throw err;
    }
    const fields = new Map<string, MultipartPart>();
    for (const p of parts) {
      if (fields.has(p.name)) throw new HttpRefusal(400, `form field ${p.name} appears twice`);
      fields.set(p.name, p);
    }
    return this.enroll(fields);
  }

  /** Runs `fn` after every earlier call has finished (one Node-ID assignment at a time). */
  private serialized<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.enrollQueue.then(fn);
    this.enrollQueue = run.catch(() => undefined);
    return run;
  }

  private readBody(req: IncomingMessage): Promise<Buffer> {
    const max = this.maxBodyBytes;
    const declared = req.headers['content-length'];
    if (declared !== undefined && (!/^[0-9]+$/.test(declared) || Number(declared) > max)) {
      return Promise.reject(new HttpRefusal(413, `request body larger than ${max} bytes`, { Connection: 'close' }));
    }
    return new Promise((resolve, reject) => {
      const chunks: Buffer[] = [];
      let total = 0;
      let done = false;
      req.on('data', (chunk: Buffer) => {
        if (done) return;
        total += chunk.length;
        if (total > max) {
          done = true;
          req.pause();
          reject(new HttpRefusal(413, `request body larger than ${max} bytes`, { Connection: 'close' }));
          return;
        }
        chunks.push(chunk);
      });
      req.on('end', () => {
        if (done) return;
        done = true;
        resolve(Buffer.concat(chunks, total));
      });
      req.on('error', (err) => {
        if (done) return;
        done = true;
        reject(err);
      });
      req.on('aborted', () => {
        if (done) return;
        done = true;
        reject(new Error('request aborted'));
      });
    });
  }

  private refuse(token: EnrollmentFailureToken, why: string): never {
    this.opts.log?.(`enrollment refused (${token}): ${why}`);
    throw new HttpRefusal(403, token);
  }

  private async enroll(fields: Map<string, MultipartPart>): Promise<Uint8Array> {
    const text = (name: string): string | undefined => {
      const p = fields.get(name);
      if (!p) return undefined;
      try {
        return fromUtf8(p.data);
      } catch {
        return undefined;
      }
    };
    const userName = text('username');
    const password = text('password');
    // RFC 6940 §11.3: credentials are compared as binary strings (UTF-8).
    if (userName === undefined || password === undefined) this.refuse('failed_authentication', 'username or password missing');
    const account = await this.opts.users.authenticate(userName, password);
    if (!account) this.refuse('failed_authentication', `wrong credentials for ${JSON.stringify(userName.slice(0, 80))}`);

    const csrPart = fields.get('csr');
    if (!csrPart) this.refuse('bad_CSR', `${userName}: no csr part`);
    if (csrPart.contentType !== PKCS10_MEDIA_TYPE) this.refuse('bad_CSR', `${userName}: csr part is ${csrPart.contentType ?? 'untyped'}, not ${PKCS10_MEDIA_TYPE}`);
    let csr;
    try {
      csr = parseCsr(csrPart.data);
    } catch (err) {
      if (err instanceof CsrError) this.refuse('bad_CSR', `${userName}: ${err.message}`);
      throw err;
    }
    // The certificate names the authenticated account; a CSR asking for another name is
    // refused (see certs/csr.ts for the decision on where a CSR names its user).
    if (csr.requestedUserName !== undefined && csr.requestedUserName !== userName) {
      this.refuse('username_not_available', `${userName} asked for user name ${JSON.stringify(csr.requestedUserName.slice(0, 80))}`);
    }

    let count = 1;
    const nodeids = text('nodeids');
    if (nodeids !== undefined) {
      const t = nodeids.trim();
      count = /^[0-9]{1,4}$/.test(t) ? Number(t) : 0;
      if (count < 1 || count > this.maxNodeIds) this.refuse('Node-IDs_not_available', `${userName} asked for ${JSON.stringify(t.slice(0, 20))} Node-IDs`);
    }

    const hints: Record<string, string> = {};
    for (const [name, p] of fields) {
      if (name === 'username' || name === 'password' || name === 'nodeids' || name === 'csr') continue;
      if (p.filename !== undefined || !HINT_NAME.test(name) || p.data.length > MAX_HINT_BYTES) continue;
      const v = text(name);
      if (v !== undefined) hints[name] = v;
    }

    // Behaviour digest §4.1: re-enrollment returns the same Node-IDs; new ones only if more
    // are asked for. Serialized, so two requests of one user cannot both add Node-IDs.
    const nodeIds = await this.serialized(() => this.nodeIdsFor(userName, count, csr.publicKey, hints));
    const now = this.clock.now();
    const der = issueCertificate(this.opts.ca, {
      publicKey: csr.publicKey,
      userName,
      nodeIds,
      notBefore: now - 5 * 60_000,
      notAfter: now + this.validityMs,
    });
    this.opts.log?.(`enrolled ${userName}: Node-ID ${nodeIds.map(toHex).join(', ')}`);
    return der;
  }

  /** The user's first `count` Node-IDs, assigning (and recording) new ones when they hold fewer. */
  private async nodeIdsFor(userName: string, count: number, csrPublicKey: KeyObject, hints: Record<string, string>): Promise<Uint8Array[]> {
    const held = await this.opts.users.nodeIdsOf(userName);
    if (held.length >= count) return held.slice(0, count);
    const want = count - held.length;
    const length = this.opts.configuration.nodeIdLength;
    // A collision with another user's Node-ID is astronomically rare for random ids, but a
    // topology-aware strategy may propose taken ones: retry a few times.
    for (let attempt = 0; attempt < 4; attempt++) {
      let fresh: Uint8Array[];
      try {
        fresh = this.strategy.assign({ userName, count: want, csrPublicKey, hints });
      } catch (err) {
        // A strategy refusing the request (e.g. a malformed landmark-bin hint) is a 403.
        if (err instanceof NodeIdStrategyError) this.refuse('Node-IDs_not_available', `${userName}: ${err.message}`);
        throw err;
      }
      if (fresh.length !== want || fresh.some((id) => id.length !== length || isReservedNodeId(id))) {
        throw new Error(`Node-ID strategy returned ${fresh.length} Node-IDs of the wrong count or length`);
      }
      if (await this.opts.users.addNodeIds(userName, fresh)) return [...held, ...fresh];
    }
    this.refuse('Node-IDs_not_available', `${userName}: no free Node-IDs`);
  }
}

/** Whether an Accept header admits application/pkix-cert (type/subtype or wildcards, q > 0). */
export function acceptsPkixCert(accept: string): boolean {
  for (const item of accept.split(',')) {
    const [range, ...params] = item.split(';').map((s) => s.trim().toLowerCase());
    const q = params.find((p) => p.startsWith('q='));
    if (q !== undefined && !(Number(q.slice(2)) > 0)) continue;
    if (range === PKIX_CERT_MEDIA_TYPE || range === 'application/*' || range === '*/*') return true;
  }
  return false;
}
