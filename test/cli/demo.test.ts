/**
 * `reload-node demo` (what `npm start` runs) brings an overlay up from nothing: 8 peers on
 * loopback TLS, each with a SIP front end and a status page, alice and bob registered by the
 * demo's phones. What it prints works from another process, exactly as a user would type it
 * in a second terminal: the fetch of alice's registration, a stock `sipp -sn uac` call to
 * alice, the status pages; and Ctrl-C (SIGINT) makes every peer leave.
 */
import t from 'tap';
import { execFile, spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { promisify } from 'node:util';
import { fileURLToPath } from 'node:url';
import { cliPath } from '../helpers/processes.js';
import { fromHex, toHex } from '../../src/wire/codec.js';
import { createServer } from 'node:net';
// Narrow imports: this file only drives the demo process (keeps its start-up fast).
import { decodeSipRegistration } from '../../usages/sip/registration.js';
import type { StatusSnapshot } from '../../src/status/snapshot.js';

const run = promisify(execFile);

/** A loopback port that was free a moment ago (for sipp's own socket). */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as { port: number };
      srv.close(() => resolve(port));
    });
  });
}
const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const PEERS = 8;

/** Runs a command line the demo printed, as a shell would split it (no quoting in them), from the repo root. */
function runPrinted(line: string) {
  const [cmd, ...args] = line.trim().split(/\s+/);
  return run(cmd === 'node' ? process.execPath : cmd!, args, { cwd: ROOT, timeout: 30_000 });
}

