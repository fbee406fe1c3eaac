/**
 * RFC 7851 diagnostics structures (src/wire/diagnostics.ts): DiagnosticsRequest,
 * DiagnosticInfo of every Kind, DiagnosticsResponse, PathTrackReq / PathTrackAns, against
 * hand-computed bytes; the ext_length rule; hostile inputs; random values round-trip.
 */
import t from 'tap';
import { decode, encode, EncodeError } from '../../src/wire/codec.js';
import { FRAGMENT_UNFRAGMENTED, MessageCode, MessageExtensionType, RELOAD_VERSION } from '../../src/wire/constants.js';
import { assembleMessage, decodeMessage, messageContents } from '../../src/wire/message.js';
import { UNSIGNED, securityBlock } from '../../src/wire/security-block.js';
import { messageToJson } from '../../src/wire/json.js';
import { decodeBody, encodeBody } from '../../src/wire/body.js';
import { DEFAULT_WIRE_CONTEXT } from '../../src/wire/context.js';
import {
  DM_FLAGS_ALL,
  DiagnosticKind,
  type DiagnosticInfo,
  type DiagnosticsRequest,
  type DiagnosticsResponse,
  diagnosticExtension,
  diagnosticInfo,
  diagnosticInfoKind,
  diagnosticKindByName,
  diagnosticKindName,
  diagnosticsRequest,
  diagnosticsResponse,
  dmFlag,
  dmFlagsOf,
  kindsOfDmFlags,
  pathTrackAns,
  pathTrackReq,
} from '../../src/wire/diagnostics.js';
import { Gen } from '../helpers/gen.js';
import { assertDecodeError, assertRoundTrip, assertRoundTripMany, bytesOf, deepDiff, hex } from '../helpers/roundtrip.js';

const EXP = 1_700_000_060_000n; // 0000018bcfe65260
const INIT = 1_700_000_000_000n; // 0000018bcfe56800
const RECV = 1_700_000_000_250n; // 0000018bcfe568fa
const A_HEX = '0102030405060708090a0b0c0d0e0f10';
const A = bytesOf(A_HEX);
const R_HEX = '00112233445566778899aabbccddeeff';
const R = bytesOf(R_HEX);

const PLAIN_REQUEST: DiagnosticsRequest = {
  expiration: EXP,
  timestampInitiated: INIT,
  dmFlags: dmFlagsOf([DiagnosticKind.routingTableSize, DiagnosticKind.appUptime]),
  extensions: [],
};
const PLAIN_REQUEST_HEX = `
  0000018bcfe65260   # expiration
  0000018bcfe56800   # timestamp_initiated
  0000000000000104   # dMFlags: bit 2 ROUTING_TABLE_SIZE, bit 8 APP_UPTIME
  00000000           # ext_length 0: no diagnostic_extensions_list at all
`;

t.test('dMFlags: bit k asks for Kind k; bits 0 and 63 are reserved', async (t) => {
  t.equal(dmFlag(DiagnosticKind.statusInfo), 0x2n);
  t.equal(dmFlag(DiagnosticKind.batteryStatus), 0x10000n);
  t.equal(dmFlagsOf([1, 2, 11]), 0x806n);
  t.same(kindsOfDmFlags(0x806n), [1, 2, 11]);
  t.same(kindsOfDmFlags(0n), []);
  t.equal(kindsOfDmFlags(DM_FLAGS_ALL).length, 62, 'all-ones asks for every Kind 1..62');
  t.same(kindsOfDmFlags(0x8000000000000001n), [], 'the reserved first and last bits name no Kind');
  t.throws(() => dmFlag(0), RangeError);
  t.throws(() => dmFlag(63), RangeError);
  t.equal(diagnosticKindName(0x000c), 'MESSAGES_SENT_RCVD');
  t.equal(diagnosticKindName(0xf001), 'unknown_0xf001');
  t.equal(diagnosticKindByName('routing-table-size'), DiagnosticKind.routingTableSize);
  t.equal(diagnosticKindByName('ewma_bytes_rcvd'), DiagnosticKind.ewmaBytesRcvd);
  t.equal(diagnosticKindByName('nonsense'), undefined);
});

