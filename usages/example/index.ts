/**
 * Example usage — shared notes. The template for writing your own usage (README.md,
 * "Write your own usage", walks through this file).
 *
 * What it does: any user of the overlay can pin a note on a topic. The notes of a topic
 * live at the Resource Name "notes:<topic>" in one dictionary Kind, one entry per author,
 * keyed by the author's Node-ID. A note is a CBOR map {title, body, updated} (cbor-x).
 *
 * The four things a usage declares or does, each shown below:
 *   1. a Kind: Kind-ID in the private-use range 0xF0000001-0xFFFFFFFE (RFC 6940 §14.3),
 *      data model, access-control policy, max-count and max-size;
 *   2. (optional) its own access-control policy — here NOTE-AUTHOR-MATCH: anybody may
 *      write, but only the dictionary entry keyed by their own Node-ID (RFC 6940 §7.3
 *      policies are plugins; the storing peer runs them for every value);
 *   3. (optional) value validation — the storing peer refuses a value that is not a
 *      well-formed note with Error_Invalid_Message, before anything is stored;
 *   4. an API for other code — post(), read(), remove() — built on the UsageApi the node
 *      hands over in start(): store/fetch with signing and signature checks done for you.
 *
 * Load it on every peer (the Kind must be known to whichever peer stores the data):
 *   reload-node start --identity DIR --usage dist/usages/example/index.js
 * or from a program:
 *   const notes = createNotesUsage();
 *   const node = createNode({ ..., usages: [notes] }); await node.start();
 *   await notes.post('lunch', { title: 'Friday', body: 'Pizza at noon' });
 */
import { decode as cborDecode, encode as cborEncode } from 'cbor-x';
import { ReloadError } from '../../src/common/errors.js';
import type { UsageApi, UsagePlugin, UsageStatus } from '../../src/node/usage.js';
import type { KindDefinition } from '../../src/storage/kinds.js';
import type { AccessPolicy } from '../../src/storage/policies.js';
import { bytesEqual, toHex } from '../../src/wire/codec.js';
import { ErrorCode } from '../../src/wire/constants.js';
import type { StoredDataValue } from '../../src/wire/storage.js';

/** The notes Kind: private use (RFC 6940 §14.3), so no IANA registration is needed. */
export const NOTES_KIND = 0xf0000100;
/** The access-control policy this usage adds. */
export const NOTES_POLICY = 'NOTE-AUTHOR-MATCH';
/** Limits of a note. */
export const MAX_TITLE_CHARS = 120;
export const MAX_BODY_CHARS = 2000;
/** max-size of the Kind: bytes of one encoded note. */
export const MAX_NOTE_BYTES = 4096;
/** max-count of the Kind: authors per topic. */
export const MAX_AUTHORS_PER_TOPIC = 64;

/** A note as it is stored (CBOR map with exactly these keys). */
export interface Note {
  title: string;
  body: string;
  /** When the author last wrote it, ms since the epoch. */
  updated: number;
}

/** A note read back, with its author. */
export interface AuthoredNote extends Note {
  /** The author's Node-ID (hex), which is also the dictionary key. */
  author: string;
  /** The author's user name, from the certificate that signed the note. */
  user: string | undefined;
}

function invalid(msg: string): ReloadError {
  return new ReloadError(ErrorCode.invalidMessage, `notes: ${msg}`);
}

/** Checks a note's fields; throws a ReloadError (Error_Invalid_Message) naming the problem. */
export function checkNote(n: unknown): Note {
  if (n === null || typeof n !== 'object' || Array.isArray(n) || n instanceof Map) throw invalid('a note is a CBOR map {title, body, updated}');
  const keys = Object.keys(n).sort();
  if (keys.join(',') !== 'body,title,updated') throw invalid(`a note has exactly the keys body, title, updated (got ${keys.join(', ') || 'none'})`);
  const { title, body, updated } = n as Record<string, unknown>;
  if (typeof title !== 'string' || title.length === 0 || title.length > MAX_TITLE_CHARS) throw invalid(`title must be text of 1..${MAX_TITLE_CHARS} characters`);
  if (typeof body !== 'string' || body.length > MAX_BODY_CHARS) throw invalid(`body must be text of at most ${MAX_BODY_CHARS} characters`);
  if (typeof updated !== 'number' || !Number.isSafeInteger(updated) || updated < 0) throw invalid('updated must be a time in ms since the epoch');
  return { title, body, updated };
}

/** A note as CBOR. */
export function encodeNote(n: Note): Uint8Array {
  const note = checkNote({ title: n.title, body: n.body, updated: n.updated });
  const bytes = cborEncode(note);
  if (bytes.length > MAX_NOTE_BYTES) throw invalid(`an encoded note may take ${MAX_NOTE_BYTES} bytes, this one takes ${bytes.length}`);
  return bytes;
}

