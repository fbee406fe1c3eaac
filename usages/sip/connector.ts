/**
 * SIP connections between peers (RFC 7904 §5.1): an AppAttach with Application-ID 5060
 * routed along a registration's destination list, then a direct TLS connection between the
 * two peers, mutually authenticated with their overlay certificates. The certificate of the
 * peer at the other end must name the Node-ID at the end of the destination list,
 * otherwise the connection is closed and not used.
 *
 * Roles (RFC 6940 §6.5.1.1, which AppAttach shares): the requester is "passive" and the
 * answerer "active", i.e. the answerer opens the connection, to the requester's candidates,
 * right after answering. If no connection from the answerer arrives within
 * `attachWaitMs`, the requester connects to the answerer's candidates itself (as the node's
 * Attach does). The overlay runs without ICE (No-ICE host candidates), so candidates are
 * the SIP TLS listeners' addresses and no connectivity checks run.
 *
 * Connections are kept and reused for later calls and in-dialog requests to the same peer
 * (RFC 7904 §5.1 "MAY be reused"); they are never RELOAD links (§5.1: a RELOAD connection
 * MUST NOT carry SIP).
 */
import { networkInterfaces } from 'node:os';
import type { Logger } from '../../src/common/log.js';
import { ReloadError } from '../../src/common/errors.js';
import type { UsageApi } from '../../src/node/usage.js';
import type { IceCandidate } from '../../src/wire/attach.js';
import { bytesEqual, toHex, utf8 } from '../../src/wire/codec.js';
import { CandType, ErrorCode, OverlayLinkType } from '../../src/wire/constants.js';
import type { Destination } from '../../src/wire/destination.js';
import type { SipConnectionInfo, SipEndpoint } from './stack/index.js';

/** AppAttach Application-IDs of the SIP usage (RFC 7904 §5.1): SIP and SIPS. */
export const SIP_APPLICATION_ID = 5060;
export const SIPS_APPLICATION_ID = 5061;

/** How long a requester waits for the answerer's connection before dialling itself, ms. */
export const DEFAULT_ATTACH_WAIT_MS = 1500;

export class SipConnectError extends Error {
  readonly code = 'ERR_SIP_CONNECT';
  constructor(
    readonly reason: 'not-a-node' | 'self' | 'app-attach-failed' | 'no-connection' | 'wrong-peer',
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SipConnectError';
  }
}

export interface PeerConnectorInit {
  api: UsageApi;
  endpoint: SipEndpoint;
  log: Logger;
  /** The address written into our candidates (default: the TLS listener's, or an interface address for a wildcard bind). */
  advertiseHost?: string;
  /** @default DEFAULT_ATTACH_WAIT_MS */
  attachWaitMs?: number;
}

/** The SIP connections of one peer to other peers, by Node-ID. */
export class PeerConnector {
  private readonly nodesOf = new Map<string, Uint8Array[]>();
  private readonly pending = new Map<string, Promise<SipConnectionInfo>>();
  private readonly waiters = new Map<string, ((c: SipConnectionInfo) => void)[]>();

  constructor(private readonly init: PeerConnectorInit) {
    init.endpoint.on('connection', (c) => this.connectionUp(c));
  }

  /** Our application candidates: the SIP TLS listener (a No-ICE host candidate). */
  candidates(): IceCandidate[] {
    const a = this.init.endpoint.tlsAddress;
    if (!a) return [];
    const host = this.init.advertiseHost ?? advertisedHost(a.host);
    return [
      {
        addrPort: host.includes(':') ? { family: 'ipv6', address: host, port: a.port } : { family: 'ipv4', address: host, port: a.port },
        // No overlay link type names "SIP over TLS": TLS over TCP is the closest.
        overlayLink: OverlayLinkType.tlsTcpFhNoIce,
        foundation: utf8('sip1'),
        priority: (126 << 24) | (65535 << 8) | 255,
        candType: CandType.host,
        extensions: [],
      },
    ];
  }

  /** Answers AppAttach for SIP (RFC 7904 §5.1) and opens the connection as the "active" side. */
  install(): void {
    this.init.api.registerApplication(SIP_APPLICATION_ID, {
      candidates: () => this.candidates(),
      onAppAttach: (from, req) => {
        // Connect after the answer has gone out (the requester then expects us).
        this.init.api.clock.setTimeout(() => {
          this.dialCandidates(from, req.candidates).catch((e: Error) =>
            this.init.log.debug('SIP connection to the AppAttach requester failed', { node: toHex(from), error: e.message }),
          );
        }, 0);
      },
    });
  }

  /** The Node-IDs the certificate of a connection names (empty when unknown). */
  nodeIdsOf(connectionId: string): Uint8Array[] {
    return this.nodesOf.get(connectionId) ?? [];
  }

  /** An open, authenticated SIP connection to a peer, if there is one. */
  existing(nodeId: Uint8Array): SipConnectionInfo | undefined {
    for (const c of this.init.endpoint.connections('TLS')) {
      if (c.open && this.nodeIdsOf(c.id).some((n) => bytesEqual(n, nodeId))) return c;
    }
    return undefined;
  }

