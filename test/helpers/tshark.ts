/**
 * Running Wireshark's dissector (tshark) over captures and reading its JSON: every value
 * of a field, expert infos, and a per-frame RELOAD verdict.
 */
import { execFileSync } from 'node:child_process';

export type Tree = { [key: string]: unknown };

/** Every value of `key` anywhere below `node`, in document order (arrays flattened). */
export function collect(node: unknown, key: string, out: unknown[] = []): unknown[] {
  if (Array.isArray(node)) {
    for (const n of node) collect(n, key, out);
  } else if (node && typeof node === 'object') {
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

/** Wireshark's expert severity of warnings (PI_WARN); errors are above it. */
export const PI_WARN = 0x00600000;

/** Every expert info of a packet (any severity), with the layer it sits in. */
export function experts(layers: Tree): { protocol: string; severity: number; message: string }[] {
  const out: { protocol: string; severity: number; message: string }[] = [];
  for (const [protocol, layer] of Object.entries(layers)) {
    for (const e of collect(layer, '_ws.expert')) {
      const ex = e as Tree;
      out.push({ protocol, severity: Number(ex['_ws.expert.severity']), message: String(ex['_ws.expert.message']) });
    }
  }
  return out;
}

/** The version line of the installed tshark; throws a clear error when it is missing. */
export function tsharkVersion(): string {
  try {
    return execFileSync('tshark', ['--version'], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }).split('\n')[0]!;
  } catch (err) {
    throw new Error(`tshark is required for the Wireshark conformance tests (apt-get install -y tshark; .ci/run installs it): ${(err as Error).message}`);
  }
}

/** tshark -T json over a capture; `decodeAs` are `-d` rules such as `udp.port==6084,reload-framing`. */
export function tsharkJson(pcap: string, decodeAs: string[] = [], extra: string[] = []): Tree[] {
  const args = ['-r', pcap];
  for (const d of decodeAs) args.push('-d', d);
  args.push(...extra, '-T', 'json', '--no-duplicate-keys');
  const json = execFileSync('tshark', args, { encoding: 'utf8', maxBuffer: 512 * 1024 * 1024, stdio: ['ignore', 'pipe', 'pipe'] });
  return (JSON.parse(json) as { _source: { layers: Tree } }[]).map((p) => p._source.layers);
}

/** What tshark made of one frame carrying RELOAD framing. */
export interface ReloadVerdict {
  frame: number;
  /** reload-framing present. */
  framing: boolean;
  /** FramedMessageType: 128 data, 129 ack. */
  framingType: number | undefined;
  /** reload layer present (data frames). */
  reload: boolean;
  /** Message codes of the RELOAD messages in the frame. */
  codes: number[];
  malformed: boolean;
  /** Expert infos of warning severity or above. */
  problems: string[];
}

export function reloadVerdicts(packets: Tree[]): ReloadVerdict[] {
  return packets.map((layers, i) => {
    const framingTypes = collect(layers, 'reload_framing.type').map(Number);
    const codes = collect(layers, 'reload.message.code').map((c) => Number(c));
    const protocols = String(collect(layers, 'frame.protocols')[0] ?? '').split(':');
    return {
      frame: i + 1,
      framing: framingTypes.length > 0,
      framingType: framingTypes[0],
      reload: protocols.includes('reload'),
      codes,
      malformed: Object.keys(layers).some((k) => k.startsWith('_ws.malformed')) || collect(layers, '_ws.malformed').length > 0,
      problems: experts(layers)
        .filter((e) => e.severity >= PI_WARN)
        .map((e) => `${e.protocol}: ${e.message}`),
    };
  });
}
