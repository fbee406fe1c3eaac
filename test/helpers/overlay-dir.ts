/**
 * An overlay on disk for integration tests: init-overlay's library call (CA, signed
 * configuration with the test Kinds) and identity directories issued straight from the
 * CA, exactly as `reload-node enroll` writes them, so `start --identity DIR` and
 * createNodeFromIdentity read them unchanged.
 */
import { mkdtemp } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import { generateRsaKey, issueCertificate } from '../../certs/ca.js';
import { saveIdentity } from '../../certs/enrollment-client.js';
import { type Overlay, initOverlay } from '../../certs/overlay-admin.js';
import type { KindDefinition, OverlayConfiguration } from '../../src/config/types.js';
import { KIND_ARRAY_NODE, KIND_DICT_USER_NODE, KIND_SINGLE_MULTIPLE, KIND_SINGLE_USER } from './testnet.js';

export const CONFIG_TEST_KINDS: KindDefinition[] = [
  { id: KIND_SINGLE_USER, dataModel: 'SINGLE', accessControl: 'USER-MATCH', maxCount: 1, maxSize: 2048, extensions: [], extensionAttributes: [] },
  { id: KIND_ARRAY_NODE, dataModel: 'ARRAY', accessControl: 'NODE-MATCH', maxCount: 16, maxSize: 1024, extensions: [], extensionAttributes: [] },
  { id: KIND_DICT_USER_NODE, dataModel: 'DICTIONARY', accessControl: 'USER-NODE-MATCH', maxCount: 16, maxSize: 1024, extensions: [], extensionAttributes: [] },
  {
    id: KIND_SINGLE_MULTIPLE,
    dataModel: 'SINGLE',
    accessControl: 'NODE-MULTIPLE',
    maxCount: 1,
    maxSize: 256,
    maxNodeMultiple: 20,
    extensions: [],
    extensionAttributes: [],
  },
];

export interface TestOverlay {
  dir: string;
  overlay: Overlay;
  /**
   * Writes an identity directory for `user` (a fresh key and random Node-ID); returns its
   * path. `configuration` replaces the overlay's document (a newer version, say).
   */
  identity(user: string, nodeId?: Uint8Array, configuration?: { bytes: Uint8Array; configuration: OverlayConfiguration }): Promise<string>;
}

export async function makeOverlay(name = 'overlay.test.example', kinds: KindDefinition[] = CONFIG_TEST_KINDS): Promise<TestOverlay> {
  const dir = await mkdtemp(join(tmpdir(), 'reload-overlay-'));
  const overlay = await initOverlay({ name, dir: join(dir, 'operator'), kinds, enrollmentUrl: 'https://127.0.0.1:1/enroll' });
  return {
    dir,
    overlay,
    async identity(user, nodeId, configuration) {
      const key = generateRsaKey();
      const certificateDer = issueCertificate(overlay.ca, {
        publicKey: key.publicKey,
        userName: `${user}@${name}`,
        nodeIds: [nodeId ?? new Uint8Array(randomBytes(16))],
      });
      const path = join(dir, `id-${user}`);
      await saveIdentity(path, {
        config: configuration?.configuration ?? overlay.configuration,
        configurationBytes: configuration?.bytes ?? overlay.configurationBytes,
        certificateDer,
        privateKey: key.privateKey,
      });
      return path;
    },
  };
}