// From the project directory, as `npm start` runs it (the printed paths are relative to it).
const child = spawn(process.execPath, [cliPath(), 'demo'], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
let out = '';
child.stdout.on('data', (d: Buffer) => void (out += d.toString()));
child.stderr.on('data', (d: Buffer) => void (out += d.toString()));
const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
t.teardown(() => void child.kill('SIGKILL'));
const started = Date.now();
while (!/press Ctrl-C/.test(out)) {
  if (Date.now() - started > 45_000 || child.exitCode !== null) throw new Error(`demo did not come up:\n${out}`);
  await new Promise((r) => setTimeout(r, 200));
}
t.comment(`demo up with ${PEERS} peers in ${Date.now() - started} ms`);
const dir = /working directory (\/\S+)/.exec(out)![1]!;
const overlay = 'demo.reload.example';
const printed = (re: RegExp): string => {
  const m = re.exec(out);
  if (!m) throw new Error(`the demo did not print ${re}:\n${out}`);
  return m[1]!;
};

t.test('every step is printed as it happens', async (t) => {
  t.match(out, /created overlay demo\.reload\.example: CA \S+root\.pem/, 'the overlay');
  t.match(out, /enrollment server at https:\/\/127\.0\.0\.1:\d+\/\.well-known\/reload-config/, 'the enrollment server');
  t.match(out, /bootstrap peer 1 enrolled as peer1@/, 'the bootstrap peer');
  t.equal(out.match(/enrolled as peer\d@.*joined on tls:127\.0\.0\.1:\d+, SIP udp\/tcp:127\.0\.0\.1:\d+, status http/g)?.length, PEERS, `${PEERS} peers with a SIP front end and a status page`);
  t.match(out, /SIP user alice@demo\.reload\.example registered at peer 2's front end/, 'alice registered');
  t.match(out, /SIP user bob@demo\.reload\.example registered at peer 3's front end/, 'bob registered');
  t.equal(out.match(/^\[demo\] +peer \d: status page http:\/\/127\.0\.0\.1:\d+\/ {2}SIP udp\/tcp 127\.0\.0\.1:\d+$/gm)?.length, PEERS, 'the addresses to try, one line per peer');
});

t.test("the printed fetch shows alice's registration, pointing at peer 2", async (t) => {
  const line = printed(/fetch alice's registration: (.*)$/m);
  t.match(line, new RegExp(`fetch --identity ${dir}/bob --kind SIP-REGISTRATION --resource alice@${overlay}`));
  const r = await runPrinted(`${line} --json`);
  const f = JSON.parse(r.stdout) as { values: { exists: boolean; value: string; signer: { user: string } }[] };
  const live = f.values.filter((v) => v.exists);
  t.equal(live.length, 1, 'one live SIP-REGISTRATION entry');
  t.equal(live[0]!.signer.user, `alice@${overlay}`, "signed with alice's identity");
  const reg = decodeSipRegistration(fromHex(live[0]!.value.replace(/^hex:/, '')));
  const peer2 = printed(/^\[demo\] peer 2 enrolled as \S+, Node-ID ([0-9a-f]+)/m);
  t.same(reg.type === 'route' ? reg.destinations.map((d) => d.type === 'node' && toHex(d.id)) : reg, [peer2], "a route to peer 2 (alice's front end)");
});

t.test('the printed sipp call reaches alice across the overlay', async (t) => {
  const line = printed(/call alice with sipp: (.*)$/m);
  t.match(line, /^sipp -sn uac -s alice 127\.0\.0\.1:\d+ -m 1$/, 'a stock sipp scenario');
  const logs = mkdtempSync(join(tmpdir(), 'demo-sipp-'));
  t.teardown(() => rmSync(logs, { recursive: true, force: true }));
  // What a user types, plus what a test needs: its own port, no keyboard, a time limit, logs.
  const extra = ['-p', String(await freePort()), '-nostdin', '-timeout', '20s', '-timeout_error', '-trace_msg'];
  const [, ...args] = line.split(' ');
  const r = spawnSync('sipp', [...args, ...extra], { cwd: logs, encoding: 'utf8', timeout: 30_000 });
  t.equal(r.status, 0, `the call completed: INVITE, 180, 200, ACK, BYE, 200 (${(r.stderr || r.stdout).slice(-300)})`);
  const log = readdirSync(logs).find((f) => f.endsWith('_messages.log'));
  const msgs = log ? readFileSync(join(logs, log), 'latin1') : '';
  t.match(msgs, /SIP\/2\.0 180 Ringing/, 'alice rang');
  t.match(msgs, /SIP\/2\.0 200 OK[\s\S]*CSeq: 1 INVITE[\s\S]*o=alice /, "answered by alice's phone, with its SDP");
  const sipPort = Number(line.split(' ')[5]!.split(':')[1]);
  const peer1Sip = Number(printed(/^\[demo\] +peer 1: .* SIP udp\/tcp 127\.0\.0\.1:(\d+)$/m));
  t.equal(sipPort, peer1Sip, 'placed through peer 1, which resolves alice in the overlay and reaches peer 2');
  const deadline = Date.now() + 5000;
  while (!/alice: call \S+ ended by BYE/.test(out) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
  t.match(out, /alice: answered call .* from sipp/, 'the demo printed the answered call');
  t.match(out, /alice: call \S+ ended by BYE/, 'and its end');
});

t.test('the printed conference call: three sipp callers, served by more than one focus', async (t) => {
  const uri = printed(/^\[demo\] conference (sip:\S+): primary focus peer 4, focus-capable peers 4, 5, 6 \(2 participants each/m);
  const line = printed(/join the conference \S+ with 3 sipp callers: (.*)$/m);
  t.match(line, /^sipp -sf src\/demo\/sipp\/call\.xml -s demo-conf-peer4 127\.0\.0\.1:\d+ -m 3 -l 3 -d 20000$/);
  const logs = mkdtempSync(join(tmpdir(), 'demo-conf-'));
  t.teardown(() => rmSync(logs, { recursive: true, force: true }));
  // As printed, from the project directory (the scenario path is relative), but the callers
  // stay 4 s instead of 20, and the logs go to the temporary directory.
  const args = line.split(' ').slice(1).map((a) => (a === '20000' ? '4000' : a));
  const extra = ['-p', String(await freePort()), '-nostdin', '-timeout', '30s', '-timeout_error', '-trace_msg', '-message_file', join(logs, 'msgs.log'), '-trace_err', '-error_file', join(logs, 'errors.log')];
  const sipp = spawn('sipp', [...args, ...extra], { cwd: ROOT, stdio: ['ignore', 'pipe', 'pipe'] });
  let sippOut = '';
  sipp.stdout.on('data', (d: Buffer) => void (sippOut += d.toString()));
  sipp.stderr.on('data', (d: Buffer) => void (sippOut += d.toString()));
  const done = new Promise<number | null>((r) => sipp.on('exit', (code) => r(code)));
  t.teardown(() => void sipp.kill('SIGKILL'));

  // The primary focus' status page while the three are in the call.
  const primaryPage = printed(/^\[demo\] +peer 4: status page (http:\/\/\S+)/m);
  type Conf = StatusSnapshot['conferences'][number] & { foci?: string[]; participants?: number };
  const conference = async (): Promise<Conf | undefined> =>
    ((await (await fetch(new URL('api/status', primaryPage))).json()) as StatusSnapshot).conferences.find((c) => c.uri === uri) as Conf | undefined;
  let seen: Conf | undefined;
  const end = Date.now() + 15_000;
  while (Date.now() < end) {
    seen = await conference();
    if ((seen?.roster.length ?? 0) >= 3) break;
    await new Promise((r) => setTimeout(r, 250));
  }
  t.equal(seen?.roster.length, 3, `the primary's status page lists the three callers (${JSON.stringify(seen?.roster.map((r) => r.user))})`);
  t.equal(seen?.participants, 2, 'the primary serves its capacity, 2');
  t.equal(new Set(seen?.roster.map((r) => (r as { focus?: string }).focus)).size, 2, 'the third is served by a second focus (delegation)');
  t.equal(await done, 0, `all three calls completed: INVITE, 200, ACK, BYE along the route set, 200 (${sippOut.slice(-300)})`);
  const msgs = readFileSync(join(logs, 'msgs.log'), 'latin1');
  t.equal(msgs.match(/^BYE sip:demo-conf-peer4@demo\.reload\.example;gr=/gm)?.length, 3, "each BYE went to its focus' conference GRUU");
  const left = Date.now() + 10_000;
  while ((seen?.roster.length ?? 0) > 0 && Date.now() < left) {
    await new Promise((r) => setTimeout(r, 250));
    seen = await conference();
  }
  t.equal(seen?.roster.length, 0, 'after the BYEs the roster is empty');
});

t.test('the printed store and fetch of a note work', async (t) => {
  const store = printed(/^\[demo\] +(node \S+ store .*)$/m);
  const fetchLine = printed(/^\[demo\] +(node \S+ fetch --identity \S+ --kind 0xF0000100 .*)$/m);
  t.match((await runPrinted(store)).stdout, /stored kind 4026532096 .*generation 1/, 'alice stores');
  const fetched = JSON.parse((await runPrinted(`${fetchLine} --json`)).stdout) as { values: { value: string; signer: { user: string } }[] };
  t.equal(fetched.values[0]?.value, 'hello', 'bob fetches what alice stored');
  t.equal(fetched.values[0]?.signer.user, `alice@${overlay}`, 'signed by alice');
});

t.test('every peer serves its status page', async (t) => {
  const urls = [...out.matchAll(/^\[demo\] +peer \d: status page (http:\/\/\S+)/gm)].map((m) => m[1]!);
  t.equal(urls.length, PEERS);
  const ids = new Set<string>();
  for (const u of urls) {
    const s = (await (await fetch(new URL('api/status', u))).json()) as StatusSnapshot;
    ids.add(s.node.nodeId);
    t.ok(s.ring.successors.length > 0 && s.ring.predecessors.length > 0, `${s.node.nodeId.slice(0, 8)}: ring neighbours on both sides`);
  }
  t.equal(ids.size, PEERS, 'one page per peer');
  const page = await (await fetch(urls[0]!)).text();
  t.match(page, /<html/i, 'the page itself');
});

t.test('SIGINT: the phones un-register and every peer leaves', async (t) => {
  child.kill('SIGINT');
  t.equal(await exited, 0, 'the demo exits 0 after SIGINT');
  t.match(out, /alice@demo\.reload\.example un-registered/);
  t.match(out, /bob@demo\.reload\.example un-registered/);
  t.equal(out.match(/ left$/gm)?.length, PEERS, 'every peer left the overlay');
  t.match(out, /demo stopped/);
  t.notOk(readdirSync(dirname(dir)).includes(dir.split('/').pop()!), 'the temporary directory is gone');
});
