/**
 * The SIP usage's overlay messages, captured with Router.tap on every peer while phones
 * register, call and un-register through front ends (and a forwarding entry is stored),
 * decode cleanly in Wireshark's RELOAD dissector (tshark), which knows Kind 1
 * (SIP-REGISTRATION): Store/Fetch of SIP-REGISTRATION with their SipRegistration values
 * (type, destination list, URI) and AppAttach with application 5060 read the same in
 * tshark as in our decoder, with no malformed packet and no expert warning.
 */
import t from 'tap';
import { joinPieces } from '../../../src/routing/message-bytes.js';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { decodeBody } from '../../../src/wire/body.js';
import { toHex } from '../../../src/wire/codec.js';
import { resourceIdOf } from '../../../src/wire/ids.js';
import { MessageCode } from '../../../src/wire/constants.js';
import { encodeFrame } from '../../../src/wire/framing.js';
import { decodeMessage } from '../../../src/wire/message.js';
import type { FetchAns, StoreReq } from '../../../src/wire/storage.js';
import type { AppAttachReqAns } from '../../../src/wire/attach.js';
import { SIP_REGISTRATION_KIND, type SipRegistration, decodeSipRegistration } from '../../../usages/sip/index.js';
import { udpPcap } from '../../helpers/pcap.js';
import { type Tree, collect, tsharkVersion } from '../../helpers/tshark.js';
import { type SipPeer, TestUa, sipOverlay, startSipPeers } from './helpers.js';

t.comment(`using ${tsharkVersion()}`);
const SIP_CODES = new Set<number>([MessageCode.storeReq, MessageCode.storeAns, MessageCode.fetchReq, MessageCode.fetchAns, MessageCode.appAttachReq, MessageCode.appAttachAns]);

