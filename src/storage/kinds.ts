/**
 * The Kind registry (RFC 6940 §7.4.1, §11.1 kind-block; behaviour digest §3.1, §9.2): every
 * Kind this node stores or decodes, with its data model, access-control policy and limits.
 * Filled by the overlay configuration (`source: 'config'`) and by usage plugins (`source:
 * <usage name>`). It is also the codec's {@link WireContext}: the data model of a Kind is
 * never on the wire, so decoders ask the registry.
 */
import type { DataModel } from '../wire/constants.js';
import { KindIds } from '../wire/constants.js';
import type { WireContext } from '../wire/context.js';
import type { StoredDataValue } from '../wire/storage.js';
import type { PolicyRegistry, ValueCheck } from './policies.js';

/** One Kind as the node knows it. */
export interface KindDefinition {
  /** Kind-ID (uint32, not 0 = INVALID, not a reserved value). */
  id: number;
  /** The Kind's name (IANA name, or a name from the configuration / usage). */
  name?: string;
  dataModel: DataModel;
  /** Access-control policy name, e.g. 'USER-MATCH'; must be registered in the PolicyRegistry. */
  accessControl: string;
  /** max-count: most values one Resource-ID may hold for this Kind (≥ 1). */
  maxCount: number;
  /** max-size: most bytes of DataValue.value per value (≥ 1). */
  maxSize: number;
  /** max-node-multiple: largest i for NODE-MULTIPLE (1..255). */
  maxNodeMultiple?: number;
  /** Who registered it: 'config', or the usage's name. */
  source: string;
  /**
   * Usage-level validation of a value being stored (called for values with exists = true
   * only; tombstones carry no usage payload). Throws a ReloadError to refuse the store.
   */
  validate?(value: StoredDataValue, ctx: ValueCheck): void;
  /** Kind extension parameters from the configuration (e.g. ShaRe variable-resource-names). */
  params?: Record<string, unknown>;
}

/** Why a registration was refused, machine-readable. */
export type KindRegistrationReason =
  | 'clash' // the Kind-ID (or name) is registered with another definition by another source
  | 'invalid-id' // not a uint32, 0 (INVALID) or reserved
  | 'invalid-data-model'
  | 'unknown-policy' // access-control policy not in the PolicyRegistry
  | 'invalid-limits' // max-count / max-size / max-node-multiple out of range
  | 'policy-refused'; // the policy refuses this Kind (e.g. USER-NODE-MATCH on an array)

export class KindRegistrationError extends Error {
  readonly code = 'ERR_RELOAD_KIND';
  constructor(
    readonly reason: KindRegistrationReason,
    readonly kindId: number,
    message: string,
  ) {
    super(`Kind ${kindId}: ${message}`);
    this.name = 'KindRegistrationError';
  }
}

/**
 * IANA-registered Kinds whose data model and access control win over the configuration
 * (RFC 6940 §11.1: "for IANA-registered Kinds the registered data model / access control
 * win"). TURN-SERVICE's max-node-multiple of 20 is part of its registration (RFC 6940 §9.2 /
 * behaviour digest §1). ACCESS-CONTROL-LIST is registered by RFC 8076 (§9.2 there) with the
 * USER-CHAIN-ACL policy, which the ShaRe usage plugin supplies.
 */
export interface IanaKind {
  id: number;
  name: string;
  dataModel: DataModel;
  accessControl: string;
  maxNodeMultiple?: number;
}

export const IANA_KINDS: readonly IanaKind[] = Object.freeze([
  { id: KindIds.sipRegistration, name: 'SIP-REGISTRATION', dataModel: 'dictionary', accessControl: 'USER-NODE-MATCH' },
  { id: KindIds.turnService, name: 'TURN-SERVICE', dataModel: 'single', accessControl: 'NODE-MULTIPLE', maxNodeMultiple: 20 },
  { id: KindIds.certificateByNode, name: 'CERTIFICATE_BY_NODE', dataModel: 'array', accessControl: 'NODE-MATCH' },
  { id: KindIds.accessControlList, name: 'ACCESS-CONTROL-LIST', dataModel: 'array', accessControl: 'USER-CHAIN-ACL' },
  { id: KindIds.certificateByUser, name: 'CERTIFICATE_BY_USER', dataModel: 'array', accessControl: 'USER-MATCH' },
] satisfies IanaKind[]);

