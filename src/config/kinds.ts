/**
 * IANA-registered Kinds that a configuration may name with `name=` (RFC 6940 §14.3;
 * SIP-REGISTRATION from RFC 7904 §9; ACCESS-CONTROL-LIST from RFC 8076 §9.2), with their
 * registered data model and access control, which win over what a document says
 * (RFC 6940 §11.1). Kinds outside this table are given by number with `id=`.
 */
import { KindIds } from '../wire/constants.js';

export interface RegisteredKind {
  id: number;
  dataModel: 'SINGLE' | 'ARRAY' | 'DICTIONARY';
  accessControl: string;
  /** NODE-MULTIPLE's registered maximum i, when the registry gives one. */
  maxNodeMultiple?: number;
}

export const IANA_KINDS: Readonly<Record<string, RegisteredKind>> = Object.freeze({
  'SIP-REGISTRATION': { id: KindIds.sipRegistration, dataModel: 'DICTIONARY', accessControl: 'USER-NODE-MATCH' },
  'TURN-SERVICE': { id: KindIds.turnService, dataModel: 'SINGLE', accessControl: 'NODE-MULTIPLE', maxNodeMultiple: 20 },
  CERTIFICATE_BY_NODE: { id: KindIds.certificateByNode, dataModel: 'ARRAY', accessControl: 'NODE-MATCH' },
  'ACCESS-CONTROL-LIST': { id: KindIds.accessControlList, dataModel: 'ARRAY', accessControl: 'USER-CHAIN-ACL' },
  CERTIFICATE_BY_USER: { id: KindIds.certificateByUser, dataModel: 'ARRAY', accessControl: 'USER-MATCH' },
});

/** Private-use Kind-IDs, defined by `id=` in a configuration (RFC 6940 §14.3). */
export const PRIVATE_KIND_ID_MIN = 0xf0000001;
export const PRIVATE_KIND_ID_MAX = 0xfffffffe;

export function isPrivateKindId(id: number): boolean {
  return Number.isInteger(id) && id >= PRIVATE_KIND_ID_MIN && id <= PRIVATE_KIND_ID_MAX;
}

/** The IANA name of a registered Kind-ID, if it has one here. */
export function kindNameOf(id: number): string | undefined {
  for (const [name, k] of Object.entries(IANA_KINDS)) if (k.id === id) return name;
  return undefined;
}
