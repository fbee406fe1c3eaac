/**
 * The message-code → body table (body.ts): every request and answer body, encoded by
 * code and compared with hand-computed bytes, then round-tripped; unknown codes refused.
 */
import t from 'tap';
import { toHex } from '../../src/wire/codec.js';
import { ErrorCode, MessageCode, messageCodeName } from '../../src/wire/constants.js';
import { DEFAULT_WIRE_CONTEXT } from '../../src/wire/context.js';
import { type BodyCode, type BodyTypes, bodyCodec, decodeAnyBody, decodeBody, encodeBody, isKnownBody } from '../../src/wire/body.js';
import { chordCodecs } from '../../src/wire/chord.js';
import { encode } from '../../src/wire/codec.js';
import { BODY_CODES, GEN_CONTEXT, Gen } from '../helpers/gen.js';
import { assertDecodeError, assertRoundTrip, assertRoundTripMany, bytesOf, deepDiff, hex } from '../helpers/roundtrip.js';

const te = new TextEncoder();
const s = (x: string): Uint8Array => te.encode(x);
const ctx = DEFAULT_WIRE_CONTEXT;
const R_HEX = '00112233445566778899aabbccddeeff';
const R = bytesOf(R_HEX);
const A_HEX = '0102030405060708090a0b0c0d0e0f10';
const B_HEX = 'f0e0d0c0b0a090807060504030201000';
const A = bytesOf(A_HEX);
const B = bytesOf(B_HEX);
const T = 1_700_000_000_000n;
const T_HEX = '0000018bcfe56800';
const HOST4_HEX = '01 06 c0000201 17c4  01  01 31  7e0000ff  01  0000';
const HOST4 = {
  addrPort: { family: 'ipv4' as const, address: '192.0.2.1', port: 6084 },
  overlayLink: 1,
  foundation: s('1'),
  priority: 0x7e0000ff,
  candType: 1,
  extensions: [],
};

type Case<C extends BodyCode> = { code: C; value: BodyTypes[C]; hex: string; note: string };
function c<C extends BodyCode>(code: C, value: BodyTypes[C], h: string, note: string): Case<BodyCode> {
  return { code, value, hex: h, note } as unknown as Case<BodyCode>;
}

