/**
 * `reload-node decode [FILE|-] [--check-roundtrip] [--framing auto|udp|tcp|none]`: prints a
 * RELOAD message (bare, or in its RFC 6940 §6.6.2 frame) as JSON (src/wire/json.ts).
 * Malformed input exits 1 with the DecodeError, which names the structure and field.
 */
import { readFile } from 'node:fs/promises';
import { decodeAnyBody, encodeBody, isKnownBody } from '../../wire/body.js';
import { DecodeError, toHex } from '../../wire/codec.js';
import { type DataModel, RELO_TOKEN } from '../../wire/constants.js';
import { type WireContext, wireContext } from '../../wire/context.js';
import { MAX_NODE_ID_LENGTH, MIN_NODE_ID_LENGTH } from '../../wire/destination.js';
import { type FramedMessage, FrameStreamParser, MAX_FRAMED_MESSAGE, decodeFrame, encodeFrame } from '../../wire/framing.js';
import { type FramingInfo, messageToJson } from '../../wire/json.js';
import { type DecodedMessage, decodeMessage, encodeMessage } from '../../wire/message.js';
import { type Command, type CommandIO, UsageError, parseOptions } from '../command.js';

type Framing = 'auto' | 'udp' | 'tcp' | 'none';

export const decodeCommand: Command = {
  name: 'decode',
  summary: 'print a RELOAD message (framed or bare) as JSON; check that it re-encodes byte for byte',
  usage: `
usage: reload-node decode [FILE|-] [--framing auto|udp|tcp|none] [--check-roundtrip]
                          [--node-id-length N] [--kind ID=single|array|dictionary ...]

Reads one RELOAD message from FILE (stdin when FILE is "-" or absent) and prints it as
JSON: the frame, every forwarding-header field, the message code and typed body (stored
values of known Kinds decoded), extensions and the security block.

  --framing auto   0x80/0x81 first byte: a FramedMessage; 0xd2454c4f: a bare message (default)
  --framing udp    exactly one frame (one datagram)
  --framing tcp    a TLS/TCP byte stream holding exactly one frame
  --framing none   a bare RELOAD message
  --check-roundtrip  re-encode the decoded header, body and security block and require
                   identical bytes (exit 1 with the first differing byte otherwise)
  --node-id-length N  the overlay's NodeIdLength, 16..20 (default 16)
  --kind ID=MODEL  the data model of a Kind outside the IANA registry (repeatable)

Exit status: 0 decoded, 1 malformed input or round-trip mismatch, 2 bad usage.
`,
  async run(argv, io) {
    const { values, positionals } = parseOptions(
      argv,
      {
        framing: { type: 'string' },
        'check-roundtrip': { type: 'boolean' },
        'node-id-length': { type: 'string' },
        kind: { type: 'string', multiple: true },
      },
      true,
    );
    if (positionals.length > 1) throw new UsageError('at most one FILE');
    const framing = (values.framing ?? 'auto') as Framing;
    if (!['auto', 'udp', 'tcp', 'none'].includes(framing)) throw new UsageError(`--framing must be auto, udp, tcp or none`);
    const ctx = contextFrom(values['node-id-length'], values.kind);
    const file = positionals[0];
    const input = file === undefined || file === '-' ? await readAll(io.stdin) : new Uint8Array(await readFile(file));

    let located: Located;
    let decoded: DecodedMessage;
    let json: ReturnType<typeof messageToJson>;
    let stage = 'frame';
    try {
      located = unframe(input, framing);
      if (located.frame?.type === 'ack') {
        io.stdout.write(`${JSON.stringify(ackToJson(located.frame, located.transport!), null, 2)}\n`);
        return 0;
      }
      stage = 'message';
      decoded = decodeMessage(located.message);
      stage = 'body';
      json = messageToJson(decoded, ctx, located.info);
    } catch (err) {
      if (!(err instanceof DecodeError)) throw err;
      io.stderr.write(`reload-node decode: malformed input: ${describe(err, stage, located!, decoded!)}\n`);
      return 1;
    }
    io.stdout.write(`${JSON.stringify(json, null, 2)}\n`);

    if (values['check-roundtrip']) {
      const diff = roundTrip(decoded, ctx, located);
      if (diff) {
        io.stderr.write(`reload-node decode: round-trip mismatch: ${diff}\n`);
        return 1;
      }
      io.stderr.write(`round-trip: ${input.length} bytes re-encoded identically\n`);
    }
    return 0;
  },
};

interface Located {
  /** The whole input. */
  input: Uint8Array;
  /** The RELOAD message bytes. */
  message: Uint8Array;
  /** Offset of the message in the input. */
  offset: number;
  frame?: FramedMessage;
  transport?: 'udp' | 'tcp';
  info?: FramingInfo;
}

