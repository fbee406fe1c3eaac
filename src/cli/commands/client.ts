/**
 * Client commands (RFC 6940 §3.2 clients: route through one peer, store nothing):
 * store, fetch, stat, find, ping and route. Each starts a client node with the identity,
 * connects to a bootstrap node, runs one operation, prints the result and leaves.
 */
import { createNodeFromIdentity } from '../../node/create.js';
import type { ReloadNode } from '../../node/node.js';
import type { VerifiedValue } from '../../node/data.js';
import { ReloadError } from '../../common/errors.js';
import { decodeBody, encodeBody } from '../../wire/body.js';
import { fromHex, toHex, utf8 } from '../../wire/codec.js';
import { ARRAY_INDEX_LAST, MessageCode, errorCodeName } from '../../wire/constants.js';
import type { Destination } from '../../wire/destination.js';
import { resourceIdOf } from '../../wire/ids.js';
import { type Command, type CommandIO, UsageError, parseOptions, required } from '../command.js';
import { createLogger } from '../logging.js';
import { asArray, parseHostPort } from '../node-options.js';
import { loadUsageModules, usagesRequiredBy } from '../usages.js';
import { loadIdentity } from '../../../certs/enrollment-client.js';

export const COMMON_OPTIONS = {
  identity: { type: 'string' },
  'bootstrap-node': { type: 'string', multiple: true },
  'insecure-link': { type: 'boolean' },
  transport: { type: 'string', default: 'tls' },
  usage: { type: 'string', multiple: true },
  json: { type: 'boolean' },
  'log-level': { type: 'string', default: 'warn' },
} as const;

export const COMMON_HELP = `
  --identity DIR             identity directory (cert.pem, key.pem, config.xml)
  --bootstrap-node HOST:PORT node to connect through (default: the configuration's)
  --transport tls|udp|tcp    link to the bootstrap node (udp/tcp need --insecure-link)
  --insecure-link            allow plain udp/tcp links
  --usage FILE               load a usage module (its Kinds become known by name)
  --json                     print JSON
  --log-level LEVEL          default warn`;

type Values = Record<string, string | boolean | (string | boolean)[] | undefined>;

export async function withClient<T>(values: Values, fn: (node: ReloadNode) => Promise<T>): Promise<T> {
  const transport = String(values.transport);
  if (!['tls', 'udp', 'tcp'].includes(transport)) throw new UsageError('--transport must be tls, udp or tcp');
  const bootstrap = asArray(values['bootstrap-node']).map((b) => parseHostPort(b, '--bootstrap-node', 6084));
  const dir = required(values, 'identity');
  const usages = await loadUsageModules(asArray(values.usage));
  usages.push(...usagesRequiredBy((await loadIdentity(dir)).config, usages));
  const { node } = await createNodeFromIdentity(dir, {
    role: 'client',
    insecureLink: values['insecure-link'] === true,
    bootstrapKind: transport as 'tls' | 'udp' | 'tcp',
    ...(bootstrap.length ? { bootstrap } : {}),
    usages,
    log: createLogger(String(values['log-level'])),
  });
  await node.start();
  try {
    return await fn(node);
  } finally {
    await node.stop();
  }
}

/** --kind NAME or number (decimal or 0x hex). */
function kindId(node: ReloadNode, text: string): number {
  const byName = node.kinds.byName(text);
  if (byName) return byName.id;
  const n = /^0x[0-9a-f]+$/i.test(text) ? parseInt(text, 16) : /^\d+$/.test(text) ? Number(text) : NaN;
  if (!Number.isInteger(n) || !node.kinds.get(n)) {
    const known = node.kinds.all().map((k) => k.name ?? String(k.id));
    throw new UsageError(`unknown Kind "${text}" (known: ${known.join(', ') || 'none'})`);
  }
  return n;
}

/** --resource NAME (hashed) or --resource-id HEX. */
function resourceOf(values: Values, node: ReloadNode): Uint8Array {
  if (typeof values['resource-id'] === 'string') return parseHex(values['resource-id'], '--resource-id');
  return resourceIdOf(required(values, 'resource'), node.params.nodeIdLength);
}