const CASES: Case<BodyCode>[] = [
  c(MessageCode.probeReq, { requestedInfo: [1, 3] }, '02 01 03', 'responsible_set, uptime'),
  c(MessageCode.probeAns, { probeInfo: [{ type: 'uptime', uptime: 3600 }] }, '0006 03 04 00000e10', 'uptime 3600'),
  c(MessageCode.attachReq, { ufrag: s('u'), password: s('p'), role: s('passive'), candidates: [HOST4], sendUpdate: false },
    `01 75 01 70 07 70617373697665 0012 ${HOST4_HEX} 00`, 'one IPv4 host candidate'),
  c(MessageCode.attachAns, { ufrag: s('u'), password: s('p'), role: s('active'), candidates: [], sendUpdate: true },
    '01 75 01 70 06 616374697665 0000 01', 'no candidates, send_update'),
  c(MessageCode.storeReq, { resource: R, replicaNumber: 1, kindData: [] }, `10 ${R_HEX} 01 00000000`, 'replica 1, no kinds'),
  c(MessageCode.storeAns, { kindResponses: [{ kind: 3, generationCounter: 9n, replicas: [] }] },
    '000e 00000003 0000000000000009 0000', 'one kind, no replicas'),
  c(MessageCode.fetchReq, { resource: R, specifiers: [{ kind: 2, generation: 0n, model: 'single' }] },
    `10 ${R_HEX} 000e 00000002 0000000000000000 0000`, 'single-value specifier'),
  c(MessageCode.fetchAns, { kindResponses: [] }, '00000000', 'nothing found'),
  c(MessageCode.statReq, { resource: R, specifiers: [{ kind: 1, generation: 0n, model: 'dictionary', keys: [] }] },
    `10 ${R_HEX} 0010 00000001 0000000000000000 0002 0000`, 'dictionary specifier, all keys'),
  c(MessageCode.statAns, {
    kindResponses: [{
      kind: 3,
      generation: 1n,
      values: [{ storageTime: T, lifetime: 60, metadata: { model: 'array', index: 0, metadata: { exists: false, valueLength: 0, hashAlgorithm: 0, hashValue: new Uint8Array(0) } } }],
    }],
  }, `
    0000002b 00000003 0000000000000001 0000001b   # kind_responses, kind 3, generation 1, values: 27 bytes
    00000017 ${T_HEX} 0000003c                    # StoredMetaData: length 23, storage_time, lifetime 60
    00000000 00 00000000 00 00                    # index 0, MetaData: absent, length 0, hash none, empty
  `, 'array StoredMetaData'),
  c(MessageCode.findReq, { resource: R, kinds: [2] }, `10 ${R_HEX} 04 00000002`, 'one Kind'),
  c(MessageCode.findAns, { results: [] }, '0000', 'no results'),
  c(MessageCode.joinReq, { joiningPeerId: A, overlaySpecificData: new Uint8Array(0) }, `${A_HEX} 0000`, 'CHORD: empty data'),
  c(MessageCode.joinAns, { overlaySpecificData: new Uint8Array(0) }, '0000', 'JoinAns body is exactly 00 00'),
  c(MessageCode.leaveReq, { leavingPeerId: A, overlaySpecificData: encode(chordCodecs(16).leaveData, { type: 'from_pred', predecessors: [B] }) },
    `${A_HEX} 0013 02 0010 ${B_HEX}`, 'ChordLeaveData from_pred'),
  c(MessageCode.leaveReq, { leavingPeerId: B, overlaySpecificData: encode(chordCodecs(16).leaveData, { type: 'from_succ', successors: [A] }) },
    `${B_HEX} 0013 01 0010 ${A_HEX}`, 'ChordLeaveData from_succ'),
  c(MessageCode.leaveAns, {}, '', 'empty'),
  c(MessageCode.updateReq, { uptime: 5, type: 'peer_ready' }, '00000005 01', 'peer_ready'),
  c(MessageCode.updateReq, { uptime: 5, type: 'neighbors', predecessors: [A], successors: [B] }, `00000005 02 0010 ${A_HEX} 0010 ${B_HEX}`, 'neighbors'),
  c(MessageCode.updateReq, { uptime: 5, type: 'full', predecessors: [A], successors: [B], fingers: [] }, `00000005 03 0010 ${A_HEX} 0010 ${B_HEX} 0000`, 'full'),
  c(MessageCode.updateAns, {}, '', 'empty for CHORD'),
  c(MessageCode.routeQueryReq, { sendUpdate: false, destination: { type: 'compressed', id: 0x8123 }, overlaySpecificData: new Uint8Array(0) },
    '00 8123 0000', 'compressed destination'),
  c(MessageCode.routeQueryAns, { nextPeer: B }, B_HEX, 'ChordRouteQueryAns'),
  c(MessageCode.pingReq, { padding: new Uint8Array(0) }, '0000', 'empty padding'),
  c(MessageCode.pingAns, { responseId: 1n, time: T }, `0000000000000001 ${T_HEX}`, 'response id, time'),
  c(MessageCode.appAttachReq, { ufrag: s('u'), password: s('p'), application: 5060, role: s('passive'), candidates: [] },
    '01 75 01 70 13c4 07 70617373697665 0000', 'SIP'),
  c(MessageCode.appAttachAns, { ufrag: s('u'), password: s('p'), application: 5060, role: s('active'), candidates: [HOST4] },
    `01 75 01 70 13c4 06 616374697665 0012 ${HOST4_HEX}`, 'SIP, one candidate'),
  c(MessageCode.configUpdateReq, { type: 'config', configData: s('<x/>') }, '01 00000007 000004 3c782f3e', 'config'),
  c(MessageCode.configUpdateReq, { type: 'kind', kinds: [s('k')] }, '02 00000006 000003 0001 6b', 'kind'),
  c(MessageCode.configUpdateAns, {}, '', 'empty'),
  c(MessageCode.pathTrackReq, { destination: { type: 'node', id: A }, request: { expiration: T, timestampInitiated: T, dmFlags: 4n, extensions: [] } },
    `01 10 ${A_HEX} ${T_HEX} ${T_HEX} 0000000000000004 00000000`, 'RFC 7851: Node-ID, ROUTING_TABLE_SIZE'),
  c(MessageCode.pathTrackAns, { nextHop: { type: 'node', id: B }, response: { expiration: T, timestampInitiated: T, timestampReceived: T, hopCounter: 100, info: [] } },
    `01 10 ${B_HEX} ${T_HEX} ${T_HEX} ${T_HEX} 64 00000000`, 'RFC 7851: next hop, no info'),
  c(MessageCode.error, { errorCode: ErrorCode.unknownKind, errorInfo: bytesOf('04 00007777') }, '000c 0005 04 00007777', 'Error_Unknown_Kind'),
  c(MessageCode.error, { errorCode: ErrorCode.generationCounterTooLow, errorInfo: bytesOf('000e 00000003 0000000000000009 0000') },
    '0005 0010 000e 00000003 0000000000000009 0000', 'Error_Generation_Counter_Too_Low with a StoreAns'),
];

