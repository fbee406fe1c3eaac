/**
 * `reload-node decode`: JSON of framed and bare messages from a file or stdin, typed
 * DecodeErrors (structure.field) with exit status 1 on malformed input, and
 * --check-roundtrip on every corpus message.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { PassThrough, Readable } from 'node:stream';
import t from 'tap';
import { firstDifference } from '../../src/cli/commands/decode.js';
import { main } from '../../src/cli/main.js';
import { VirtualClock } from '../../src/common/clock.js';
import { buildCorpus } from '../../src/wire/corpus.js';
import { concatBytes, decodeMessage, encodeFrame, toHex } from '../../src/wire/index.js';

const corpus = buildCorpus({ clock: new VirtualClock(Date.UTC(2026, 0, 1)) });
const entry = (name: string) => corpus.entries.find((e) => e.name === name)!;
const dir = mkdtempSync(join(tmpdir(), 'reload-decode-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

function file(name: string, bytes: Uint8Array): string {
  const p = join(dir, name);
  writeFileSync(p, bytes);
  return p;
}

interface Run {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(args: string[], stdin?: Uint8Array): Promise<Run> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  const stdout = new PassThrough();
  const stderr = new PassThrough();
  stdout.on('data', (c: Buffer) => out.push(c));
  stderr.on('data', (c: Buffer) => err.push(c));
  const code = await main(['decode', ...args], {
    stdout,
    stderr,
    stdin: Readable.from(stdin ? [Buffer.from(stdin)] : []),
  });
  return { code, stdout: Buffer.concat(out).toString(), stderr: Buffer.concat(err).toString() };
}

type J = Record<string, any>; // eslint-disable-line @typescript-eslint/no-explicit-any

t.test('a corpus file: every part of the message is in the JSON', async (t) => {
  const e = entry('store_req');
  const r = await run([file(e.fileName, e.frame)]);
  t.equal(r.code, 0, r.stderr);
  const j = JSON.parse(r.stdout) as J;
  t.same(Object.keys(j), ['framing', 'forwardingHeader', 'messageContents', 'securityBlock'], 'stable top-level order');
  t.same(j.framing, { transport: 'udp', type: 'data', typeCode: 128, sequence: e.sequence, length: e.message.length });
  const h = j.forwardingHeader;
  t.equal(h.reloToken, '0xd2454c4f');
  t.equal(h.overlay, `0x${corpus.overlayHash.toString(16).padStart(8, '0')}`);
  t.equal(h.version, 10);
  t.equal(h.versionName, '1.0');
  t.equal(h.ttl, 98);
  t.equal(h.fragment, '0xc0000000');
  t.equal(h.lastFragment, true);
  t.equal(h.length, e.message.length);
  t.equal(h.transactionId, e.transactionId.toString());
  t.equal(h.transactionIdHex, `0x${e.transactionId.toString(16).padStart(16, '0')}`);
  t.same(h.viaList.map((d: J) => d.id), e.viaNodeIds);
  t.same(h.destinationList, [{ type: 'resource', id: toHex(corpus.resourceId) }]);
  t.equal(h.viaListLength, 36);
  t.equal(h.destinationListLength, 19);
  const c = j.messageContents;
  t.equal(c.messageCode, 7);
  t.equal(c.messageCodeHex, '0x0007');
  t.equal(c.messageName, 'store_req');
  t.same(c.extensions, []);
  t.same(
    c.body.kindData.map((k: J) => [k.kind, k.kindName]),
    [
      [2, 'TURN-SERVICE'],
      [16, 'CERTIFICATE_BY_USER'],
      [1, 'SIP-REGISTRATION'],
    ],
  );
  t.equal(c.body.kindData[0].generationCounter, '0', 'uint64 as a decimal string');
  const turn = c.body.kindData[0].values[0].value.value;
  t.same(turn.valueDecoded, { iteration: 1, serverAddress: { family: 'ipv4', address: '192.0.2.10', port: 3478 } });
  const cert = c.body.kindData[1].values[0].value.value.valueDecoded.certificate;
  t.equal(cert.userName, corpus.alice.userName);
  t.same(cert.nodeIds, [toHex(corpus.alice.nodeIds[0]!)]);
  t.equal(cert.subject, '', 'RELOAD certificates have an empty subject');
  t.match(cert.subjectAltName, /^URI:reload:\/\/0110[0-9a-f]{32}@overlay\.example\.org\/, email:alice@overlay\.example\.org$/);
  const sip = c.body.kindData[2].values[0].value;
  t.equal(sip.key, toHex(corpus.alice.nodeIds[0]!));
  t.same(sip.value.valueDecoded, {
    type: 2,
    typeName: 'sip_registration_route',
    contactPrefs: '(&(sip.schemes=SIP)(sip.audio=TRUE))',
    destinationList: [{ type: 'node', id: toHex(corpus.alice.nodeIds[0]!) }],
  });
  const sig = c.body.kindData[2].values[0].signature;
  t.equal(sig.hashAlgName, 'sha256');
  t.equal(sig.sigAlgName, 'rsa');
  const sb = j.securityBlock;
  t.equal(sb.certificates.length, 1);
  t.equal(sb.certificates[0].typeName, 'X.509');
  t.equal(sb.certificates[0].summary.userName, corpus.alice.userName);
  t.equal(sb.certificates[0].certificate, toHex(corpus.alice.certificate));
  t.equal(sb.signature.identity.type, 'cert_hash');
  t.equal(sb.signature.valueLength, 256);
  t.equal(sb.signerCertificate, 0, 'the identity designates certificate 0');
});

t.test('names of codes across bodies', async (t) => {
  const attach = JSON.parse((await run([file('a.bin', entry('attach_req').frame)])).stdout) as J;
  const cands = attach.messageContents.body.candidates;
  t.same(cands.map((x: J) => x.candTypeName), ['host', 'host', 'srflx']);
  t.same(cands.map((x: J) => x.overlayLinkName), ['DTLS-UDP-SR', 'DTLS-UDP-SR', 'DTLS-UDP-SR']);
  t.same(cands[2].relAddrPort, { family: 'ipv4', address: '192.168.1.20', port: 50_000 });
  t.equal(cands[1].addrPort.address, '2001:db8::20');
  t.equal(attach.messageContents.body.roleText, 'passive');
  t.same(cands[0].extensions[0], { name: toHex(Buffer.from('generation')), value: '30', nameText: 'generation', valueText: '0' });

  const noIce = JSON.parse((await run([file('n.bin', entry('attach_req_no_ice').frame)])).stdout) as J;
  t.same(noIce.messageContents.body.candidates.map((x: J) => x.overlayLinkName), ['TLS-TCP-FH-NO-ICE', 'TLS-TCP-FH-NO-ICE']);
  t.same(noIce.forwardingHeader.viaList[1], { type: 'compressed', id: '8123' });

  const err = JSON.parse((await run([file('e.bin', entry('error_unknown_kind').frame)])).stdout) as J;
  t.equal(err.messageContents.messageName, 'error');
  t.equal(err.messageContents.body.errorCodeName, 'Error_Unknown_Kind');
  t.same(err.messageContents.body.unknownKinds, [0xf0000042, 0x7f000001]);
  t.same(err.messageContents.body.unknownKindNames, ['private-use', 'unknown']);

  const forbidden = JSON.parse((await run([file('f.bin', entry('error_forbidden').frame)])).stdout) as J;
  t.equal(forbidden.messageContents.body.errorInfoText, 'signer certificate does not hold the dictionary key Node-ID');

  const low = JSON.parse((await run([file('g.bin', entry('error_generation_counter_too_low').frame)])).stdout) as J;
  t.same(low.messageContents.body.storeAns.kindResponses[0], { kind: 1, kindName: 'SIP-REGISTRATION', generationCounter: '7', replicas: [] });

  const leave = JSON.parse((await run([file('l.bin', entry('leave_req').frame)])).stdout) as J;
  t.equal(leave.messageContents.body.chordLeaveData.type, 'from_succ');
  t.equal(leave.messageContents.body.chordLeaveData.successors.length, 3);

  const ping = JSON.parse((await run([file('p.bin', entry('ping_req').frame)])).stdout) as J;
  t.same(ping.forwardingHeader.options, [{ type: 1, typeName: 'exp-forward', flags: '0x00', flagNames: [], length: 7, value: toHex(Buffer.from('trace-7')) }]);
  t.same(ping.messageContents.extensions, [{ type: 1, typeName: 'exp-ext', critical: false, length: 14, contents: toHex(Buffer.from('exp-ext sample')) }]);

  const cfg = JSON.parse((await run([file('c.bin', entry('config_update_req_config').frame)])).stdout) as J;
  t.match(cfg.messageContents.body.configDataText, /^<\?xml version="1\.0" encoding="UTF-8"\?>\n<overlay /);

  const app = JSON.parse((await run([file('aa.bin', entry('app_attach_req').frame)])).stdout) as J;
  t.equal(app.messageContents.body.applicationName, 'SIP');
  const fetch = JSON.parse((await run([file('fr.bin', entry('fetch_req').frame)])).stdout) as J;
  t.same(fetch.messageContents.body.specifiers.map((s: J) => s.model), ['single', 'array', 'dictionary']);
  t.equal(fetch.securityBlock.signature.identity.type, 'cert_hash');
  const fetchAns = JSON.parse((await run([file('fa.bin', entry('fetch_ans').frame)])).stdout) as J;
  t.equal(fetchAns.securityBlock.signature.identity.type, 'cert_hash_node_id');
  t.equal(fetchAns.securityBlock.signerCertificate, 0);
  t.equal(fetchAns.securityBlock.certificates[1].summary.userName, corpus.alice.userName);
});

t.test('stdin, "-" and a bare message', async (t) => {
  const e = entry('ping_ans');
  const viaStdin = await run([], e.frame);
  t.equal(viaStdin.code, 0);
  const viaDash = await run(['-'], e.frame);
  t.equal(viaDash.stdout, viaStdin.stdout, 'FILE "-" is stdin');
  const j = JSON.parse(viaStdin.stdout) as J;
  t.equal(j.messageContents.messageName, 'ping_ans');
  t.equal(j.messageContents.body.time, String(Date.UTC(2026, 0, 1)));

  const bare = await run(['--check-roundtrip'], e.message);
  t.equal(bare.code, 0);
  const b = JSON.parse(bare.stdout) as J;
  t.notOk('framing' in b, 'no framing for a bare message');
  t.same(b.messageContents, j.messageContents);
  t.match(bare.stderr, `round-trip: ${e.message.length} bytes re-encoded identically`);

  const tcp = await run(['--framing', 'tcp', '-'], e.frame);
  t.equal(tcp.code, 0);
  t.equal((JSON.parse(tcp.stdout) as J).framing.transport, 'tcp');
  const none = await run(['--framing', 'none'], e.message);
  t.equal(none.code, 0);
});

t.test('an ack frame', async (t) => {
  const r = await run([], encodeFrame({ type: 'ack', ackSequence: 10, received: 0b101 }));
  t.equal(r.code, 0);
  t.same(JSON.parse(r.stdout), {
    framing: { transport: 'udp', type: 'ack', typeCode: 129, ackSequence: 10, received: '0x00000005', receivedSequences: [9, 7] },
  });
});

t.test('--check-roundtrip holds for every corpus message', async (t) => {
  for (const e of corpus.entries) {
    const r = await run(['--check-roundtrip', file(e.fileName, e.frame)]);
    t.equal(r.code, 0, `${e.fileName}: ${r.stderr}`);
    t.equal(r.stderr, `round-trip: ${e.frame.length} bytes re-encoded identically\n`, e.fileName);
  }
});

t.test('malformed input: exit 1 and the DecodeError names structure.field', async (t) => {
  const e = entry('probe_req');
  const cases: [string, string[], Uint8Array, RegExp][] = [
    ['truncated frame', [], e.frame.subarray(0, e.frame.length - 10), /DecodeError FramedMessage\.message \[length\] at input byte 5: /],
    ['trailing byte after the frame', [], concatBytes(e.frame, new Uint8Array([0])), /DecodeError FramedMessage\.\(end\) \[trailing\]/],
    ['empty input', [], new Uint8Array(0), /DecodeError Input\.\(start\) \[truncated\]/],
    ['neither a frame nor a message', [], new Uint8Array([0x42, 1, 2, 3]), /DecodeError Input\.\(start\) \[value\] at input byte 0: .*first byte 0x42/],
    [
      'bad relo_token',
      ['--framing', 'none'],
      concatBytes(new Uint8Array([0xd2, 0x45, 0x4c, 0x00]), e.message.subarray(4)),
      /DecodeError ForwardingHeader\.relo_token \[value\] at message byte 0: /,
    ],
    ['two frames on --framing tcp', ['--framing', 'tcp'], concatBytes(e.frame, e.frame), /DecodeError FramedMessage\.\(stream\) \[trailing\].*found 2/],
    ['half a frame on --framing tcp', ['--framing', 'tcp'], e.frame.subarray(0, 100), /DecodeError FramedMessage\.message \[truncated\] at input byte 0: .*stream ends inside a frame/],
  ];
  // A body whose requested_info length (byte 0 of message_body) claims 9 bytes of 3. The
  // error's offset counts from message_body; the message offset adds where the body starts.
  const m = e.message.slice();
  const bodyAt = decodeMessage(m).contentsBytes.byteOffset - m.byteOffset + 6;
  m[bodyAt] = 9;
  const inner = await run(['--framing', 'none'], m);
  t.equal(inner.code, 1, 'inner length too long: exit 1');
  const where = /DecodeError ProbeReq\.requested_info \[length\] at message_body byte (\d+) \(message byte (\d+)\)/.exec(inner.stderr);
  t.ok(where, `inner length too long: ${inner.stderr.trim()}`);
  t.ok(Number(where?.[1]) <= 1, 'at the length prefix or just after it');
  t.equal(Number(where?.[2]), bodyAt + Number(where?.[1]), 'message offset = body start + body offset');
  // The message length field disagreeing with the frame.
  const short = e.message.slice();
  new DataView(short.buffer).setUint32(16, short.length - 1);
  cases.push(['length field mismatch', [], encodeFrame({ type: 'data', sequence: 0, message: short }), /DecodeError ForwardingHeader\.length \[length\] at message byte 16 \(input byte 24\)/]);

  for (const [name, args, bytes, pattern] of cases) {
    const r = await run(args, bytes);
    t.equal(r.code, 1, `${name}: exit 1`);
    t.equal(r.stdout, '', `${name}: nothing on stdout`);
    t.match(r.stderr, pattern, `${name}: ${r.stderr.trim()}`);
  }
});

t.test('the overlay parameters change the decoding', async (t) => {
  const e = entry('update_req');
  const r = await run(['--node-id-length', '20'], e.frame);
  t.equal(r.code, 1, '16-byte Node-ID lists do not parse with NodeIdLength 20');
  t.match(r.stderr, /DecodeError ChordUpdate\.predecessors\.length \[length\]/);
  t.equal((await run(['--node-id-length', '16'], e.frame)).code, 0);
  t.equal((await run(['--kind', '0xf0000001=dictionary'], e.frame)).code, 0);
});

t.test('bad usage exits 2', async (t) => {
  t.equal((await run(['--framing', 'sctp'], entry('ping_req').frame)).code, 2);
  t.equal((await run(['--node-id-length', '8'], entry('ping_req').frame)).code, 2);
  t.equal((await run(['--kind', 'sip=dict'], entry('ping_req').frame)).code, 2);
  t.equal((await run(['a', 'b'])).code, 2);
  t.equal((await run(['--bogus'])).code, 2);
});

t.test('firstDifference reports the first differing byte', async (t) => {
  t.equal(firstDifference(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2, 3])), undefined);
  t.equal(
    firstDifference(new Uint8Array([1, 2, 3]), new Uint8Array([1, 9, 3])),
    'differs at byte 1: input 0x02, re-encoded 0x09 (input 0203…, re-encoded 0903…)',
  );
  t.equal(
    firstDifference(new Uint8Array([1, 2, 3]), new Uint8Array([1, 2])),
    'length differs: input 3 bytes, re-encoded 2 bytes (first 2 identical)',
  );
});
