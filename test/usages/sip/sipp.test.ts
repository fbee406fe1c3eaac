/**
 * Ordinary SIP phones (SIPp) over the overlay. Two peers run as separate processes, exactly
 * as a user starts them (`reload-node start --sip 127.0.0.1:PORT --sip-user DIR`), each with
 * a SIP front end; a third, in-process peer bootstraps the overlay and Fetches to check
 * what is stored.
 *
 * - Alice's phone (sipp) REGISTERs at peer 1; then, as a sipp UAS on the same port, it
 *   answers a call with 180 and 200 + SDP, takes the ACK and the BYE; then it un-REGISTERs.
 * - A second sipp calls alice's AOR through peer 2: answered, the SDP of both directions
 *   arrives byte for byte as sent (compared in the two sipp message logs), BYE ends it.
 *   The whole call once over UDP and once over TCP (`sipp -t t1`).
 * - A ringing call is cancelled by the caller: the CANCEL reaches alice through both
 *   peers, her 487 comes back to the caller.
 * - A call to an unregistered AOR gets 404; after the un-REGISTER, alice gets 404 too.
 * - A registration with Expires: 2 is gone once it expires: INVITE → 404, and a Fetch shows
 *   no live entry.
 *
 * KEEP_SIPP_LOGS=1 keeps the sipp message logs, and the peers' output (at debug level).
 */
import t, { type Test } from 'tap';
import { execFile, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createNodeFromIdentity } from '../../../src/node/create.js';
import { toHex } from '../../../src/wire/codec.js';
import { cliPath, startPeer, type PeerProcess } from '../../helpers/processes.js';
import { SIP_REGISTRATION_KIND, decodeSipRegistration, sipUsage } from '../../../usages/sip/index.js';
import { sipOverlay, until } from './helpers.js';
import { SCENARIOS, type SippRun, freePort, readSippLog, runSipp, startSippUas, tail } from './sipp-helpers.js';

t.comment(spawnSync('sipp', ['-v'], { encoding: 'utf8' }).stdout.split('\n').find((l) => /SIPp/.test(l)) ?? 'sipp not found');
const dir = mkdtempSync(join(tmpdir(), 'sipp-overlay-'));
t.teardown(() => process.env.KEEP_SIPP_LOGS ? t.comment(`sipp logs kept in ${dir}`) : rmSync(dir, { recursive: true, force: true }));

const ov = await sipOverlay();
const DOMAIN = ov.overlay.configuration.instanceName;
const aliceDir = await ov.identity('alice');

const boot = (await createNodeFromIdentity(await ov.identity('p0'), {
  usages: [sipUsage()],
  listen: [{ kind: 'tls', host: '127.0.0.1', port: 0 }],
  firstNode: true,
  topologyParams: { updateIntervalMs: 1000 },
})).node;
await boot.start();
const children: PeerProcess[] = [];
t.teardown(async () => {
  if (process.env.KEEP_SIPP_LOGS) for (const [i, c] of children.entries()) writeFileSync(join(dir, `peer${i + 1}.out`), c.output());
  for (const c of children) {
    c.child.kill('SIGTERM');
    await Promise.race([c.exited, new Promise((r) => setTimeout(r, 3000))]);
    c.child.kill('SIGKILL');
  }
  await boot.stop();
});
const bootAt = boot.addresses[0]!.address;
const sipPorts = [await freePort(), await freePort()];
for (const [i, port] of sipPorts.entries()) {
  children.push(
    await startPeer([
      '--identity', await ov.identity(`p${i + 1}`),
      '--listen', 'tls:127.0.0.1:0',
      '--bootstrap-node', `${bootAt.host}:${bootAt.port}`,
      '--sip', `127.0.0.1:${port}`,
      ...(i === 0 ? ['--sip-user', aliceDir] : []),
      '--update-interval', '1',
      '--log-level', process.env.KEEP_SIPP_LOGS ? 'debug' : 'warn',
    ]),
  );
}
await until('the three peers in one ring', () => {
  const s = boot.topology.snapshot();
  const ids = new Set([...s.successors, ...s.predecessors].map(toHex));
  return children.every((c) => ids.has(c.nodeId));
}, 40_000); // two peer processes starting on a busy 2-core CI machine
await new Promise((r) => setTimeout(r, 1500));
await until('the front ends to listen', () => children.every((c) => /sip front end/.test(c.output())));
const [fe1, fe2] = sipPorts as [number, number];