t.test('DiagnosticsRequest: three uint64, then ext_length', async (t) => {
  const b = assertRoundTrip(t, diagnosticsRequest, PLAIN_REQUEST, PLAIN_REQUEST_HEX);
  t.equal(b.length, 28);
  assertRoundTrip(t, diagnosticsRequest, { ...PLAIN_REQUEST, dmFlags: DM_FLAGS_ALL }, `
    0000018bcfe65260 0000018bcfe56800
    ffffffffffffffff   # everything
    00000000
  `);
  // ext_length counts what follows it: the vector's own 4-byte length and its elements.
  assertRoundTrip(t, diagnosticsRequest, { ...PLAIN_REQUEST, dmFlags: 0n, extensions: [{ kind: 0xf001, contents: bytesOf('6162') }] }, `
    0000018bcfe65260 0000018bcfe56800
    0000000000000000   # dMFlags: nothing of the base set
    0000000c           # ext_length = 4 + 8
    00000008           # diagnostic_extensions_list<0..2^32-1>: 8 bytes
      f001 00000002 6162   # DiagnosticExtension: local-use Kind 0xf001, contents "ab"
  `);
  assertRoundTrip(t, diagnosticExtension, { kind: 0xf0ff, contents: new Uint8Array(0) }, 'f0ff 00000000');
});

t.test('DiagnosticInfo of every Kind of RFC 7851 §6', async (t) => {
  const cases: [DiagnosticInfo, string][] = [
    [{ type: 'status_info', status: 5 }, '0001 0001 05'],
    [{ type: 'routing_table_size', peers: 7 }, '0002 0004 00000007'],
    [{ type: 'process_power', mips: 1000n }, '0003 0008 00000000000003e8'],
    [{ type: 'upstream_bandwidth', kbps: 16n }, '0004 0008 0000000000000010'],
    [{ type: 'downstream_bandwidth', kbps: 0x100000000n }, '0005 0008 0000000100000000'],
    [{ type: 'software_version', version: 'rn/1' }, '0006 0005 726e2f31 00   # US-ASCII, NUL-terminated'],
    [{ type: 'machine_uptime', seconds: 86_400n }, '0007 0008 0000000000015180'],
    [{ type: 'app_uptime', seconds: 60n }, '0008 0008 000000000000003c'],
    [{ type: 'memory_footprint', kib: 51_200n }, '0009 0008 000000000000c800'],
    [{ type: 'datasize_stored', bytes: 1234n }, '000a 0008 00000000000004d2'],
    [
      { type: 'instances_stored', instances: [{ kind: 1, instances: 3n }, { kind: 0xf0000001, instances: 1n }] },
      `000b 0018
         00000001 0000000000000003   # SIP-REGISTRATION: 3
         f0000001 0000000000000001   # a private Kind: 1`,
    ],
    [
      { type: 'messages_sent_rcvd', messages: [{ code: MessageCode.pingReq, sent: 2n, received: 1n }] },
      '000c 0012 0017 0000000000000002 0000000000000001   # ping_req: 2 sent, 1 received',
    ],
    [{ type: 'ewma_bytes_sent', bytesPerSecond: 1500 }, '000d 0004 000005dc'],
    [{ type: 'ewma_bytes_rcvd', bytesPerSecond: 256 }, '000e 0004 00000100'],
    [{ type: 'underlay_hop', hops: 3 }, '000f 0001 03'],
    [{ type: 'battery_status', status: 0x80 }, '0010 0001 80'],
    [{ type: 'unknown', kind: 0xf00f, contents: bytesOf('7879') }, 'f00f 0002 7879   # local use: kept opaque'],
    [{ type: 'instances_stored', instances: [] }, '000b 0000'],
  ];
  for (const [info, h] of cases) {
    assertRoundTrip(t, diagnosticInfo, info, h, info.type);
    t.equal(diagnosticInfoKind(info), Number.parseInt(hex(h).slice(0, 4), 16), `${info.type}: Kind-ID`);
  }
});

const RESPONSE: DiagnosticsResponse = {
  expiration: EXP,
  timestampInitiated: INIT,
  timestampReceived: RECV,
  hopCounter: 99,
  info: [{ type: 'routing_table_size', peers: 7 }],
};
const RESPONSE_HEX = `
  0000018bcfe65260   # expiration
  0000018bcfe56800   # timestamp_initiated (copied from the request)
  0000018bcfe568fa   # timestamp_received
  63                 # hop_counter: the request arrived with TTL 99
  0000000c           # ext_length = 4 + 8
  00000008           # diagnostic_info_list: 8 bytes
    0002 0004 00000007 # DiagnosticInfo: ROUTING_TABLE_SIZE, 4 bytes, 7 peers
`;