/** A note from CBOR; throws a ReloadError for anything that is not a well-formed note. */
export function decodeNote(bytes: Uint8Array): Note {
  let v: unknown;
  try {
    v = cborDecode(bytes);
  } catch (err) {
    throw invalid(`value is not CBOR (${(err as Error).message})`);
  }
  return checkNote(v);
}

/**
 * NOTE-AUTHOR-MATCH: the dictionary key of a note must be the Node-ID of the signer (one
 * its certificate holds). Any enrolled user may write at any "notes:<topic>".
 */
export const noteAuthorMatch: AccessPolicy = {
  name: NOTES_POLICY,
  validateKind(kind) {
    if (kind.dataModel !== 'dictionary') throw new Error(`applies to dictionary Kinds only, not ${kind.dataModel}`);
  },
  check(c) {
    if (c.value.model !== 'dictionary') throw ReloadError.forbidden(`${NOTES_POLICY}: not a dictionary entry`);
    const id = c.signer.nodeId;
    if (!c.signer.certificate.nodeIds.some((n) => bytesEqual(n, id))) throw ReloadError.forbidden(`${NOTES_POLICY}: Node-ID ${toHex(id)} is not in the signer's certificate`);
    if (!bytesEqual(c.value.key, id)) throw ReloadError.forbidden(`${NOTES_POLICY}: a note's key must be its author's Node-ID ${toHex(id)}, not ${toHex(c.value.key)}`);
  },
};

/** The Resource Name of a topic. */
export function topicResource(topic: string): string {
  if (topic.length === 0 || topic.length > 200) throw new RangeError('a topic is 1..200 characters');
  return `notes:${topic}`;
}

export class NotesUsage implements UsagePlugin {
  readonly name = 'example-notes';
  readonly policies = [noteAuthorMatch];
  readonly kinds: readonly Omit<KindDefinition, 'source'>[] = [
    {
      id: NOTES_KIND,
      name: 'EXAMPLE-NOTES',
      dataModel: 'dictionary',
      accessControl: NOTES_POLICY,
      maxCount: MAX_AUTHORS_PER_TOPIC,
      maxSize: MAX_NOTE_BYTES,
      // Runs at the storing peer for every value with exists = true (deletions carry no note).
      validate(value: StoredDataValue) {
        if (value.model !== 'dictionary') throw invalid('notes are dictionary entries');
        decodeNote(value.value.value);
      },
    },
  ];
  private api: UsageApi | undefined;
  private posted = 0;
  private fetched = 0;

  start(api: UsageApi): void {
    this.api = api;
    api.log.info('shared notes ready', { kind: `0x${NOTES_KIND.toString(16)}` });
  }

  stop(): void {
    this.api = undefined;
  }

  private get node(): UsageApi {
    if (!this.api) throw new ReloadError(ErrorCode.notFound, 'notes: the node is not running');
    return this.api;
  }

  /** Pins (or replaces) this node's note on `topic`. */
  async post(topic: string, note: { title: string; body: string }, opts: { lifetimeS?: number } = {}): Promise<Note> {
    const api = this.node;
    const n: Note = { title: note.title, body: note.body, updated: api.clock.now() };
    await api.store(topicResource(topic), NOTES_KIND, [{ model: 'dictionary', key: api.nodeId, value: encodeNote(n) }], opts.lifetimeS ? { lifetimeS: opts.lifetimeS } : {});
    this.posted++;
    return n;
  }

  /** Every note on `topic` (signatures verified by the node; unreadable notes skipped). */
  async read(topic: string): Promise<AuthoredNote[]> {
    const api = this.node;
    const r = await api.fetch(topicResource(topic), NOTES_KIND);
    const out: AuthoredNote[] = [];
    for (const v of r.values) {
      const d = v.data.value;
      if (d.model !== 'dictionary' || !d.value.exists) continue;
      try {
        out.push({ ...decodeNote(d.value.value), author: toHex(d.key), user: v.signer?.certificate.userName });
      } catch (err) {
        api.log.warn('skipping an unreadable note', { topic, author: toHex(d.key), error: (err as Error).message });
      }
    }
    this.fetched++;
    return out.sort((a, b) => b.updated - a.updated);
  }

  /** Takes this node's note off `topic` (stores a non-existent value, RFC 6940 §7.2). */
  async remove(topic: string): Promise<void> {
    const api = this.node;
    await api.store(topicResource(topic), NOTES_KIND, [{ model: 'dictionary', key: api.nodeId, value: new Uint8Array(0), exists: false }]);
  }

  /** The status page's section for this usage. */
  status(): UsageStatus {
    return { title: 'Shared notes (example usage)', kind: `0x${NOTES_KIND.toString(16)}`, notesPosted: this.posted, topicsRead: this.fetched };
  }
}

/** A fresh notes usage. The default export, so `--usage` gets one per node. */
export function createNotesUsage(): NotesUsage {
  return new NotesUsage();
}

export default createNotesUsage;