/** alice's live SIP-REGISTRATION entries, Fetched by the in-process peer. */
async function liveEntries(user: string) {
  const f = await boot.fetchValues(`${user}@${DOMAIN}`, SIP_REGISTRATION_KIND);
  return f.values.filter((v) => v.data.value.value.exists);
}

const common = (port: number, log: string) => ['-i', '127.0.0.1', '-p', String(port), '-m', '1', '-nostdin', '-timeout', '30s', '-timeout_error', '-trace_msg', '-message_file', log, '-key', 'domain', DOMAIN];

t.test('reload-node start: --sip-user needs --sip', async (t) => {
  // Asynchronously: the in-process peer must keep answering its neighbours meanwhile.
  const r = await new Promise<{ status: number | null; stderr: string }>((resolve) => {
    execFile(process.execPath, [cliPath(), 'start', '--identity', aliceDir, '--sip-user', aliceDir], { encoding: 'utf8', timeout: 30_000 }, (err, _stdout, stderr) =>
      resolve({ status: err ? ((err as { code?: unknown }).code as number | null) : 0, stderr }),
    );
  });
  t.equal(r.status, 2, 'a usage error');
  t.match(r.stderr, /--sip-user needs --sip/);
});

type Transport = 'UDP' | 'TCP';
const tflag = (tr: Transport): string[] => (tr === 'TCP' ? ['-t', 't1'] : []);

/** The ports alice's phone has a binding from. */
const registered = new Set<number>();

/** Alice's phone (a sipp at `port`) REGISTERs at peer 1 with this Expires (0: un-REGISTER). */
async function registerAlice(t: Test, port: number, expires: number, tr: Transport, log: string): Promise<void> {
  const args = ['-sf', join(SCENARIOS, 'register-once.xml'), `127.0.0.1:${fe1}`, ...common(port, log), ...tflag(tr), '-key', 'user', 'alice'];
  const reg = await runSipp([...args, '-key', 'expires', String(expires)]);
  t.equal(reg.code, 0, `alice’s phone: REGISTER over ${tr} with Expires: ${expires} → 200 (${tail(reg)})`);
  if (expires === 0) {
    registered.delete(port);
  } else if (!registered.has(port)) {
    // Should the test fail half-way, this binding must not linger into the next test.
    registered.add(port);
    t.teardown(async () => {
      if (registered.delete(port)) await runSipp([...args.map((a) => (a === log ? `${log}.cleanup` : a)), '-key', 'expires', '0']);
    });
  }
}

/** Alice's phone answering at `port` (a sipp UAS running `scenario`), once it listens. */
function alicePhone(port: number, scenario: string, tr: Transport, log: string, keys: string[] = []): Promise<{ done: Promise<SippRun> }> {
  return startSippUas(['-sf', join(SCENARIOS, scenario), ...common(port, log), ...tflag(tr), '-key', 'user', 'alice', ...keys], port, tr);
}

/**
 * A whole call over `tr`: alice's phone registers at peer 1 (one live overlay entry, whose
 * destination list is peer 1, signed as alice), answers a call a second sipp makes through
 * peer 2 (SDP byte for byte both ways, four Record-Route values, ACK and BYE through both
 * peers), then un-REGISTERs: no live entry, and a call to alice gets 404.
 */
