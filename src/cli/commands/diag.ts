/**
 * reload-node diag ping|path-track: RFC 7851 overlay diagnostics as a client. `ping` sends a
 * Ping with the Diagnostic_Ping extension; `path-track` walks the overlay path toward a
 * Node-ID or Resource-ID hop by hop with PathTrack, printing each hop's Node-ID, round-trip
 * time, hop counter and the diagnostics it returned.
 */
import type { ReloadNode } from '../../node/node.js';
import { type PathTrackHop, diagnosticsToJson } from '../../node/diagnostics.js';
import { toHex } from '../../wire/codec.js';
import type { Destination } from '../../wire/destination.js';
import { DIAGNOSTIC_KIND_NAMES, DM_FLAGS_ALL, type DiagnosticsResponse, diagnosticKindByName, dmFlagsOf } from '../../wire/diagnostics.js';
import { resourceIdOf } from '../../wire/ids.js';
import { type Command, type CommandIO, UsageError, parseOptions } from '../command.js';
import { COMMON_HELP, COMMON_OPTIONS, fail, parseHex, withClient } from './client.js';

const usage = `usage: reload-node diag ping|path-track --identity DIR --to NODE-OR-RESOURCE [options]

RFC 7851 overlay diagnostics, run as a client through the bootstrap peer.
  ping         Ping with the Diagnostic_Ping extension: the node's diagnostics and the RTT
  path-track   PathTrack hop by hop toward the destination: per hop its Node-ID, RTT,
               hop counter (the TTL it received), next hop and diagnostics

options:
  --to DEST                  NODE-ID hex (or node:HEX), resource:NAME, or a Resource Name
  --kinds LIST               diagnostic Kinds to ask for: all (default), none, or a comma
                             list of names or numbers (routing_table_size,app_uptime,0x0c)
  --count N                  ping: how many (default 1)
  --max-hops N               path-track: give up after N hops (default: initial-ttl)
${COMMON_HELP}

Diagnostic Kinds: ${Object.values(DIAGNOSTIC_KIND_NAMES).join(', ')}`;

/** --to: a Node-ID in hex (node:HEX), resource:NAME, or any other text as a Resource Name. */
export function diagDestination(text: string, nodeIdLength: number): Destination {
  if (text === '' || text === 'wildcard' || text === '*') throw new UsageError('--to must name a node or a resource (diagnostics never go to the wildcard Node-ID)');
  if (text.startsWith('resource:')) return { type: 'resource', id: resourceIdOf(text.slice(9), nodeIdLength) };
  if (text.startsWith('node:')) {
    const id = parseHex(text.slice(5), '--to');
    if (id.length !== nodeIdLength) throw new UsageError(`--to Node-ID must be ${nodeIdLength} bytes of hex`);
    if (id.every((b) => b === 0xff)) throw new UsageError('--to must not be the wildcard Node-ID');
    return { type: 'node', id };
  }
  if (new RegExp(`^[0-9a-fA-F]{${nodeIdLength * 2}}$`).test(text)) return diagDestination(`node:${text}`, nodeIdLength);
  return { type: 'resource', id: resourceIdOf(text, nodeIdLength) };
}

/** --kinds: dMFlags. */
export function diagFlags(text: string): bigint {
  if (text === 'all') return DM_FLAGS_ALL;
  if (text === 'none') return 0n;
  const kinds = text.split(',').map((k) => {
    const t = k.trim();
    const n = /^0x[0-9a-f]+$/i.test(t) ? parseInt(t, 16) : /^\d+$/.test(t) ? Number(t) : diagnosticKindByName(t);
    if (n === undefined || !(n >= 1 && n <= 62)) throw new UsageError(`--kinds: unknown diagnostic Kind "${t}"`);
    return n;
  });
  return dmFlagsOf(kinds);
}

function positive(text: unknown, what: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`${what} must be a positive integer`);
  return n;
}

function describe(d: Destination): string {
  return `${d.type} ${d.type === 'compressed' ? d.id : toHex(d.id)}`;
}