export function parseHex(text: string, what: string): Uint8Array {
  try {
    return fromHex(text);
  } catch {
    throw new UsageError(`${what} must be hex, got "${text}"`);
  }
}

/** A dictionary key: "self" = own Node-ID, hex:…, else the UTF-8 text. */
function keyOf(text: string, node: ReloadNode): Uint8Array {
  if (text === 'self') return node.nodeId;
  if (text.startsWith('hex:')) return parseHex(text.slice(4), '--key');
  return utf8(text);
}

function printable(b: Uint8Array): string {
  const s = Buffer.from(b).toString('utf8');
  return /^[\x20-\x7e\t\r\n]*$/.test(s) ? s : `hex:${toHex(b)}`;
}

function valueJson(v: VerifiedValue): Record<string, unknown> {
  const d = v.data;
  const out: Record<string, unknown> = {};
  if (d.value.model === 'array') out.index = d.value.index;
  if (d.value.model === 'dictionary') out.key = printable(d.value.key);
  out.exists = d.value.value.exists;
  out.value = printable(d.value.value.value);
  out.storageTime = new Date(Number(d.storageTime)).toISOString();
  out.lifetime = d.lifetime;
  if (v.signer) out.signer = { user: v.signer.certificate.userName, nodeId: toHex(v.signer.nodeId) };
  return out;
}

export function fail(io: CommandIO, err: unknown): number {
  if (err instanceof ReloadError) {
    io.stderr.write(`${errorCodeName(err.errorCode)}: ${err.message}\n`);
    return 1;
  }
  throw err;
}

export const storeCommand: Command = {
  name: 'store',
  summary: 'store a value (as a client) and print the generation counter',
  usage: `usage: reload-node store --identity DIR --kind KIND (--resource NAME | --resource-id HEX)
                         [--key K | --index I] (--value TEXT | --value-hex HEX | --delete) [--lifetime S]
${COMMON_HELP}
  --key K       dictionary key ("self" = own Node-ID, hex:..., or text; default self)
  --index I     array index (default: append)
  --delete      store a non-existent value (RFC 6940 §7.2 removal)`,
  async run(argv, io) {
    const { values } = parseOptions(argv, {
      ...COMMON_OPTIONS,
      kind: { type: 'string' },
      resource: { type: 'string' },
      'resource-id': { type: 'string' },
      key: { type: 'string' },
      index: { type: 'string' },
      value: { type: 'string' },
      'value-hex': { type: 'string' },
      delete: { type: 'boolean' },
      lifetime: { type: 'string', default: '3600' },
    });
    const kindText = required(values, 'kind');
    const lifetimeS = Number(values.lifetime);
    if (!Number.isInteger(lifetimeS) || lifetimeS < 0) throw new UsageError('--lifetime must be whole seconds');
    const del = values.delete === true;
    if (!del && values.value === undefined && values['value-hex'] === undefined) {
      throw new UsageError('one of --value, --value-hex or --delete is required');
    }
    const value = values['value-hex'] !== undefined ? parseHex(String(values['value-hex']), '--value-hex') : utf8(String(values.value ?? ''));
    return withClient(values, async (node) => {
      const kind = kindId(node, kindText);
      const model = node.kinds.dataModel(kind)!;
      const resource = resourceOf(values, node);
      const exists = !del;
      let v;
      if (model === 'single') v = { model, value, exists } as const;
      else if (model === 'array') {
        const index = values.index === undefined ? ARRAY_INDEX_LAST : Number(values.index);
        if (!Number.isInteger(index) || index < 0 || index > 0xffffffff) throw new UsageError('--index must be 0..4294967295');
        v = { model, index, value, exists } as const;
      } else v = { model, key: keyOf(String(values.key ?? 'self'), node), value, exists } as const;
      try {
        const ans = await node.storeValues({ id: resource }, kind, [v], { lifetimeS });
        const r = ans.kindResponses[0]!;
        if (values.json) {
          io.stdout.write(`${JSON.stringify({ resource: toHex(resource), kind, generation: r.generationCounter.toString(), replicas: r.replicas.map(toHex) })}\n`);
        } else {
          io.stdout.write(`stored kind ${kind} at ${toHex(resource)}: generation ${r.generationCounter}, replicas ${r.replicas.map(toHex).join(', ') || 'none'}\n`);
        }
        return 0;
      } catch (err) {
        return fail(io, err);
      }
    });
  },
};