async function callAlice(t: Test, tr: Transport): Promise<void> {
  const token = randomBytes(8).toString('hex');
  const logs = (n: string): string => join(dir, `${tr}-${n}.log`);
  const alicePort = await freePort();
  await registerAlice(t, alicePort, 60, tr, logs('register'));
  // The 200 follows peer 1's StoreAns; the in-process peer's Fetch may still be routed by a
  // ring view a moment older, so it is given a few seconds to see the entry.
  let entries = await liveEntries('alice');
  for (const end = Date.now() + 10_000; entries.length === 0 && Date.now() < end; ) {
    await new Promise((r) => setTimeout(r, 200));
    entries = await liveEntries('alice');
  }
  t.equal(entries.length, 1, 'the REGISTER stored one live SIP-REGISTRATION entry for alice');
  const reg = decodeSipRegistration((entries[0]!.data.value as { value: { value: Uint8Array } }).value.value);
  t.same(reg.type === 'route' && reg.destinations.map((d) => d.type === 'node' && toHex(d.id)), [children[0]!.nodeId], 'its destination list is peer 1');
  t.equal(entries[0]!.signer?.certificate.userName, `alice@${DOMAIN}`, 'signed with alice’s identity (--sip-user)');

  const phone = await alicePhone(alicePort, 'alice-answer.xml', tr, logs('alice'), ['-key', 'token', token]);
  const caller = await runSipp(['-sf', join(SCENARIOS, 'caller.xml'), `127.0.0.1:${fe2}`, '-s', 'alice', ...common(await freePort(), logs('bob')), ...tflag(tr), '-key', 'token', token]);
  t.equal(caller.code, 0, `the caller’s scenario completed: INVITE, 200, ACK, BYE, 200 (${tail(caller)})`);
  const answered = await phone.done;
  t.equal(answered.code, 0, `alice’s phone: INVITE answered with 180 and 200, ACK, BYE answered (${tail(answered)})`);

  const bob = readSippLog(logs('bob'));
  const alice = readSippLog(logs('alice'));
  t.ok([...bob, ...alice].every((m) => m.transport === tr), `both phones spoke ${tr} only`);
  const sentInvite = bob.find((m) => m.direction === 'sent' && m.startLine.startsWith('INVITE'))!;
  const gotInvite = alice.find((m) => m.direction === 'received' && m.startLine.startsWith('INVITE'))!;
  t.ok(sentInvite && gotInvite, 'the INVITE is in both logs');
  t.ok(sentInvite.body.includes(`a=x-check:offer-${token}`), 'the offer carries this run’s token');
  t.ok(gotInvite.body.equals(sentInvite.body), `the offer SDP arrived byte for byte (${sentInvite.body.length} octets)`);
  t.match(gotInvite.bytes.toString('latin1'), new RegExp(`Content-Length: *${sentInvite.body.length}\\r\\n`), 'with its Content-Length');
  t.match(gotInvite.bytes.toString('latin1'), new RegExp(`\\r\\nVia: SIP/2\\.0/${tr} 127\\.0\\.0\\.1:${fe1};`), `peer 1 sent it to alice over ${tr} (its Via on top)`);
  const sent200 = alice.find((m) => m.direction === 'sent' && m.startLine.startsWith('SIP/2.0 200') && m.body.length > 0)!;
  const got200 = bob.find((m) => m.direction === 'received' && m.startLine.startsWith('SIP/2.0 200') && m.body.length > 0)!;
  t.ok(sent200 && got200, 'the 200 with SDP is in both logs');
  t.ok(sent200.body.includes(`a=x-check:answer-${token}`), 'the answer carries this run’s token');
  t.ok(got200.body.equals(sent200.body), `the answer SDP arrived byte for byte (${sent200.body.length} octets)`);
  const rr = /Record-Route: .*/g;
  t.equal(gotInvite.bytes.toString('latin1').match(rr)?.length, 4, 'alice’s INVITE carries four Record-Route values (both peers, both sides)');
  t.ok(alice.some((m) => m.direction === 'received' && m.startLine.startsWith('ACK')), 'the ACK reached alice through both peers');
  t.ok(alice.some((m) => m.direction === 'received' && m.startLine.startsWith('BYE')), 'the BYE reached alice through both peers');
  t.ok(bob.some((m) => m.direction === 'received' && /^SIP\/2\.0 200/.test(m.startLine) && /CSeq: 2 BYE/.test(m.bytes.toString('latin1'))), 'the caller got 200 for its BYE');

  await registerAlice(t, alicePort, 0, tr, logs('unregister'));
  t.same(await liveEntries('alice'), [], 'after the un-REGISTER a Fetch shows no live entry');
  const again = await runSipp(['-sf', join(SCENARIOS, 'caller-404.xml'), `127.0.0.1:${fe2}`, '-s', 'alice', ...common(await freePort(), logs('again')), ...tflag(tr)]);
  t.equal(again.code, 0, `a call to alice after the un-REGISTER gets 404 (${tail(again)})`);
}

t.test('alice registers at peer 1; a call through peer 2 is answered, SDP untouched, BYE ends it (UDP)', (t) => callAlice(t, 'UDP'));

t.test('the same over TCP (sipp -t t1): REGISTER, call, BYE, un-REGISTER', (t) => callAlice(t, 'TCP'));

