/**
 * NodeDiagnostics (src/node/diagnostics.ts) on the deterministic memory testnet: the
 * PathTrack walk on virtual time, the EWMA formula of RFC 7851 §6.13 period by period,
 * access policies, which Kinds are answered, option checks, bad destinations, a malformed
 * Diagnostic_Ping extension, and the JSON form of the information.
 */
import t from 'tap';
import { ReloadErrorResponse } from '../../src/common/errors.js';
import { EWMA_ALPHA, EWMA_INTERVAL_MS, NodeDiagnostics, PROVIDED_DIAGNOSTIC_KINDS, diagnosticsToJson } from '../../src/node/diagnostics.js';
import type { SignerInfo } from '../../src/security/verifier.js';
import { encodeBody } from '../../src/wire/body.js';
import { bytesEqual, toHex } from '../../src/wire/codec.js';
import { ErrorCode, MessageCode, MessageExtensionType } from '../../src/wire/constants.js';
import { DM_FLAGS_ALL, DiagnosticKind, dmFlag } from '../../src/wire/diagnostics.js';
import { Testnet } from '../../src/node/testnet.js';
import { TEST_OVERLAY, nodeIdWithPrefix, testCA, testCredentials } from '../helpers/identities.js';

const net = new Testnet({ overlay: TEST_OVERLAY, rootCertificate: testCA().certificate, seed: 5, chord: { successors: 1, predecessors: 1, fingers: 1 } });
const PREFIXES = [0x00, 0x10, 0x20, 0x30, 0x40];
for (const p of PREFIXES) await net.add(testCredentials(`m${p.toString(16)}`, nodeIdWithPrefix(p, 1)));
await net.settle(30_000);
const [n00, n10, , , n40] = net.nodes;
const RESOURCE = { type: 'resource' as const, id: nodeIdWithPrefix(0x35) };
const requester: SignerInfo = { nodeId: n10!.nodeId, certificate: n10!.signer.credentials.certificate };

t.test('PathTrack on virtual time follows the ring', async (t) => {
  const hops = await net.run(n00!.diagnostics.pathTrackAll(RESOURCE, { dmFlags: dmFlag(DiagnosticKind.routingTableSize) }));
  t.same(hops.map((h) => toHex(h.nodeId).slice(0, 2)), ['10', '20', '30', '40']);
  t.same(hops.map((h) => h.responsible), [false, false, false, true]);
  for (const h of hops) {
    const n = net.nodes.find((x) => bytesEqual(x.nodeId, h.nodeId))!;
    const expected = n.topology.isResponsible(RESOURCE.id) ? n.nodeId : n.topology.nextHop(RESOURCE.id)!;
    t.equal(toHex(h.nextHop), toHex(expected), `hop ${h.hop}: its topology's next hop`);
    t.same(h.response.info, [{ type: 'routing_table_size', peers: n.diagnostics.routingTableSize() }]);
  }
  const seen: number[] = [];
  await net.run(
    (async () => {
      for await (const h of n00!.diagnostics.pathTrack(RESOURCE, { dmFlags: 0n })) {
        seen.push(h.hop);
        if (h.hop === 2) break; // a caller may stop the walk early
      }
    })(),
  );
  t.same(seen, [1, 2]);
});

