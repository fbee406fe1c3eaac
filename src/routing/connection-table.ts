/**
 * The Connection Table (RFC 6940 §3.7 / §6.1): the nodes this node has a live link to,
 * by Node-ID, plus links whose Node-ID is not known yet (a bootstrap connection over an
 * unauthenticated link). Each link also gets a 16-bit compressed id (RFC 6940 §6.3.2.2:
 * top bit set, 12 bits of index plus 3 bits of generation) that this node puts in Via
 * Lists in place of a Node-ID it cannot name, and expands when the response comes back.
 */
import type { Connection } from '../link/types.js';
/**
 * Map key of a Node-ID: its bytes as a Latin-1 string (one native call, no hex digits —
 * these lookups run for every message routed).
 */
export function nodeIdKey(id: Uint8Array): string {
  return String.fromCharCode.apply(null, id as unknown as number[]);
}

export interface LinkEntry {
  connection: Connection;
  /** The neighbour's Node-ID once known (TLS certificate, Attach, or a verified message). */
  nodeId: Uint8Array | undefined;
  /** 16-bit compressed id standing for this link in Via Lists. */
  compressedId: number;
  /** Monotonic ms of the last message received. */
  lastSeen: number;
  /**
   * The link carries the failure hint (RFC 6940 §6.6.3.2, 'suspect' until 'restored'): it
   * stays in the Connection Table, so messages addressed to that node still use it, but it
   * is out of the routing table — the topology routes other traffic around it.
   */
  suspect: boolean;
}

const INDEX_BITS = 12;
const GENERATION_BITS = 3;
const INDEX_MASK = (1 << INDEX_BITS) - 1;
const GENERATION_MASK = (1 << GENERATION_BITS) - 1;

export class ConnectionTable {
  private readonly byConnection = new Map<string, LinkEntry>();
  private readonly byNodeId = new Map<string, LinkEntry>();
  /** Grow on demand up to 4096 slots (a 10,000-peer simulation holds 10,000 tables). */
  private readonly slots: (LinkEntry | undefined)[] = [];
  private readonly generations: number[] = [];
  private nextSlot = 0;

  add(connection: Connection, now: number, nodeId?: Uint8Array): LinkEntry {
    const existing = this.byConnection.get(connection.id);
    if (existing) {
      if (nodeId) this.bind(existing, nodeId);
      return existing;
    }
    const slot = this.freeSlot();
    const generation = ((this.generations[slot] ?? 0) + 1) & GENERATION_MASK;
    this.generations[slot] = generation;
    const entry: LinkEntry = {
      connection,
      nodeId: undefined,
      compressedId: 0x8000 | (generation << INDEX_BITS) | slot,
      lastSeen: now,
      suspect: false,
    };
    this.slots[slot] = entry;
    this.byConnection.set(connection.id, entry);
    if (nodeId) this.bind(entry, nodeId);
    return entry;
  }

  /** Records the Node-ID of a link. The newest link for a Node-ID wins. */
  bind(entry: LinkEntry, nodeId: Uint8Array): void {
    if (entry.nodeId) {
      if (nodeIdKey(entry.nodeId) === nodeIdKey(nodeId)) return;
      this.byNodeId.delete(nodeIdKey(entry.nodeId));
    }
    // A copy: the Node-ID usually comes from a received message (a view into its buffer),
    // and a link lives far longer than the message.
    entry.nodeId = new Uint8Array(nodeId);
    this.byNodeId.set(nodeIdKey(nodeId), entry);
  }

  remove(connectionId: string): LinkEntry | undefined {
    const e = this.byConnection.get(connectionId);
    if (!e) return undefined;
    this.byConnection.delete(connectionId);
    if (e.nodeId) {
      const key = nodeIdKey(e.nodeId);
      if (this.byNodeId.get(key) === e) this.byNodeId.delete(key);
    }
    const slot = e.compressedId & INDEX_MASK;
    if (this.slots[slot] === e) this.slots[slot] = undefined;
    return e;
  }

  byConnectionId(id: string): LinkEntry | undefined {
    return this.byConnection.get(id);
  }

  byNode(nodeId: Uint8Array): LinkEntry | undefined {
    return this.byNodeId.get(nodeIdKey(nodeId));
  }

  /** Expands a compressed id this node minted; undefined if stale or foreign. */
  byCompressedId(id: number): LinkEntry | undefined {
    const e = this.slots[id & INDEX_MASK];
    return e && e.compressedId === id ? e : undefined;
  }

  nodeIds(): Uint8Array[] {
    return [...this.byNodeId.values()].map((e) => e.nodeId!);
  }

  entries(): LinkEntry[] {
    return [...this.byConnection.values()];
  }

  get size(): number {
    return this.byConnection.size;
  }

  private freeSlot(): number {
    // Slots are handed out in rotation over all 4096 (a freed slot is reused as late as
    // possible, so a stale compressed id rarely meets a new link); slots past the end of the
    // arrays are free and the arrays grow to them as the rotation reaches them.
    for (let i = 0; i <= INDEX_MASK; i++) {
      const s = (this.nextSlot + i) & INDEX_MASK;
      if (s >= this.slots.length) {
        while (this.slots.length <= s) {
          this.slots.push(undefined);
          this.generations.push(0);
        }
      }
      if (!this.slots[s]) {
        this.nextSlot = (s + 1) & INDEX_MASK;
        return s;
      }
    }
    throw new Error('connection table full (4096 links)');
  }
}