t.test('DiagnosticsResponse', async (t) => {
  const b = assertRoundTrip(t, diagnosticsResponse, RESPONSE, RESPONSE_HEX);
  t.equal(b.length, 25 + 4 + 4 + 8);
  assertRoundTrip(t, diagnosticsResponse, { ...RESPONSE, hopCounter: 100, info: [] }, `
    0000018bcfe65260 0000018bcfe56800 0000018bcfe568fa
    64 00000000        # nothing authorized or known: no list
  `);
});

t.test('PathTrackReq / PathTrackAns (message codes 0x27 / 0x28)', async (t) => {
  const req = { destination: { type: 'resource' as const, id: R }, request: PLAIN_REQUEST };
  const reqHex = `02 11 10 ${R_HEX}   # Destination: resource, length 17, Resource-ID<16>
                  ${PLAIN_REQUEST_HEX}`;
  assertRoundTrip(t, pathTrackReq, req, reqHex);
  const ans = { nextHop: { type: 'node' as const, id: A }, response: RESPONSE };
  const ansHex = `01 10 ${A_HEX}   # next_hop: Node-ID
                  ${RESPONSE_HEX}`;
  assertRoundTrip(t, pathTrackAns, ans, ansHex);
  // Through the message-code table.
  t.equal(deepDiff(decodeBody(MessageCode.pathTrackReq, encodeBody(MessageCode.pathTrackReq, req, DEFAULT_WIRE_CONTEXT), DEFAULT_WIRE_CONTEXT), req), undefined);
  t.equal(Buffer.from(encodeBody(MessageCode.pathTrackAns, ans, DEFAULT_WIRE_CONTEXT)).toString('hex'), Buffer.from(bytesOf(ansHex)).toString('hex'));
});

t.test('hostile diagnostics', async (t) => {
  const head = '0000018bcfe65260 0000018bcfe56800 0000000000000000';
  assertDecodeError(t, () => decode(diagnosticsRequest, bytesOf(`${head} 00000002 0000`)), { structure: 'DiagnosticsRequest', field: 'ext_length', reason: 'length', offset: 24 }, 'ext_length too small for the list length');
  assertDecodeError(t, () => decode(diagnosticsRequest, bytesOf(`${head} 0000000d 00000008 f001000000026162 ff`)), { structure: 'DiagnosticsRequest', field: 'ext_length', reason: 'length', offset: 24 }, 'ext_length is not 4 + the list length');
  assertDecodeError(t, () => decode(diagnosticsRequest, bytesOf(`${head} 00000010 00000008 f001000000026162`)), { structure: 'DiagnosticsRequest', field: 'ext_length', reason: 'length' }, 'ext_length beyond the input');
  assertDecodeError(t, () => decode(diagnosticsRequest, bytesOf(`${head} 0000000c 00000008 f00100000003616263`)), { structure: 'DiagnosticExtension', field: 'diagnostic_extension_contents', reason: 'length' }, 'extension longer than the list');
  assertDecodeError(t, () => decode(diagnosticInfo, bytesOf('0002 0002 0007')), { structure: 'DiagnosticInfo', field: 'routing_table_size', reason: 'length', offset: 2 }, 'fixed-size Kind of the wrong size');
  assertDecodeError(t, () => decode(diagnosticInfo, bytesOf('0006 0002 6162')), { structure: 'DiagnosticInfo', field: 'software_version', reason: 'value' }, 'SOFTWARE_VERSION without its NUL');
  assertDecodeError(t, () => decode(diagnosticInfo, bytesOf('0006 0003 61e900')), { structure: 'DiagnosticInfo', field: 'software_version', reason: 'value', offset: 5 }, 'SOFTWARE_VERSION not US-ASCII');
  assertDecodeError(t, () => decode(diagnosticInfo, bytesOf('000b 000b 0000000100000000000003')), { structure: 'DiagnosticInfo', field: 'instances_stored', reason: 'length' }, 'INSTANCES_STORED of 11 bytes');
  assertDecodeError(t, () => decode(diagnosticInfo, bytesOf('000c 0011 0017000000000000000200000000000000')), { structure: 'DiagnosticInfo', field: 'messages_sent_rcvd', reason: 'length' }, 'MESSAGES_SENT_RCVD of 17 bytes');
  assertDecodeError(t, () => decode(diagnosticInfo, bytesOf('0002 0005 00000007')), { structure: 'DiagnosticInfo', field: 'diagnostic_info_contents', reason: 'length' }, 'contents beyond the input');
  assertDecodeError(t, () => decode(diagnosticsResponse, bytesOf('0000018bcfe65260 0000018bcfe56800 0000018bcfe568fa 63 000000')), { structure: 'DiagnosticsResponse', field: 'ext_length', reason: 'truncated' });
  assertDecodeError(t, () => decode(pathTrackReq, bytesOf(`05 10 ${A_HEX} ${PLAIN_REQUEST_HEX}`)), { structure: 'Destination', field: 'type', reason: 'value', offset: 0 }, 'unknown DestinationType');
  t.throws(() => encode(diagnosticInfo, { type: 'software_version', version: 'caf\u00e9' }), EncodeError, 'non-ASCII version refused');
  t.throws(() => encode(diagnosticInfo, { type: 'status_info', status: 256 }), EncodeError);
  t.throws(() => encode(diagnosticsResponse, { ...RESPONSE, hopCounter: -1 }), EncodeError);
  t.throws(() => encode(diagnosticsRequest, { ...PLAIN_REQUEST, dmFlags: 1n << 64n }), EncodeError);
  t.throws(() => encode(diagnosticExtension, { kind: 0x10000, contents: new Uint8Array(0) }), EncodeError);
});

