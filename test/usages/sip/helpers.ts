/**
 * Helpers for the SIP usage tests: an overlay whose configuration lists SIP-REGISTRATION,
 * in-process peers with the SIP usage (and front ends) on loopback TLS links, and a small
 * user agent on the SIP stack that registers, calls and answers.
 */
import { loadIdentity } from '../../../certs/enrollment-client.js';
import type { KindDefinition as ConfigKind } from '../../../src/config/types.js';
import { createNodeFromIdentity } from '../../../src/node/create.js';
import type { ReloadNode } from '../../../src/node/node.js';
import { compareIds } from '../../../src/wire/ids.js';
import { fromHex, toHex } from '../../../src/wire/codec.js';
import { CONFIG_TEST_KINDS, type TestOverlay, makeOverlay } from '../../helpers/overlay-dir.js';
import { type SipFrontEndOptions, type SipUsage, sipUsage } from '../../../usages/sip/index.js';
import {
  Dialog,
  SipEndpoint,
  SipRequest,
  type SipResponse,
  type ServerTransaction,
  generateBranch,
  generateCallId,
  generateTag,
  parseUri,
} from '../../../usages/sip/stack/index.js';
import { cryptoRandom } from '../../../src/common/random.js';

export const SIP_OVERLAY = 'overlay.test.example';

/** SIP-REGISTRATION as the configuration lists it (RFC 7904 §9.1). */
export const SIP_KIND_CONFIG: ConfigKind = {
  id: 1,
  name: 'SIP-REGISTRATION',
  dataModel: 'DICTIONARY',
  accessControl: 'USER-NODE-MATCH',
  maxCount: 16,
  maxSize: 512,
  extensions: [],
  extensionAttributes: [],
};

export async function sipOverlay(extra: Partial<ConfigKind> = {}): Promise<TestOverlay> {
  return makeOverlay(SIP_OVERLAY, [...CONFIG_TEST_KINDS, { ...SIP_KIND_CONFIG, ...extra }]);
}

export interface SipPeer {
  node: ReloadNode;
  sip: SipUsage;
}

/** Starts in-process peers (TLS links on loopback), each with the SIP usage; front ends where asked. */
export async function startSipPeers(
  ov: TestOverlay,
  specs: { name: string; frontEnd?: (Omit<SipFrontEndOptions, 'host' | 'port' | 'users'> & { users?: string[] }) | false }[],
): Promise<SipPeer[]> {
  const peers: SipPeer[] = [];
  for (const spec of specs) {
    const users = spec.frontEnd ? await Promise.all((spec.frontEnd.users ?? []).map(async (u) => (await loadIdentity(await ov.identity(u))).credentials)) : [];
    const sip = sipUsage(
      spec.frontEnd
        ? { frontEnd: { ...spec.frontEnd, host: '127.0.0.1', port: 0, users } }
        : {},
    );
    const { node } = await createNodeFromIdentity(await ov.identity(spec.name), {
      usages: [sip],
      listen: [{ kind: 'tls', host: '127.0.0.1', port: 0 }],
      ...(peers.length === 0 ? { firstNode: true } : { bootstrap: [peers[0]!.node.addresses[0]!.address] }),
      topologyParams: { updateIntervalMs: 1000 },
    });
    await node.start();
    peers.push({ node, sip });
  }
  await until('a correct ring', () => ringCorrect(peers.map((p) => p.node)));
  return peers;
}

