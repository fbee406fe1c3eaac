/**
 * The enrollment server's accounts (RFC 6940 §11.3): user name → salted scrypt password
 * hash and the Node-IDs issued to the user, so that re-enrollment returns the same
 * Node-IDs (behaviour digest §4.1, §10). Stored in DIR/users.json as
 *
 *     { "alice@example.org": { "salt": base64, "hash": base64, "nodeIds": [hex, ...] } }
 *
 * Passwords are never stored: scrypt (N=2^14, r=8, p=1, 32-byte output, 16-byte random
 * salt), compared in constant time. The file is replaced atomically (write + rename, mode
 * 0600); writes from one process are serialized, and each update re-reads the file so an
 * `add-user` run while the server is up is not lost.
 */
import { randomBytes, scrypt as scryptCb, timingSafeEqual } from 'node:crypto';
import { promises as fs } from 'node:fs';
import { dirname } from 'node:path';
import { isDnsName } from '../src/config/parse.js';
import { fromHex, toHex } from '../src/wire/codec.js';

export interface UserRecord {
  /** Base64 scrypt salt. */
  salt: string;
  /** Base64 scrypt output. */
  hash: string;
  /** Hex Node-IDs issued to this user, in issue order. */
  nodeIds: string[];
}

export type UserDatabaseErrorReason = 'exists' | 'unknown_user' | 'bad_user_name' | 'bad_password' | 'corrupt';

export class UserDatabaseError extends Error {
  readonly code = 'ERR_RELOAD_USERS';
  constructor(
    readonly reason: UserDatabaseErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'UserDatabaseError';
  }
}

const SCRYPT = { N: 16384, r: 8, p: 1, maxmem: 64 * 1024 * 1024 } as const;
const HASH_BYTES = 32;
const SALT_BYTES = 16;
/** Longest password accepted, bytes (UTF-8). */
export const MAX_PASSWORD_BYTES = 1024;

function scrypt(password: string, salt: Buffer): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    scryptCb(Buffer.from(password, 'utf8'), salt, HASH_BYTES, SCRYPT, (err, key) => (err ? reject(err) : resolve(key)));
  });
}

const LOCAL_PART = /^[A-Za-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}$/;

/**
 * Whether `name` can be a RELOAD user name: the certificate carries it as an rfc822Name
 * (RFC 6940 §11.3; an RFC 5322 addr-spec, IA5String), so `local@domain` in ASCII.
 */
export function isValidUserName(name: string): boolean {
  const at = name.lastIndexOf('@');
  if (at <= 0 || name.length > 254) return false;
  return LOCAL_PART.test(name.slice(0, at)) && isDnsName(name.slice(at + 1));
}

/** Throws UserDatabaseError when an account cannot have this user name or password. */
export function checkNewAccount(name: string, password: string): void {
  if (!isValidUserName(name)) throw new UserDatabaseError('bad_user_name', `user name ${JSON.stringify(name)} is not of the form user@domain`);
  const pwBytes = Buffer.byteLength(password, 'utf8');
  if (pwBytes === 0 || pwBytes > MAX_PASSWORD_BYTES) {
    throw new UserDatabaseError('bad_password', `password must be 1..${MAX_PASSWORD_BYTES} bytes`);
  }
}

export class UserDatabase {
  private queue: Promise<unknown> = Promise.resolve();
  /** A fixed salt/hash compared against when the user does not exist (equal timing). */
  private readonly decoy = { salt: randomBytes(SALT_BYTES), hash: randomBytes(HASH_BYTES) };

  constructor(
    /** Path of users.json. */
    readonly file: string,
  ) {}

