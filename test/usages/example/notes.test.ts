/**
 * The example usage (usages/example, shared notes in CBOR): the note codec and its limits;
 * then a 3-peer TLS overlay where the first peer is `reload-node start --usage
 * dist/usages/example/index.js` (a child process, with --status) and two more load the
 * module through the library API (loadUsageModule + createNodeFromIdentity). Notes are
 * posted at one peer and read at another, bad CBOR and foreign keys are refused by the
 * storing peer, and the usage shows on the status page.
 */
import t from 'tap';
import { execFile } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { encode as cborEncode } from 'cbor-x';
import { ReloadError, ReloadErrorResponse } from '../../../src/common/errors.js';
import { loadUsageModule } from '../../../src/cli/usages.js';
import { createNodeFromIdentity } from '../../../src/node/create.js';
import type { ReloadNode } from '../../../src/node/node.js';
import type { StatusSnapshot } from '../../../src/status/snapshot.js';
import { bytesEqual, fromHex, toHex } from '../../../src/wire/codec.js';
import { ErrorCode } from '../../../src/wire/constants.js';
import { compareIds, resourceIdOf } from '../../../src/wire/ids.js';
import {
  MAX_BODY_CHARS,
  MAX_TITLE_CHARS,
  NOTES_KIND,
  NotesUsage,
  checkNote,
  decodeNote,
  encodeNote,
  topicResource,
} from '../../../usages/example/index.js';
import { makeOverlay } from '../../helpers/overlay-dir.js';
import { cliPath, startPeer } from '../../helpers/processes.js';

const run = promisify(execFile);
const SOURCE = fileURLToPath(new URL('../../../usages/example/index.ts', import.meta.url));
const BUILT = fileURLToPath(new URL('../../../dist/usages/example/index.js', import.meta.url));

function errorCodeOf(f: () => unknown): number | undefined {
  try {
    f();
    return undefined;
  } catch (err) {
    return err instanceof ReloadError ? err.errorCode : -1;
  }
}

async function refusal(p: Promise<unknown>): Promise<ReloadErrorResponse> {
  try {
    await p;
  } catch (err) {
    if (err instanceof ReloadErrorResponse) return err;
    throw err;
  }
  throw new Error('expected the store to be refused');
}

async function until(what: string, cond: () => boolean | Promise<boolean>, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!(await cond())) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

t.test('a note is a CBOR map {title, body, updated} within limits', async (t) => {
  const n = { title: 'Lunch', body: 'Pizza at noon', updated: 1_700_000_000_000 };
  const bytes = encodeNote(n);
  t.same(decodeNote(bytes), n, 'round trip');
  t.same(decodeNote(cborEncode({ updated: 1, body: '', title: 'x' })), { title: 'x', body: '', updated: 1 }, 'key order does not matter');
  const bad: [string, unknown][] = [
    ['not CBOR', new Uint8Array([0xff, 0x00])],
    ['trailing bytes', new Uint8Array([...bytes, 0x01])],
    ['empty', new Uint8Array(0)],
  ];
  for (const [what, b] of bad) t.equal(errorCodeOf(() => decodeNote(b as Uint8Array)), ErrorCode.invalidMessage, what);
  t.throws(() => decodeNote(new Uint8Array([0xff, 0x00])), /notes: value is not CBOR/);
  const wrong: [string, unknown, RegExp][] = [
    ['an array', ['Lunch', 'x', 1], /a CBOR map/],
    ['a string', 'Lunch', /a CBOR map/],
    ['a missing key', { title: 'x', body: 'y' }, /exactly the keys body, title, updated/],
    ['an extra key', { ...n, author: 'me' }, /exactly the keys/],
    ['an empty title', { ...n, title: '' }, /title must be text of 1\.\.120/],
    ['a long title', { ...n, title: 'x'.repeat(MAX_TITLE_CHARS + 1) }, /title/],
    ['a numeric body', { ...n, body: 5 }, /body must be text/],
    ['a long body', { ...n, body: 'x'.repeat(MAX_BODY_CHARS + 1) }, /body must be text of at most 2000/],
    ['a fractional time', { ...n, updated: 1.5 }, /updated must be a time/],
    ['a negative time', { ...n, updated: -1 }, /updated/],
  ];
  for (const [what, v, msg] of wrong) {
    t.equal(errorCodeOf(() => decodeNote(cborEncode(v))), ErrorCode.invalidMessage, `${what}: Error_Invalid_Message`);
    t.throws(() => checkNote(v), msg, what);
  }
  t.equal(errorCodeOf(() => encodeNote({ ...n, body: 'x'.repeat(MAX_BODY_CHARS + 1) })), ErrorCode.invalidMessage, 'encodeNote checks too');
  t.equal(topicResource('lunch'), 'notes:lunch');
  t.throws(() => topicResource(''), RangeError);
});

