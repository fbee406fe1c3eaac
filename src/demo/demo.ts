/**
 * The demo overlay (`reload-node demo`, what `npm start` runs): everything on loopback, on
 * embedded defaults, in one process — an overlay created from nothing (CA, signed
 * configuration), its enrollment server, a bootstrap peer, and peers that enroll over
 * HTTPS and join over TLS. Each step is printed as it happens; Ctrl-C makes every peer
 * leave cleanly.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enroll } from '../../certs/enrollment-client.js';
import { addUser, initOverlay, serveEnrollment, type RunningEnrollmentServer } from '../../certs/overlay-admin.js';
import type { Logger } from '../common/log.js';
import type { KindDefinition } from '../config/types.js';
import { createNodeFromIdentity } from '../node/create.js';
import type { ReloadNode } from '../node/node.js';
import { toHex } from '../wire/codec.js';
import { KindIds } from '../wire/constants.js';

export interface DemoOptions {
  /** Number of peers, the bootstrap peer included (default 8). */
  peers: number;
  /** Overlay name (default demo.reload.example). */
  overlay: string;
  /** Keep the temporary directory after stopping (default false). */
  keep: boolean;
  log?: Logger;
  /** Where progress lines go. */
  out: (line: string) => void;
}

export const DEMO_DEFAULTS: Omit<DemoOptions, 'out'> = { peers: 8, overlay: 'demo.reload.example', keep: false };

/** Users enrolled for the command line and the SIP phones. */
export const DEMO_USERS = ['alice', 'bob'] as const;

/** A private Kind for the demo's shared notes (dictionary, USER-NODE-MATCH). */
export const DEMO_NOTES_KIND = 0xf0000100;

export interface RunningDemo {
  dir: string;
  nodes: ReloadNode[];
  enrollment: RunningEnrollmentServer;
  /** Leaves the overlay (every peer), stops the enrollment server, removes the directory. */
  stop(): Promise<void>;
}

/** A loopback TCP port that was free a moment ago. */
export function freePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, host, () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}

export async function runDemo(opts: DemoOptions): Promise<RunningDemo> {
  const say = opts.out;
  if (!Number.isInteger(opts.peers) || opts.peers < 2 || opts.peers > 64) throw new RangeError('the demo runs 2..64 peers');
  const dir = await mkdtemp(join(tmpdir(), 'reload-demo-'));
  say(`working directory ${dir}`);
  const host = '127.0.0.1';
  const enrollPort = await freePort();
  const ports: number[] = [];
  for (let i = 0; i < opts.peers; i++) ports.push(await freePort());

  // 1. The overlay: CA, operator, signed configuration.
  const kinds: KindDefinition[] = [
    { id: KindIds.sipRegistration, name: 'SIP-REGISTRATION', dataModel: 'DICTIONARY', accessControl: 'USER-NODE-MATCH', maxCount: 8, maxSize: 1024, extensions: [], extensionAttributes: [] },
    { id: DEMO_NOTES_KIND, dataModel: 'DICTIONARY', accessControl: 'USER-NODE-MATCH', maxCount: 16, maxSize: 2048, extensions: [], extensionAttributes: [] },
  ];
  const overlayDir = join(dir, 'overlay');
  const overlay = await initOverlay({
    name: opts.overlay,
    dir: overlayDir,
    bootstrapNodes: [{ address: host, port: ports[0]! }],
    enrollmentUrl: `https://${host}:${enrollPort}/enroll`,
    kinds,
  });
  say(`created overlay ${opts.overlay}: CA ${join(overlayDir, 'ca', 'root.pem')}, configuration sequence ${overlay.configuration.sequence}`);

  // 2. The enrollment server.
  const enrollment = await serveEnrollment(overlayDir, { host, port: enrollPort });
  say(`enrollment server at ${enrollment.configUrl}`);

  const nodes: ReloadNode[] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    say('leaving the overlay...');
    for (const n of [...nodes].reverse()) {
      await n.leave().catch(() => undefined);
      say(`  peer ${toHex(n.nodeId).slice(0, 8)} left`);
    }
    await enrollment.close();
    if (!opts.keep) await rm(dir, { recursive: true, force: true });
    say('demo stopped');
  };

  try {
    // 3. Peers: enroll over HTTPS, then join over TLS (the first one is the bootstrap peer).
    for (let i = 0; i < opts.peers; i++) {
      const user = `peer${i + 1}@${opts.overlay}`;
      const password = `demo-password-${i + 1}`;
      await addUser(overlayDir, user, password);
      const out = join(dir, `peer${i + 1}`);
      await enroll({ configUrl: enrollment.configUrl, userName: user, password, ca: overlay.ca.certificate, outDir: out });
      const { node } = await createNodeFromIdentity(out, {
        listen: [{ kind: 'tls', host, port: ports[i]! }],
        firstNode: i === 0,
        topologyParams: { updateIntervalMs: 30_000 },
        ...(opts.log ? { log: opts.log.child({ peer: i + 1 }) } : {}),
      });
      await node.start();
      nodes.push(node);
      say(`${i === 0 ? 'bootstrap peer' : 'peer'} ${i + 1} enrolled as ${user}, Node-ID ${toHex(node.nodeId)}, joined on tls:${host}:${ports[i]}`);
    }
    // 4. Two users for the command line (clients must not reuse a running peer's Node-ID).
    for (const name of DEMO_USERS) {
      const user = `${name}@${opts.overlay}`;
      await addUser(overlayDir, user, `${name}-password`);
      await enroll({ configUrl: enrollment.configUrl, userName: user, password: `${name}-password`, ca: overlay.ca.certificate, outDir: join(dir, name) });
      say(`user ${user} enrolled: identity in ${join(dir, name)}`);
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return { dir, nodes, enrollment, stop };
}