export const fetchCommand: Command = {
  name: 'fetch',
  summary: 'fetch values (as a client), verifying every signature',
  usage: `usage: reload-node fetch --identity DIR --kind KIND (--resource NAME | --resource-id HEX) [--key K]... [--index I]...
${COMMON_HELP}`,
  async run(argv, io) {
    const { values } = parseOptions(argv, {
      ...COMMON_OPTIONS,
      kind: { type: 'string' },
      resource: { type: 'string' },
      'resource-id': { type: 'string' },
      key: { type: 'string', multiple: true },
      index: { type: 'string', multiple: true },
    });
    const kindText = required(values, 'kind');
    return withClient(values, async (node) => {
      const kind = kindId(node, kindText);
      const resource = resourceOf(values, node);
      const keys = asArray(values.key).map((k) => keyOf(k, node));
      const indices = asArray(values.index).map((i) => ({ first: Number(i), last: Number(i) }));
      const spec = keys.length ? { keys } : indices.length ? { indices } : {};
      try {
        const r = await node.fetchValues({ id: resource }, kind, spec);
        const real = r.values.filter((v) => !v.synthetic);
        if (values.json) {
          io.stdout.write(
            `${JSON.stringify({ resource: toHex(resource), kind, generation: r.generation.toString(), from: toHex(r.from), rejected: r.rejected, values: real.map(valueJson) })}\n`,
          );
        } else {
          io.stdout.write(`kind ${kind} at ${toHex(resource)} (generation ${r.generation}, from ${toHex(r.from)}): ${real.length} value(s)\n`);
          for (const v of real) io.stdout.write(`  ${JSON.stringify(valueJson(v))}\n`);
          if (r.rejected) io.stdout.write(`  ${r.rejected} value(s) dropped: bad signature\n`);
        }
        return 0;
      } catch (err) {
        return fail(io, err);
      }
    });
  },
};

export const statCommand: Command = {
  name: 'stat',
  summary: 'metadata of stored values (as a client)',
  usage: `usage: reload-node stat --identity DIR --kind KIND (--resource NAME | --resource-id HEX)
${COMMON_HELP}`,
  async run(argv, io) {
    const { values } = parseOptions(argv, { ...COMMON_OPTIONS, kind: { type: 'string' }, resource: { type: 'string' }, 'resource-id': { type: 'string' } });
    const kindText = required(values, 'kind');
    return withClient(values, async (node) => {
      const kind = kindId(node, kindText);
      const resource = resourceOf(values, node);
      try {
        const api = node.usageApi('cli');
        const ans = await api.stat({ id: resource }, kind);
        const k = ans.kindResponses[0];
        const rows = (k?.values ?? []).map((m) => {
          const md = m.metadata;
          const base: Record<string, unknown> = { storageTime: new Date(Number(m.storageTime)).toISOString(), lifetime: m.lifetime };
          if (md.model === 'unknown') return { ...base, raw: toHex(md.raw) };
          if (md.model === 'array') base.index = md.index;
          if (md.model === 'dictionary') base.key = printable(md.key);
          return { ...base, exists: md.metadata.exists, valueLength: md.metadata.valueLength, hash: toHex(md.metadata.hashValue) };
        });
        const out = { resource: toHex(resource), kind, generation: (k?.generation ?? 0n).toString(), values: rows };
        io.stdout.write(values.json ? `${JSON.stringify(out)}\n` : `${JSON.stringify(out, null, 2)}\n`);
        return 0;
      } catch (err) {
        return fail(io, err);
      }
    });
  },
};

