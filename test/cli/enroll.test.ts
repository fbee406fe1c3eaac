/**
 * `reload-node enroll` measuring its landmark bin itself, end to end on 127.0.0.1: an
 * overlay with three landmarks (one tls listener, two udp listeners behind delaying
 * relays), the enrollment server, and enroll without --landmark-bin: the CLI prints the
 * RTTs and the bin, and the issued Node-ID carries that bin's prefix
 * (topology/landmarks/strategy.ts). Then --landmark-bin as an override, --no-landmarks,
 * unreachable landmarks, and every bad landmark argument.
 */
import t from 'tap';
import { readFileSync } from 'node:fs';
import * as net from 'node:net';
import { join } from 'node:path';
import { loadIdentity } from '../../certs/enrollment-client.js';
import { overlayPaths } from '../../certs/files.js';
import { serveEnrollmentUntil } from '../../src/cli/commands/serve-enrollment.js';
import { VirtualClock } from '../../src/common/clock.js';
import { UdpTransport } from '../../src/link/udp.js';
import { toHex } from '../../src/wire/codec.js';
import { DEFAULT_LEVEL_BOUNDARIES_MS, binPrefixOf, parseBin, permutationRank } from '../../topology/landmarks/binning.js';
import { captureIO, cli, freePort, tempDir } from '../certs/helpers.js';
import { type UdpRelay, delayingUdpRelay } from '../helpers/udp-relay.js';
import { recorder, waitFor } from '../link/helpers.js';

const OVERLAY = 'landmarks.example.org';

function prefixOf(nodeIdHex: string): { rank: number; levels: number[] } {
  return binPrefixOf(Buffer.from(nodeIdHex, 'hex'), 3);
}

function expectedPrefix(bin: string): { rank: number; levels: number[] } {
  const b = parseBin(bin, 3);
  return { rank: permutationRank(b.ordering), levels: b.levels };
}

