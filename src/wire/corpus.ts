/**
 * A golden corpus of RELOAD messages (STYLE.md practice 12): one complete, signed message
 * for every request and answer of RFC 6940 plus ErrorResponses, each wrapped in a UDP
 * simple-reliability data frame (RFC 6940 §6.6.2) exactly as it would cross a link.
 *
 * Nothing is canned: a fresh overlay CA and two peer identities are made at run time
 * (RSA-2048, certificates with RELOAD Node-ID URIs), every message carries a real
 * SecurityBlock signed over the real signature input (§6.3.4), and every stored value a
 * real stored-data signature (§7.1). Alice's certificate holds one Node-ID (cert_hash
 * identities); Bob's holds two (cert_hash_node_id identities).
 *
 * The scene: alice reaches bob through peers X and Y (alice → X → Y → bob). A request is
 * captured on its last hop (Y → bob: via list [alice, X], TTL 98), an answer on its second
 * hop (Y → X: no via list, destination list [X, alice], TTL 99); messages between
 * neighbours go in one hop with the initial TTL of 100.
 *
 * Used by `reload-node wire-corpus`, the Wireshark (tshark) conformance test and the
 * codec tests. Builds in about a second (three RSA key generations).
 */
import { createHash, sign as cryptoSign } from 'node:crypto';
import { createOverlayCA, generateRsaKey, issueCertificate } from '../../certs/ca.js';
import { type Clock, systemClock } from '../common/clock.js';
import { type Random, SeededRandom } from '../common/random.js';
import { makeCredentials } from '../security/credentials.js';
import { Signer } from '../security/signer.js';
import { aorResourceId, encodeSipRegistration } from '../../usages/sip/registration.js';
import { type IceCandidate, type IpAddressPort, ipAddressPort } from './attach.js';
import { type BodyCode, type BodyTypes, encodeBody } from './body.js';
import { chordCodecs } from './chord.js';
import { Writer, encode, toHex, utf8 } from './codec.js';
import {
  ApplicationId,
  CandType,
  ErrorCode,
  FRAGMENT_UNFRAGMENTED,
  HashAlgorithm,
  KindIds,
  MessageCode,
  OverlayLinkType,
  ProbeInformationType,
  RELOAD_VERSION,
} from './constants.js';
import { type WireContext, wireContext } from './context.js';
import type { Destination } from './destination.js';
import { unknownKinds } from './error.js';
import type { ForwardingHeader, ForwardingOption } from './forwarding-header.js';
import { encodeFrame } from './framing.js';
import { compareIds, overlayHash } from './ids.js';
import { type MessageExtension, assembleMessage, messageContents } from './message.js';
import { securityBlock } from './security-block.js';
import { type StoredData, type StoredDataValue, storageCodecs } from './storage.js';

/** The default overlay of the corpus (the wire digest's test-vector overlay). */
export const CORPUS_OVERLAY = 'overlay.example.org';

export interface CorpusEntry {
  /** 1-based position; the file is `NN-name.bin`. */
  index: number;
  /** e.g. "store_req", "attach_req_no_ice", "error_unknown_kind". */
  name: string;
  fileName: string;
  /** RFC 6940 message code. */
  code: number;
  transactionId: bigint;
  /** The frame's sequence number. */
  sequence: number;
  /** The complete data frame (what the file holds). */
  frame: Uint8Array;
  /** The RELOAD message inside the frame. */
  message: Uint8Array;
  /** Kind-IDs the body names (Store/Fetch/Stat/Find and their answers, Error_Unknown_Kind). */
  kinds: number[];
  /** Node-IDs of the via list's node entries, hex, in order. */
  viaNodeIds: string[];
  /** Node-ID (hex) of the signer, and who signed. */
  signerNodeId: string;
  signer: 'alice' | 'bob';
}

export interface CorpusPeer {
  userName: string;
  nodeIds: Uint8Array[];
  certificate: Uint8Array;
}

