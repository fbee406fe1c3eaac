/**
 * The demo overlay (`reload-node demo`, what `npm start` runs): everything on loopback, on
 * embedded defaults, in one process — an overlay created from nothing (CA, signed
 * configuration), its enrollment server, a bootstrap peer, and peers that enroll over
 * HTTPS and join over TLS. Every peer runs a SIP front end (usages/sip, RFC 7904) and a
 * status page; two demo phones register alice and bob through the front ends, so ordinary
 * SIP tools (sipp, a softphone) can call them and `reload-node fetch` shows their
 * SIP-REGISTRATION; and a DisCo conference (usages/sdcon) runs on 3 focus-capable peers.
 * Each step is printed as it happens; Ctrl-C makes every peer leave cleanly.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { enroll, loadIdentity } from '../../certs/enrollment-client.js';
import { addUser, initOverlay, serveEnrollment, type RunningEnrollmentServer } from '../../certs/overlay-admin.js';
import type { Logger } from '../common/log.js';
import type { KindDefinition } from '../config/types.js';
import { createNodeFromIdentity } from '../node/create.js';
import type { ReloadNode } from '../node/node.js';
import type { UsagePlugin } from '../node/usage.js';
import { type StatusServer, serveStatus } from '../status/server.js';
import { toHex } from '../wire/codec.js';
import { KindIds } from '../wire/constants.js';
import { type SipUsage, sipUsage } from '../../usages/sip/index.js';
import { ACCESS_CONTROL_LIST_KIND } from '../../usages/share/index.js';
import { DISCO_CONFERENCE_PATTERN, DISCO_REGISTRATION_KIND, type DiscoUsage, discoUsage } from '../../usages/sdcon/index.js';
import { DemoPhone } from './phone.js';

export interface DemoOptions {
  /** Number of peers, the bootstrap peer included (default 8). */
  peers: number;
  /** Overlay name (default demo.reload.example). */
  overlay: string;
  /** Keep the temporary directory after stopping (default false). */
  keep: boolean;
  /** SIP front ends on every peer and the two demo phones (default true). */
  sip?: boolean;
  /** The DisCo conference on 3 focus-capable peers (default true; needs `sip`). */
  conference?: boolean;
  log?: Logger;
  /** Where progress lines go. */
  out: (line: string) => void;
}

export const DEMO_DEFAULTS: Omit<DemoOptions, 'out'> = { peers: 8, overlay: 'demo.reload.example', keep: false };

/** Users enrolled for the command line and the SIP phones. */
export const DEMO_USERS = ['alice', 'bob'] as const;

/** A private Kind for the demo's shared notes (dictionary, USER-NODE-MATCH). */
export const DEMO_NOTES_KIND = 0xf0000100;

/** Focus-capable peers of the demo conference (DisCo), and the places each serves. */
export const DEMO_FOCI = 3;
export const DEMO_FOCUS_CAPACITY = 2;

/**
 * The peers (0-based) that are focus-capable: peers 4, 5, 6 of 8 (so calls through peers
 * 1-3 cross the overlay); with fewer peers, the last ones other than the bootstrap peer.
 * The first of them creates the conference and is its primary focus.
 */
export function demoFocusPeers(peers: number): number[] {
  const want = Math.min(DEMO_FOCI, peers - 1);
  const first = Math.min(3, peers - want);
  return Array.from({ length: want }, (_, k) => first + k);
}

/** The demo conference URI: RFC 8076 §5.1 names it after its creator, `<label>-conf-<user>@<domain>`. */
export function demoConferenceUri(creatorUser: string, overlay: string): string {
  return `sip:demo-conf-${creatorUser}@${overlay}`;
}

/** One peer of the demo and what it serves. */
export interface DemoPeer {
  node: ReloadNode;
  user: string;
  /** Its SIP front end for user agents, UDP and TCP (when SIP is on). */
  sip?: { host: string; port: number };
  /** Its status page. */
  statusUrl: string;
}

