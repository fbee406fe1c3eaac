/**
 * RFC 7851 diagnostics on a live loopback overlay: 5 TLS peers with chosen Node-IDs and
 * small routing tables (1 successor, 1 predecessor, 1 finger) so that paths take several
 * hops. PathTrack walks to the responsible peer with every hop's next_hop checked against
 * that peer's own routing; the Diagnostic_Ping extension; the per-Kind access policy;
 * expiration (Error_Message_Expired at the responder and in transit); the intermediate-peer
 * errors Error_TTL_Hops_Exceeded and Error_Loop_Detected; `reload-node diag` as a child
 * process; and Wireshark's dissector over the diagnostic traffic.
 */
import t from 'tap';
import { joinPieces } from '../../src/routing/message-bytes.js';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { makeOverlay } from '../helpers/overlay-dir.js';
import { nodeIdWithPrefix } from '../helpers/identities.js';
import { cliPath } from '../helpers/processes.js';
import { reloadVerdicts, tsharkJson, tsharkVersion, collect } from '../helpers/tshark.js';
import { udpPcap } from '../helpers/pcap.js';
import { KIND_SINGLE_USER } from '../helpers/testnet.js';
import { createNodeFromIdentity } from '../../src/node/create.js';
import type { ReloadNode } from '../../src/node/node.js';
import { overlayHashOf } from '../../src/node/parameters.js';
import { ReloadErrorResponse } from '../../src/common/errors.js';
import { encodeBody } from '../../src/wire/body.js';
import { bytesEqual, decode, encode, toHex, utf8 } from '../../src/wire/codec.js';
import { ErrorCode, FRAGMENT_UNFRAGMENTED, MessageCode, MessageExtensionType, RELOAD_VERSION } from '../../src/wire/constants.js';
import type { Destination } from '../../src/wire/destination.js';
import { DiagnosticKind, diagnosticsRequest, dmFlag, dmFlagsOf } from '../../src/wire/diagnostics.js';
import { errorResponse } from '../../src/wire/error.js';
import type { ForwardingHeader } from '../../src/wire/forwarding-header.js';
import { encodeFrame } from '../../src/wire/framing.js';
import { resourceIdOf } from '../../src/wire/ids.js';
import { assembleMessage, decodeMessage, messageContents } from '../../src/wire/message.js';
import { securityBlock } from '../../src/wire/security-block.js';

const run = promisify(execFile);
const PREFIXES = [0x00, 0x10, 0x20, 0x30, 0x40];
const IDS = PREFIXES.map((p) => nodeIdWithPrefix(p, 1));
/** Held by 0x40..01: in (0x30..01, 0x40..01]. */
const RESOURCE: Destination = { type: 'resource', id: nodeIdWithPrefix(0x35) };
/** 0x20 answers only these two Kinds. */
const RESTRICTED = [DiagnosticKind.routingTableSize, DiagnosticKind.appUptime];

async function until(what: string, cond: () => boolean, ms = 60_000, state?: () => string): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}${state ? `: ${state()}` : ''}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

async function remoteError(p: Promise<unknown>): Promise<ReloadErrorResponse> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ReloadErrorResponse) return err;
    throw err;
  }
  throw new Error('expected an error response');
}

const hex = (b: Uint8Array): string => toHex(b);

/** The RELOAD error code a promise rejects with (undefined if it resolves). */
async function codeOf(p: Promise<unknown>): Promise<number | undefined> {
  try {
    await p;
    return undefined;
  } catch (err) {
    return (err as { errorCode?: number }).errorCode ?? -1;
  }
}