/** The IANA registration of a Kind, by Kind-ID or (case-insensitive) name. */
export function ianaKind(idOrName: number | string): IanaKind | undefined {
  if (typeof idOrName === 'number') return IANA_KINDS.find((k) => k.id === idOrName);
  const n = idOrName.toUpperCase();
  return IANA_KINDS.find((k) => k.name === n);
}

const DATA_MODELS: readonly string[] = ['single', 'array', 'dictionary'];
/** Kind-IDs RFC 6940 §14.3 reserves: INVALID and the two reserved values. */
const RESERVED_KIND_IDS = new Set([0x0, 0x7fffffff, 0xfffffffe]);

function isUint(n: unknown, max: number): n is number {
  return typeof n === 'number' && Number.isInteger(n) && n >= 0 && n <= max;
}

/** Two definitions describe the same Kind (ignoring source, hooks and parameters). */
function sameDefinition(a: KindDefinition, b: KindDefinition): boolean {
  return (
    a.id === b.id &&
    a.dataModel === b.dataModel &&
    a.accessControl === b.accessControl &&
    a.maxCount === b.maxCount &&
    a.maxSize === b.maxSize &&
    (a.maxNodeMultiple ?? 0) === (b.maxNodeMultiple ?? 0)
  );
}

export interface KindRegistryInit {
  /** Access-control policies a Kind may name. */
  policies: PolicyRegistry;
  /** NodeIdLength of the overlay (16..20, default 16). */
  nodeIdLength?: number;
}

export class KindRegistry implements WireContext {
  readonly nodeIdLength: number;
  readonly policies: PolicyRegistry;
  private readonly byId = new Map<number, KindDefinition>();

  constructor(init: KindRegistryInit) {
    this.policies = init.policies;
    this.nodeIdLength = init.nodeIdLength ?? 16;
    if (!isUint(this.nodeIdLength, 20) || this.nodeIdLength < 16) {
      throw new RangeError(`NodeIdLength must be 16..20, got ${this.nodeIdLength}`);
    }
  }

  /**
   * Registers a Kind and returns the effective definition (for IANA Kinds, the registered
   * data model / policy replace what `def` says). A Kind already registered by the same
   * source is replaced (e.g. a new configuration); one registered by another source must
   * have the same definition, else {@link KindRegistrationError} 'clash'.
   */
  register(def: KindDefinition): KindDefinition {
    const effective = this.normalize(def);
    const id = effective.id;
    const existing = this.byId.get(id);
    if (existing && existing.source !== effective.source && !sameDefinition(existing, effective)) {
      throw new KindRegistrationError(
        'clash',
        id,
        `already registered by ${existing.source} as ${describe(existing)}; ${effective.source} defines ${describe(effective)}`,
      );
    }
    if (effective.name !== undefined) {
      for (const other of this.byId.values()) {
        if (other.id !== id && other.name !== undefined && other.name.toUpperCase() === effective.name.toUpperCase()) {
          throw new KindRegistrationError('clash', id, `name ${effective.name} is already Kind ${other.id} (${other.source})`);
        }
      }
    }
    if (existing && existing.source !== effective.source) {
      // Same definition from another source (e.g. the configuration names a Kind a usage
      // also declares): one Kind, the first source kept, both validation hooks applied.
      const merged = Object.freeze(mergeDefinitions(existing, effective));
      this.byId.set(id, merged);
      return merged;
    }
    this.byId.set(id, effective);
    return effective;
  }

  /** Removes a Kind; returns whether it was registered. Stored data of it becomes unknown. */
  unregister(id: number): boolean {
    return this.byId.delete(id);
  }

