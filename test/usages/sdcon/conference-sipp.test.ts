/**
 * DisCo end to end with real SIP phones (SIPp) on loopback. Four in-process peers, each with
 * a SIP front end: p0 only routes (no focus), p1..p3 are focus-capable with capacity 3; p1
 * creates sip:team-conf-p1@overlay.test.example and is its primary focus.
 *
 * - Eight sipp participants call the conference URI one after the other, through the front
 *   ends of all four peers: all are answered; the primary takes three, then recruits a
 *   secondary for the fourth (delegation), the front ends send the next ones to it, and a
 *   second secondary is recruited for the seventh. Every focus' merged roster, and a
 *   participant's subscription (SUBSCRIBE through p0; NOTIFYs merged by RFC 4575 §4.6), list
 *   all eight.
 * - The first secondary is stopped abruptly (no BYE, no unregistration): the others notice,
 *   re-INVITE its participants (the sipp out-of-call scenario answers the INVITE from the
 *   conference URI) and the rosters converge on eight again.
 * - The primary is stopped abruptly: the last focus is elected primary (term 2); a Fetch of
 *   DISCO-REGISTRATION (validated against the ACL) names it; a ninth participant joins
 *   through p0, is answered, and leaves with BYE.
 */
import t from 'tap';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { fromHex, toHex } from '../../../src/wire/codec.js';
import { assignOrphans, currentPrimary } from '../../../usages/sdcon/index.js';
import { until } from '../sip/helpers.js';
import { freePort, readSippLog } from '../sip/sipp-helpers.js';
import { ConferenceWatcher, type DiscoPeer, OVERLAY, discoOverlay, startDiscoPeers } from './helpers.js';

const SCENARIOS = fileURLToPath(new URL('./sipp/', import.meta.url));
const started = Date.now();
t.comment(spawnSync('sipp', ['-v'], { encoding: 'utf8' }).stdout.split('\n').find((l) => /SIPp/.test(l)) ?? 'sipp not found');
const dir = mkdtempSync(join(tmpdir(), 'disco-sipp-'));
t.teardown(() => (process.env.KEEP_SIPP_LOGS ? t.comment(`sipp logs kept in ${dir}`) : rmSync(dir, { recursive: true, force: true })));

const CONF = `sip:team-conf-p1@${OVERLAY}`;
const ov = await discoOverlay();
const peers = await startDiscoPeers(ov, [
  { name: 'p0', disco: { focus: false } },
  { name: 'p1', disco: { capacity: 3, conferences: [CONF] } },
  { name: 'p2', disco: { capacity: 3 } },
  { name: 'p3', disco: { capacity: 3 } },
]);
const [p0, p1] = peers as [DiscoPeer, DiscoPeer, DiscoPeer, DiscoPeer];
const stopped = new Set<DiscoPeer>();
const phones: { name: string; child: ChildProcess; log: string; exited: Promise<number | null> }[] = [];
t.teardown(async () => {
  for (const ph of phones) ph.child.kill('SIGKILL');
  for (const p of [...peers].reverse()) if (!stopped.has(p)) await p.node.stop();
});
const live = (): DiscoPeer[] => peers.filter((p) => !stopped.has(p));
const foci = (): DiscoPeer[] => live().filter((p) => p.disco.conference(CONF) !== undefined);
const rosterUsers = (p: DiscoPeer): string[] => (p.disco.conference(CONF)?.roster.merged().users?.list ?? []).map((u) => u.entity).sort();
const served = (): Record<string, number> => Object.fromEntries(foci().map((p) => [p.name, p.disco.conference(CONF)!.participants]));
const user = (i: number): string => `sip:user${i}@${OVERLAY}`;
let watcher: ConferenceWatcher | undefined;
t.teardown(() => watcher?.stop());

/** Starts a sipp participant calling the conference through `via`'s front end; it stays in the call. */
async function call(i: number, via: DiscoPeer, scenario = 'participant.xml', holdMs = 120_000) {
  const log = join(dir, `user${i}.log`);
  const args = [
    '-sf', join(SCENARIOS, scenario), '-oocsf', join(SCENARIOS, 'participant-answer.xml'), `${via.sipAt.host}:${via.sipAt.port}`,
    '-s', `team-conf-p1`, '-i', '127.0.0.1', '-p', String(await freePort()), '-m', '1', '-nostdin', '-d', String(holdMs),
    '-timeout', '150s', '-trace_msg', '-message_file', log, '-key', 'domain', OVERLAY, '-key', 'user', `user${i}`,
  ];
  const child = spawn('sipp', args, { stdio: ['ignore', 'pipe', 'pipe'] });
  let out = '';
  child.stdout!.on('data', (d) => (out += String(d)));
  child.stderr!.on('data', (d) => (out += String(d)));
  const exited = new Promise<number | null>((r) => child.on('exit', (code) => r(code)));
  const ph = { name: `user${i}`, child, log, exited, output: () => out };
  phones.push(ph);
  return ph;
}

