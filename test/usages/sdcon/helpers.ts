/**
 * Helpers for the DisCo tests: an overlay whose configuration declares SIP-REGISTRATION,
 * ACCESS-CONTROL-LIST and DISCO-REGISTRATION (both with ShaRe variable resource names), in-
 * process peers with the SIP front end and the DisCo usage, and a small conference-event
 * subscriber on the SIP stack that follows NOTIFYs with the RFC 4575 §4.6 merge.
 */
import type { KindDefinition as ConfigKind } from '../../../src/config/types.js';
import { createNodeFromIdentity } from '../../../src/node/create.js';
import type { ReloadNode } from '../../../src/node/node.js';
import { cryptoRandom } from '../../../src/common/random.js';
import { CONFIG_TEST_KINDS, type TestOverlay, makeOverlay } from '../../helpers/overlay-dir.js';
import { ACCESS_CONTROL_LIST_KIND } from '../../../usages/share/index.js';
import { type SipUsage, sipUsage } from '../../../usages/sip/index.js';
import { DISCO_CONFERENCE_PATTERN, DISCO_REGISTRATION_KIND, type DiscoUsage, type DiscoUsageOptions, discoUsage } from '../../../usages/sdcon/index.js';
import { type ConferenceInfo, applyNotification, parseConferenceInfo } from '../../../usages/sdcon/conference-info.js';
import { SipEndpoint, SipRequest, type SipResponse, generateCallId, generateTag, parseUri } from '../../../usages/sip/stack/index.js';
import { SIP_KIND_CONFIG, ringCorrect, until } from '../sip/helpers.js';

export const OVERLAY = 'overlay.test.example';
const names = { enable: true, patterns: [DISCO_CONFERENCE_PATTERN] };

export const DISCO_CONFIG_KINDS: ConfigKind[] = [
  ...CONFIG_TEST_KINDS,
  SIP_KIND_CONFIG,
  { name: 'ACCESS-CONTROL-LIST', id: ACCESS_CONTROL_LIST_KIND, dataModel: 'ARRAY', accessControl: 'USER-CHAIN-ACL', maxCount: 128, maxSize: 1024, shareVariableResourceNames: names, extensions: [], extensionAttributes: [] },
  { id: DISCO_REGISTRATION_KIND, dataModel: 'DICTIONARY', accessControl: 'USER-CHAIN-ACL', maxCount: 64, maxSize: 1024, shareVariableResourceNames: names, extensions: [], extensionAttributes: [] },
];

export function discoOverlay(): Promise<TestOverlay> {
  return makeOverlay(OVERLAY, DISCO_CONFIG_KINDS);
}

export interface DiscoPeer {
  name: string;
  node: ReloadNode;
  sip: SipUsage;
  disco: DiscoUsage;
  /** The front end's UA address. */
  sipAt: { host: string; port: number };
}

/** Short intervals so that failures are noticed in seconds. */
export const FAST: Partial<DiscoUsageOptions> = {
  registrationLifetimeS: 6,
  pollIntervalMs: 1000,
  subscriptionExpiresS: 4,
  minNotifyIntervalMs: 100,
};

/** Starts in-process peers (TLS links on loopback), each with a SIP front end and DisCo. */
export async function startDiscoPeers(ov: TestOverlay, specs: { name: string; disco: Omit<DiscoUsageOptions, 'sip'> }[]): Promise<DiscoPeer[]> {
  const peers: DiscoPeer[] = [];
  for (const spec of specs) {
    const sip = sipUsage({ frontEnd: { host: '127.0.0.1', port: 0 } });
    const disco = discoUsage({ ...FAST, ...spec.disco, sip });
    const { node } = await createNodeFromIdentity(await ov.identity(spec.name), {
      usages: [sip, ...(spec.disco.directory ? [spec.disco.directory] : []), ...disco.plugins],
      listen: [{ kind: 'tls', host: '127.0.0.1', port: 0 }],
      ...(peers.length === 0 ? { firstNode: true } : { bootstrap: [peers[0]!.node.addresses[0]!.address] }),
      topologyParams: { updateIntervalMs: 1000 },
    });
    if (peers.length > 0) await until(`the ring before ${spec.name}`, () => ringCorrect(peers.map((p) => p.node)), 60_000);
    await node.start();
    peers.push({ name: spec.name, node, sip, disco, sipAt: sip.frontEnd!.uaAddress });
  }
  await until('a correct ring', () => ringCorrect(peers.map((p) => p.node)), 60_000);
  return peers;
}

/**
 * A participant's conference subscription (RFC 4575, RFC 6665) on its own UDP endpoint:
 * SUBSCRIBE to the conference URI through a front end, every NOTIFY answered 200 and merged
 * into `state` with RFC 4575 §4.6 (full replaces, partial patches, old versions discarded).
 */
export class ConferenceWatcher {
  state: ConferenceInfo | undefined;
  readonly notifies: { version: number; state: string; users: number }[] = [];
  gaps = 0;
  private constructor(
    readonly ep: SipEndpoint,
    readonly conferenceUri: string,
    readonly proxy: { host: string; port: number },
  ) {
    ep.on('request', (req, tx) => {
      if (!tx) return;
      if (req.method !== 'NOTIFY') return tx.respond(tx.createResponse(405));
      try {
        const doc = parseConferenceInfo(req.body);
        const r = applyNotification(this.state, doc);
        if (r.outcome === 'applied' || r.outcome === 'deleted') this.state = r.info;
        else if (r.outcome === 'resync') this.gaps++;
        this.notifies.push({ version: doc.version, state: doc.state, users: this.state?.users?.list.length ?? 0 });
        tx.respond(tx.createResponse(200));
      } catch {
        tx.respond(tx.createResponse(400));
      }
    });
  }

  static async start(conferenceUri: string, proxy: { host: string; port: number }): Promise<ConferenceWatcher> {
    return new ConferenceWatcher(await SipEndpoint.start({ udp: { host: '127.0.0.1', port: 0 } }), conferenceUri, proxy);
  }

  /** SUBSCRIBE (Event: conference) through the front end; resolves with the final response. */
  async subscribe(expiresS = 600): Promise<SipResponse> {
    const req = new SipRequest('SUBSCRIBE', parseUri(this.conferenceUri, 'request-uri'));
    req.set('From', `<sip:watcher@${OVERLAY}>;tag=${generateTag(cryptoRandom)}`);
    req.set('To', `<${this.conferenceUri}>`);
    req.set('Call-ID', generateCallId(cryptoRandom, '127.0.0.1'));
    req.set('CSeq', '1 SUBSCRIBE');
    req.set('Contact', `<sip:watcher@127.0.0.1:${this.ep.udpAddress!.port}>`);
    req.set('Event', 'conference');
    req.set('Accept', 'application/conference-info+xml');
    req.set('Expires', String(expiresS));
    return this.ep.sendRequest(req, { transport: 'UDP', ...this.proxy }).finalResponse();
  }

  /** The user entities of the merged state. */
  users(): string[] {
    return (this.state?.users?.list ?? []).map((u) => u.entity).sort();
  }

  stop(): Promise<void> {
    return this.ep.stop();
  }
}