t.test('EWMA_BYTES_SENT / _RCVD: α·present + (1−α)·last per period, lazily', async (t) => {
  const node = net.nodes[2]!;
  const d = new NodeDiagnostics(node);
  const stats = node.router.stats;
  t.same(d.rates(), { ewmaBytesSent: 0, ewmaBytesRcvd: 0, congestion: 0 }, 'no full period yet');
  const b0 = { out: stats.bytesOut, in: stats.bytesIn, at: net.clock.monotonic() };
  await net.settle(EWMA_INTERVAL_MS);
  // Some traffic (the periodic Updates are rare at the default interval).
  await net.run(n00!.ping({ type: 'node', id: node.nodeId }));
  await net.settle(EWMA_INTERVAL_MS - 1);
  const r1 = d.rates();
  const elapsed1 = net.clock.monotonic() - b0.at;
  t.ok(elapsed1 >= 2 * EWMA_INTERVAL_MS - 1 && elapsed1 < 3 * EWMA_INTERVAL_MS, 'one or two whole periods passed');
  const rate1 = ((stats.bytesOut - b0.out) * 1000) / elapsed1;
  t.ok(stats.bytesOut > b0.out, 'there was traffic');
  t.equal(r1.ewmaBytesSent, Math.round(rate1), 'first sample: the rate itself');
  t.equal(r1.ewmaBytesRcvd, Math.round(((stats.bytesIn - b0.in) * 1000) / elapsed1));
  const b1 = { out: stats.bytesOut, at: net.clock.monotonic() };
  await net.settle(EWMA_INTERVAL_MS / 2);
  t.equal(d.rates().ewmaBytesSent, r1.ewmaBytesSent, 'less than a period later: unchanged');
  await net.run(n00!.ping({ type: 'node', id: node.nodeId }));
  await net.settle(3 * EWMA_INTERVAL_MS - EWMA_INTERVAL_MS / 2);
  const elapsed2 = net.clock.monotonic() - b1.at;
  const periods = Math.floor(elapsed2 / EWMA_INTERVAL_MS);
  t.equal(periods, 3, 'three whole periods');
  const rate2 = ((stats.bytesOut - b1.out) * 1000) / elapsed2;
  const expected = rate2 + (1 - EWMA_ALPHA) ** periods * (rate1 - rate2);
  t.equal(d.rates().ewmaBytesSent, Math.round(expected), 'three periods: r + (1-α)^3 (last - r)');
  t.ok(d.rates().congestion >= 0 && d.rates().congestion <= 15, 'STATUS_INFO congestion in 0..15');
});

t.test('access policies and the Kinds answered', async (t) => {
  const node = net.nodes[3]!;
  const all = new NodeDiagnostics(node).collect({ dmFlags: DM_FLAGS_ALL, extensions: [] }, requester);
  t.same(
    all.map((i) => i.type),
    ['status_info', 'routing_table_size', 'software_version', 'machine_uptime', 'app_uptime', 'memory_footprint', 'datasize_stored', 'instances_stored', 'messages_sent_rcvd', 'ewma_bytes_sent', 'ewma_bytes_rcvd'],
  );
  t.equal(all.length, PROVIDED_DIAGNOSTIC_KINDS.length);
  t.same(new NodeDiagnostics(node, { access: 'none' }).collect({ dmFlags: DM_FLAGS_ALL, extensions: [] }, requester), [], "access 'none'");
  const onlyFrom10 = new NodeDiagnostics(node, { access: (kind, who) => kind === DiagnosticKind.appUptime && bytesEqual(who.nodeId, n10!.nodeId) });
  t.same(onlyFrom10.collect({ dmFlags: DM_FLAGS_ALL, extensions: [] }, requester).map((i) => i.type), ['app_uptime'], 'a function of Kind and requester');
  t.same(onlyFrom10.collect({ dmFlags: DM_FLAGS_ALL, extensions: [] }, { ...requester, nodeId: n40!.nodeId }), [], 'another requester gets nothing');
  const d = new NodeDiagnostics(node, { softwareVersion: 'lab-build/7' });
  t.same(d.collect({ dmFlags: dmFlag(DiagnosticKind.softwareVersion), extensions: [] }, requester), [{ type: 'software_version', version: 'lab-build/7' }]);
  t.same(
    d.collect({ dmFlags: dmFlag(DiagnosticKind.processPower) | dmFlag(DiagnosticKind.batteryStatus) | dmFlag(DiagnosticKind.underlayHop), extensions: [] }, requester),
    [],
    'Kinds this node cannot measure are left out',
  );
  t.same(
    d.collect({ dmFlags: 0n, extensions: [{ kind: DiagnosticKind.appUptime, contents: new Uint8Array(0) }, { kind: 0xf001, contents: new Uint8Array(0) }] }, requester),
    [],
    'base Kinds by extension are ignored (they must come by dMFlags), unknown ones too',
  );
  t.throws(() => new NodeDiagnostics(node, { softwareVersion: 'caf\u00e9' }), RangeError);
  t.throws(() => new NodeDiagnostics(node, { ewmaAlpha: 0 }), RangeError);
  t.throws(() => new NodeDiagnostics(node, { ewmaIntervalMs: 0 }), RangeError);
  t.throws(() => new NodeDiagnostics(node, { access: 'some' as 'all' }), RangeError);
});

