/** Enrollment accounts in users.json (certs/users.ts). */
import t from 'tap';
import { readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { UserDatabase, UserDatabaseError, isValidUserName } from '../../certs/users.js';
import { toHex } from '../../src/wire/codec.js';
import { tempDir } from './helpers.js';

t.test('accounts: salted scrypt hashes, constant-time checks, Node-IDs kept per user', async (t) => {
  const file = join(tempDir(t), 'sub', 'users.json');
  const db = await UserDatabase.create(file);
  t.equal(statSync(file).mode & 0o777, 0o600);
  await db.addUser('alice@example.org', 'correct horse');
  await db.addUser('bob@example.org', 'correct horse');
  const raw = JSON.parse(readFileSync(file, 'utf8')) as Record<string, { salt: string; hash: string; nodeIds: string[] }>;
  t.same(Object.keys(raw), ['alice@example.org', 'bob@example.org']);
  t.not(raw['alice@example.org']!.salt, raw['bob@example.org']!.salt, 'per-user salt');
  t.not(raw['alice@example.org']!.hash, raw['bob@example.org']!.hash, 'same password, different hashes');
  t.equal(Buffer.from(raw['alice@example.org']!.hash, 'base64').length, 32);
  t.notOk(readFileSync(file, 'utf8').includes('correct horse'));
  t.equal(statSync(file).mode & 0o777, 0o600, 'still 0600 after a rewrite');

  t.ok(await db.authenticate('alice@example.org', 'correct horse'));
  t.equal(await db.authenticate('alice@example.org', 'correct horse '), undefined);
  t.equal(await db.authenticate('alice@example.org', ''), undefined);
  t.equal(await db.authenticate('nobody@example.org', 'correct horse'), undefined);
  t.equal(await db.authenticate('__proto__', 'x'), undefined);
  t.equal(await db.authenticate('alice@example.org', 'x'.repeat(2000)), undefined);

  await t.rejects(db.addUser('alice@example.org', 'again'), { name: 'UserDatabaseError', reason: 'exists' });
  await t.rejects(db.addUser('alice', 'pw'), { name: 'UserDatabaseError', reason: 'bad_user_name' });
  await t.rejects(db.addUser('carol@example.org', ''), { name: 'UserDatabaseError', reason: 'bad_password' });

  const a = [new Uint8Array(16).fill(1), new Uint8Array(16).fill(2)];
  t.equal(await db.addNodeIds('alice@example.org', a), true);
  t.same((await db.nodeIdsOf('alice@example.org')).map(toHex), a.map(toHex));
  t.equal(await db.addNodeIds('bob@example.org', [new Uint8Array(16).fill(2)]), false, 'a Node-ID is never given to two users');
  t.equal(await db.addNodeIds('bob@example.org', [new Uint8Array(16).fill(3), new Uint8Array(16).fill(3)]), false, 'nor twice to one');
  t.same(await db.nodeIdsOf('bob@example.org'), []);
  await t.rejects(db.addNodeIds('nobody@example.org', [new Uint8Array(16).fill(4)]), { name: 'UserDatabaseError', reason: 'unknown_user' });
  // A second handle on the same file (another process) sees the same state.
  t.same((await new UserDatabase(file).nodeIdsOf('alice@example.org')).map(toHex), a.map(toHex));
});

t.test('concurrent updates from one process are serialized', async (t) => {
  const db = await UserDatabase.create(join(tempDir(t), 'users.json'));
  await Promise.all(['a', 'b', 'c', 'd', 'e'].map((u) => db.addUser(`${u}@example.org`, 'pw')));
  t.equal(Object.keys(await db.read()).length, 5);
  await Promise.all(['a', 'b', 'c', 'd', 'e'].map((u, i) => db.addNodeIds(`${u}@example.org`, [new Uint8Array(16).fill(i + 1)])));
  const all = await db.read();
  t.same(Object.values(all).map((r) => r.nodeIds.length), [1, 1, 1, 1, 1]);
});

t.test('a damaged users file is reported, a missing one is empty', async (t) => {
  const dir = tempDir(t);
  t.same(await new UserDatabase(join(dir, 'none.json')).read(), {});
  const file = join(dir, 'users.json');
  for (const [text, message] of [
    ['not json', /is not JSON/],
    ['[]', /is not a JSON object/],
    ['{"a@b.c": {"salt": 1}}', /bad record for "a@b.c"/],
    ['{"a@b.c": {"salt": "x", "hash": "y", "nodeIds": ["XYZ"]}}', /bad record/],
  ] as const) {
    writeFileSync(file, text);
    await t.rejects(new UserDatabase(file).read(), { name: 'UserDatabaseError', reason: 'corrupt', message });
  }
  t.ok(UserDatabaseError);
});

t.test('user names are rfc822 mailboxes', async (t) => {
  for (const ok of ['alice@example.org', 'a.b+c@x.y', "o'neil@example.org", 'x@localhost']) t.equal(isValidUserName(ok), true, ok);
  for (const bad of ['alice', '@example.org', 'alice@', 'a b@example.org', 'a@exa mple.org', 'ä@example.org', 'a@-x.org', `${'a'.repeat(65)}@x.org`, 'a@b@c']) {
    t.equal(isValidUserName(bad), false, bad);
  }
});