t.test('every body, by message code, against hand-computed bytes', async (t) => {
  const covered = new Set<number>();
  for (const k of CASES) {
    const label = `${messageCodeName(k.code)} (${k.note})`;
    const bytes = encodeBody(k.code, k.value, ctx);
    t.equal(toHex(bytes), hex(k.hex), `${label}: bytes`);
    t.equal(deepDiff(decodeBody(k.code, bytes, ctx), k.value), undefined, `${label}: decodes back`);
    t.equal(deepDiff(decodeAnyBody(k.code, bytes, ctx), k.value), undefined, `${label}: decodeAnyBody`);
    assertRoundTrip(t, bodyCodec(k.code, ctx), k.value, undefined, label);
    covered.add(k.code);
  }
  t.same([...BODY_CODES].filter((code) => !covered.has(code)), [], 'every code of the table has a case');
});

t.test('decodeAnyBody refuses trailing bytes for every code', async (t) => {
  for (const code of BODY_CODES) {
    const k = CASES.find((x) => x.code === code)!;
    const longer = new Uint8Array(bytesOf(k.hex).length + 1);
    longer.set(bytesOf(k.hex));
    assertDecodeError(t, () => decodeAnyBody(code, longer, ctx), { structure: bodyCodec(code, ctx).name, field: '(end)', reason: 'trailing' }, messageCodeName(code));
  }
});

t.test('codes without a body are refused', async (t) => {
  for (const code of [0x0000, 0x0005, 0x0006, 0x000b, 0x001b, 0x0023, 0x0029, 0x8000, 0xfffe]) {
    t.notOk(isKnownBody(code), `0x${code.toString(16)} has no body here`);
    assertDecodeError(t, () => decodeAnyBody(code, new Uint8Array(0), ctx), { structure: 'MessageContents', field: 'message_code', reason: 'value' }, `code 0x${code.toString(16)}`);
  }
  for (const code of BODY_CODES) t.ok(isKnownBody(code));
  t.equal(messageCodeName(MessageCode.appAttachReq), 'app_attach_req');
  t.equal(messageCodeName(0x1234), 'unknown_0x1234');
});

t.test('property: random bodies of every code round-trip', async (t) => {
  const g = new Gen('body');
  for (const code of BODY_CODES) {
    assertRoundTripMany(t, bodyCodec(code, GEN_CONTEXT), 200, () => g.body(code), messageCodeName(code));
  }
});