t.test('a ringing call cancelled by the caller: CANCEL through both peers, 487 back', async (t) => {
  const alicePort = await freePort();
  const log = (n: string): string => join(dir, `cancel-${n}.log`);
  await registerAlice(t, alicePort, 60, 'UDP', log('register'));
  const phone = await alicePhone(alicePort, 'alice-ring.xml', 'UDP', log('alice'));
  const caller = await runSipp(['-sf', join(SCENARIOS, 'caller-cancel.xml'), `127.0.0.1:${fe2}`, '-s', 'alice', ...common(await freePort(), log('bob'))]);
  t.equal(caller.code, 0, `the caller: INVITE, 180, CANCEL, 200, 487, ACK (${tail(caller)})`);
  const rang = await phone.done;
  t.equal(rang.code, 0, `alice’s phone: INVITE, 180, CANCEL answered with 200, 487, ACK (${tail(rang)})`);
  const alice = readSippLog(log('alice'));
  const bob = readSippLog(log('bob'));
  const gotCancel = alice.find((m) => m.direction === 'received' && m.startLine.startsWith('CANCEL'));
  t.ok(gotCancel, 'the CANCEL reached alice through both peers');
  const gotInvite = alice.find((m) => m.direction === 'received' && m.startLine.startsWith('INVITE'))!;
  const branch = (m: { bytes: Buffer }) => /\r\nVia: [^;\r\n]*;branch=([^;,\r\n]+)/.exec(m.bytes.toString('latin1'))?.[1];
  t.equal(branch(gotCancel!), branch(gotInvite), 'peer 1’s CANCEL has its INVITE’s branch (RFC 3261 §9.1)');
  const got487 = bob.find((m) => m.direction === 'received' && m.startLine.startsWith('SIP/2.0 487'));
  t.match(got487?.bytes.toString('latin1'), /CSeq: 1 INVITE/, 'the caller got alice’s 487 for its INVITE');
  t.match(bob.find((m) => m.direction === 'received' && m.startLine.startsWith('SIP/2.0 200'))?.bytes.toString('latin1'), /CSeq: 1 CANCEL/, 'and 200 for its CANCEL');
  t.ok(alice.some((m) => m.direction === 'received' && m.startLine.startsWith('ACK')), 'peer 1 acknowledged alice’s 487');
  await registerAlice(t, alicePort, 0, 'UDP', log('unregister'));
  t.same(await liveEntries('alice'), [], 'un-REGISTERed');
});

t.test('a call to an unregistered AOR gets 404', async (t) => {
  const log = join(dir, 'nobody.log');
  const run = await runSipp(['-sf', join(SCENARIOS, 'caller-404.xml'), `127.0.0.1:${fe1}`, '-s', 'nobody', ...common(await freePort(), log)]);
  t.equal(run.code, 0, `INVITE nobody → 404, ACK (${tail(run)})`);
  const msgs = readSippLog(log);
  const got = msgs.find((m) => m.direction === 'received' && m.startLine.startsWith('SIP/2.0 404'));
  t.match(got?.startLine, /404 Not Found - nobody@.* is not registered in the overlay/, 'the reason phrase says why');
  const branch = (start: string) => /branch=([^;\r\n]+)/.exec(msgs.find((m) => m.direction === 'sent' && m.startLine.startsWith(start))!.bytes.toString('latin1'))![1];
  t.equal(branch('ACK'), branch('INVITE'), 'the ACK for the 404 is in the INVITE’s transaction (RFC 3261 §17.1.1.3)');
});

t.test('a registration with a short Expires is gone after it expires', async (t) => {
  const reg = await runSipp(['-sf', join(SCENARIOS, 'register-once.xml'), `127.0.0.1:${fe1}`, ...common(await freePort(), join(dir, 'short.log')), '-key', 'user', 'alice', '-key', 'expires', '2']);
  t.equal(reg.code, 0, `REGISTER Expires: 2 → 200 (${tail(reg)})`);
  const live = await liveEntries('alice');
  t.equal(live.length, 1, 'stored');
  const left = live[0]!.data.lifetime;
  t.ok(left >= 1 && left <= 2, `with the lifetime of Expires: 2 (${left} s left, RFC 7904 §3.1)`);
  await new Promise((r) => setTimeout(r, 3000));
  t.same(await liveEntries('alice'), [], 'after 3 s a Fetch shows no live entry');
  const run = await runSipp(['-sf', join(SCENARIOS, 'caller-404.xml'), `127.0.0.1:${fe2}`, '-s', 'alice', ...common(await freePort(), join(dir, 'expired.log'))]);
  t.equal(run.code, 0, `the INVITE to the expired AOR gets 404 (${tail(run)})`);
});
