/**
 * The one error type of the configuration module: what is wrong with an overlay
 * configuration document, machine-readable in `reason` (never match on the text).
 */

export type ConfigurationErrorReason =
  /** Not well-formed XML, or a construct refused for safety (DOCTYPE). */
  | 'xml'
  /** Larger than the accepted document size. */
  | 'too_large'
  /** Required element or attribute missing, or an element in the wrong place. */
  | 'structure'
  /** An element or attribute value out of range or of the wrong syntax. */
  | 'value'
  /** No `<signature>` follows the configuration. */
  | 'unsigned'
  /** The signature does not verify over the configuration bytes (tampered or corrupt). */
  | 'bad_signature'
  /** The signer's certificate is not trusted (no chain to a root-cert, expired, bad-node). */
  | 'untrusted_signer'
  /** The signer is valid but its Node-ID is not a configuration-signer (or kind-signer). */
  | 'not_a_signer'
  /** A kind-block's kind-signature is missing or does not verify. */
  | 'kind_signature'
  /** The sequence number is not newer than the current configuration's. */
  | 'sequence'
  /** The document's expiration time has passed. */
  | 'expired'
  /** No configuration for the expected overlay instance-name. */
  | 'instance_name';

export class ConfigurationError extends Error {
  readonly code = 'ERR_RELOAD_CONFIG';
  constructor(
    readonly reason: ConfigurationErrorReason,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'ConfigurationError';
  }
}