t.test('enroll measures the landmarks, sends the bin, and gets a Node-ID with its prefix', async (t) => {
  t.same(DEFAULT_LEVEL_BOUNDARIES_MS, [100, 200], 'the delays below assume levels [0,100) [100,200) [200,∞) ms');
  // Landmark 0: a tls landmark (only its TCP listener matters: the kernel answers the SYN).
  const tcp = net.createServer((s) => {
    s.on('error', () => {});
    s.destroy();
  });
  await new Promise<void>((r) => tcp.listen(0, '127.0.0.1', r));
  const tcpPort = (tcp.address() as net.AddressInfo).port;
  // Landmarks 1 and 2: udp listeners behind relays holding each datagram 65 and 15 ms, so
  // round trips of about 130 ms (level 1) and 30 ms (level 0).
  const udps = [65, 15].map(() => new UdpTransport({ clock: new VirtualClock(0), handlers: recorder(), maxMessageSize: 5000 }));
  const relays: UdpRelay[] = [];
  for (const [i, delay] of [65, 15].entries()) relays.push(await delayingUdpRelay(await udps[i]!.listen({ host: '127.0.0.1', port: 0 }), delay));
  const closeLandmarks = async (): Promise<void> => {
    await new Promise<void>((r) => tcp.close(() => r()));
    for (const r of relays) await r.close();
    for (const u of udps) await u.close();
  };
  let landmarksUp = true;
  t.teardown(async () => {
    if (landmarksUp) await closeLandmarks();
  });

  const dir = tempDir(t);
  const port = await freePort();
  const init = await cli([
    'init-overlay', '--name', OVERLAY, '--dir', dir,
    '--enrollment-url', `https://127.0.0.1:${port}/enroll`,
    '--landmark', `127.0.0.1:${tcpPort}`,
    '--landmark', `udp:127.0.0.1:${relays[0]!.address.port}`,
    '--landmark', `UDP:127.0.0.1:${relays[1]!.address.port}`,
  ]);
  t.equal(init.code, 0, init.err);
  for (const u of ['alice', 'bob', 'carol', 'dave']) {
    t.equal((await cli(['add-user', '--dir', dir, '--user', `${u}@example.org`, '--password', `${u}-pw`])).code, 0);
  }
  const io = captureIO();
  let stop!: () => void;
  const serving = serveEnrollmentUntil(['--dir', dir, '--listen', `127.0.0.1:${port}`], io, new Promise<void>((r) => (stop = r)));
  t.teardown(async () => {
    stop();
    await serving;
  });
  await waitFor(() => io.out().includes('enrollment:'), 20_000, 'the enrollment server');
  const url = `https://127.0.0.1:${port}/.well-known/reload-config`;
  const ca = overlayPaths(dir).caCert;
  const enroll = (user: string, ...extra: string[]) =>
    cli(['enroll', '--url', url, '--user', `${user}@example.org`, '--password', `${user}-pw`, '--out', join(dir, `id-${user}`), '--ca-file', ca, ...extra]);

  // Measured: tls ≈ 0 ms, udp(65) ≈ 130 ms, udp(15) ≈ 30 ms → ordering 0 2 1, levels 0 0 1.
  const a = await enroll('alice');
  t.equal(a.code, 0, a.err);
  t.comment(a.out);
  t.match(a.out, 'landmark RTTs (smallest of 3 probes each):');
  t.match(a.out, new RegExp(`landmark 0 +tls 127\\.0\\.0\\.1:${tcpPort} +\\d+\\.\\d\\d ms`));
  t.match(a.out, new RegExp(`landmark 1 +udp 127\\.0\\.0\\.1:${relays[0]!.address.port} +1[2-9]\\d\\.\\d\\d ms`), 'about 130 ms through the 65 ms relay');
  t.match(a.out, new RegExp(`landmark 2 +udp 127\\.0\\.0\\.1:${relays[1]!.address.port} +[2-9]\\d\\.\\d\\d ms`), 'about 30 ms through the 15 ms relay');
  t.match(a.out, '  landmark bin 0.2.1:0.0.1');
  const aliceId = /Node-ID +([0-9a-f]{32})/.exec(a.out)![1]!;
  t.equal(toHex((await loadIdentity(join(dir, 'id-alice'))).credentials.nodeId), aliceId, 'the printed Node-ID is the certified one');
  t.same(prefixOf(aliceId), expectedPrefix('0.2.1:0.0.1'), "the issued Node-ID carries the measured bin's prefix");
  t.ok(relays.every((r) => r.forwarded === 3), 'three probes through each relay');
  t.match(io.err(), /enrolled alice@example\.org/);

  // --landmark-bin overrides the measurement.
  const b = await enroll('bob', '--landmark-bin', '2.1.0:1.1.2');
  t.equal(b.code, 0, b.err);
  t.notMatch(b.out, 'landmark RTTs', 'nothing measured');
  t.match(b.out, '  landmark bin 2.1.0:1.1.2');
  t.same(prefixOf(/Node-ID +([0-9a-f]{32})/.exec(b.out)![1]!), expectedPrefix('2.1.0:1.1.2'));
  t.equal(relays[0]!.forwarded, 3, 'no probe sent');

  // --no-landmarks: no bin, a random Node-ID.
  const c = await enroll('carol', '--no-landmarks');
  t.equal(c.code, 0, c.err);
  t.notMatch(c.out, 'landmark RTTs');
  t.notMatch(c.out, 'landmark bin');
  t.equal(relays[0]!.forwarded, 3, 'no probe sent');

  // With every landmark gone nothing answers: no bin is sent.
  await closeLandmarks();
  landmarksUp = false;
  const d = await enroll('dave', '--landmark-samples', '2');
  t.equal(d.code, 0, d.err);
  t.match(d.out, 'landmark RTTs (smallest of 2 probes each):');
  t.match(d.out, /landmark 0 +tls 127\.0\.0\.1:\d+ +unreachable +\(TCP connect: ECONNREFUSED\)/);
  t.match(d.out, /landmark 1 +udp 127\.0\.0\.1:\d+ +unreachable +\(UDP: ECONNREFUSED\)/);
  t.notMatch(d.out, 'landmark bin');
  t.match(d.err, 'warning: no landmark answered; enrolling without a landmark bin (random Node-ID)');

  // A bin that does not fit this overlay is refused before anything is sent.
  const bad = await enroll('erin', '--landmark-bin', '0.1:0.0');
  t.equal(bad.code, 2);
  t.match(bad.err, '--landmark-bin 0.1:0.0: landmark bin: ordering names 2 landmarks, the overlay has 3');
});

t.test('bad landmark arguments name the problem and exit 2', async (t) => {
  const dir = tempDir(t);
  const base = ['enroll', '--url', 'https://127.0.0.1:1/x', '--user', 'a@b.c', '--password', 'p', '--out', dir];
  const cases: [string[], string][] = [
    [['--landmark-samples', '0'], '--landmark-samples 0: not a whole number 1..20'],
    [['--landmark-samples', '21'], '--landmark-samples 21: not a whole number 1..20'],
    [['--landmark-samples', 'three'], '--landmark-samples three: not a whole number 1..20'],
    [['--landmark-samples', '2', '--no-landmarks'], '--landmark-samples: nothing is measured with --no-landmarks'],
    [['--landmark-samples', '2', '--landmark-bin', '0:0'], '--landmark-samples: nothing is measured with --landmark-bin'],
    [['--no-landmarks', '--landmark-bin', '0:0'], '--landmark-bin and --no-landmarks contradict each other'],
    [['--landmark-bin', 'near'], '--landmark-bin near: not ORDERING:LEVELS'],
    [['--self-signed', '--landmark-bin', '0:0'], '--self-signed: the Node-ID comes from the key, a landmark bin does not apply'],
  ];
  for (const [extra, message] of cases) {
    const r = await cli([...base, ...extra]);
    t.equal(r.code, 2, `${extra.join(' ')} exits 2`);
    t.match(r.err, message, `${extra.join(' ')} says what is wrong`);
  }
  const init = await cli(['init-overlay', '--name', OVERLAY, '--dir', join(dir, 'o'), '--landmark', 'udp:7000']);
  t.equal(init.code, 0, init.err);
  t.match(readFileSync(overlayPaths(join(dir, 'o')).config, 'utf8'), '<lm:landmark address="udp" port="7000"/>', 'a bare udp:PORT is still HOST:PORT');
});