function diagnosticsLine(r: DiagnosticsResponse): string {
  const j = diagnosticsToJson(r.info);
  const parts = Object.entries(j).map(([k, v]) => `${k}=${JSON.stringify(v)}`);
  return parts.length ? parts.join(' ') : '(no diagnostics returned)';
}

function hopJson(h: PathTrackHop): Record<string, unknown> {
  return {
    hop: h.hop,
    nodeId: toHex(h.nodeId),
    nextHop: toHex(h.nextHop),
    responsible: h.responsible,
    rttMs: Math.round(h.rttMs * 10) / 10,
    links: h.hops,
    hopCounter: h.response.hopCounter,
    diagnostics: diagnosticsToJson(h.response.info),
  };
}

async function runPing(node: ReloadNode, dest: Destination, flags: bigint, count: number, json: boolean, io: CommandIO): Promise<number> {
  if (!json) io.stdout.write(`diagnostic ping to ${describe(dest)}\n`);
  for (let i = 0; i < count; i++) {
    const r = await node.diagnostics.ping(dest, { dmFlags: flags });
    const out = {
      from: toHex(r.from),
      rttMs: Math.round(r.rttMs * 10) / 10,
      links: r.hops,
      hopCounter: r.response?.hopCounter ?? null,
      diagnostics: r.response ? diagnosticsToJson(r.response.info) : null,
    };
    if (json) io.stdout.write(`${JSON.stringify(out)}\n`);
    else {
      const ttl = r.response ? `, ttl ${r.response.hopCounter}` : '';
      io.stdout.write(`pong from ${out.from}: ${out.rttMs} ms, ${r.hops} link(s)${ttl}\n`);
      io.stdout.write(`  ${r.response ? diagnosticsLine(r.response) : '(the responder does not support RFC 7851 diagnostics)'}\n`);
    }
  }
  return 0;
}

async function runPathTrack(node: ReloadNode, dest: Destination, flags: bigint, maxHops: number | undefined, json: boolean, io: CommandIO): Promise<number> {
  if (!json) io.stdout.write(`path-track to ${describe(dest)}\n`);
  for await (const h of node.diagnostics.pathTrack(dest, { dmFlags: flags, ...(maxHops ? { maxHops } : {}) })) {
    const j = hopJson(h);
    if (json) {
      io.stdout.write(`${JSON.stringify(j)}\n`);
      continue;
    }
    const tail = h.responsible ? 'responsible' : `next ${j.nextHop as string}`;
    io.stdout.write(`hop ${h.hop}  ${j.nodeId as string}  ${j.rttMs as number} ms  ttl ${h.response.hopCounter} (${h.hops} link(s))  ${tail}\n`);
    io.stdout.write(`       ${diagnosticsLine(h.response)}\n`);
  }
  return 0;
}

export const diagCommand: Command = {
  name: 'diag',
  summary: 'RFC 7851 diagnostics: diag ping / diag path-track --to NODE-OR-RESOURCE',
  usage,
  async run(argv, io) {
    const { values, positionals } = parseOptions(
      argv,
      { ...COMMON_OPTIONS, to: { type: 'string' }, kinds: { type: 'string', default: 'all' }, count: { type: 'string', default: '1' }, 'max-hops': { type: 'string' } },
      true,
    );
    const [mode, ...extra] = positionals;
    if (mode !== 'ping' && mode !== 'path-track') throw new UsageError('say which diagnostic: diag ping or diag path-track');
    if (extra.length) throw new UsageError(`unexpected argument "${extra[0]}"`);
    if (typeof values.to !== 'string') throw new UsageError('--to is required');
    const to = values.to;
    const flags = diagFlags(String(values.kinds));
    const count = positive(values.count, '--count');
    const maxHops = values['max-hops'] !== undefined ? positive(values['max-hops'], '--max-hops') : undefined;
    const json = values.json === true;
    return withClient(values, async (node) => {
      const dest = diagDestination(to, node.params.nodeIdLength);
      try {
        return mode === 'ping' ? await runPing(node, dest, flags, count, json, io) : await runPathTrack(node, dest, flags, maxHops, json, io);
      } catch (err) {
        return fail(io, err);
      }
    });
  },
};
