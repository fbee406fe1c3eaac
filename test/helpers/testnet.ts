/** A memory-link testnet with the test Kinds every policy and data model needs. */
import { Testnet, type TestnetOptions } from '../../src/node/testnet.js';
import type { KindDefinition } from '../../src/storage/kinds.js';
import { testCA, TEST_OVERLAY } from './identities.js';

export const KIND_SINGLE_USER = 0xf0000001;
export const KIND_ARRAY_NODE = 0xf0000002;
export const KIND_DICT_USER_NODE = 0xf0000003;
export const KIND_SINGLE_MULTIPLE = 0xf0000004;

export const TEST_KINDS: Omit<KindDefinition, 'source'>[] = [
  { id: KIND_SINGLE_USER, name: 'test-single', dataModel: 'single', accessControl: 'USER-MATCH', maxCount: 1, maxSize: 2048 },
  { id: KIND_ARRAY_NODE, name: 'test-array', dataModel: 'array', accessControl: 'NODE-MATCH', maxCount: 16, maxSize: 1024 },
  { id: KIND_DICT_USER_NODE, name: 'test-dict', dataModel: 'dictionary', accessControl: 'USER-NODE-MATCH', maxCount: 16, maxSize: 1024 },
  {
    id: KIND_SINGLE_MULTIPLE,
    name: 'test-multiple',
    dataModel: 'single',
    accessControl: 'NODE-MULTIPLE',
    maxCount: 1,
    maxSize: 256,
    maxNodeMultiple: 3,
  },
];

export function testnet(opts: Partial<TestnetOptions> = {}): Testnet {
  return new Testnet({
    overlay: TEST_OVERLAY,
    rootCertificate: testCA().certificate,
    kinds: TEST_KINDS,
    ...opts,
  });
}