t.test('property: random diagnostics round-trip', async (t) => {
  const g = new Gen('diagnostics');
  assertRoundTripMany(t, diagnosticInfo, 1500, () => g.diagnosticInfo());
  assertRoundTripMany(t, diagnosticsRequest, 800, () => g.diagnosticsRequest());
  assertRoundTripMany(t, diagnosticsResponse, 800, () => g.diagnosticsResponse());
  assertRoundTripMany(t, pathTrackReq, 500, () => g.pathTrackReq());
  assertRoundTripMany(t, pathTrackAns, 500, () => g.pathTrackAns());
});

t.test('decode JSON: PathTrack bodies and the Diagnostic_Ping extension', async (t) => {
  const msg = (code: number, body: Uint8Array, extensions: { type: number; critical: boolean; contents: Uint8Array }[] = []) => {
    const contents = encode(messageContents, { code, body, extensions });
    const header = {
      overlay: 1, configurationSequence: 0, version: RELOAD_VERSION, ttl: 100, fragment: FRAGMENT_UNFRAGMENTED, length: 0,
      transactionId: 1n, maxResponseLength: 0, viaList: [], destinationList: [{ type: 'node' as const, id: A }], options: [],
    };
    return decodeMessage(assembleMessage(header, contents, encode(securityBlock, { certificates: [], signature: UNSIGNED })));
  };
  const ctx = DEFAULT_WIRE_CONTEXT;
  const req = messageToJson(msg(MessageCode.pathTrackReq, encodeBody(MessageCode.pathTrackReq, { destination: { type: 'resource', id: R }, request: PLAIN_REQUEST }, ctx)), ctx) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  t.equal(req.messageContents.messageName, 'path_track_req');
  t.same(req.messageContents.body, {
    destination: { type: 'resource', id: R_HEX },
    request: { expiration: EXP.toString(), timestampInitiated: INIT.toString(), dmFlags: '260', extensions: [] },
  });
  const ping = messageToJson(
    msg(MessageCode.pingAns, encodeBody(MessageCode.pingAns, { responseId: 1n, time: INIT }, ctx), [{ type: MessageExtensionType.diagnosticPing, critical: false, contents: encode(diagnosticsResponse, RESPONSE) }]),
    ctx,
  ) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  const ext = ping.messageContents.extensions[0];
  t.equal(ext.typeName, 'diagnostic_ping');
  t.same(ext.diagnostics, {
    expiration: EXP.toString(),
    timestampInitiated: INIT.toString(),
    timestampReceived: RECV.toString(),
    hopCounter: 99,
    info: [{ type: 'routing_table_size', peers: 7 }],
  });
  const broken = messageToJson(
    msg(MessageCode.pingReq, encodeBody(MessageCode.pingReq, { padding: new Uint8Array(0) }, ctx), [{ type: MessageExtensionType.diagnosticPing, critical: false, contents: bytesOf('00') }]),
    ctx,
  ) as any; // eslint-disable-line @typescript-eslint/no-explicit-any
  t.match(broken.messageContents.extensions[0].diagnosticsDecodeError, /DiagnosticsRequest\.expiration/, 'an undecodable extension is reported, not fatal');
});
