/**
 * Pieces every transport shares: connection ids, counters, address keys, the
 * oversized-message report (RFC 6940 §6.6.2) and guarded handler calls.
 */
import type { Clock, TimerHandle } from '../common/clock.js';
import { OVERSIZE_CLOSE_GRACE_MS } from './constants.js';
import { type Connection, type LinkAddress, type LinkHandlers, type LinkStats, type OversizedMessage, LinkError, type TransportKind } from './types.js';

let connectionCounter = 0;

/** A connection id unique for the life of the process: `udp-1`, `tls-2`, `memory-3`... */
export function nextConnectionId(kind: TransportKind): string {
  connectionCounter += 1;
  return `${kind}-${connectionCounter}`;
}

/** The counters behind `Connection.stats`, writable by the transport. */
export class MutableLinkStats implements LinkStats {
  bytesSent = 0;
  bytesReceived = 0;
  dataFramesSent = 0;
  retransmissions = 0;
  dataFramesReceived = 0;
  acksSent = 0;
  acksReceived = 0;
  messagesSent = 0;
  messagesDelivered = 0;
}

/** `host:port` (IPv6 hosts in brackets), the key of an association or an endpoint. */
export function addressKey(a: LinkAddress): string {
  return a.host.includes(':') ? `[${a.host}]:${a.port}` : `${a.host}:${a.port}`;
}

/**
 * Calls a handler so that an exception thrown by the layer above can never break the
 * link's receive path; the exception is passed to `onError` (as a LinkError whose cause is
 * the exception) when that handler exists.
 */
export function guarded(handlers: LinkHandlers, what: string, fn: () => void): void {
  try {
    fn();
  } catch (err) {
    if (handlers.onError) {
      try {
        handlers.onError(new LinkError(`${what} handler threw`, { cause: err }));
      } catch {
        // The error handler itself failed: nothing more can be done here.
      }
    }
  }
}

/** Reports a failure that belongs to no open connection. */
export function reportError(handlers: LinkHandlers, error: LinkError): void {
  if (!handlers.onError) return;
  try {
    handlers.onError(error);
  } catch {
    // Never let a logging hook break the link.
  }
}

/**
 * An incoming message exceeded max-message-size (RFC 6940 §6.6.2, behaviour digest §2
 * step 1): tell the router (which may send Error_Message_Too_Large on `conn`), then close
 * the link — at once, or when the handler's promise settles, or after
 * OVERSIZE_CLOSE_GRACE_MS, whichever comes first.
 */
export function reportOversizedThenClose(
  conn: Connection,
  handlers: LinkHandlers,
  info: OversizedMessage,
  clock: Clock,
  close: (reason: string) => void,
): void {
  const reason = `message too large (${info.length} bytes, max-message-size ${info.limit})`;
  let timer: TimerHandle | undefined;
  let done = false;
  const finish = (): void => {
    if (done) return;
    done = true;
    timer?.cancel();
    close(reason);
  };
  const handler = handlers.onMessageTooLarge;
  if (!handler) return finish();
  let result: void | Promise<void>;
  try {
    result = handler.call(handlers, conn, info);
  } catch (err) {
    reportError(handlers, new LinkError('onMessageTooLarge handler threw', { cause: err, remote: conn.remote }));
    return finish();
  }
  if (result && typeof (result as Promise<void>).then === 'function') {
    timer = clock.setTimeout(finish, OVERSIZE_CLOSE_GRACE_MS);
    (result as Promise<void>).then(finish, finish);
  } else {
    finish();
  }
}