  /** Creates an empty users file (mode 0600) unless one exists. */
  static async create(file: string): Promise<UserDatabase> {
    await fs.mkdir(dirname(file), { recursive: true });
    try {
      await fs.writeFile(file, '{}\n', { flag: 'wx', mode: 0o600 });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    return new UserDatabase(file);
  }

  /** Every account, as stored. */
  async read(): Promise<Record<string, UserRecord>> {
    let text: string;
    try {
      text = await fs.readFile(this.file, 'utf8');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'ENOENT') return {};
      throw err;
    }
    let data: unknown;
    try {
      data = JSON.parse(text);
    } catch (err) {
      throw new UserDatabaseError('corrupt', `${this.file} is not JSON`, { cause: err });
    }
    if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new UserDatabaseError('corrupt', `${this.file} is not a JSON object`);
    const out: Record<string, UserRecord> = Object.create(null);
    for (const [name, r] of Object.entries(data as Record<string, unknown>)) {
      const rec = r as Partial<UserRecord> | null;
      if (
        typeof rec !== 'object' ||
        rec === null ||
        typeof rec.salt !== 'string' ||
        typeof rec.hash !== 'string' ||
        !Array.isArray(rec.nodeIds) ||
        !rec.nodeIds.every((id) => typeof id === 'string' && /^[0-9a-f]+$/.test(id))
      ) {
        throw new UserDatabaseError('corrupt', `${this.file}: bad record for ${JSON.stringify(name)}`);
      }
      out[name] = { salt: rec.salt, hash: rec.hash, nodeIds: [...rec.nodeIds] };
    }
    return out;
  }

  /** Adds an account. Throws UserDatabaseError('exists') if the user name is taken. */
  async addUser(name: string, password: string): Promise<void> {
    checkNewAccount(name, password);
    const salt = randomBytes(SALT_BYTES);
    const hash = await scrypt(password, salt);
    await this.update((users) => {
      if (users[name]) throw new UserDatabaseError('exists', `user ${name} already exists`);
      users[name] = { salt: salt.toString('base64'), hash: hash.toString('base64'), nodeIds: [] };
    });
  }

  /**
   * Checks a password (RFC 6940 §11.3: compared as binary, UTF-8). Returns the record on
   * success, undefined otherwise; an unknown user costs the same scrypt as a known one.
   */
  async authenticate(name: string, password: string): Promise<UserRecord | undefined> {
    const users = await this.read();
    const rec = Object.hasOwn(users, name) ? users[name] : undefined;
    if (Buffer.byteLength(password, 'utf8') > MAX_PASSWORD_BYTES) return undefined;
    const salt = rec ? Buffer.from(rec.salt, 'base64') : this.decoy.salt;
    const want = rec ? Buffer.from(rec.hash, 'base64') : this.decoy.hash;
    const got = await scrypt(password, salt);
    const ok = want.length === got.length && timingSafeEqual(want, got);
    return ok && rec ? rec : undefined;
  }

  /** Node-IDs already issued to a user (empty if none or unknown). */
  async nodeIdsOf(name: string): Promise<Uint8Array[]> {
    const users = await this.read();
    return Object.hasOwn(users, name) ? users[name]!.nodeIds.map((h) => fromHex(h)) : [];
  }

  /**
   * Appends Node-IDs to a user's list, after checking that no account holds them yet.
   * Returns false (and stores nothing) when one of them is taken.
   */
  async addNodeIds(name: string, ids: readonly Uint8Array[]): Promise<boolean> {
    let added = false;
    await this.update((users) => {
      const rec = Object.hasOwn(users, name) ? users[name] : undefined;
      if (!rec) throw new UserDatabaseError('unknown_user', `no user ${name}`);
      const taken = new Set(Object.values(users).flatMap((u) => u.nodeIds));
      const hex = ids.map(toHex);
      if (hex.some((h) => taken.has(h)) || new Set(hex).size !== hex.length) return;
      rec.nodeIds.push(...hex);
      added = true;
    });
    return added;
  }

  /** Read-modify-write under the in-process lock, replacing the file atomically. */
  private update(fn: (users: Record<string, UserRecord>) => void): Promise<void> {
    const run = this.queue.then(async () => {
      const users = await this.read();
      fn(users);
      const tmp = `${this.file}.${process.pid}.${randomBytes(4).toString('hex')}.tmp`;
      await fs.writeFile(tmp, `${JSON.stringify(users, null, 2)}\n`, { mode: 0o600 });
      await fs.rename(tmp, this.file);
    });
    this.queue = run.catch(() => undefined);
    return run;
  }
}
