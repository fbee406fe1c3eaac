/**
 * What a decoder must know that is not on the wire (RFC 6940 §6.3.1): the overlay's
 * NodeIdLength and, for stored values, the data model of each Kind.
 */
import { DEFAULT_NODE_ID_LENGTH, type DataModel } from './constants.js';

export interface WireContext {
  /** NodeIdLength of the overlay, 16..20 bytes (RFC 6940 §11.1 node-id-length). */
  readonly nodeIdLength: number;
  /** The data model of a Kind, or undefined when the Kind is unknown here. */
  dataModel(kind: number): DataModel | undefined;
}

/** The Kinds every RELOAD node knows by their IANA registration. */
export const WELL_KNOWN_DATA_MODELS: ReadonlyMap<number, DataModel> = new Map<number, DataModel>([
  [0x1, 'dictionary'], // SIP-REGISTRATION (RFC 7904)
  [0x2, 'single'], // TURN-SERVICE (RFC 6940)
  [0x3, 'array'], // CERTIFICATE_BY_NODE (RFC 6940)
  [0x4, 'array'], // ACCESS-CONTROL-LIST (RFC 8076)
  [0x10, 'array'], // CERTIFICATE_BY_USER (RFC 6940)
  [0x104, 'dictionary'], // REDIR (RFC 7374)
]);

/** A context knowing only the IANA Kinds, plus optional extra ones. */
export function wireContext(
  extra: Iterable<[number, DataModel]> = [],
  nodeIdLength = DEFAULT_NODE_ID_LENGTH,
): WireContext {
  const models = new Map(WELL_KNOWN_DATA_MODELS);
  for (const [k, m] of extra) models.set(k, m);
  return { nodeIdLength, dataModel: (k) => models.get(k) };
}

export const DEFAULT_WIRE_CONTEXT: WireContext = wireContext();
