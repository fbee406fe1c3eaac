/**
 * `reload-node start --sip … --conference URI --focus-capacity N` as a user runs it (the
 * built CLI in a child process): the peer creates the conference as its primary focus, a
 * sipp participant calling the conference URI is answered, and the status API lists the
 * conference with its roster. Usage errors of the new options exit with status 2.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cliPath, startPeer } from '../../helpers/processes.js';
import type { StatusSnapshot } from '../../../src/status/snapshot.js';
import { until } from '../sip/helpers.js';
import { freePort, readSippLog, runSipp, tail } from '../sip/sipp-helpers.js';
import { OVERLAY, discoOverlay } from './helpers.js';

const SCENARIOS = fileURLToPath(new URL('./sipp/', import.meta.url));
const dir = mkdtempSync(join(tmpdir(), 'disco-cli-'));
t.teardown(() => rmSync(dir, { recursive: true, force: true }));
const ov = await discoOverlay();
const id = await ov.identity('p1');
const CONF = `sip:team-conf-p1@${OVERLAY}`;

t.test('option errors', async (t) => {
  const run = (...args: string[]) => spawnSync(process.execPath, [cliPath(), 'start', '--identity', id, ...args], { encoding: 'utf8' });
  const a = run('--focus');
  t.equal(a.status, 2, '--focus without --sip: a usage error');
  t.match(a.stderr, /--focus, --focus-capacity, --focus-coordinate and --conference need --sip/);
  const c = run('--sip', '127.0.0.1:0', '--focus-capacity', '0');
  t.equal(c.status, 2);
  t.match(c.stderr, /--focus-capacity must be an integer from 1 to 65535/);
  const d = run('--sip', '127.0.0.1:0', '--focus', '--focus-coordinate', 'near');
  t.equal(d.status, 2);
  t.match(d.stderr, /--focus-coordinate near: not a landmark bin/);
});

t.test('a peer started with --conference is its primary focus; a phone calls it', async (t) => {
  const sipPort = await freePort();
  const statusPort = await freePort();
  const peer = await startPeer([
    '--identity', id, '--bootstrap', '--listen', 'tls:127.0.0.1:0', '--sip', `127.0.0.1:${sipPort}`,
    '--conference', CONF, '--focus-capacity', '2', '--focus-coordinate', '1.0:0.2', '--status', `127.0.0.1:${statusPort}`, '--update-interval', '1', '--log-level', 'warn',
  ]);
  t.teardown(async () => {
    peer.child.kill('SIGKILL');
    await peer.exited;
  });
  await until('the status page', () => /status page:/.test(peer.output()), 20_000);
  t.match(peer.output(), new RegExp(`disco focus capacity 2 conference ${CONF.replace(/[.]/g, '\\.')}`), 'it says it is a focus of the conference');

  const log = join(dir, 'user1.log');
  const phone = runSipp([
    '-sf', join(SCENARIOS, 'participant-bye.xml'), `127.0.0.1:${sipPort}`, '-s', 'team-conf-p1', '-i', '127.0.0.1', '-p', String(await freePort()),
    '-m', '1', '-nostdin', '-d', '3000', '-timeout', '30s', '-timeout_error', '-trace_msg', '-message_file', log, '-key', 'domain', OVERLAY, '-key', 'user', 'user1',
  ]);
  const api = async (): Promise<StatusSnapshot> => (await (await fetch(`http://127.0.0.1:${statusPort}/api/status`)).json()) as StatusSnapshot;
  let snap = await api();
  const end = Date.now() + 15_000;
  while (!(snap.conferences[0]?.roster.length === 1) && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 200));
    snap = await api();
  }
  t.match(snap.conferences[0], { uri: CONF, role: 'primary', term: 1, usage: 'disco', coordinate: '1.0:0.2' }, '/api/status lists the conference: primary, term 1, its coordinate');
  t.match((snap.conferences[0] as { foci?: string[] }).foci, [/ primary \d\/2 @1\.0:0\.2$/], 'its registration (read back from the overlay) carries capacity 2 and the coordinate');
  t.same(snap.conferences[0]?.roster.map((r) => r.user), [`sip:user1@${OVERLAY}`], 'with the participant in its roster');
  const run = await phone;
  t.equal(run.code, 0, `the participant's scenario completed: INVITE, 200, ACK, BYE, 200 (${tail(run)})`);
  const ok = readSippLog(log).find((m) => m.direction === 'received' && m.startLine.startsWith('SIP/2.0 200') && m.body.length > 0);
  t.match(ok?.bytes.toString('latin1') ?? '', /Contact: <sip:team-conf-p1@[^>]+;gr=[^>]+>;isfocus/, 'the 200 names the focus (isfocus)');
  t.match(ok?.body.toString('latin1') ?? '', /m=audio \d+ RTP\/AVP 0 8\r\n/, 'with an SDP answer to the offer');
  snap = await api();
  const end2 = Date.now() + 10_000;
  while ((snap.conferences[0]?.roster.length ?? 0) !== 0 && Date.now() < end2) {
    await new Promise((r) => setTimeout(r, 200));
    snap = await api();
  }
  t.equal(snap.conferences[0]?.roster.length, 0, 'after the BYE the roster is empty');
  peer.child.kill('SIGTERM');
  t.equal(await peer.exited, 0, 'SIGTERM: the peer leaves and exits 0');
  t.match(peer.output(), /left the overlay/);
});