t.test('the usage declares its Kind and policy', async (t) => {
  const u = new NotesUsage();
  t.equal(u.name, 'example-notes');
  t.same(u.kinds.map((k) => [k.id, k.name, k.dataModel, k.accessControl, k.maxCount, k.maxSize]), [[NOTES_KIND, 'EXAMPLE-NOTES', 'dictionary', 'NOTE-AUTHOR-MATCH', 64, 4096]]);
  t.same(u.policies.map((p) => p.name), ['NOTE-AUTHOR-MATCH']);
  await t.rejects(u.post('x', { title: 't', body: 'b' }), { message: /the node is not running/ }, 'no API before start');
  const loaded = await loadUsageModule(SOURCE);
  t.ok(loaded instanceof NotesUsage, 'the module\'s default export makes one');
  t.not(loaded, await loadUsageModule(SOURCE), 'a fresh one per load');
});

t.test('shared notes across a CLI peer and two library peers', async (t) => {
  const ov = await makeOverlay();
  const child = await startPeer([
    '--identity', await ov.identity('alice'),
    '--listen', 'tls:127.0.0.1:0',
    '--bootstrap',
    '--usage', BUILT,
    '--update-interval', '1',
    '--status', '127.0.0.1:0',
    '--log-level', 'warn',
  ]);
  t.teardown(() => void child.child.kill('SIGKILL'));
  await until('the status page line', () => /status page: (http:\S+)/.test(child.output()));
  const statusUrl = /status page: (http:\S+)/.exec(child.output())![1]!;
  const nodes: ReloadNode[] = [];
  const usages: NotesUsage[] = [];
  t.teardown(async () => {
    for (const n of nodes) await n.stop();
  });
  for (const user of ['bob', 'carol']) {
    const notes = (await loadUsageModule(SOURCE)) as NotesUsage;
    const { node } = await createNodeFromIdentity(await ov.identity(user), {
      listen: [{ kind: 'tls', host: '127.0.0.1', port: 0 }],
      bootstrap: [{ host: child.listen.host, port: child.listen.port }],
      usages: [notes],
      topologyParams: { updateIntervalMs: 1000 },
    });
    await node.start();
    nodes.push(node);
    usages.push(notes);
  }
  const [bob, carol] = nodes as [ReloadNode, ReloadNode];
  const [bobNotes, carolNotes] = usages as [NotesUsage, NotesUsage];
  const ids = [child.nodeId, toHex(bob.nodeId), toHex(carol.nodeId)].sort((a, b) => compareIds(fromHex(a), fromHex(b)));
  await until('a correct ring', () =>
    nodes.every((n) => {
      const i = ids.indexOf(toHex(n.nodeId));
      const s = n.topology.snapshot();
      return s.successors[0] !== undefined && toHex(s.successors[0]) === ids[(i + 1) % 3] && s.predecessors[0] !== undefined && toHex(s.predecessors[0]) === ids[(i + 2) % 3];
    }),
  );
  // A topic the CLI peer is responsible for, and one a library peer is.
  const topicAt = (holder: (rid: Uint8Array) => boolean): string => {
    for (let i = 0; ; i++) if (holder(resourceIdOf(topicResource(`topic-${i}`)))) return `topic-${i}`;
  };
  const atChild = topicAt((rid) => !bob.topology.isResponsible(rid) && !carol.topology.isResponsible(rid));
  const atCarol = topicAt((rid) => carol.topology.isResponsible(rid));

  for (const topic of [atChild, atCarol]) {
    const posted = await bobNotes.post(topic, { title: 'Standup', body: 'moved to 10:15' });
    const read = await carolNotes.read(topic);
    t.same(read, [{ ...posted, author: toHex(bob.nodeId), user: `bob@${bob.params.overlayName}` }], `${topic}: bob's note read at carol`);
    await carolNotes.post(topic, { title: 'Re: standup', body: 'ok' });
    const both = await bobNotes.read(topic);
    t.same(both.map((n) => n.author).sort(), [toHex(bob.nodeId), toHex(carol.nodeId)].sort(), `${topic}: two authors`);
    const from = (await bob.fetchValues(topicResource(topic), NOTES_KIND)).from;
    t.ok(bytesEqual(from, topic === atCarol ? carol.nodeId : fromHex(child.nodeId)), `${topic}: held by the ${topic === atCarol ? 'library' : 'CLI'} peer`);

    // The storing peer's validation and policy.
    const bad = await refusal(bob.storeValues(topicResource(topic), NOTES_KIND, [{ model: 'dictionary', key: bob.nodeId, value: new Uint8Array([0xff, 0x00]) }]));
    t.equal(bad.errorCode, ErrorCode.invalidMessage, `${topic}: bad CBOR refused`);
    t.match(bad.message, /notes: value is not CBOR/);
    const extra = await refusal(bob.storeValues(topicResource(topic), NOTES_KIND, [{ model: 'dictionary', key: bob.nodeId, value: cborEncode({ title: 't', body: 'b', updated: 1, x: 1 }) }]));
    t.equal(extra.errorCode, ErrorCode.invalidMessage, `${topic}: a map with an extra key refused`);
    const foreign = await refusal(bob.storeValues(topicResource(topic), NOTES_KIND, [{ model: 'dictionary', key: carol.nodeId, value: encodeNote({ title: 'forged', body: '', updated: 1 }) }]));
    t.equal(foreign.errorCode, ErrorCode.forbidden, `${topic}: writing under another author's Node-ID refused`);
    t.match(foreign.message, /NOTE-AUTHOR-MATCH/);

    await bobNotes.remove(topic);
    t.same((await carolNotes.read(topic)).map((n) => n.author), [toHex(carol.nodeId)], `${topic}: bob's note removed`);
  }

  // The CLI peer's status page shows the usage; a client command knows the Kind by name.
  const s = (await (await fetch(new URL('/api/status', statusUrl))).json()) as StatusSnapshot;
  t.same(s.sections.find((x) => x.usage === 'example-notes'), { usage: 'example-notes', title: 'Shared notes (example usage)', fields: { kind: '0xf0000100', notesPosted: 0, topicsRead: 0 } });
  t.ok(s.storage.kinds.some((k) => k.kind === NOTES_KIND && k.name === 'EXAMPLE-NOTES' && k.values >= 1), 'the CLI peer stores notes');
  const fetched = await run(process.execPath, [
    cliPath(), 'fetch', '--identity', await ov.identity('dave'), '--bootstrap-node', `${child.listen.host}:${child.listen.port}`,
    '--usage', BUILT, '--kind', 'EXAMPLE-NOTES', '--resource', topicResource(atChild), '--json',
  ]);
  const out = JSON.parse(fetched.stdout) as { values: { key: string; exists: boolean }[] };
  t.same(out.values.filter((v) => v.exists).map((v) => v.key), [`hex:${toHex(carol.nodeId)}`], 'reload-node fetch --usage ... --kind EXAMPLE-NOTES');
  t.same(out.values.filter((v) => !v.exists).map((v) => v.key), [`hex:${toHex(bob.nodeId)}`], 'bob\'s removal is a non-existent value');
});