export interface Corpus {
  overlay: string;
  overlayHash: number;
  /** Root certificate (DER) the corpus is signed under: the trust anchor to verify with. */
  caCertificate: Uint8Array;
  alice: CorpusPeer;
  bob: CorpusPeer;
  /** The context the corpus decodes with (the IANA Kinds, 16-byte Node-IDs). */
  ctx: WireContext;
  /** Resource-ID of alice's AOR, where the Store/Fetch/Stat/Find messages point. */
  resourceId: Uint8Array;
  entries: CorpusEntry[];
}

export interface CorpusOptions {
  /** Overlay instance name (default overlay.example.org). */
  overlay?: string;
  /** Source of storage_time, Ping time and certificate validity (default: system clock). */
  clock?: Clock;
  /** Seed for the non-cryptographic choices: Node-IDs, transaction ids (default "corpus"). */
  seed?: string | number;
}

/** ICE candidate priority (RFC 8445 §5.1.2.1): 2^24·type pref + 2^8·local pref + (256 − component). */
function icePriority(typePreference: number, localPreference: number): number {
  return (typePreference * 2 ** 24 + localPreference * 2 ** 8 + (256 - 1)) >>> 0;
}

const v4 = (address: string, port: number): IpAddressPort => ({ family: 'ipv4', address, port });
const v6 = (address: string, port: number): IpAddressPort => ({ family: 'ipv6', address, port });
const node = (id: Uint8Array): Destination => ({ type: 'node', id });

/** SHA-256 over DataValue.value with its 4-byte length prefix (RFC 6940 §7.4.3.2 MetaData). */
function metaHash(value: Uint8Array): Uint8Array {
  const len = new Uint8Array(4);
  new DataView(len.buffer).setUint32(0, value.length);
  return new Uint8Array(createHash('sha256').update(len).update(value).digest());
}