t.comment(`using ${tsharkVersion()}`);
const dir = mkdtempSync(join(tmpdir(), 'reload-diag-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

const ov = await makeOverlay();
const nodes: ReloadNode[] = [];
t.teardown(async () => {
  for (const n of nodes) await n.stop();
});
/** Every message the peers hand to a link, in order (for the capture). */
const sent: Uint8Array[] = [];
let capturing = false;
const outListeners: ((from: ReloadNode, bytes: Uint8Array) => void)[] = [];

for (let i = 0; i < IDS.length; i++) {
  const { node } = await createNodeFromIdentity(await ov.identity(`p${PREFIXES[i]!.toString(16)}`, IDS[i]), {
    listen: [{ kind: 'tls', host: '127.0.0.1', port: 0 }],
    topologyParams: { successors: 1, predecessors: 1, fingers: 1, updateIntervalMs: 1000 },
    ...(i === 0 ? { firstNode: true } : { bootstrap: [nodes[0]!.addresses[0]!.address] }),
    ...(PREFIXES[i] === 0x20 ? { diagnostics: { access: RESTRICTED } } : {}),
  });
  node.router.tap = (direction, _link, head, tail) => {
    if (direction !== 'out') return;
    const bytes = tail ? joinPieces(head, tail) : head;
    if (capturing) sent.push(bytes);
    for (const l of outListeners) l(node, bytes);
  };
  await node.start();
  nodes.push(node);
}
const byId = (id: Uint8Array): ReloadNode => nodes.find((n) => bytesEqual(n.nodeId, id))!;
const [p00, p10, p20, p30, p40] = nodes as [ReloadNode, ReloadNode, ReloadNode, ReloadNode, ReloadNode];

const ringView = (): string =>
  nodes
    .map((n) => {
      const s = n.topology.snapshot();
      const short = (xs: Uint8Array[]): string => xs.map((x) => toHex(x).slice(0, 2)).join(',');
      return `${toHex(n.nodeId).slice(0, 2)}: succ ${short(s.successors)} pred ${short(s.predecessors)} links ${short(n.router.table.nodeIds())}`;
    })
    .join('; ');
await until(
  'a correct ring',
  () =>
    nodes.every((n, i) => {
      const s = n.topology.snapshot();
      return s.successors[0] !== undefined && bytesEqual(s.successors[0], IDS[(i + 1) % 5]!) && s.predecessors[0] !== undefined && bytesEqual(s.predecessors[0], IDS[(i + 4) % 5]!);
    }),
  120_000,
  ringView,
);
// Some stored data, so DATASIZE_STORED and INSTANCES_STORED have something to count.
for (const n of nodes) {
  const user = n.signer.credentials.certificate.userName!;
  await n.storeValues(user, KIND_SINGLE_USER, [{ model: 'single', value: utf8(`hello from ${user}`) }]);
}
// Let replication finish: the counts must hold still while the tests compare them.
const heldValues = (): number => nodes.reduce((sum, n) => sum + n.storage.statsByKind().reduce((s, k) => s + k.values, 0), 0);
let last = -1;
let stableSince = Date.now();
await until('stored data to settle', () => {
  const now = heldValues();
  if (now !== last) {
    last = now;
    stableSince = Date.now();
  }
  return now >= nodes.length * 2 && Date.now() - stableSince > 1500;
});
capturing = true;

/** What a peer's router does with a message for `dest`: a direct link wins, else the topology. */
function expectedNextHop(n: ReloadNode, dest: Destination): Uint8Array {
  if (dest.type === 'node' && bytesEqual(dest.id, n.nodeId)) return n.nodeId;
  if (dest.type === 'node' && n.router.table.byNode(dest.id)) return dest.id;
  if (n.topology.isResponsible(dest.id as Uint8Array)) return n.nodeId;
  return n.topology.nextHop(dest.id as Uint8Array)!;
}

t.test('PathTrack across 5 peers: hop by hop to the responsible peer', async (t) => {
  t.ok(p40.topology.isResponsible(RESOURCE.id as Uint8Array), 'the resource is 0x40..01\'s');
  const hops = await p00.diagnostics.pathTrackAll(RESOURCE);
  t.same(hops.map((h) => hex(h.nodeId)), [p10, p20, p30, p40].map((n) => hex(n.nodeId)), 'the path 0x10 -> 0x20 -> 0x30 -> 0x40');
  t.equal(hex(hops[0]!.nodeId), hex(p00.topology.nextHop(RESOURCE.id as Uint8Array)!), 'first hop: the initiator\'s own next hop');
  const now = BigInt(Date.now());
  for (const h of hops) {
    const n = byId(h.nodeId);
    t.equal(hex(h.nextHop), hex(expectedNextHop(n, RESOURCE)), `hop ${h.hop}: next_hop is that peer's topology next hop`);
    t.equal(h.responsible, h.hop === 4, `hop ${h.hop}: responsible only at the end`);
    t.equal(h.hops, h.hop, `hop ${h.hop}: the request crossed ${h.hop} link(s)`);
    t.equal(h.response.hopCounter, p00.params.initialTtl - (h.hop - 1), `hop ${h.hop}: hop_counter is the TTL it received`);
    t.ok(h.response.timestampReceived >= h.response.timestampInitiated && h.response.expiration > now, `hop ${h.hop}: timestamps`);
    t.ok(h.rttMs > 0, `hop ${h.hop}: RTT measured`);
    const info = Object.fromEntries(h.response.info.map((i) => [i.type, i]));
    if (n === p20) {
      t.same(Object.keys(info), ['routing_table_size', 'app_uptime'], '0x20 answers only the Kinds its policy allows');
      continue;
    }
    t.same(
      Object.keys(info),
      ['status_info', 'routing_table_size', 'software_version', 'machine_uptime', 'app_uptime', 'memory_footprint', 'datasize_stored', 'instances_stored', 'messages_sent_rcvd', 'ewma_bytes_sent', 'ewma_bytes_rcvd'],
      `hop ${h.hop}: every Kind this node provides, in Kind order`,
    );
    const get = <T extends string>(type: T) => info[type] as Extract<(typeof h.response.info)[number], { type: T }>;
    t.equal(get('routing_table_size').peers, n.diagnostics.routingTableSize(), 'ROUTING_TABLE_SIZE');
    t.ok(get('routing_table_size').peers >= 2, 'successor and predecessor at least');
    t.match(get('software_version').version, /^reload-node\/0\.1\.0 \(Node\.js v\d+/, 'SOFTWARE_VERSION');
    t.ok(Number(get('app_uptime').seconds) <= n.uptimeSeconds() && get('machine_uptime').seconds >= get('app_uptime').seconds, 'uptimes');
    t.ok(get('memory_footprint').kib > 1000n, 'MEMORY_FOOTPRINT in KiB');
    t.equal(get('datasize_stored').bytes, BigInt(n.storage.storedBytes()), 'DATASIZE_STORED');
    t.same(get('instances_stored').instances, n.storage.statsByKind().map((k) => ({ kind: k.kind, instances: BigInt(k.values) })), 'INSTANCES_STORED');
    const pt = get('messages_sent_rcvd').messages.find((m) => m.code === MessageCode.pathTrackReq);
    t.ok(pt && pt.received >= 1n, 'MESSAGES_SENT_RCVD counts the PathTrack received');
  }
  const stored = hops.some((h) => h.response.info.some((i) => i.type === 'datasize_stored' && i.bytes > 0n));
  t.ok(stored, 'some peer on the path holds data');
});

t.test('PathTrack to a Node-ID ends at that node; dMFlags select the Kinds', async (t) => {
  const dest: Destination = { type: 'node', id: p40.nodeId };
  const hops = await p10.diagnostics.pathTrackAll(dest, { dmFlags: dmFlag(DiagnosticKind.routingTableSize) });
  t.ok(hops.length >= 2, `${hops.length} hops from 0x10 to 0x40`);
  t.equal(hex(hops.at(-1)!.nodeId), hex(p40.nodeId), 'ends at the destination node');
  t.ok(hops.at(-1)!.responsible);
  for (const h of hops) {
    t.equal(hex(h.nextHop), hex(expectedNextHop(byId(h.nodeId), dest)), `hop ${h.hop}: next hop as its router would route`);
    t.same(h.response.info.map((i) => i.type), ['routing_table_size'], `hop ${h.hop}: only ROUTING_TABLE_SIZE`);
  }
  const liveness = await p00.diagnostics.pathTrackAll(RESOURCE, { dmFlags: 0n });
  t.same(liveness.map((h) => h.response.info.length), [0, 0, 0, 0], 'dMFlags 0: a RouteQuery-like liveness walk');
  // A peer responsible itself answers its own PathTrack.
  const self = await p40.diagnostics.pathTrackAll(RESOURCE);
  t.same(self.map((h) => [hex(h.nodeId), h.responsible, h.hops]), [[hex(p40.nodeId), true, 0]], 'the responsible initiator: one local hop');
  t.equal(await codeOf(p00.diagnostics.pathTrackAll(RESOURCE, { maxHops: 2 })), ErrorCode.ttlHopsExceeded, 'a walk longer than maxHops');
  t.equal(await codeOf(p00.diagnostics.pathTrackAll({ type: 'node', id: new Uint8Array(16).fill(0xff) })), ErrorCode.invalidMessage, 'never the wildcard');
});

t.test('Ping with the Diagnostic_Ping extension', async (t) => {
  const r = await p00.diagnostics.ping({ type: 'node', id: p40.nodeId }, { dmFlags: dmFlagsOf([DiagnosticKind.routingTableSize, DiagnosticKind.datasizeStored]) });
  t.equal(hex(r.from), hex(p40.nodeId));
  t.ok(r.response, 'diagnostics came back');
  t.equal(r.response!.hopCounter, p00.params.initialTtl - (r.hops - 1), 'hop_counter matches the links crossed');
  t.same(r.response!.info, [
    { type: 'routing_table_size', peers: p40.diagnostics.routingTableSize() },
    { type: 'datasize_stored', bytes: BigInt(p40.storage.storedBytes()) },
  ]);
  const viaResource = await p10.diagnostics.ping(RESOURCE);
  t.equal(hex(viaResource.from), hex(p40.nodeId), 'to a Resource-ID: the responsible peer answers');
  t.ok(viaResource.response!.info.length >= 10);
  const restricted = await p00.diagnostics.ping({ type: 'node', id: p20.nodeId });
  t.same(restricted.response!.info.map((i) => i.type), ['routing_table_size', 'app_uptime'], 'the access policy of 0x20');
  t.equal(await codeOf(p00.diagnostics.ping({ type: 'node', id: new Uint8Array(16).fill(0xff) })), ErrorCode.invalidMessage, 'never to the wildcard');
  const plain = await p00.ping({ type: 'node', id: p30.nodeId });
  t.equal(hex(plain.from), hex(p30.nodeId), 'a plain Ping is answered as before');
});

t.test('expired diagnostic requests: Error_Message_Expired at the responder and in transit', async (t) => {
  const past = BigInt(Date.now() - 5_000);
  const body = (expiration: bigint) =>
    encodeBody(MessageCode.pathTrackReq, { destination: RESOURCE, request: { expiration, timestampInitiated: past, dmFlags: 2n, extensions: [] } }, p00.kinds);
  const atResponder = await remoteError(p00.request([{ type: 'node', id: p10.nodeId }], MessageCode.pathTrackReq, body(past)));
  t.equal(atResponder.errorCode, ErrorCode.messageExpired);
  t.equal(hex(atResponder.from!), hex(p10.nodeId), 'answered by the node asked');
  const inTransit = await remoteError(p00.request([{ type: 'node', id: p10.nodeId }, { type: 'node', id: p20.nodeId }], MessageCode.pathTrackReq, body(past), { acceptPathErrors: true }));
  t.equal(inTransit.errorCode, ErrorCode.messageExpired);
  t.equal(hex(inTransit.from!), hex(p10.nodeId), 'stopped by the intermediate peer');
  t.match(inTransit.message, /expired in transit/);
  const tooFar = await remoteError(p00.request([{ type: 'node', id: p10.nodeId }], MessageCode.pathTrackReq, body(BigInt(Date.now() + 700_000))));
  t.equal(tooFar.errorCode, ErrorCode.invalidMessage, 'an expiration more than 600 s ahead');
  const ext = { type: MessageExtensionType.diagnosticPing, critical: false, contents: encode(diagnosticsRequest, { expiration: past, timestampInitiated: past, dmFlags: 2n, extensions: [] }) };
  const ping = await remoteError(
    p00.request([{ type: 'node', id: p30.nodeId }], MessageCode.pingReq, encodeBody(MessageCode.pingReq, { padding: new Uint8Array(0) }, p00.kinds), { extensions: [ext] }),
  );
  t.equal(ping.errorCode, ErrorCode.messageExpired, 'an expired Diagnostic_Ping too');
  const critical = await p00.request([{ type: 'node', id: p30.nodeId }], MessageCode.pingReq, encodeBody(MessageCode.pingReq, { padding: new Uint8Array(0) }, p00.kinds), {
    extensions: [{ ...ext, critical: true, contents: encode(diagnosticsRequest, { expiration: BigInt(Date.now() + 10_000), timestampInitiated: past, dmFlags: 4n, extensions: [] }) }],
  });
  t.equal(critical.extensions?.length, 1, 'Diagnostic_Ping marked critical is understood, not Error_Unknown_Extension');
});

/**
 * Sends `a` → `b` a signed request with a hand-made forwarding header (TTL, Via List) and
 * returns the ErrorResponse `b` sends back on that link.
 */
async function injected(a: ReloadNode, b: ReloadNode, code: number, body: Uint8Array, header: Partial<ForwardingHeader>): Promise<{ errorCode: number; text: string }> {
  const txid = 0x5eed0000n + BigInt(Math.floor(Math.random() * 0xffff));
  const h: ForwardingHeader = {
    overlay: overlayHashOf(a.params),
    configurationSequence: a.params.configurationSequence,
    version: RELOAD_VERSION,
    ttl: 100,
    fragment: FRAGMENT_UNFRAGMENTED,
    length: 0,
    transactionId: txid,
    maxResponseLength: 0,
    viaList: [],
    destinationList: [],
    options: [],
    ...header,
  };
  const contents = encode(messageContents, { code, body, extensions: [] });
  const bytes = assembleMessage(h, contents, encode(securityBlock, a.signer.signMessage(h.overlay, txid, contents)));
  const answer = new Promise<{ errorCode: number; text: string }>((resolve) => {
    const l = (from: ReloadNode, out: Uint8Array): void => {
      if (from !== b) return;
      const m = decodeMessage(out);
      if (m.header.transactionId !== txid) return;
      outListeners.splice(outListeners.indexOf(l), 1);
      const e = decode(errorResponse, m.contents.body);
      resolve({ errorCode: m.contents.code === MessageCode.error ? e.errorCode : -1, text: Buffer.from(e.errorInfo).toString() });
    };
    outListeners.push(l);
  });
  await a.router.table.byNode(b.nodeId)!.connection.send(bytes);
  return answer;
}

t.test('intermediate peers: Error_TTL_Hops_Exceeded and Error_Loop_Detected', async (t) => {
  const pt = encodeBody(
    MessageCode.pathTrackReq,
    { destination: RESOURCE, request: { expiration: BigInt(Date.now() + 30_000), timestampInitiated: BigInt(Date.now()), dmFlags: 2n, extensions: [] } },
    p00.kinds,
  );
  const ping = encodeBody(MessageCode.pingReq, { padding: new Uint8Array(0) }, p00.kinds);
  const onward = [{ type: 'node' as const, id: p20.nodeId }];
  // 0x10 must forward to 0x20 a request that arrived with TTL 0.
  const ttl = await injected(p00, p10, MessageCode.pathTrackReq, pt, { ttl: 0, destinationList: onward });
  t.equal(ttl.errorCode, ErrorCode.ttlHopsExceeded, 'PathTrack: Error_TTL_Hops_Exceeded (0x1a)');
  const ttlPing = await injected(p00, p10, MessageCode.pingReq, ping, { ttl: 0, destinationList: onward });
  t.equal(ttlPing.errorCode, ErrorCode.ttlExceeded, 'other methods keep RFC 6940 Error_TTL_Exceeded');
  // 0x10 finds itself in the Via List of a request it is to forward.
  const loop = await injected(p00, p10, MessageCode.pathTrackReq, pt, { viaList: [{ type: 'node', id: p10.nodeId }], destinationList: onward });
  t.equal(loop.errorCode, ErrorCode.loopDetected, 'Error_Loop_Detected (0x19)');
  t.match(loop.text, /Via List/);
});

t.test('reload-node diag as a client process', async (t) => {
  const boot = p00.addresses[0]!.address;
  // One identity (Node-ID) per concurrent client: two clients with one Node-ID would collide.
  const client = async (n: string) => ['--identity', await ov.identity(n), '--bootstrap-node', `${boot.host}:${boot.port}`];
  const common = await client('cli');
  const [common2, common3] = [await client('cli2'), await client('cli3')];
  const name = 'diag-cli-resource';
  const rid = resourceIdOf(name);
  const responsible = nodes.find((n) => n.topology.isResponsible(rid))!;
  // The five client processes are independent: run them side by side (the file stays fast).
  const fails = (e: { code: number; stderr: string }) => e;
  const [pt, text, ping, bad, wild] = await Promise.all([
    run(process.execPath, [cliPath(), 'diag', 'path-track', ...common, '--to', `resource:${name}`, '--json'], { timeout: 60_000 }),
    run(process.execPath, [cliPath(), 'diag', 'path-track', ...common2, '--to', hex(p30.nodeId), '--kinds', 'routing_table_size,app_uptime'], { timeout: 60_000 }),
    run(process.execPath, [cliPath(), 'diag', 'ping', ...common3, '--to', `node:${hex(p40.nodeId)}`, '--count', '2'], { timeout: 60_000 }),
    run(process.execPath, [cliPath(), 'diag', 'trace', ...common, '--to', 'x']).catch(fails),
    run(process.execPath, [cliPath(), 'diag', 'ping', ...common, '--to', 'wildcard']).catch(fails),
  ]);
  const lines = pt.stdout.trim().split('\n').map((l) => JSON.parse(l) as Record<string, any>); // eslint-disable-line @typescript-eslint/no-explicit-any
  t.equal(lines[0]!.nodeId, hex(p00.nodeId), 'a client\'s first hop is its bootstrap peer');
  t.equal(lines.at(-1)!.nodeId, hex(responsible.nodeId), 'ends at the responsible peer');
  t.equal(lines.at(-1)!.responsible, true);
  lines.forEach((l, i) => {
    t.equal(l.hop, i + 1);
    t.equal(l.hopCounter, p00.params.initialTtl - i, `hop ${i + 1}: hop counter`);
    if (i + 1 < lines.length) t.equal(l.nextHop, lines[i + 1]!.nodeId, `hop ${i + 1} names the next one`);
  });
  t.type(lines.at(-1)!.diagnostics.routing_table_size, 'number');
  t.match(text.stdout, new RegExp(`^path-track to node ${hex(p30.nodeId)}\\nhop 1  ${hex(p00.nodeId)}  `), 'text output');
  t.match(text.stdout, /routing_table_size=\d+ app_uptime_s=\d+/);
  t.match(text.stdout, new RegExp(`hop \\d+  ${hex(p30.nodeId)} .*responsible\\n`));
  t.equal(ping.stdout.match(new RegExp(`pong from ${hex(p40.nodeId)}: [\\d.]+ ms, \\d link\\(s\\), ttl \\d+`, 'g'))?.length, 2, 'two diagnostic pongs');
  t.match(ping.stdout, /software_version="reload-node\/0\.1\.0/);
  t.equal((bad as { code: number }).code, 2, 'unknown mode: usage error');
  t.match((bad as { stderr: string }).stderr, /diag ping or diag path-track/);
  t.equal((wild as { code: number }).code, 2, 'the wildcard is refused');
});

t.test("Wireshark's dissector over the diagnostic traffic", async (t) => {
  capturing = false;
  const frames = sent.map((m, i) => encodeFrame({ type: 'data', sequence: i + 1, message: m }));
  const file = join(dir, 'diag.pcap');
  writeFileSync(file, udpPcap(frames));
  const packets = tsharkJson(file, ['udp.port==6084,reload-framing']);
  const verdicts = reloadVerdicts(packets);
  const codes = new Set(verdicts.flatMap((v) => v.codes));
  for (const c of [MessageCode.pathTrackReq, MessageCode.pathTrackAns, MessageCode.pingReq, MessageCode.pingAns, MessageCode.error]) {
    t.ok(codes.has(c), `captured message code 0x${c.toString(16)}`);
  }
  t.same(verdicts.filter((v) => !v.reload || v.malformed).map((v) => v.frame), [], `all ${verdicts.length} frames decode as RELOAD, none malformed`);
  t.same(verdicts.filter((v) => v.problems.length > 0).map((v) => `${v.frame}: ${v.problems.join('; ')}`), [], 'no expert warning or error');
  // Wireshark knows PathTrack under the draft codes 101/102: 0x27/0x28 are an unknown
  // method to it, shown as an opaque body; and it reads extension type 2 as self-tuning
  // data (draft numbering), so the Diagnostic_Ping extension is shown under that name.
  const pathTrack = packets.find((p) => collect(p, 'reload.message.code').map(Number).includes(MessageCode.pathTrackReq))!;
  t.equal(collect(pathTrack, 'reload.pathtrackreq').length, 0, 'no PathTrackReq dissection for 0x27');
  const diagPing = packets.find((p) => {
    const codes = collect(p, 'reload.message.code').map(Number);
    return codes.includes(MessageCode.pingReq) && collect(p, 'reload.message_extension.type').map(Number).includes(MessageExtensionType.diagnosticPing);
  });
  t.ok(diagPing, 'a Ping with extension type 2 was captured');
  t.comment(`frames: ${verdicts.length}; codes: ${[...codes].map((c) => `0x${c.toString(16)}`).join(' ')}`);
});