export async function until(what: string, cond: () => boolean, ms = 20_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

export function ringCorrect(nodes: ReloadNode[]): boolean {
  if (nodes.length === 1) return true;
  const ids = nodes.map((n) => toHex(n.nodeId)).sort((a, b) => compareIds(fromHex(a), fromHex(b)));
  return nodes.every((n) => {
    const i = ids.indexOf(toHex(n.nodeId));
    const s = n.topology.snapshot();
    return (
      s.successors[0] !== undefined &&
      toHex(s.successors[0]) === ids[(i + 1) % ids.length] &&
      s.predecessors[0] !== undefined &&
      toHex(s.predecessors[0]) === ids[(i - 1 + ids.length) % ids.length]
    );
  });
}

export const SDP_OFFER =
  'v=0\r\no=bob 2890844526 2890844526 IN IP4 127.0.0.1\r\ns=call\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 49170 RTP/AVP 0 8\r\na=rtpmap:0 PCMU/8000\r\na=x-checksum:ünïcödé\r\n';
export const SDP_ANSWER =
  'v=0\r\no=alice 2890844527 2890844527 IN IP4 127.0.0.1\r\ns=answer\r\nc=IN IP4 127.0.0.1\r\nt=0 0\r\nm=audio 3456 RTP/AVP 0\r\na=rtpmap:0 PCMU/8000\r\n';

/**
 * A small UA on the stack: registers at a front end, calls through it, answers calls with a
 * fixed SDP, records what it receives.
 */
export class TestUa {
  readonly received: SipRequest[] = [];
  readonly dialogs = new Map<string, Dialog>();
  /** How to answer INVITEs: status (default 200), or a function. */
  answer: (req: SipRequest, tx: ServerTransaction) => void = (req, tx) => this.accept(req, tx);
  private cseq = 1;
  private readonly regCallId = generateCallId(cryptoRandom, '127.0.0.1');

  private constructor(
    readonly user: string,
    readonly ep: SipEndpoint,
    readonly proxy: { host: string; port: number },
    readonly transport: 'UDP' | 'TCP',
  ) {
    ep.on('request', (req, tx) => {
      this.received.push(req);
      if (!tx) return;
      if (req.method === 'INVITE') return this.answer(req, tx);
      if (req.method === 'BYE') {
        const d = [...this.dialogs.values()].find((x) => x.id.callId === req.callId());
        if (d) d.acceptRequest(req);
        tx.respond(tx.createResponse(d ? 200 : 481));
        return;
      }
      tx.respond(tx.createResponse(200));
    });
  }

  static async start(user: string, proxy: { host: string; port: number }, transport: 'UDP' | 'TCP' = 'UDP'): Promise<TestUa> {
    const ep = await SipEndpoint.start();
    return new TestUa(user, ep, proxy, transport);
  }

  get contact(): string {
    const port = this.transport === 'UDP' ? this.ep.udpAddress!.port : this.ep.tcpAddress!.port;
    return `<sip:${this.user.split('@')[0]}@127.0.0.1:${port}${this.transport === 'TCP' ? ';transport=tcp' : ''}>`;
  }

  get dest() {
    return { transport: this.transport, host: this.proxy.host, port: this.proxy.port };
  }

  accept(req: SipRequest, tx: ServerTransaction, sdp = SDP_ANSWER): void {
    const ok = tx.createResponse(200);
    ok.set('Contact', this.contact);
    ok.setBody(sdp, 'application/sdp');
    const d = Dialog.asUas(req, ok);
    this.dialogs.set(d.key, d);
    tx.respond(ok);
  }

  /** REGISTER (RFC 3261 §10.2) for `aor` with this UA's contact. */
  async register(expires: number, opts: { aor?: string; contactParams?: string; supported?: string; contact?: string } = {}): Promise<SipResponse> {
    const aor = opts.aor ?? this.user;
    const req = new SipRequest('REGISTER', parseUri(`sip:${aor.split('@')[1]}`, 'request-uri'));
    req.set('From', `<sip:${aor}>;tag=${generateTag(cryptoRandom)}`);
    req.set('To', `<sip:${aor}>`);
    req.set('Call-ID', this.regCallId);
    req.set('CSeq', `${this.cseq++} REGISTER`);
    req.set('Contact', opts.contact ?? `${this.contact}${opts.contactParams ?? ''}`);
    req.set('Expires', String(expires));
    if (opts.supported) req.set('Supported', opts.supported);
    return this.ep.sendRequest(req, this.dest).finalResponse();
  }

  /** Removes every binding of the AOR (`Contact: *`, Expires: 0). */
  unregisterAll(): Promise<SipResponse> {
    return this.register(0, { contact: '*' });
  }

  /** An INVITE to `target` with SDP_OFFER; resolves with the final response and the dialog on 2xx. */
  async invite(target: string, opts: { sdp?: string; onProvisional?: (r: SipResponse) => void } = {}): Promise<{ response: SipResponse; dialog?: Dialog; request: SipRequest }> {
    const req = new SipRequest('INVITE', parseUri(target, 'request-uri'));
    req.set('From', `<sip:${this.user}>;tag=${generateTag(cryptoRandom)}`);
    req.set('To', `<${target}>`);
    req.set('Call-ID', generateCallId(cryptoRandom, '127.0.0.1'));
    req.set('CSeq', '1 INVITE');
    req.set('Contact', this.contact);
    req.setBody(opts.sdp ?? SDP_OFFER, 'application/sdp');
    const tx = this.ep.sendRequest(req, this.dest);
    if (opts.onProvisional) tx.on('provisional', opts.onProvisional);
    const response = await tx.finalResponse();
    if (response.status >= 200 && response.status < 300) {
      const dialog = Dialog.asUac(tx.request, response);
      return { response, dialog, request: tx.request };
    }
    return { response, request: tx.request };
  }

  /** Sends an in-dialog request (ACK statelessly; others through a transaction) via the route set. */
  async inDialog(dialog: Dialog, method: 'ACK' | 'BYE', inviteSeq = 1): Promise<SipResponse | undefined> {
    if (method === 'ACK') {
      const ack = dialog.createAck(inviteSeq);
      await this.ep.sendStateless(ack, this.dest, { branch: generateBranch(cryptoRandom) });
      return undefined;
    }
    const bye = dialog.createRequest('BYE');
    return this.ep.sendRequest(bye, this.dest).finalResponse();
  }

  stop(): Promise<void> {
    return this.ep.stop();
  }
}
