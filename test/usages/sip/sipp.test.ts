/**
 * Ordinary SIP phones (SIPp) over the overlay. Two peers run as separate processes, exactly
 * as a user starts them (`reload-node start --sip 127.0.0.1:PORT --sip-user DIR`), each with
 * a SIP front end; a third, in-process peer bootstraps the overlay and Fetches to check
 * what is stored.
 *
 * - Alice's phone (a sipp instance) REGISTERs at peer 1 and answers a call with 180 and 200
 *   + SDP (out-of-call scenario), takes the ACK and the BYE, then un-REGISTERs.
 * - A second sipp calls alice's AOR through peer 2: answered, the SDP of both directions
 *   arrives byte for byte as sent (compared in the two sipp message logs), BYE ends it.
 * - A call to an unregistered AOR gets 404; after the un-REGISTER, alice gets 404 too.
 * - A registration with Expires: 2 is gone once it expires: INVITE → 404, and a Fetch shows
 *   no live entry.
 */
import t from 'tap';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { createNodeFromIdentity } from '../../../src/node/create.js';
import { toHex } from '../../../src/wire/codec.js';
import { startPeer, type PeerProcess } from '../../helpers/processes.js';
import { SIP_REGISTRATION_KIND, decodeSipRegistration, sipUsage } from '../../../usages/sip/index.js';
import { sipOverlay, until } from './helpers.js';
import { SCENARIOS, freePort, readSippLog, runSipp, tail } from './sipp-helpers.js';

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
      '--log-level', 'warn',
    ]),
  );
}
await until('the three peers in one ring', () => {
  const s = boot.topology.snapshot();
  const ids = new Set([...s.successors, ...s.predecessors].map(toHex));
  return children.every((c) => ids.has(c.nodeId));
});
await new Promise((r) => setTimeout(r, 1500));
await until('the front ends to listen', () => children.every((c) => /sip front end/.test(c.output())));
const [fe1, fe2] = sipPorts as [number, number];

/** alice's live SIP-REGISTRATION entries, Fetched by the in-process peer. */
async function liveEntries(user: string) {
  const f = await boot.fetchValues(`${user}@${DOMAIN}`, SIP_REGISTRATION_KIND);
  return f.values.filter((v) => v.data.value.value.exists);
}

const common = (port: number, log: string) => ['-i', '127.0.0.1', '-p', String(port), '-m', '1', '-nostdin', '-timeout', '30s', '-timeout_error', '-trace_msg', '-message_file', log, '-key', 'domain', DOMAIN];

t.test('alice registers at peer 1; a call through peer 2 is answered, SDP untouched, BYE ends it', async (t) => {
  const token = randomBytes(8).toString('hex');
  const aliceLog = join(dir, 'alice.log');
  const bobLog = join(dir, 'bob.log');
  const alicePort = await freePort();
  const alicePhone = runSipp([
    '-sf', join(SCENARIOS, 'alice-phone.xml'), '-oocsf', join(SCENARIOS, 'alice-answer.xml'), `127.0.0.1:${fe1}`,
    ...common(alicePort, aliceLog), '-key', 'user', 'alice', '-key', 'expires', '60', '-key', 'token', token, '-d', '6000',
  ]);
  const end = Date.now() + 15_000;
  let entries = await liveEntries('alice');
  while (entries.length === 0 && Date.now() < end) {
    await new Promise((r) => setTimeout(r, 200));
    entries = await liveEntries('alice');
  }
  t.equal(entries.length, 1, 'the REGISTER stored one live SIP-REGISTRATION entry for alice');
  const reg = decodeSipRegistration((entries[0]!.data.value as { value: { value: Uint8Array } }).value.value);
  t.same(reg.type === 'route' && reg.destinations.map((d) => d.type === 'node' && toHex(d.id)), [children[0]!.nodeId], 'its destination list is peer 1');
  t.equal(entries[0]!.signer?.certificate.userName, `alice@${DOMAIN}`, 'signed with alice’s identity (--sip-user)');

  const caller = await runSipp(['-sf', join(SCENARIOS, 'caller.xml'), `127.0.0.1:${fe2}`, '-s', 'alice', ...common(await freePort(), bobLog), '-key', 'token', token]);
  t.equal(caller.code, 0, `the caller’s scenario completed: INVITE, 200, ACK, BYE, 200 (${tail(caller)})`);
  const phone = await alicePhone;
  t.equal(phone.code, 0, `alice’s phone: REGISTER 200, call answered, un-REGISTER 200 (${tail(phone)})`);

  const bob = readSippLog(bobLog);
  const alice = readSippLog(aliceLog);
  const sentInvite = bob.find((m) => m.direction === 'sent' && m.startLine.startsWith('INVITE'))!;
  const gotInvite = alice.find((m) => m.direction === 'received' && m.startLine.startsWith('INVITE'))!;
  t.ok(sentInvite && gotInvite, 'the INVITE is in both logs');
  t.ok(sentInvite.body.includes(`a=x-check:offer-${token}`), 'the offer carries this run’s token');
  t.ok(gotInvite.body.equals(sentInvite.body), `the offer SDP arrived byte for byte (${sentInvite.body.length} octets)`);
  t.match(gotInvite.bytes.toString('latin1'), new RegExp(`Content-Length: *${sentInvite.body.length}\\r\\n`), 'with its Content-Length');
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

  t.same(await liveEntries('alice'), [], 'after the un-REGISTER a Fetch shows no live entry');
  const again = await runSipp(['-sf', join(SCENARIOS, 'caller-404.xml'), `127.0.0.1:${fe2}`, '-s', 'alice', ...common(await freePort(), join(dir, 'again.log'))]);
  t.equal(again.code, 0, `a call to alice after the un-REGISTER gets 404 (${tail(again)})`);
});

t.test('a call to an unregistered AOR gets 404', async (t) => {
  const log = join(dir, 'nobody.log');
  const run = await runSipp(['-sf', join(SCENARIOS, 'caller-404.xml'), `127.0.0.1:${fe1}`, '-s', 'nobody', ...common(await freePort(), log)]);
  t.equal(run.code, 0, `INVITE nobody → 404, ACK (${tail(run)})`);
  const got = readSippLog(log).find((m) => m.direction === 'received' && m.startLine.startsWith('SIP/2.0 404'));
  t.match(got?.startLine, /404 Not Found - nobody@.* is not registered in the overlay/, 'the reason phrase says why');
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
