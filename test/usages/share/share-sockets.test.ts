/**
 * ShaRe over real TLS sockets on 127.0.0.1: five peers in one process, built from a signed
 * overlay configuration whose kind-blocks declare ACCESS-CONTROL-LIST and the shared Kinds
 * (with `share:variable-resource-names`), each loading the ShaRe usage through createNode.
 * Every Store / Fetch / Stat message (and error response) of the ShaRe phase is captured
 * with Router.tap, written to a pcap on port 6084, and decoded by tshark: each frame must be
 * RELOAD with the message code we sent, with no malformed packet and no expert warning.
 */
import t from 'tap';
import { joinPieces } from '../../../src/routing/message-bytes.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ReloadError } from '../../../src/common/errors.js';
import type { KindDefinition } from '../../../src/config/types.js';
import { createNodeFromIdentity } from '../../../src/node/create.js';
import type { ReloadNode } from '../../../src/node/node.js';
import { compareIds, resourceIdOf } from '../../../src/wire/ids.js';
import { ErrorCode, MessageCode, decodeMessage, encodeFrame, fromHex, toHex, utf8 } from '../../../src/wire/index.js';
import { decodeBody } from '../../../src/wire/body.js';
import type { FetchReq } from '../../../src/wire/storage.js';
import { ACCESS_CONTROL_LIST_KIND, type ShareUsage, shareUsage } from '../../../usages/share/index.js';
import { makeOverlay } from '../../helpers/overlay-dir.js';
import { udpPcap } from '../../helpers/pcap.js';
import { CONF_PATTERN, KS } from './fixtures.js';

const OVERLAY = 'overlay.test.example';
const names = { enable: true, patterns: [CONF_PATTERN] };
const CONFIG_KINDS: KindDefinition[] = [
  { name: 'ACCESS-CONTROL-LIST', id: ACCESS_CONTROL_LIST_KIND, dataModel: 'ARRAY', accessControl: 'USER-CHAIN-ACL', maxCount: 64, maxSize: 1024, shareVariableResourceNames: names, extensions: [], extensionAttributes: [] },
  { id: KS.dict, dataModel: 'DICTIONARY', accessControl: 'USER-CHAIN-ACL', maxCount: 32, maxSize: 512, extensions: [], extensionAttributes: [] },
  { id: KS.named, dataModel: 'DICTIONARY', accessControl: 'USER-CHAIN-ACL', maxCount: 32, maxSize: 512, shareVariableResourceNames: names, extensions: [], extensionAttributes: [] },
];
const STORAGE_CODES = new Set<number>([
  MessageCode.storeReq,
  MessageCode.storeAns,
  MessageCode.fetchReq,
  MessageCode.fetchAns,
  MessageCode.statReq,
  MessageCode.statAns,
  MessageCode.error,
]);