export interface RunningDemo {
  dir: string;
  overlay: string;
  nodes: ReloadNode[];
  peers: DemoPeer[];
  /** The demo phones by user name (alice, bob), with the peer whose front end they registered at. */
  phones: { user: string; aor: string; phone: DemoPhone; peer: number }[];
  /** The conference (when on): its URI, the user part to dial, the focus-capable peers (0-based). */
  conference?: { uri: string; user: string; foci: number[]; disco: DiscoUsage[] };
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
  const withSip = opts.sip !== false;
  const withConference = withSip && opts.conference !== false;
  if (withConference) {
    // DisCo: ShaRe's access lists and the focus registrations, both writable under the
    // conference URIs their creator owns (RFC 8076 §5.1 variable resource names).
    const names = { enable: true, patterns: [DISCO_CONFERENCE_PATTERN] };
    kinds.push(
      { id: ACCESS_CONTROL_LIST_KIND, name: 'ACCESS-CONTROL-LIST', dataModel: 'ARRAY', accessControl: 'USER-CHAIN-ACL', maxCount: 128, maxSize: 1024, shareVariableResourceNames: names, extensions: [], extensionAttributes: [] },
      { id: DISCO_REGISTRATION_KIND, dataModel: 'DICTIONARY', accessControl: 'USER-CHAIN-ACL', maxCount: 64, maxSize: 1024, shareVariableResourceNames: names, extensions: [], extensionAttributes: [] },
    );
  }
  const foci = withConference ? demoFocusPeers(opts.peers) : [];
  const conferenceUri = foci.length > 0 ? demoConferenceUri(`peer${foci[0]! + 1}`, opts.overlay) : undefined;
  const discos: DiscoUsage[] = [];
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
  const peers: DemoPeer[] = [];
  const statusServers: StatusServer[] = [];
  const phones: RunningDemo['phones'] = [];
  let stopped = false;
  const stop = async (): Promise<void> => {
    if (stopped) return;
    stopped = true;
    for (const p of phones) {
      await p.phone.stop();
      say(`${p.aor} un-registered`);
    }
    for (const s of statusServers) await s.close().catch(() => undefined);
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
    // 3. Two users for the SIP phones and the command line (clients must not reuse a running
    //    peer's Node-ID). Enrolled first: every SIP front end may register their AORs.
    const users = [];
    for (const name of DEMO_USERS) {
      const user = `${name}@${opts.overlay}`;
      await addUser(overlayDir, user, `${name}-password`);
      await enroll({ configUrl: enrollment.configUrl, userName: user, password: `${name}-password`, ca: overlay.ca.certificate, outDir: join(dir, name) });
      users.push((await loadIdentity(join(dir, name))).credentials);
      say(`user ${user} enrolled: identity in ${join(dir, name)}`);
    }

    // 4. Peers: enroll over HTTPS, then join over TLS (the first one is the bootstrap peer);
    //    each with a SIP front end (RFC 7904) for ordinary phones and a status page.
    for (let i = 0; i < opts.peers; i++) {
      const user = `peer${i + 1}@${opts.overlay}`;
      const password = `demo-password-${i + 1}`;
      await addUser(overlayDir, user, password);
      const out = join(dir, `peer${i + 1}`);
      await enroll({ configUrl: enrollment.configUrl, userName: user, password, ca: overlay.ca.certificate, outDir: out });
      const sip: SipUsage | undefined = withSip ? sipUsage({ frontEnd: { host, port: await freePort(), users } }) : undefined;
      const usages: UsagePlugin[] = sip ? [sip] : [];
      // The DisCo usage on every peer (so every front end routes conference calls to a
      // focus); focus-capable on the chosen peers, the first of which creates the conference.
      const k = foci.indexOf(i);
      if (sip && conferenceUri) {
        const disco = discoUsage({ sip, focus: k >= 0, capacity: DEMO_FOCUS_CAPACITY, ...(k === 0 ? { conferences: [conferenceUri] } : {}) });
        discos.push(disco);
        usages.push(...disco.plugins);
      }
      const { node } = await createNodeFromIdentity(out, {
        listen: [{ kind: 'tls', host, port: ports[i]! }],
        firstNode: i === 0,
        usages,
        topologyParams: { updateIntervalMs: 30_000 },
        ...(opts.log ? { log: opts.log.child({ peer: i + 1 }) } : {}),
      });
      await node.start();
      nodes.push(node);
      const status = await serveStatus(node, { host, port: 0 });
      statusServers.push(status);
      const fe = sip?.frontEnd;
      const peer: DemoPeer = { node, user, statusUrl: status.url, ...(fe ? { sip: fe.uaAddress } : {}) };
      peers.push(peer);
      say(
        `${i === 0 ? 'bootstrap peer' : 'peer'} ${i + 1} enrolled as ${user}, Node-ID ${toHex(node.nodeId)}, joined on tls:${host}:${ports[i]}` +
          `${fe ? `, SIP udp/tcp:${fe.uaAddress.host}:${fe.uaAddress.port}` : ''}, status ${status.url}`,
      );
    }

    // 5. The SIP users: a demo phone for each REGISTERs at a front end (alice at peer 2, bob
    //    at peer 3), so a call through any other peer crosses the overlay (Fetch, AppAttach, TLS).
    if (withSip) {
      for (const [k, name] of DEMO_USERS.entries()) {
        const at = (k + 1) % peers.length;
        const aor = `${name}@${opts.overlay}`;
        const phone = await DemoPhone.start({ aor, registrar: peers[at]!.sip! });
        phone.onEvent = say;
        phones.push({ user: name, aor, phone, peer: at });
        say(`SIP user ${aor} registered at peer ${at + 1}'s front end (${peers[at]!.sip!.host}:${peers[at]!.sip!.port}), contact ${phone.contact}; it answers calls`);
      }
    }

    // 6. The conference: created by the first focus-capable peer at its start (a DISCO-
    //    REGISTRATION under ShaRe's access list); the others are recruited as secondary foci
    //    when it is full (capacity DEMO_FOCUS_CAPACITY each).
    if (conferenceUri) {
      const primary = discos[foci[0]!]!;
      const clock = nodes[0]!.clock;
      const end = clock.monotonic() + 10_000;
      while (primary.conference(conferenceUri) === undefined && clock.monotonic() < end) {
        await new Promise<void>((r) => clock.setTimeout(r, 100));
      }
      if (primary.conference(conferenceUri) === undefined) throw new Error(`the conference ${conferenceUri} was not set up within 10 s`);
      say(
        `conference ${conferenceUri}: primary focus peer ${foci[0]! + 1}, focus-capable peers ${foci.map((f) => f + 1).join(', ')}` +
          ` (${DEMO_FOCUS_CAPACITY} participants each, then delegation)`,
      );
    }
  } catch (err) {
    await stop();
    throw err;
  }
  return {
    dir,
    overlay: opts.overlay,
    nodes,
    peers,
    phones,
    ...(conferenceUri ? { conference: { uri: conferenceUri, user: conferenceUri.slice(4, conferenceUri.indexOf('@')), foci, disco: discos } } : {}),
    enrollment,
    stop,
  };
}
