/**
 * The node's typed error: a RELOAD error code (RFC 6940 §6.3.3.1) plus context. Handlers
 * throw it; the dispatcher turns it into an ErrorResponse with that code. Match on
 * `errorCode`, never on the message text.
 */
import { ErrorCode, errorCodeName } from '../wire/constants.js';

export class ReloadError extends Error {
  readonly code = 'ERR_RELOAD';
  constructor(
    /** The RFC 6940 error code sent on the wire. */
    readonly errorCode: number,
    message: string,
    /** Structured error_info to send instead of the message text (e.g. a StoreAns). */
    readonly errorInfo?: Uint8Array,
    options?: { cause?: unknown },
  ) {
    super(`${errorCodeName(errorCode)}: ${message}`, options);
    this.name = 'ReloadError';
  }

  static forbidden(msg: string): ReloadError {
    return new ReloadError(ErrorCode.forbidden, msg);
  }
  static notFound(msg: string): ReloadError {
    return new ReloadError(ErrorCode.notFound, msg);
  }
  static invalidMessage(msg: string): ReloadError {
    return new ReloadError(ErrorCode.invalidMessage, msg);
  }
  static dataTooLarge(msg: string): ReloadError {
    return new ReloadError(ErrorCode.dataTooLarge, msg);
  }
  static dataTooOld(msg: string): ReloadError {
    return new ReloadError(ErrorCode.dataTooOld, msg);
  }
  static requestTimeout(msg: string): ReloadError {
    return new ReloadError(ErrorCode.requestTimeout, msg);
  }
}

/** A remote node answered with an ErrorResponse. */
export class ReloadErrorResponse extends ReloadError {
  constructor(errorCode: number, errorInfo: Uint8Array, readonly from?: Uint8Array) {
    const text = Buffer.from(errorInfo).toString('utf8').replace(/[^\x20-\x7e]/g, '?');
    super(errorCode, `remote error${text ? `: ${text}` : ''}`, errorInfo);
    this.name = 'ReloadErrorResponse';
  }
}