async function until(what: string, cond: () => boolean, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

function ringCorrect(nodes: ReloadNode[]): boolean {
  const sorted = nodes.map((n) => toHex(n.nodeId)).sort((a, b) => compareIds(fromHex(a), fromHex(b)));
  return nodes.every((n) => {
    const i = sorted.indexOf(toHex(n.nodeId));
    const s = n.topology.snapshot();
    return s.successors[0] !== undefined && toHex(s.successors[0]) === sorted[(i + 1) % sorted.length] && s.predecessors[0] !== undefined && toHex(s.predecessors[0]) === sorted[(i - 1 + sorted.length) % sorted.length];
  });
}

async function codeOf(p: Promise<unknown>): Promise<number | 'ok'> {
  try {
    await p;
    return 'ok';
  } catch (err) {
    if (err instanceof ReloadError) return err.errorCode;
    throw err;
  }
}

function copiesOf(nodes: ReloadNode[], resourceId: Uint8Array): string[] {
  return nodes
    .map((n) => n.storage.exportResource(resourceId))
    .filter((ex) => ex.length > 0)
    .map((ex) => ex.map((k) => `${k.kind}/${k.generationCounter}:${k.values.map((v) => `${v.storageTime}#${toHex(v.signature!.value)}`).join(',')}`).join('|'));
}

type Tree = { [key: string]: unknown };
function collect(node: unknown, key: string, out: unknown[] = []): unknown[] {
  if (Array.isArray(node)) for (const n of node) collect(n, key, out);
  else if (node && typeof node === 'object') {
    for (const [k, v] of Object.entries(node as Tree)) {
      if (k === key) {
        if (Array.isArray(v)) out.push(...v);
        else out.push(v);
      }
      collect(v, key, out);
    }
  }
  return out;
}

t.test('ShaRe between five peers over TLS on loopback, checked by tshark', async (t) => {
  const ov = await makeOverlay(OVERLAY, CONFIG_KINDS);
  const users = ['alice', 'bob', 'carol', 'dave', 'erin'];
  const nodes: ReloadNode[] = [];
  const shares: Record<string, ShareUsage> = {};
  const user = (u: string) => `${u}@${OVERLAY}`;
  t.teardown(async () => {
    for (const n of nodes) await n.stop();
  });
  for (const u of users) {
    const share = shareUsage();
    const { node } = await createNodeFromIdentity(await ov.identity(u), {
      usages: [share],
      listen: [{ kind: 'tls', host: '127.0.0.1', port: 0 }],
      ...(nodes.length === 0 ? { firstNode: true } : { bootstrap: [nodes[0]!.addresses[0]!.address] }),
      topologyParams: { updateIntervalMs: 2000, replicaHoldDownMs: 1000 },
    });
    await node.start();
    nodes.push(node);
    shares[u] = share;
  }
  await until('a correct ring', () => ringCorrect(nodes));
  t.ok(shares.alice!.started, 'createNode started the usage');
  const acl = nodes[0]!.kinds.get(ACCESS_CONTROL_LIST_KIND)!;
  t.same([acl.source, acl.maxCount, acl.maxSize, acl.params?.variableResourceNames], ['config', 64, 1024, names], 'ACCESS-CONTROL-LIST from the signed configuration');

  // Capture every message the peers hand to their links from here on.
  const captured: Uint8Array[] = [];
  for (const n of nodes) {
    n.router.tap = (direction, _link, bytes, tail) => {
      if (direction === 'out') captured.push(joinPieces(bytes, tail ?? new Uint8Array(0)).slice());
    };
  }

  const R = user('alice');
  const RID = resourceIdOf(R);
  await shares.alice!.grant(R, KS.dict, user('bob'), true);
  await shares.bob!.grant(R, KS.dict, user('carol'));
  t.equal(await codeOf(shares.carol!.writeShared(R, KS.dict, utf8('carol'))), 'ok', 'carol (bob ← alice) writes');
  t.equal(await codeOf(shares.dave!.writeShared(R, KS.dict, utf8('dave'))), ErrorCode.forbidden, 'dave is refused with Error_Forbidden');
  const read = await shares.erin!.fetchShared(R, KS.dict);
  t.same(read.values.map((v) => [v.signer.userName, Buffer.from(v.payload).toString()]), [[user('carol'), 'carol']]);

  const CONF = `daily-conf-${user('alice')}`;
  await shares.alice!.grant(CONF, KS.named, user('bob'));
  t.equal(await codeOf(shares.bob!.writeShared(CONF, KS.named, utf8('focus bob'))), 'ok', 'bob writes at the variable name');
  t.equal(await codeOf(shares.carol!.writeShared(CONF, KS.named, utf8('focus carol'))), ErrorCode.forbidden, 'carol is not granted there');
  const conf = await shares.dave!.fetchShared(CONF, KS.named);
  t.same(conf.values.map((v) => Buffer.from(v.resourceName!).toString()), [CONF]);

  const bobIdx = (await shares.carol!.listAcl(R)).find((e) => e.toUser === user('bob'))!.index;
  t.same(await shares.alice!.revoke(R, bobIdx, { subtree: false }), [bobIdx]);
  t.equal(await codeOf(shares.carol!.writeShared(R, KS.dict, utf8('again'))), ErrorCode.forbidden, 'carol refused after bob’s revocation');
  t.equal((await shares.erin!.fetchShared(R, KS.dict)).values.length, 0, 'readers reject carol’s stale entry');

  // The replica set converges on the same copy of each resource.
  for (const rid of [RID, resourceIdOf(CONF)]) {
    await until('three identical copies', () => {
      const c = copiesOf(nodes, rid);
      return c.length === 3 && new Set(c).size === 1;
    });
  }
  t.pass('the responsible peer and its two replicas hold identical copies of both resources');
  for (const n of nodes) n.router.tap = undefined;

  // tshark: every captured storage message decodes as RELOAD with the code we sent.
  const messages = captured.filter((m) => STORAGE_CODES.has(decodeMessage(m).contents.code));
  const codes = messages.map((m) => decodeMessage(m).contents.code);
  t.ok(codes.includes(MessageCode.storeReq) && codes.includes(MessageCode.fetchReq) && codes.includes(MessageCode.statReq) && codes.includes(MessageCode.error), `captured ${messages.length} Store/Fetch/Stat messages and error responses`);
  const dir = mkdtempSync(join(tmpdir(), 'share-tshark-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pcap = join(dir, 'share.pcap');
  writeFileSync(pcap, udpPcap(messages.map((message, sequence) => encodeFrame({ type: 'data', sequence, message }))));
  // Wireshark knows no data model for Kind 4 (its table still has the old diagnostics Kind
  // there) nor for private Kinds: the Kind-ID table preference gives them, as an analyst
  // would for this overlay. The AccessControlListItem value itself is shown as opaque bytes.
  const kindTable = [
    [ACCESS_CONTROL_LIST_KIND, 'ACCESS-CONTROL-LIST', 'ARRAY'],
    [KS.dict, 'SHARED-DICT', 'DICTIONARY'],
    [KS.named, 'SHARED-NAMED', 'DICTIONARY'],
  ].flatMap(([id, name, model]) => ['-o', `uat:reload_kindids:"${id}","${name}","${model}"`]);
  const json = execFileSync('tshark', ['-r', pcap, '-d', 'udp.port==6084,reload-framing', ...kindTable, '-T', 'json', '--no-duplicate-keys'], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const packets = (JSON.parse(json) as { _source: { layers: Tree } }[]).map((p) => p._source.layers);
  t.equal(packets.length, messages.length, 'one packet per message');
  const seen = packets.map((p) => Number(collect(p.reload, 'reload.message.code')[0]));
  t.same(seen, codes, 'tshark reads the message code we sent, frame by frame');
  t.equal(packets.filter((p) => p['_ws.malformed']).length, 0, 'no malformed packet');
  const experts = packets.flatMap((p, i) => collect(p, '_ws.expert').map((e) => ({ frame: i + 1, severity: Number((e as Tree)['_ws.expert.severity']), message: String((e as Tree)['_ws.expert.message']) })));
  // A Wireshark bug, not ours: dissect_storeddataspecifier() in packet-reload.c (4.0) reads
  // every DictionaryKey of a FetchReq/StatReq specifier at the specifier's own offset (it
  // passes `offset`, not the key's), so it takes the Kind-ID's top 16 bits as the key length.
  // For a private Kind (0xF000....) that gives "Computed length > max_field length"; for
  // SIP-REGISTRATION (0x00000001) it silently shows empty keys. Such frames are allowed that
  // one expert, and only when our own decoder finds a dictionary specifier with keys there.
  const keyed = (i: number): boolean => {
    const m = decodeMessage(messages[i]!);
    if (m.contents.code !== MessageCode.fetchReq && m.contents.code !== MessageCode.statReq) return false;
    const body = decodeBody(m.contents.code, m.contents.body, nodes[0]!.kinds) as FetchReq;
    return body.specifiers.some((sp) => sp.model === 'dictionary' && sp.keys.length > 0);
  };
  const unexplained = experts.filter((e) => e.severity >= 0x00600000 && !(e.message === 'Computed length > max_field length' && keyed(e.frame - 1)));
  t.same(unexplained, [], 'no expert warning or error (other than the DictionaryKey bug above)');
  t.comment(`${experts.length} frame(s) with that known DictionaryKey expert, of ${messages.length}`);
  const kinds = new Set(packets.flatMap((p) => [...collect(p.reload, 'reload.kinddata.kind'), ...collect(p.reload, 'reload.kindid')].map(Number)));
  t.ok(kinds.has(ACCESS_CONTROL_LIST_KIND) && kinds.has(KS.dict) && kinds.has(KS.named), 'the ACL Kind and both shared Kinds appear in the decoded bodies');
  const errors = packets.filter((p) => Number(collect(p.reload, 'reload.message.code')[0]) === MessageCode.error);
  // Requests a peer answers itself never reach a link, so count against what was captured.
  t.equal(errors.length, codes.filter((c) => c === MessageCode.error).length);
  t.ok(errors.length >= 1 && errors.every((p) => collect(p.reload, 'reload.error_response.code').map(Number).every((c) => c === ErrorCode.forbidden)), 'the error responses carry Error_Forbidden (2)');
});