  /**
   * A SIP connection to the peer at the end of `destinations` (RFC 7904 §5.1): an existing
   * one, else AppAttach along the list and a new TLS connection whose certificate names
   * that peer's Node-ID. Rejects with SipConnectError.
   */
  async connect(destinations: readonly Destination[]): Promise<SipConnectionInfo> {
    const last = destinations[destinations.length - 1];
    if (!last || last.type !== 'node') {
      throw new SipConnectError('not-a-node', 'the destination list does not end in a Node-ID: the peer cannot be authenticated');
    }
    const target = last.id;
    if (bytesEqual(target, this.init.api.nodeId)) throw new SipConnectError('self', 'the destination list ends at this peer');
    const have = this.existing(target);
    if (have) return have;
    const key = toHex(target);
    let p = this.pending.get(key);
    if (!p) {
      p = this.attachAndConnect([...destinations], target).finally(() => this.pending.delete(key));
      this.pending.set(key, p);
    }
    return p;
  }

  private async attachAndConnect(destinations: Destination[], target: Uint8Array): Promise<SipConnectionInfo> {
    const key = toHex(target);
    let answer: { from: Uint8Array; candidates: IceCandidate[] };
    // Register interest first: the answerer may connect before the answer is processed.
    const arrived = this.waitFor(key, this.init.attachWaitMs ?? DEFAULT_ATTACH_WAIT_MS);
    try {
      answer = await this.init.api.appAttach(destinations, SIP_APPLICATION_ID, this.candidates());
    } catch (e) {
      arrived.cancel();
      const why = e instanceof ReloadError && e.errorCode === ErrorCode.notFound ? 'the peer does not answer SIP' : (e as Error).message;
      throw new SipConnectError('app-attach-failed', `AppAttach (application ${SIP_APPLICATION_ID}) failed: ${why}`, { cause: e });
    }
    if (!bytesEqual(answer.from, target)) {
      arrived.cancel();
      throw new SipConnectError('wrong-peer', `AppAttach answered by ${toHex(answer.from)}, not ${key}`);
    }
    const inbound = await arrived.promise;
    if (inbound) return inbound;
    const out = await this.dialCandidates(target, answer.candidates);
    return out;
  }

  /** Connects to the first candidate that yields a TLS connection from `nodeId`. */
  private async dialCandidates(nodeId: Uint8Array, candidates: readonly IceCandidate[]): Promise<SipConnectionInfo> {
    const have = this.existing(nodeId);
    if (have) return have;
    let last: Error | undefined;
    const usable = candidates.filter((c) => c.addrPort.family !== 'unknown').sort((a, b) => b.priority - a.priority);
    for (const c of usable) {
      const a = c.addrPort as { address: string; port: number };
      let conn: SipConnectionInfo;
      const before = new Set(this.init.endpoint.connections('TLS').map((x) => x.id));
      try {
        conn = await this.init.endpoint.connect('TLS', { host: a.address, port: a.port });
      } catch (e) {
        last = e as Error;
        continue;
      }
      if (this.nodeIdsOf(conn.id).some((n) => bytesEqual(n, nodeId))) return conn;
      // RFC 7904 §5.1: a certificate not matching the terminal destination: close, never use
      // (a connection that already served another peer is left to it).
      if (!before.has(conn.id)) this.init.endpoint.closeConnection(conn.id);
      last = new SipConnectError('wrong-peer', `the certificate at ${a.address}:${a.port} does not name Node-ID ${toHex(nodeId)}`);
    }
    throw new SipConnectError('no-connection', `no SIP connection to ${toHex(nodeId)}${last ? `: ${last.message}` : ' (no candidates)'}`, { cause: last });
  }

  private connectionUp(c: SipConnectionInfo): void {
    if (c.transport !== 'TLS' || !c.peerCertificate) return;
    this.prune();
    let ids: Uint8Array[];
    try {
      ids = [...this.init.api.checkCertificate(c.peerCertificate).nodeIds];
    } catch (e) {
      this.init.log.debug('SIP TLS connection with an untrusted certificate closed', { error: (e as Error).message });
      this.init.endpoint.closeConnection(c.id);
      return;
    }
    this.nodesOf.set(c.id, ids);
    for (const id of ids) {
      const key = toHex(id);
      const list = this.waiters.get(key);
      if (!list) continue;
      this.waiters.delete(key);
      for (const w of list) w(c);
    }
  }

  /** Resolves with an inbound connection from `key`, or undefined after `ms`. */
  private waitFor(key: string, ms: number): { promise: Promise<SipConnectionInfo | undefined>; cancel(): void } {
    let cancel = (): void => undefined;
    const promise = new Promise<SipConnectionInfo | undefined>((resolve) => {
      const done = (c: SipConnectionInfo | undefined): void => {
        timer.cancel();
        const list = this.waiters.get(key);
        if (list) {
          const rest = list.filter((w) => w !== done);
          if (rest.length) this.waiters.set(key, rest);
          else this.waiters.delete(key);
        }
        resolve(c);
      };
      const timer = this.init.api.clock.setTimeout(() => done(undefined), ms);
      let list = this.waiters.get(key);
      if (!list) this.waiters.set(key, (list = []));
      list.push(done);
      cancel = () => done(undefined);
    });
    return { promise, cancel };
  }

  /** Forgets the Node-IDs of connections that closed. */
  private prune(): void {
    const open = new Set(this.init.endpoint.connections('TLS').map((c) => c.id));
    for (const id of this.nodesOf.keys()) if (!open.has(id)) this.nodesOf.delete(id);
  }
}

/** The address to advertise for a listener bound to `host` (a wildcard bind names an interface). */
export function advertisedHost(host: string): string {
  if (host !== '0.0.0.0' && host !== '::') return host;
  for (const list of Object.values(networkInterfaces())) {
    for (const i of list ?? []) if (!i.internal && i.family === 'IPv4') return i.address;
  }
  return '127.0.0.1';
}