t.test('Store/Fetch of SIP-REGISTRATION and AppAttach 5060 decode cleanly in tshark', async (t) => {
  const ov = await sipOverlay();
  const domain = ov.overlay.configuration.instanceName;
  let peers: SipPeer[] = [];
  const uas: TestUa[] = [];
  t.teardown(async () => {
    for (const u of uas) await u.stop();
    for (const p of peers) await p.node.stop();
  });
  peers = await startSipPeers(ov, [
    { name: 'p1', frontEnd: { users: ['alice'] } },
    { name: 'p2', frontEnd: {} },
    { name: 'p3', frontEnd: false },
  ]);
  const [p1, p2] = peers as [SipPeer, SipPeer];
  const captured: Uint8Array[] = [];
  for (const p of peers) {
    p.node.router.tap = (direction, _link, bytes, tail) => {
      if (direction === 'out') captured.push(joinPieces(bytes, tail ?? new Uint8Array(0)).slice());
    };
  }
  const alice = await TestUa.start(`alice@${domain}`, p1.sip.frontEnd!.uaAddress);
  const bob = await TestUa.start(`bob@${domain}`, p2.sip.frontEnd!.uaAddress);
  uas.push(alice, bob);
  t.equal((await alice.register(300)).status, 200, 'alice registered at p1');
  const call = await bob.invite(`sip:alice@${domain}`);
  t.equal(call.response.status, 200, 'bob’s call through p2 answered');
  await bob.inDialog(call.dialog!, 'ACK');
  t.equal((await bob.inDialog(call.dialog!, 'BYE'))!.status, 200);
  // Resolutions from peers that do not hold alice's resource put Fetches on the wire.
  for (const p of peers) {
    if (!p.node.topology.isResponsible(resourceIdOf(`alice@${domain}`))) t.equal((await p.sip.resolve(`sip:alice@${domain}`)).targets.length, 1);
  }
  await p2.sip.forward(`sip:alice@${domain}`, { lifetimeS: 60 }); // a sip_registration_uri entry
  t.equal((await bob.invite(`sip:p2@${domain}`)).response.status, 200, 'a call through the forwarding entry');
  t.equal((await alice.unregisterAll()).status, 200, 'alice un-registered');
  await new Promise((r) => setTimeout(r, 300));
  for (const p of peers) p.node.router.tap = undefined;

  const messages = captured.filter((m) => SIP_CODES.has(decodeMessage(m).contents.code));
  const codes = messages.map((m) => decodeMessage(m).contents.code);
  for (const c of SIP_CODES) t.ok(codes.includes(c), `message code ${c} captured`);

  // What our own decoder finds: every SipRegistration in StoreReqs and FetchAnss, and every AppAttach application.
  const kinds = peers[0]!.node.kinds;
  const ours: SipRegistration[] = [];
  const applications: number[] = [];
  for (const m of messages) {
    const d = decodeMessage(m);
    const code = d.contents.code;
    const kindData =
      code === MessageCode.storeReq
        ? (decodeBody(code, d.contents.body, kinds) as StoreReq).kindData.map((k) => ({ kind: k.kind, values: k.values }))
        : code === MessageCode.fetchAns
          ? (decodeBody(code, d.contents.body, kinds) as FetchAns).kindResponses.map((k) => ({ kind: k.kind, values: k.values }))
          : [];
    for (const k of kindData) {
      if (k.kind !== SIP_REGISTRATION_KIND) continue;
      for (const v of k.values) {
        const dv = v.value as { model: string; value?: { exists: boolean; value: Uint8Array } };
        if (dv.model === 'dictionary' && dv.value?.exists) ours.push(decodeSipRegistration(dv.value.value));
      }
    }
    if (code === MessageCode.appAttachReq || code === MessageCode.appAttachAns) {
      applications.push((decodeBody(code, d.contents.body, kinds) as AppAttachReqAns).application);
    }
  }
  t.ok(ours.some((r) => r.type === 'route') && ours.some((r) => r.type === 'uri'), `${ours.length} SipRegistration values on the wire, of both types`);
  t.ok(applications.length >= 2 && applications.every((a) => a === 5060), `${applications.length} AppAttach messages, all for application 5060`);

  const dir = mkdtempSync(join(tmpdir(), 'sip-tshark-'));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  const pcap = join(dir, 'sip-usage.pcap');
  writeFileSync(pcap, udpPcap(messages.map((message, sequence) => encodeFrame({ type: 'data', sequence, message }))));
  const json = execFileSync('tshark', ['-r', pcap, '-d', 'udp.port==6084,reload-framing', '-T', 'json', '--no-duplicate-keys'], {
    encoding: 'utf8',
    maxBuffer: 256 * 1024 * 1024,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const packets = (JSON.parse(json) as { _source: { layers: Tree } }[]).map((p) => p._source.layers);
  t.equal(packets.length, messages.length, `one packet per message (${messages.length})`);
  t.same(packets.map((p) => Number(collect(p.reload, 'reload.message.code')[0])), codes, 'tshark reads the message code we sent, frame by frame');
  t.same(packets.map((p, i) => (p['_ws.malformed'] ? i + 1 : 0)).filter(Boolean), [], 'no malformed packet');
  const serious = packets.flatMap((p, i) => collect(p, '_ws.expert').filter((e) => Number((e as Tree)['_ws.expert.severity']) >= 0x00600000).map((e) => `${i + 1}: ${String((e as Tree)['_ws.expert.message'])}`));
  t.same(serious, [], 'no expert warning or error');

  // The dissector decodes the SipRegistration values: type, destination list, URI.
  const types = packets.flatMap((p) => collect(p.reload, 'reload.sipregistration.type').map(Number));
  t.same(types, ours.map((r) => (r.type === 'route' ? 2 : r.type === 'uri' ? 1 : -1)), 'tshark decodes the same SipRegistration types, in order');
  const lists = packets.flatMap((p) => collect(p.reload, 'reload.sipregistration.data.destination_list'));
  const routes = ours.filter((r): r is Extract<SipRegistration, { type: 'route' }> => r.type === 'route');
  t.equal(lists.length, routes.length, 'one destination list per route registration');
  const listNodes = lists.map((l) => collect(l, 'reload.destination.data.nodeid').map((v) => String(v).replace(/:/g, '')));
  t.same(listNodes, routes.map((r) => r.destinations.map((d) => (d.type === 'node' ? toHex(d.id) : '?'))), 'the destination lists name the same Node-IDs (p1)');
  t.ok(listNodes.every((l) => l.length === 1 && l[0] === toHex(p1.node.nodeId)), 'every route registration points at p1');
  const uris = packets.flatMap((p) => collect(p.reload, 'reload.sipregistration.data.uri')).map((u) => String((u as Tree)['reload.opaque.string']));
  t.same(uris, ours.filter((r) => r.type === 'uri').map((r) => (r as { uri: string }).uri), 'the URI registrations read the same');
  t.ok(uris.length >= 1 && uris.every((u) => u === `sip:alice@${domain}`), `${uris.length} URI registration(s), naming alice’s AOR`);
  const apps = packets.flatMap((p) => collect(p.reload, 'reload.application').map(Number));
  t.same(apps, applications, 'tshark reads application 5060 in every AppAttach');
  const kindIds = new Set(packets.flatMap((p) => [...collect(p.reload, 'reload.kinddata.kind'), ...collect(p.reload, 'reload.kindid')].map(Number)));
  t.ok(kindIds.has(SIP_REGISTRATION_KIND), 'Kind 1 appears in the decoded bodies');
});
