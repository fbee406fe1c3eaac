/**
 * A live loopback overlay captured with tshark: every frame must decode as RELOAD in
 * Wireshark's dissector, with no malformed packet and no expert warning or error.
 * - Insecure link (plain UDP with simple reliability): captured on the wire directly.
 * - TLS: captured encrypted, decrypted with the SSLKEYLOGFILE key log. tshark 4.0 does not
 *   hand decrypted TLS to the RELOAD dissector by itself, so each connection's decrypted
 *   streams (`-z follow,tls,raw`) are cut into frames and written as a TCP capture on port
 *   6084, one frame per segment, which the dissector then reads.
 */
import t from 'tap';
import { type ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
import { makeOverlay } from '../helpers/overlay-dir.js';
import { createNodeFromIdentity } from '../../src/node/create.js';
import type { ReloadNode } from '../../src/node/node.js';
import { utf8 } from '../../src/wire/codec.js';
import { resourceIdOf } from '../../src/wire/ids.js';
import { FrameStreamParser, encodeFrame } from '../../src/wire/framing.js';
import { decodeMessage } from '../../src/wire/message.js';
import { KIND_DICT_USER_NODE, KIND_SINGLE_USER } from '../helpers/testnet.js';
import { collect, reloadVerdicts, tsharkJson, tsharkVersion } from '../helpers/tshark.js';
import { tcpPcap } from '../helpers/pcap.js';
import type { TransportKind } from '../../src/link/types.js';

t.comment(`using ${tsharkVersion()}`);
const dir = mkdtempSync(join(tmpdir(), 'reload-capture-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));

/** A TCP port that was free a moment ago (also used for UDP). */
async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
    s.on('error', reject);
  });
}

/** Starts tshark on the loopback interface; resolves once it is capturing. */
function capture(file: string, filter: string): Promise<ChildProcess> {
  const child = spawn('tshark', ['-i', 'lo', '-f', filter, '-w', file, '-q'], { stdio: ['ignore', 'ignore', 'pipe'] });
  return new Promise((resolve, reject) => {
    let err = '';
    const timer = setTimeout(() => reject(new Error(`tshark did not start: ${err}`)), 20_000);
    child.stderr!.on('data', (d: Buffer) => {
      err += d.toString();
      if (/Capturing on/.test(err)) {
        clearTimeout(timer);
        // Give the capture a moment to be really running.
        setTimeout(() => resolve(child), 300);
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`tshark exited (${code}): ${err}`));
    });
  });
}

async function stopCapture(child: ChildProcess): Promise<void> {
  await new Promise((r) => setTimeout(r, 500));
  child.removeAllListeners('exit');
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGINT');
  await done;
}

/** Runs a small overlay doing every kind of traffic; returns the listening ports. */
async function overlayRun(kind: TransportKind, ports: number[]): Promise<void> {
  const ov = await makeOverlay();
  const nodes: ReloadNode[] = [];
  const common = { insecureLink: kind !== 'tls', bootstrapKind: kind, topologyParams: { updateIntervalMs: 1000 } };
  try {
    for (let i = 0; i < ports.length; i++) {
      const { node } = await createNodeFromIdentity(await ov.identity(`p${i}`), {
        ...common,
        listen: [{ kind, host: '127.0.0.1', port: ports[i]! }],
        ...(i === 0 ? { firstNode: true } : { bootstrap: [{ host: '127.0.0.1', port: ports[0]! }] }),
      });
      await node.start();
      nodes.push(node);
    }
    await new Promise((r) => setTimeout(r, 1500));
    for (const n of nodes) {
      const user = n.signer.credentials.certificate.userName!;
      await n.storeValues(user, KIND_SINGLE_USER, [{ model: 'single', value: utf8(`hello from ${user}`) }]);
      await n.storeValues(user, KIND_DICT_USER_NODE, [{ model: 'dictionary', key: n.nodeId, value: utf8('x') }]);
    }
    for (const n of nodes) {
      const user = n.signer.credentials.certificate.userName!;
      // Fetch from a peer that is not responsible, so the Fetch crosses the wire.
      const fetcher = nodes.find((m) => !m.topology.isResponsible(resourceIdOf(user)))!;
      await fetcher.fetchValues(user, KIND_SINGLE_USER);
      await nodes[1]!.stat(nodes[2]!.nodeId, [{ kind: KIND_SINGLE_USER, generation: 0n, model: 'single' }]).catch(() => undefined);
      await nodes[2]!.ping({ type: 'node', id: n.nodeId });
    }
    await nodes[3]!.leave();
    await new Promise((r) => setTimeout(r, 1500));
  } finally {
    for (const n of nodes) await n.stop();
  }
}