t.test('bad destinations and a malformed Diagnostic_Ping', async (t) => {
  const d = n00!.diagnostics;
  const codeOf = (f: () => unknown): number | undefined => {
    try {
      f();
      return undefined;
    } catch (err) {
      return (err as { errorCode?: number }).errorCode;
    }
  };
  t.equal(codeOf(() => d.nextHopToward({ type: 'compressed', id: 0x8001 })), ErrorCode.invalidMessage, 'compressed');
  t.equal(codeOf(() => d.nextHopToward({ type: 'opaque', id: new Uint8Array([1]) })), ErrorCode.invalidMessage, 'opaque');
  t.equal(codeOf(() => d.nextHopToward({ type: 'node', id: new Uint8Array(16).fill(0xff) })), ErrorCode.invalidMessage, 'wildcard');
  t.equal(toHex(d.nextHopToward({ type: 'node', id: n00!.nodeId })), toHex(n00!.nodeId), 'itself');
  let refused: unknown;
  try {
    await net.run(
      n00!.request([{ type: 'node', id: n10!.nodeId }], MessageCode.pingReq, encodeBody(MessageCode.pingReq, { padding: new Uint8Array(0) }, n00!.kinds), {
        extensions: [{ type: MessageExtensionType.diagnosticPing, critical: false, contents: new Uint8Array([0]) }],
      }),
    );
  } catch (err) {
    refused = err;
  }
  t.ok(refused instanceof ReloadErrorResponse && refused.errorCode === ErrorCode.invalidMessage, 'Error_Invalid_Message');
  t.match((refused as Error).message, /Diagnostic_Ping extension: DiagnosticsRequest\.expiration/);
  let pt: unknown;
  try {
    await net.run(n00!.request([{ type: 'node', id: n10!.nodeId }], MessageCode.pathTrackReq, new Uint8Array([0x01, 0x10]), {}));
  } catch (err) {
    pt = err;
  }
  t.ok(pt instanceof ReloadErrorResponse && pt.errorCode === ErrorCode.invalidMessage, 'an undecodable PathTrackReq: Error_Invalid_Message');
});

t.test('the information as JSON', async (t) => {
  t.same(
    diagnosticsToJson([
      { type: 'status_info', status: 3 },
      { type: 'routing_table_size', peers: 4 },
      { type: 'process_power', mips: 2n ** 60n },
      { type: 'upstream_bandwidth', kbps: 100n },
      { type: 'software_version', version: 'x/1' },
      { type: 'app_uptime', seconds: 12n },
      { type: 'memory_footprint', kib: 2048n },
      { type: 'datasize_stored', bytes: 10n },
      { type: 'instances_stored', instances: [{ kind: 0xf0000001, instances: 2n }] },
      { type: 'messages_sent_rcvd', messages: [{ code: 0x17, sent: 1n, received: 2n }] },
      { type: 'ewma_bytes_sent', bytesPerSecond: 5 },
      { type: 'underlay_hop', hops: 2 },
      { type: 'battery_status', status: 128 },
      { type: 'unknown', kind: 0xf00f, contents: new Uint8Array([0xab]) },
    ]),
    {
      status_info: 3,
      routing_table_size: 4,
      process_power_mips: (2n ** 60n).toString(),
      upstream_bandwidth_kbps: 100,
      software_version: 'x/1',
      app_uptime_s: 12,
      memory_footprint_kib: 2048,
      datasize_stored_bytes: 10,
      instances_stored: { '4026531841': 2 },
      messages_sent_rcvd: { '0x0017': [1, 2] },
      ewma_bytes_sent_per_s: 5,
      underlay_hop: 2,
      battery_status: 128,
      unknown_0xf00f: 'ab',
    },
  );
});