/** Builds the corpus. */
export function buildCorpus(opts: CorpusOptions = {}): Corpus {
  const overlay = opts.overlay ?? CORPUS_OVERLAY;
  const clock = opts.clock ?? systemClock;
  const random: Random = new SeededRandom(opts.seed ?? 'corpus');
  const ctx = wireContext();
  const hash = overlayHash(overlay);
  const now = clock.now();
  const nodeId = (): Uint8Array => random.bytes(ctx.nodeIdLength);

  // Identities: an overlay CA, alice (one Node-ID), bob (two Node-IDs).
  const ca = createOverlayCA(overlay, { now });
  const aliceKey = generateRsaKey();
  const bobKey = generateRsaKey();
  const aliceIds = [nodeId()];
  const bobIds = [nodeId(), nodeId()];
  const aliceName = `alice@${overlay}`;
  const bobName = `bob@${overlay}`;
  const validity = { notBefore: now - 5 * 60_000, notAfter: now + 365 * 86_400_000 };
  const aliceCert = issueCertificate(ca, { publicKey: aliceKey.publicKey, userName: aliceName, nodeIds: aliceIds, ...validity });
  const bobCert = issueCertificate(ca, { publicKey: bobKey.publicKey, userName: bobName, nodeIds: bobIds, ...validity });
  const alice = new Signer(makeCredentials(aliceCert, aliceKey.privateKey));
  const bob = new Signer(makeCredentials(bobCert, bobKey.privateKey));
  const A = alice.nodeId;
  const B = bob.nodeId;
  // Transit peers on the path alice → X → Y → bob, and other members of the ring.
  const X = nodeId();
  const Y = nodeId();
  const ring = (n: number): Uint8Array[] => Array.from({ length: n }, nodeId).sort(compareIds);

  const resource = aorResourceId(aliceName, ctx.nodeIdLength);
  const storage = storageCodecs(ctx);
  const entries: CorpusEntry[] = [];

  interface Spec<C extends BodyCode> {
    name: string;
    code: C;
    body: BodyTypes[C];
    signer: Signer;
    transactionId: bigint;
    ttl: number;
    via: Destination[];
    destinations: Destination[];
    options?: ForwardingOption[];
    extensions?: MessageExtension[];
    maxResponseLength?: number;
    /** Certificates carried besides the signer's (e.g. signers of stored data). */
    extraCertificates?: Uint8Array[];
    kinds?: number[];
  }

  const add = <C extends BodyCode>(s: Spec<C>): void => {
    const contents = encode(messageContents, {
      code: s.code,
      body: encodeBody(s.code, s.body, ctx),
      extensions: s.extensions ?? [],
    });
    const security = s.signer.signMessage(hash, s.transactionId, contents, s.extraCertificates ?? []);
    const header: ForwardingHeader = {
      overlay: hash,
      configurationSequence: 4,
      version: RELOAD_VERSION,
      ttl: s.ttl,
      fragment: FRAGMENT_UNFRAGMENTED,
      length: 0,
      transactionId: s.transactionId,
      maxResponseLength: s.maxResponseLength ?? 0,
      viaList: s.via,
      destinationList: s.destinations,
      options: s.options ?? [],
    };
    const message = assembleMessage(header, contents, encode(securityBlock, security));
    const index = entries.length + 1;
    const sequence = index - 1;
    entries.push({
      index,
      name: s.name,
      fileName: `${String(index).padStart(2, '0')}-${s.name}.bin`,
      code: s.code,
      transactionId: s.transactionId,
      sequence,
      frame: encodeFrame({ type: 'data', sequence, message }),
      message,
      kinds: s.kinds ?? [],
      viaNodeIds: s.via.flatMap((d) => (d.type === 'node' ? [toHex(d.id)] : [])),
      signerNodeId: toHex(s.signer.nodeId),
      signer: s.signer === alice ? 'alice' : 'bob',
    });
  };

  // Routing shapes (see the header comment).
  const forwardedRequest = { ttl: 98, via: [node(A), node(X)] };
  // An answer retraces the path by its Destination List and carries no Via List (§6.2.2,
  // behaviour digest §2.2): bob sends [Y, X, alice] to Y, which removes itself.
  const forwardedAnswer = { ttl: 99, via: [] as Destination[], destinations: [node(X), node(A)] };
  const compressedVia = { ttl: 98, via: [node(A), { type: 'compressed', id: 0x8123 } as Destination] };
  const neighbour = { ttl: 100, via: [] as Destination[] };

  // --- Probe (RFC 6940 §6.4.2) -----------------------------------------------------------
  let tx = random.u64();
  add({
    name: 'probe_req',
    code: MessageCode.probeReq,
    body: { requestedInfo: [ProbeInformationType.responsibleSet, ProbeInformationType.numResources, ProbeInformationType.uptime] },
    signer: alice,
    transactionId: tx,
    ...forwardedRequest,
    destinations: [node(B)],
  });
  add({
    name: 'probe_ans',
    code: MessageCode.probeAns,
    body: {
      probeInfo: [
        { type: 'responsible_set', responsiblePpb: 62_500_000 },
        { type: 'num_resources', numResources: 417 },
        { type: 'uptime', uptime: 86_400 },
      ],
    },
    signer: bob,
    transactionId: tx,
    ...forwardedAnswer,
  });

  // --- Attach (§6.5.1): ICE over DTLS-UDP-SR, then the no-ICE TLS/TCP variant -------------
  const iceHostV4: IceCandidate = {
    addrPort: v4('192.168.1.20', 50_000),
    overlayLink: OverlayLinkType.dtlsUdpSr,
    foundation: utf8('1'),
    priority: icePriority(126, 65_535),
    candType: CandType.host,
    extensions: [
      { name: utf8('generation'), value: utf8('0') },
      { name: utf8('network-id'), value: utf8('1') },
    ],
  };
  const iceHostV6: IceCandidate = {
    addrPort: v6('2001:db8::20', 50_002),
    overlayLink: OverlayLinkType.dtlsUdpSr,
    foundation: utf8('2'),
    priority: icePriority(126, 65_534),
    candType: CandType.host,
    extensions: [{ name: utf8('generation'), value: utf8('0') }],
  };
  const iceSrflx: IceCandidate = {
    addrPort: v4('203.0.113.5', 61_000),
    overlayLink: OverlayLinkType.dtlsUdpSr,
    foundation: utf8('3'),
    priority: icePriority(100, 65_535),
    candType: CandType.srflx,
    relAddrPort: v4('192.168.1.20', 50_000),
    extensions: [],
  };
  tx = random.u64();
  add({
    name: 'attach_req',
    code: MessageCode.attachReq,
    body: {
      ufrag: utf8('Xk9d'),
      password: utf8('n7Qq2vRz8wTb5LcYh3PjEs'),
      role: utf8('passive'),
      candidates: [iceHostV4, iceHostV6, iceSrflx],
      sendUpdate: false,
    },
    signer: alice,
    transactionId: tx,
    ...forwardedRequest,
    destinations: [node(B)],
  });
  add({
    name: 'attach_ans',
    code: MessageCode.attachAns,
    body: {
      ufrag: utf8('Pm4s'),
      password: utf8('Zr6Tg1Kx9Wn4Hb7Vq2Lc5D'),
      role: utf8('active'),
      candidates: [
        { ...iceHostV4, addrPort: v4('10.0.0.7', 40_404), extensions: [{ name: utf8('generation'), value: utf8('0') }] },
        { ...iceHostV6, addrPort: v6('2001:db8:0:7::7', 40_406) },
        { ...iceSrflx, addrPort: v4('198.51.100.77', 33_000), relAddrPort: v4('10.0.0.7', 40_404) },
      ],
      sendUpdate: true,
    },
    signer: bob,
    transactionId: tx,
    ...forwardedAnswer,
  });
  const tlsCandidate = (addrPort: IpAddressPort, foundation: string, localPreference: number): IceCandidate => ({
    addrPort,
    overlayLink: OverlayLinkType.tlsTcpFhNoIce,
    foundation: utf8(foundation),
    priority: icePriority(126, localPreference),
    candType: CandType.host,
    // RFC 6940 §6.5.1.3: a TLS-TCP-FH-NO-ICE offer includes a passive candidate.
    extensions: [{ name: utf8('tcptype'), value: utf8('passive') }],
  });
  tx = random.u64();
  add({
    name: 'attach_req_no_ice',
    code: MessageCode.attachReq,
    body: {
      ufrag: utf8(''),
      password: utf8(''),
      role: utf8('passive'),
      candidates: [tlsCandidate(v4('192.0.2.44', 6084), '1', 65_535), tlsCandidate(v6('2001:db8:44::1', 6084), '2', 65_534)],
      sendUpdate: false,
    },
    signer: alice,
    transactionId: tx,
    ...compressedVia,
    destinations: [node(B)],
  });
  add({
    name: 'attach_ans_no_ice',
    code: MessageCode.attachAns,
    body: {
      ufrag: utf8(''),
      password: utf8(''),
      role: utf8('active'),
      candidates: [tlsCandidate(v4('198.51.100.9', 6084), '1', 65_535)],
      sendUpdate: false,
    },
    signer: bob,
    transactionId: tx,
    ...forwardedAnswer,
  });

  // --- Store (§7.4.1): all three data models in one StoreReq ------------------------------
  const storageTime = BigInt(now);
  const turnValue = (() => {
    // TurnServer { uint8 iteration; IpAddressPort server_address; } (RFC 6940 §6.6 digest).
    const addr = v4('192.0.2.10', 3478);
    const w = new Writer(new Uint8Array(1 + ipAddressPort.size(addr)));
    w.u8(1);
    ipAddressPort.encode(w, addr);
    return w.buf;
  })();
  const sipValue = encodeSipRegistration({
    type: 'route',
    contactPrefs: '(&(sip.schemes=SIP)(sip.audio=TRUE))',
    destinations: [node(A)],
  });
  const turnStored: StoredDataValue = { model: 'single', value: { exists: true, value: turnValue } };
  const certStored: StoredDataValue = { model: 'array', index: 0xffffffff, value: { exists: true, value: aliceCert } };
  const sipStored: StoredDataValue = { model: 'dictionary', key: A, value: { exists: true, value: sipValue } };
  const stored = (kind: number, value: StoredDataValue, lifetime: number): StoredData => ({
    storageTime,
    lifetime,
    value,
    signature: alice.signStoredData(resource, kind, storageTime, value),
  });
  const turnData = stored(KindIds.turnService, turnStored, 1800);
  const certData = stored(KindIds.certificateByUser, certStored, 86_400);
  const sipData = stored(KindIds.sipRegistration, sipStored, 3600);
  const storeKinds = [KindIds.turnService, KindIds.certificateByUser, KindIds.sipRegistration];
  tx = random.u64();
  add({
    name: 'store_req',
    code: MessageCode.storeReq,
    body: {
      resource,
      replicaNumber: 0,
      kindData: [
        { kind: KindIds.turnService, generationCounter: 0n, values: [turnData] },
        { kind: KindIds.certificateByUser, generationCounter: 0n, values: [certData] },
        { kind: KindIds.sipRegistration, generationCounter: 0n, values: [sipData] },
      ],
    },
    signer: alice,
    transactionId: tx,
    ...forwardedRequest,
    destinations: [{ type: 'resource', id: resource }],
    kinds: storeKinds,
  });
  const replicas = ring(2);
  add({
    name: 'store_ans',
    code: MessageCode.storeAns,
    body: {
      kindResponses: [
        { kind: KindIds.turnService, generationCounter: 1n, replicas },
        { kind: KindIds.certificateByUser, generationCounter: 1n, replicas },
        { kind: KindIds.sipRegistration, generationCounter: 1n, replicas },
      ],
    },
    signer: bob,
    transactionId: tx,
    ...forwardedAnswer,
    kinds: storeKinds,
  });

  // --- Fetch (§7.4.2): one specifier per data model ---------------------------------------
  tx = random.u64();
  add({
    name: 'fetch_req',
    code: MessageCode.fetchReq,
    body: {
      resource,
      specifiers: [
        { kind: KindIds.turnService, generation: 0n, model: 'single' },
        { kind: KindIds.certificateByUser, generation: 0n, model: 'array', indices: [{ first: 0, last: 0xffffffff }] },
        // RFC 7904 §4.2: a SIP lookup names no dictionary keys (fetch them all).
        { kind: KindIds.sipRegistration, generation: 0n, model: 'dictionary', keys: [] },
      ],
    },
    signer: alice,
    transactionId: tx,
    ...forwardedRequest,
    destinations: [{ type: 'resource', id: resource }],
    maxResponseLength: 8192,
    kinds: storeKinds,
  });
  // The storing peer returns the values as stored: the appended array entry now has index 0,
  // its signature (computed with the index set to 0) still verifies.
  const certAtZero: StoredData = { ...certData, signature: certData.signature!, value: { ...certStored, index: 0 } };
  add({
    name: 'fetch_ans',
    code: MessageCode.fetchAns,
    body: {
      kindResponses: [
        { kind: KindIds.turnService, generation: 1n, values: [turnData] },
        { kind: KindIds.certificateByUser, generation: 1n, values: [certAtZero] },
        { kind: KindIds.sipRegistration, generation: 1n, values: [sipData] },
      ],
    },
    signer: bob,
    transactionId: tx,
    ...forwardedAnswer,
    // RFC 6940 §6.3.4: carry the certificates needed to check the stored-data signatures.
    extraCertificates: [aliceCert],
    kinds: storeKinds,
  });

  // --- Stat (§7.4.3) ------------------------------------------------------------------------
  tx = random.u64();
  add({
    name: 'stat_req',
    code: MessageCode.statReq,
    body: {
      resource,
      specifiers: [
        { kind: KindIds.turnService, generation: 0n, model: 'single' },
        { kind: KindIds.certificateByUser, generation: 0n, model: 'array', indices: [{ first: 0, last: 0 }] },
        { kind: KindIds.sipRegistration, generation: 0n, model: 'dictionary', keys: [A] },
      ],
    },
    signer: alice,
    transactionId: tx,
    ...forwardedRequest,
    destinations: [{ type: 'resource', id: resource }],
    kinds: storeKinds,
  });
  const meta = (v: Uint8Array) => ({
    exists: true,
    valueLength: v.length,
    hashAlgorithm: HashAlgorithm.sha256,
    hashValue: metaHash(v),
  });
  add({
    name: 'stat_ans',
    code: MessageCode.statAns,
    body: {
      kindResponses: [
        {
          kind: KindIds.turnService,
          generation: 1n,
          values: [{ storageTime, lifetime: 1800, metadata: { model: 'single', metadata: meta(turnValue) } }],
        },
        {
          kind: KindIds.certificateByUser,
          generation: 1n,
          values: [{ storageTime, lifetime: 86_400, metadata: { model: 'array', index: 0, metadata: meta(aliceCert) } }],
        },
        {
          kind: KindIds.sipRegistration,
          generation: 1n,
          values: [{ storageTime, lifetime: 3600, metadata: { model: 'dictionary', key: A, metadata: meta(sipValue) } }],
        },
      ],
    },
    signer: bob,
    transactionId: tx,
    ...forwardedAnswer,
    kinds: storeKinds,
  });

  // --- Find (§7.4.4) ------------------------------------------------------------------------
  tx = random.u64();
  const findKinds = [KindIds.sipRegistration, KindIds.certificateByUser];
  add({
    name: 'find_req',
    code: MessageCode.findReq,
    body: { resource, kinds: findKinds },
    signer: alice,
    transactionId: tx,
    ...forwardedRequest,
    destinations: [{ type: 'resource', id: resource }],
    kinds: findKinds,
  });
  add({
    name: 'find_ans',
    code: MessageCode.findAns,
    body: {
      results: [
        { kind: KindIds.sipRegistration, closest: resource },
        // Nothing of this Kind known: the closest Resource-ID is 0 (§7.4.4.2).
        { kind: KindIds.certificateByUser, closest: new Uint8Array(ctx.nodeIdLength) },
      ],
    },
    signer: bob,
    transactionId: tx,
    ...forwardedAnswer,
    kinds: findKinds,
  });

  // --- Join (§6.4.2.2, CHORD §9.4): alice joins through bob, her admitting peer -----------
  const chord = chordCodecs(ctx.nodeIdLength);
  tx = random.u64();
  add({
    name: 'join_req',
    code: MessageCode.joinReq,
    body: { joiningPeerId: A, overlaySpecificData: new Uint8Array(0) },
    signer: alice,
    transactionId: tx,
    ttl: 99,
    via: [node(A)],
    destinations: [node(B)],
  });
  add({
    name: 'join_ans',
    code: MessageCode.joinAns,
    body: { overlaySpecificData: new Uint8Array(0) },
    signer: bob,
    transactionId: tx,
    ttl: 99,
    via: [],
    destinations: [node(A)],
  });

  // --- Leave (§6.4.2.3, CHORD §9.7.4): bob leaves, telling his predecessor alice ----------
  tx = random.u64();
  add({
    name: 'leave_req',
    code: MessageCode.leaveReq,
    body: { leavingPeerId: B, overlaySpecificData: encode(chord.leaveData, { type: 'from_succ', successors: ring(3) }) },
    signer: bob,
    transactionId: tx,
    ...neighbour,
    destinations: [node(A)],
  });
  add({
    name: 'leave_ans',
    code: MessageCode.leaveAns,
    body: {},
    signer: alice,
    transactionId: tx,
    ...neighbour,
    destinations: [node(B)],
  });

  // --- Update (CHORD §9.7.1): a full update, fingers in ascending order --------------------
  tx = random.u64();
  add({
    name: 'update_req',
    code: MessageCode.updateReq,
    body: { uptime: 7260, type: 'full', predecessors: ring(3), successors: ring(3), fingers: ring(8) },
    signer: bob,
    transactionId: tx,
    ...neighbour,
    destinations: [node(A)],
  });
  add({ name: 'update_ans', code: MessageCode.updateAns, body: {}, signer: alice, transactionId: tx, ...neighbour, destinations: [node(B)] });

  // --- RouteQuery (§6.4.2.5, CHORD §9.7.3) ------------------------------------------------
  tx = random.u64();
  add({
    name: 'route_query_req',
    code: MessageCode.routeQueryReq,
    body: { sendUpdate: false, destination: { type: 'resource', id: resource }, overlaySpecificData: new Uint8Array(0) },
    signer: alice,
    transactionId: tx,
    ...forwardedRequest,
    destinations: [node(B)],
  });
  add({
    name: 'route_query_ans',
    code: MessageCode.routeQueryAns,
    body: { nextPeer: Y },
    signer: bob,
    transactionId: tx,
    ...forwardedAnswer,
  });

  // --- Ping (§6.5.3), with an experimental forwarding option and message extension --------
  tx = random.u64();
  add({
    name: 'ping_req',
    code: MessageCode.pingReq,
    body: { padding: new Uint8Array(0) },
    signer: alice,
    transactionId: tx,
    ...forwardedRequest,
    destinations: [node(B)],
    // exp-forward (type 1), not critical: nodes that do not know it forward it unchanged.
    options: [{ type: 1, flags: 0, value: utf8('trace-7') }],
    extensions: [{ type: 1, critical: false, contents: utf8('exp-ext sample') }],
  });
  add({
    name: 'ping_ans',
    code: MessageCode.pingAns,
    body: { responseId: random.u64(), time: BigInt(now) },
    signer: bob,
    transactionId: tx,
    ...forwardedAnswer,
  });

  // --- AppAttach (§6.5.2) for SIP (RFC 7904 §5.1) ------------------------------------------
  tx = random.u64();
  add({
    name: 'app_attach_req',
    code: MessageCode.appAttachReq,
    body: {
      ufrag: utf8('Sw2n'),
      password: utf8('Fh8Kd3Lp0Qx7Mv4Rc1Yt6B'),
      application: ApplicationId.sip,
      role: utf8('passive'),
      candidates: [{ ...iceHostV4, addrPort: v4('192.168.1.20', 5060) }, { ...iceSrflx, addrPort: v4('203.0.113.5', 5060) }],
    },
    signer: alice,
    transactionId: tx,
    ...forwardedRequest,
    destinations: [node(B)],
  });
  add({
    name: 'app_attach_ans',
    code: MessageCode.appAttachAns,
    body: {
      ufrag: utf8('Jq5c'),
      password: utf8('Wd9Ns2Gb6Hk1Tz8Pv3Xm0E'),
      application: ApplicationId.sip,
      role: utf8('active'),
      candidates: [{ ...iceHostV4, addrPort: v4('10.0.0.7', 5060), extensions: [] }],
    },
    signer: bob,
    transactionId: tx,
    ...forwardedAnswer,
  });

  // --- ConfigUpdate (§6.5.4): a whole configuration, then a kind-block --------------------
  const rootCertB64 = Buffer.from(ca.certificate).toString('base64');
  const sipKindXml =
    '<kind name="SIP-REGISTRATION"><data-model>DICTIONARY</data-model>' +
    '<access-control>USER-NODE-MATCH</access-control><max-count>10</max-count><max-size>1000</max-size></kind>';
  const configXml =
    '<?xml version="1.0" encoding="UTF-8"?>\n' +
    '<overlay xmlns="urn:ietf:params:xml:ns:p2p:config-base" xmlns:chord="urn:ietf:params:xml:ns:p2p:config-chord">\n' +
    `<configuration instance-name="${overlay}" sequence="4" expiration="${new Date(now + 30 * 86_400_000).toISOString().replace(/\.\d+Z$/, 'Z')}">\n` +
    '<topology-plugin>CHORD-RELOAD</topology-plugin>\n<node-id-length>16</node-id-length>\n' +
    `<root-cert>${rootCertB64}</root-cert>\n` +
    '<bootstrap-node address="192.0.2.1" port="6084"/>\n' +
    `<required-kinds><kind-block>${sipKindXml}</kind-block></required-kinds>\n` +
    '</configuration>\n</overlay>\n';
  // The kind-signature: the configuration signer's signature over the kind element (§11.1).
  const kindSignature = Buffer.from(cryptoSign('sha256', utf8(sipKindXml), ca.privateKey)).toString('base64');
  const kindBlockXml = `<kind-block>${sipKindXml}<kind-signature>${kindSignature}</kind-signature></kind-block>`;
  tx = random.u64();
  add({
    name: 'config_update_req_config',
    code: MessageCode.configUpdateReq,
    body: { type: 'config', configData: utf8(configXml) },
    signer: bob,
    transactionId: tx,
    ...neighbour,
    destinations: [node(A)],
  });
  const txKind = random.u64();
  add({
    name: 'config_update_req_kind',
    code: MessageCode.configUpdateReq,
    body: { type: 'kind', kinds: [utf8(kindBlockXml)] },
    signer: bob,
    transactionId: txKind,
    ...neighbour,
    destinations: [node(A)],
  });
  add({
    name: 'config_update_ans',
    code: MessageCode.configUpdateAns,
    body: {},
    signer: alice,
    transactionId: tx,
    ...neighbour,
    destinations: [node(B)],
  });

  // --- ErrorResponse (§6.3.3.1) ------------------------------------------------------------
  add({
    name: 'error_forbidden',
    code: MessageCode.error,
    body: { errorCode: ErrorCode.forbidden, errorInfo: utf8('signer certificate does not hold the dictionary key Node-ID') },
    signer: bob,
    transactionId: random.u64(),
    ...forwardedAnswer,
  });
  const privateKind = 0xf0000042;
  add({
    name: 'error_unknown_kind',
    code: MessageCode.error,
    body: { errorCode: ErrorCode.unknownKind, errorInfo: encode(unknownKinds, [privateKind, 0x7f000001]) },
    signer: bob,
    transactionId: random.u64(),
    ...forwardedAnswer,
    kinds: [privateKind, 0x7f000001],
  });
  add({
    name: 'error_generation_counter_too_low',
    code: MessageCode.error,
    body: {
      errorCode: ErrorCode.generationCounterTooLow,
      // error_info: a StoreAns with the current generation counters and no replicas.
      errorInfo: encode(storage.storeAns, {
        kindResponses: [{ kind: KindIds.sipRegistration, generationCounter: 7n, replicas: [] }],
      }),
    },
    signer: bob,
    transactionId: random.u64(),
    ...forwardedAnswer,
    kinds: [KindIds.sipRegistration],
  });

  return {
    overlay,
    overlayHash: hash,
    caCertificate: ca.certificate,
    alice: { userName: aliceName, nodeIds: aliceIds, certificate: aliceCert },
    bob: { userName: bobName, nodeIds: bobIds, certificate: bobCert },
    ctx,
    resourceId: resource,
    entries,
  };
}
