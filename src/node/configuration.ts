/**
 * The configuration a running node holds, and ConfigUpdate (RFC 6940 §6.5.4, behaviour
 * digest §9.5): a node that notices another runs an older configuration sends it the
 * current document; a node receiving one accepts it only if its sequence is newer and it
 * is signed by a configuration-signer of the configuration in force (kind-blocks: signed
 * by a kind-signer). What changes at run time: the configuration sequence, the Kinds and
 * their limits. Changes that need a restart (topology plugin, NodeIdLength, overlay name)
 * are refused with Error_Incompatible_with_Overlay.
 */
import type { Clock } from '../common/clock.js';
import { ReloadError } from '../common/errors.js';
import type { Logger } from '../common/log.js';
import { ConfigurationError } from '../config/errors.js';
import { parseKindBlock } from '../config/parse.js';
import { loadConfiguration, verifyKindBlock } from '../config/signature.js';
import type { OverlayConfiguration } from '../config/types.js';
import type { KindRegistry } from '../storage/kinds.js';
import { fromUtf8 } from '../wire/codec.js';
import { ErrorCode } from '../wire/constants.js';
import type { ConfigUpdateReq } from '../wire/config-update.js';
import type { OverlayParameters } from './parameters.js';

export interface HeldConfiguration {
  /** The document bytes exactly as signed (what a ConfigUpdate of type config carries). */
  bytes: Uint8Array;
  configuration: OverlayConfiguration;
}

/** Registers a configuration's Kinds (see create.ts). */
export type KindInstaller = (kinds: KindRegistry, c: OverlayConfiguration) => void;

export class ConfigurationHolder {
  constructor(
    private current: HeldConfiguration,
    private readonly kinds: KindRegistry,
    private readonly params: OverlayParameters,
    private readonly installKinds: KindInstaller,
    private readonly clock: Clock,
    private readonly log: Logger,
  ) {}

  get configuration(): OverlayConfiguration {
    return this.current.configuration;
  }

  /** The ConfigUpdate that brings another node to this node's configuration. */
  update(): ConfigUpdateReq {
    return { type: 'config', configData: this.current.bytes };
  }

  /** Handles a ConfigUpdateReq; throws ReloadError when it is refused. */
  handle(req: ConfigUpdateReq): void {
    if (req.type === 'config') this.applyDocument(req.configData);
    else this.applyKinds(req.kinds);
  }

  private applyDocument(bytes: Uint8Array): void {
    const prev = this.current.configuration;
    let verified;
    try {
      verified = loadConfiguration(bytes, { now: this.clock.now(), previous: prev });
    } catch (err) {
      if (err instanceof ConfigurationError) {
        const code = err.reason === 'sequence' ? ErrorCode.configTooOld : ErrorCode.forbidden;
        throw new ReloadError(code, `configuration refused: ${err.message}`, undefined, { cause: err });
      }
      throw err;
    }
    const next = verified.configuration;
    if (next.topologyPlugin !== prev.topologyPlugin || next.nodeIdLength !== prev.nodeIdLength) {
      throw new ReloadError(
        ErrorCode.incompatibleWithOverlay,
        'the new configuration changes the topology plugin or NodeIdLength: restart the node with it',
      );
    }
    this.installKinds(this.kinds, next);
    this.params.configurationSequence = next.sequence;
    this.params.maxMessageSize = next.maxMessageSize;
    this.params.initialTtl = next.initialTtl;
    this.current = { bytes: new Uint8Array(bytes), configuration: next };
    this.log.info('configuration updated', { sequence: next.sequence });
  }

  private applyKinds(blocks: Uint8Array[]): void {
    const config = this.current.configuration;
    const now = this.clock.now();
    const parsed = blocks.map((b) => {
      try {
        const block = parseKindBlock(fromUtf8(b, 'KindDescription', 'kind'));
        verifyKindBlock(block, config, now);
        return block;
      } catch (err) {
        throw new ReloadError(ErrorCode.forbidden, `kind-block refused: ${(err as Error).message}`, undefined, { cause: err });
      }
    });
    // All verified: register them together (a clash with a Kind from another signer throws).
    try {
      this.installKinds(this.kinds, { ...config, requiredKinds: parsed.map((p) => p.kind) });
    } catch (err) {
      throw new ReloadError(ErrorCode.forbidden, `kind-block conflicts with a known Kind: ${(err as Error).message}`, undefined, { cause: err });
    }
    this.log.info('kinds updated', { kinds: parsed.map((p) => p.kind.id) });
  }
}