t.test('insecure UDP link: a live capture decodes cleanly', async (t) => {
  const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
  const file = join(dir, 'udp.pcapng');
  const cap = await capture(file, ports.map((p) => `udp port ${p}`).join(' or '));
  await overlayRun('udp', ports);
  await stopCapture(cap);
  const packets = tsharkJson(file, ports.map((p) => `udp.port==${p},reload-framing`));
  const v = reloadVerdicts(packets);
  const data = v.filter((x) => x.framingType === 128);
  const acks = v.filter((x) => x.framingType === 129);
  t.ok(data.length > 100, `${data.length} data frames captured`);
  t.ok(acks.length > 100, `${acks.length} ack frames captured`);
  t.same(v.filter((x) => !x.framing).map((x) => x.frame), [], 'every packet decodes as reload-framing');
  // A data frame carries a whole message (its code is shown) or a RELOAD fragment, which
  // Wireshark reassembles and decodes in the frame completing it.
  const fragment = (x: { frame: number }): boolean => {
    const hex = String(collect(packets[x.frame - 1], 'reload_framing.message.data')[0] ?? '').replace(/:/g, '');
    const field = parseInt(hex.slice(24, 32), 16);
    return (field & 0x80000000) !== 0 && (field & 0x40ffffff) !== 0x40000000;
  };
  const fragments = data.filter(fragment);
  t.ok(fragments.length > 0, `${fragments.length} frames carry RELOAD fragments (large messages over UDP)`);
  t.same(data.filter((x) => !fragment(x) && x.codes.length === 0).map((x) => x.frame), [], 'every whole data frame carries a RELOAD message with its code');
  t.same(v.filter((x) => x.malformed).map((x) => x.frame), [], 'no malformed frame');
  t.same(v.filter((x) => x.problems.length).map((x) => `${x.frame}: ${x.problems.join('; ')}`), [], 'no expert warning or error');
  const codes = new Set(data.flatMap((x) => x.codes));
  for (const [name, code] of [['Attach', 3], ['Join', 15], ['Update', 19], ['Store', 7], ['Fetch', 9], ['Ping', 23], ['Leave', 17]] as const) {
    t.ok(codes.has(code) && codes.has(code + 1), `${name} request and answer seen`);
  }
});

t.test('TLS link: the capture, decrypted with the key log, decodes cleanly', async (t) => {
  const ports = [await freePort(), await freePort(), await freePort(), await freePort()];
  const file = join(dir, 'tls.pcapng');
  const keylog = join(dir, 'keys.log');
  writeFileSync(keylog, '');
  const saved = process.env.SSLKEYLOGFILE;
  process.env.SSLKEYLOGFILE = keylog;
  const cap = await capture(file, ports.map((p) => `tcp port ${p}`).join(' or '));
  try {
    await overlayRun('tls', ports);
  } finally {
    if (saved === undefined) delete process.env.SSLKEYLOGFILE;
    else process.env.SSLKEYLOGFILE = saved;
  }
  await stopCapture(cap);
  const tlsOpt = ['-o', `tls.keylog_file:${keylog}`];
  const streams = execFileSync('tshark', ['-r', file, ...tlsOpt, '-T', 'fields', '-e', 'tcp.stream', '-Y', 'tls.app_data'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean);
  const ids = [...new Set(streams.map(Number))];
  t.ok(ids.length >= 3, `${ids.length} TLS connections carried application data`);
  const frames: Uint8Array[] = [];
  let messages = 0;
  for (const id of ids) {
    const out = execFileSync('tshark', ['-r', file, ...tlsOpt, '-q', '-z', `follow,tls,raw,${id}`], { encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
    // Lines of hex: node 0's data unindented, node 1's indented by a tab.
    const dirs: [Uint8Array[], Uint8Array[]] = [[], []];
    for (const line of out.split('\n')) {
      const m = /^(\t?)([0-9a-f]+)$/.exec(line);
      if (m) dirs[m[1] ? 1 : 0].push(new Uint8Array(Buffer.from(m[2]!, 'hex')));
    }
    for (const chunks of dirs) {
      const parser = new FrameStreamParser(1 << 24);
      for (const c of chunks) {
        for (const f of parser.push(c)) {
          frames.push(encodeFrame(f));
          if (f.type === 'data') {
            decodeMessage(f.message); // our own decoder agrees
            messages++;
          }
        }
      }
      t.equal(parser.pending, 0, `stream ${id}: decrypted bytes are whole frames`);
    }
  }
  t.ok(messages > 50, `${messages} RELOAD messages decrypted`);
  const rebuilt = join(dir, 'tls-decrypted.pcap');
  // Wireshark 4.0 shows no fields for an ack frame opening a TCP stream: start with data.
  const firstData = frames.findIndex((f) => f[0] === 0x80);
  frames.push(...frames.splice(0, firstData));
  writeFileSync(rebuilt, tcpPcap(frames));
  const v = reloadVerdicts(tsharkJson(rebuilt, ['tcp.port==6084,reload-framing']));
  const withFraming = v.filter((x) => x.framing);
  t.equal(withFraming.length, frames.length, `every decrypted frame decodes as reload-framing (${withFraming.length} of ${frames.length})`);
  t.same(withFraming.filter((x) => x.framingType === 128 && x.codes.length === 0).map((x) => x.frame), [], 'every data frame carries a RELOAD message');
  t.same(v.filter((x) => x.malformed).map((x) => x.frame), [], 'no malformed frame');
  t.same(v.filter((x) => x.problems.length).map((x) => `${x.frame}: ${x.problems.join('; ')}`), [], 'no expert warning or error');
});