const answered = (log: string): boolean => {
  try {
    return readSippLog(log).some((m) => m.direction === 'received' && m.startLine.startsWith('SIP/2.0 200') && /CSeq: *1 INVITE/.test(m.bytes.toString('latin1')));
  } catch {
    return false;
  }
};

t.test('eight participants: answered, delegated as the primary fills, every roster lists them', async (t) => {
  const joinedAt: number[] = [];
  for (let i = 1; i <= 8; i++) {
    const via = peers[i % peers.length]!;
    const ph = await call(i, via);
    const t0 = Date.now();
    await until(`user${i} answered (through ${via.name})`, () => answered(ph.log), 20_000);
    joinedAt.push(Date.now() - t0);
    await until(`user${i} in the rosters`, () => foci().every((p) => rosterUsers(p).includes(user(i))), 20_000);
  }
  t.pass(`all eight answered; join time (INVITE → 200 seen by sipp) median ${[...joinedAt].sort((a, b) => a - b)[4]} ms, max ${Math.max(...joinedAt)} ms`);
  const load = served();
  t.equal(Object.keys(load).length, 3, `three foci serve the conference (${JSON.stringify(load)})`);
  t.equal(load.p1, 3, 'the primary serves its capacity');
  t.same(Object.values(load).sort(), [2, 3, 3], 'the others took 3 and 2 (capacity 3 each)');
  // The primary recruits the first secondary; the second is recruited by whichever full focus
  // the seventh call reaches (a secondary is a full focus and recruits too).
  const recruited = peers.reduce((n, p) => n + p.disco.stats.recruited, 0);
  t.ok(p1.disco.stats.delegated >= 1 && p1.disco.stats.recruited >= 1, `the primary delegated (${p1.disco.stats.delegated}) and recruited (${p1.disco.stats.recruited})`);
  t.equal(recruited, 2, 'two secondaries were recruited in all');
  const want = Array.from({ length: 8 }, (_, i) => user(i + 1)).sort();
  for (const p of foci()) t.same(rosterUsers(p), want, `${p.name}'s merged roster lists all eight`);
  for (const p of foci()) t.equal(p.disco.conference(CONF)!.subscribers.length, 2, `${p.name} subscribes to the two other foci`);

  const w = await ConferenceWatcher.start(CONF, p0.sipAt);
  watcher = w;
  const res = await w.subscribe();
  t.equal(res.status, 200, 'SUBSCRIBE to the conference URI through p0 (a front end that is no focus): 200');
  t.match(res.get('Contact') ?? '', /;isfocus/, 'the answer comes from a focus (Contact with isfocus, RFC 4579)');
  await until('the first NOTIFY', () => w.state !== undefined, 10_000);
  t.equal(w.notifies[0]?.state, 'full', 'the first NOTIFY carries full state (RFC 4575 §3.2)');
  t.same(w.users(), want, 'the subscriber’s merged document lists all eight');
});