function unframe(input: Uint8Array, framing: Framing): Located {
  let mode = framing;
  if (mode === 'auto') {
    if (input.length === 0) throw new DecodeError('Input', '(start)', 'truncated', 0, 'empty input');
    const first = input[0]!;
    if (first === 0x80 || first === 0x81) mode = 'udp';
    else if (input.length >= 4 && new DataView(input.buffer, input.byteOffset, 4).getUint32(0) === RELO_TOKEN) mode = 'none';
    else {
      throw new DecodeError(
        'Input',
        '(start)',
        'value',
        0,
        `first byte 0x${first.toString(16).padStart(2, '0')} is neither a FramedMessage type (0x80/0x81) nor the start of relo_token 0xd2454c4f`,
      );
    }
  }
  if (mode === 'none') return { input, message: input, offset: 0 };
  let frame: FramedMessage;
  if (mode === 'udp') {
    frame = decodeFrame(input);
  } else {
    const parser = new FrameStreamParser(MAX_FRAMED_MESSAGE);
    const frames = parser.push(input);
    if (parser.pending > 0) {
      throw new DecodeError('FramedMessage', 'message', 'truncated', input.length - parser.pending, `stream ends inside a frame (${parser.pending} byte(s) buffered)`);
    }
    if (frames.length !== 1) {
      throw new DecodeError('FramedMessage', '(stream)', frames.length === 0 ? 'truncated' : 'trailing', 0, `expected exactly one frame, found ${frames.length}`);
    }
    frame = frames[0]!;
  }
  const transport = mode as 'udp' | 'tcp';
  if (frame.type === 'ack') return { input, message: new Uint8Array(0), offset: 0, frame, transport };
  return {
    input,
    message: frame.message,
    offset: 8,
    frame,
    transport,
    info: { transport, sequence: frame.sequence, length: frame.message.length },
  };
}

function ackToJson(f: Extract<FramedMessage, { type: 'ack' }>, transport: 'udp' | 'tcp') {
  const acked: number[] = [];
  // Bit k from the least significant ↔ sequence ack_sequence − 1 − k (Wireshark's reading).
  for (let k = 0; k < 32; k++) if ((f.received >>> k) & 1 && f.ackSequence - 1 - k >= 0) acked.push(f.ackSequence - 1 - k);
  return {
    framing: {
      transport,
      type: 'ack',
      typeCode: 129,
      ackSequence: f.ackSequence,
      received: `0x${f.received.toString(16).padStart(8, '0')}`,
      receivedSequences: acked,
    },
  };
}

function describe(err: DecodeError, stage: string, located: Located | undefined, decoded: DecodedMessage | undefined): string {
  let where: string;
  if (stage === 'frame') {
    where = `input byte ${err.offset}`;
  } else if (stage === 'message') {
    where = `message byte ${err.offset}${located && located.offset ? ` (input byte ${located.offset + err.offset})` : ''}`;
  } else {
    // Body decoders count from the start of message_body: code(2) and length(4) precede it.
    const bodyStart = decoded && located ? decoded.contentsBytes.byteOffset - located.message.byteOffset + 6 : 0;
    where = `message_body byte ${err.offset} (message byte ${bodyStart + err.offset})`;
  }
  return `DecodeError ${err.structure}.${err.field} [${err.reason}] at ${where}: ${err.message}`;
}

/** Re-encodes the decoded message (and frame); returns a description of the first difference. */
function roundTrip(m: DecodedMessage, ctx: WireContext, located: Located): string | undefined {
  const code = m.contents.code;
  const body = isKnownBody(code) ? encodeBody(code, decodeAnyBody(code, m.contents.body, ctx) as never, ctx) : m.contents.body;
  const reencoded = encodeMessage({
    header: { ...m.header },
    contents: { code, body, extensions: m.contents.extensions },
    security: m.security,
  });
  const messageDiff = firstDifference(located.message, reencoded);
  if (messageDiff) return `message ${messageDiff}`;
  if (located.frame?.type === 'data') {
    const frame = encodeFrame({ type: 'data', sequence: located.frame.sequence, message: reencoded });
    const frameDiff = firstDifference(located.input, frame);
    if (frameDiff) return `frame ${frameDiff}`;
  }
  return undefined;
}

export function firstDifference(a: Uint8Array, b: Uint8Array): string | undefined {
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    if (a[i] !== b[i]) {
      return `differs at byte ${i}: input 0x${a[i]!.toString(16).padStart(2, '0')}, re-encoded 0x${b[i]!.toString(16).padStart(2, '0')} (input ${toHex(a.subarray(i, i + 8))}…, re-encoded ${toHex(b.subarray(i, i + 8))}…)`;
    }
  }
  if (a.length !== b.length) return `length differs: input ${a.length} bytes, re-encoded ${b.length} bytes (first ${n} identical)`;
  return undefined;
}

function contextFrom(nodeIdLength: unknown, kinds: unknown): WireContext {
  let length = 16;
  if (nodeIdLength !== undefined) {
    length = Number(nodeIdLength);
    if (!Number.isInteger(length) || length < MIN_NODE_ID_LENGTH || length > MAX_NODE_ID_LENGTH) {
      throw new UsageError(`--node-id-length must be ${MIN_NODE_ID_LENGTH}..${MAX_NODE_ID_LENGTH}`);
    }
  }
  const extra: [number, DataModel][] = [];
  for (const k of (kinds as string[] | undefined) ?? []) {
    const m = /^(0x[0-9a-fA-F]+|\d+)=(single|array|dictionary)$/.exec(k);
    if (!m) throw new UsageError(`--kind must look like 0xf0000001=dictionary, got ${JSON.stringify(k)}`);
    const id = Number(m[1]);
    if (id <= 0 || id > 0xffffffff) throw new UsageError(`Kind-ID out of range: ${m[1]}`);
    extra.push([id, m[2] as DataModel]);
  }
  return wireContext(extra, length);
}

async function readAll(stream: CommandIO['stdin']): Promise<Uint8Array> {
  const chunks: Buffer[] = [];
  for await (const c of stream as AsyncIterable<Buffer | string>) chunks.push(typeof c === 'string' ? Buffer.from(c) : c);
  return new Uint8Array(Buffer.concat(chunks));
}