export const findCommand: Command = {
  name: 'find',
  summary: 'closest stored Resource-IDs per Kind at the responsible peer (as a client)',
  usage: `usage: reload-node find --identity DIR --kind KIND... (--resource NAME | --resource-id HEX)
${COMMON_HELP}`,
  async run(argv, io) {
    const { values } = parseOptions(argv, { ...COMMON_OPTIONS, kind: { type: 'string', multiple: true }, resource: { type: 'string' }, 'resource-id': { type: 'string' } });
    const kinds = asArray(values.kind);
    if (kinds.length === 0) throw new UsageError('--kind is required');
    return withClient(values, async (node) => {
      const ids = kinds.map((k) => kindId(node, k));
      const resource = resourceOf(values, node);
      try {
        const ans = await node.find(resource, ids);
        const out = ans.results.map((r) => ({ kind: r.kind, closest: toHex(r.closest) }));
        io.stdout.write(`${JSON.stringify({ resource: toHex(resource), results: out })}\n`);
        return 0;
      } catch (err) {
        return fail(io, err);
      }
    });
  },
};

/** --to NODE-ID-HEX, node:HEX, resource:NAME or wildcard. */
function destinationOf(text: string, node: ReloadNode): Destination {
  if (text === 'wildcard' || text === '*') return { type: 'node', id: new Uint8Array(node.params.nodeIdLength).fill(0xff) };
  if (text.startsWith('resource:')) return { type: 'resource', id: resourceIdOf(text.slice(9), node.params.nodeIdLength) };
  const hex = text.startsWith('node:') ? text.slice(5) : text;
  const id = parseHex(hex, '--to');
  if (id.length !== node.params.nodeIdLength) throw new UsageError(`--to Node-ID must be ${node.params.nodeIdLength} bytes of hex`);
  return { type: 'node', id };
}

export const pingCommand: Command = {
  name: 'ping',
  summary: 'RELOAD Ping a node or the peer responsible for a resource (as a client)',
  usage: `usage: reload-node ping --identity DIR [--to NODE-ID | node:HEX | resource:NAME | wildcard] [--count N]
${COMMON_HELP}`,
  async run(argv, io) {
    const { values } = parseOptions(argv, { ...COMMON_OPTIONS, to: { type: 'string', default: 'wildcard' }, count: { type: 'string', default: '1' } });
    const count = Number(values.count);
    if (!Number.isInteger(count) || count < 1) throw new UsageError('--count must be a positive integer');
    return withClient(values, async (node) => {
      const dest = destinationOf(String(values.to), node);
      try {
        for (let i = 0; i < count; i++) {
          const r = await node.ping(dest);
          const line = { from: toHex(r.from), rttMs: Math.round(r.rttMs * 10) / 10, time: new Date(Number(r.time)).toISOString() };
          io.stdout.write(values.json ? `${JSON.stringify(line)}\n` : `pong from ${line.from}: ${line.rttMs} ms\n`);
        }
        return 0;
      } catch (err) {
        return fail(io, err);
      }
    });
  },
};

export const routeCommand: Command = {
  name: 'route',
  summary: 'RouteQuery: ask the bootstrap peer for its next hop toward a destination',
  usage: `usage: reload-node route --identity DIR --to NODE-ID | resource:NAME [--via NODE-ID]
${COMMON_HELP}`,
  async run(argv, io) {
    const { values } = parseOptions(argv, { ...COMMON_OPTIONS, to: { type: 'string' }, via: { type: 'string' } });
    const to = required(values, 'to');
    return withClient(values, async (node) => {
      const dest = destinationOf(to, node);
      const via: Destination = values.via
        ? destinationOf(String(values.via), node)
        : { type: 'node', id: node.router.gateway?.nodeId ?? new Uint8Array(node.params.nodeIdLength).fill(0xff) };
      try {
        const body = encodeBody(MessageCode.routeQueryReq, { sendUpdate: false, destination: dest, overlaySpecificData: new Uint8Array(0) }, node.kinds);
        const ans = await node.request([via], MessageCode.routeQueryReq, body);
        const next = decodeBody(MessageCode.routeQueryAns, ans.body, node.kinds).nextPeer;
        const out = { asked: toHex(ans.from), nextPeer: toHex(next), responsible: toHex(next) === toHex(ans.from) };
        io.stdout.write(values.json ? `${JSON.stringify(out)}\n` : `${out.asked} -> next hop ${out.nextPeer}${out.responsible ? ' (responsible itself)' : ''}\n`);
        return 0;
      } catch (err) {
        return fail(io, err);
      }
    });
  },
};