t.test('a secondary focus is killed: its participants are re-INVITEd, the rosters converge', async (t) => {
  const secondary = foci().find((p) => p !== p1 && p.disco.conference(CONF)!.participants === 3)!;
  t.ok(secondary, `the full secondary is ${secondary?.name}`);
  const its = secondary.disco.conference(CONF)!.focus;
  const moved = [...its.participants.values()].map((p) => p.user).sort();
  t.equal(moved.length, 3, `it serves ${moved.join(', ')}`);
  // What the selection rule says (rules.assignOrphans), from the state before the kill.
  const expected = assignOrphans(
    [...its.participants.values()].map((p) => ({ entity: p.endpoint, node: fromHex(p.node) })),
    foci().filter((p) => p !== secondary).map((p) => ({ nodeId: p.node.nodeId, capacity: 3, participants: p.disco.conference(CONF)!.participants })),
  );
  const userOf = new Map([...its.participants.values()].map((p) => [p.endpoint, p.user]));
  const seen = watcher!.notifies.length;
  const t0 = Date.now();
  secondary.disco.crash();
  stopped.add(secondary);
  await secondary.node.stop();
  const want = Array.from({ length: 8 }, (_, i) => user(i + 1)).sort();
  await until('the remaining foci serve all eight', () => {
    const l = served();
    return Object.keys(l).length === 2 && Object.values(l).reduce((a, b) => a + b, 0) === 8;
  }, 30_000);
  const recovered = Date.now() - t0;
  await until('the rosters converge', () => foci().every((p) => JSON.stringify(rosterUsers(p)) === JSON.stringify(want)), 15_000);
  t.pass(`recovered in ${recovered} ms (kill → all eight served by the remaining foci)`);
  await until('the subscriber sees the eight again', () => JSON.stringify(watcher!.users()) === JSON.stringify(want) && watcher!.notifies.length > seen, 15_000);
  t.same(watcher!.users(), want, `the subscribed participant’s state lists the eight again (${watcher!.notifies.length - seen} more NOTIFYs, partial: ${watcher!.notifies.slice(seen).filter((n) => n.state === 'partial').length}, version gaps: ${watcher!.gaps})`);
  const servedBy = (u: string) => foci().find((p) => [...p.disco.conference(CONF)!.focus.participants.values()].some((x) => x.user === u));
  const actual = new Map([...expected.keys()].map((e) => [e, servedBy(userOf.get(e)!) ? toHex(servedBy(userOf.get(e)!)!.node.nodeId) : 'none']));
  t.same(Object.fromEntries(actual), Object.fromEntries(expected), `spread by the selection rule: free places first, then the nearest over capacity (${JSON.stringify(served())})`);
  const reinvited = foci().reduce((n, p) => n + p.disco.conference(CONF)!.reinvited, 0);
  t.equal(reinvited, 3, 'three re-INVITEs were accepted');
  for (const u of moved) {
    const i = Number(/user(\d+)@/.exec(u)![1]);
    const log = readSippLog(join(dir, `user${i}.log`));
    const inv = log.find((m) => m.direction === 'received' && m.startLine.startsWith('INVITE '));
    t.ok(inv, `user${i}'s phone got an INVITE from a focus`);
    t.match(inv?.bytes.toString('latin1') ?? '', new RegExp(`From: <${CONF.replace(/[.]/g, '\\.')}>`), `… from the conference URI`);
    t.match(inv?.bytes.toString('latin1') ?? '', /Contact: <sip:team-conf-p1@[^;>]+;gr=[^>]+>;isfocus/, '… with the focus GRUU as Contact');
  }
  for (const p of foci()) t.notOk(p.disco.conference(CONF)!.subscribers.includes(toHex(secondary.node.nodeId)), `${p.name} no longer subscribes to the dead focus`);
});

t.test('the primary is killed: a new primary is elected, the URI resolves to it, a ninth joins', async (t) => {
  const [survivor] = foci().filter((p) => p !== p1);
  t.ok(survivor, 'one secondary is left');
  const t0 = Date.now();
  p1.disco.crash();
  stopped.add(p1);
  await p1.node.stop();
  await until('a new primary', () => survivor!.disco.conference(CONF)?.role === 'primary', 30_000);
  const elected = Date.now() - t0;
  const conf = survivor!.disco.conference(CONF)!;
  t.equal(conf.term, 2, 'elected with term 2');
  const regs = await p0.disco.fetchFoci(`team-conf-p1@${OVERLAY}`);
  const primary = currentPrimary(regs);
  t.equal(primary?.nodeHex, toHex(survivor!.node.nodeId), 'the DISCO-REGISTRATION Fetch (ACL-validated) names the survivor as primary');
  t.equal(primary?.term, 2, 'with term 2');
  await until('the survivor serves all eight', () => conf.focus.count === 8, 30_000);
  t.comment(`primary killed → survivor elected in ${elected} ms, serving all eight after ${Date.now() - t0} ms`);
  t.equal(conf.focus.count, 8, 'the survivor serves all eight: over its capacity of 3, since no focus-capable peer is left (rules.assignOrphans)');
  const st = survivor!.disco.status();
  t.match(st.conferences?.[0], { uri: CONF, role: 'primary', term: 2, participants: 8 }, 'its status section shows the conference as primary');
  t.equal(st.conferences?.[0]?.roster.length, 8, '… with the eight in the roster');

  const ninth = await call(9, p0, 'participant-bye.xml', 1500);
  await until('user9 answered', () => answered(ninth.log), 20_000);
  await until('user9 in the roster', () => rosterUsers(survivor!).includes(user(9)), 10_000);
  t.pass('the ninth participant joined through p0');
  const code = await ninth.exited;
  t.equal(code, 0, `the ninth participant's scenario completed (INVITE, 200, ACK, BYE, 200)`);
  await until('user9 left the roster', () => !rosterUsers(survivor!).includes(user(9)), 10_000);
  t.pass('after its BYE it left the roster');
  t.comment(`wall time so far ${Date.now() - started} ms`);
});