  /** Removes every Kind one source registered (e.g. before applying a new configuration). */
  unregisterSource(source: string): number[] {
    const removed: number[] = [];
    for (const [id, def] of this.byId) {
      if (def.source === source) {
        this.byId.delete(id);
        removed.push(id);
      }
    }
    return removed;
  }

  get(id: number): KindDefinition | undefined {
    return this.byId.get(id);
  }

  byName(name: string): KindDefinition | undefined {
    const n = name.toUpperCase();
    for (const d of this.byId.values()) if (d.name?.toUpperCase() === n) return d;
    return undefined;
  }

  has(id: number): boolean {
    return this.byId.has(id);
  }

  all(): KindDefinition[] {
    return [...this.byId.values()];
  }

  /** WireContext: the data model of a registered Kind, undefined otherwise. */
  dataModel(kind: number): DataModel | undefined {
    return this.byId.get(kind)?.dataModel;
  }

  private normalize(def: KindDefinition): KindDefinition {
    const id = def.id;
    if (!isUint(id, 0xffffffff) || RESERVED_KIND_IDS.has(id)) {
      throw new KindRegistrationError('invalid-id', Number(id), 'not a valid Kind-ID (uint32, not 0 or reserved)');
    }
    if (typeof def.source !== 'string' || def.source === '') {
      throw new KindRegistrationError('invalid-limits', id, 'the registering source must be named');
    }
    const iana = ianaKind(id);
    const effective: KindDefinition = { ...def };
    if (iana) {
      // RFC 6940 §11.1: the IANA registration wins over the configuration document.
      effective.dataModel = iana.dataModel;
      effective.accessControl = iana.accessControl;
      effective.name ??= iana.name;
      if (iana.maxNodeMultiple !== undefined) effective.maxNodeMultiple = iana.maxNodeMultiple;
    }
    if (!DATA_MODELS.includes(effective.dataModel as string)) {
      throw new KindRegistrationError('invalid-data-model', id, `unknown data model ${JSON.stringify(effective.dataModel)}`);
    }
    if (!isUint(effective.maxCount, 0xffffffff) || effective.maxCount < 1) {
      throw new KindRegistrationError('invalid-limits', id, `max-count must be a positive integer, got ${effective.maxCount}`);
    }
    if (!isUint(effective.maxSize, 0xffffffff) || effective.maxSize < 1) {
      throw new KindRegistrationError('invalid-limits', id, `max-size must be a positive integer, got ${effective.maxSize}`);
    }
    if (typeof effective.accessControl !== 'string') {
      throw new KindRegistrationError('unknown-policy', id, 'access-control policy must be named');
    }
    const policy = this.policies.get(effective.accessControl);
    if (!policy) {
      throw new KindRegistrationError('unknown-policy', id, `access-control policy ${JSON.stringify(effective.accessControl)} is not registered`);
    }
    if (policy.validateKind) {
      try {
        policy.validateKind(effective);
      } catch (err) {
        if (err instanceof KindRegistrationError) throw err;
        throw new KindRegistrationError('policy-refused', id, `${policy.name}: ${(err as Error).message}`);
      }
    }
    return Object.freeze(effective);
  }
}

function mergeDefinitions(first: KindDefinition, second: KindDefinition): KindDefinition {
  const merged: KindDefinition = { ...first };
  merged.name ??= second.name;
  const a = first.validate;
  const b = second.validate;
  if (a && b && a !== b) {
    merged.validate = (value, ctx) => {
      a.call(first, value, ctx);
      b.call(second, value, ctx);
    };
  } else if (b) {
    merged.validate = (value, ctx) => b.call(second, value, ctx);
  }
  if (second.params) merged.params = { ...second.params, ...first.params };
  return merged;
}

function describe(d: KindDefinition): string {
  const mult = d.maxNodeMultiple !== undefined ? ` max-node-multiple ${d.maxNodeMultiple}` : '';
  return `${d.dataModel}/${d.accessControl} max-count ${d.maxCount} max-size ${d.maxSize}${mult}`;
}
