/**
 * The SIP protocol stack (RFC 3261) the SIP usage (RFC 7904) and the conference focus run
 * on: message model, parser and serializer, transactions, UDP/TCP transports, the
 * endpoint, dialog and proxy helpers. See README.md in this folder.
 *
 * @example A UAS answering every INVITE with 200 and every other request with 200:
 * ```ts
 * const ep = await SipEndpoint.start({ udp: { port: 5060 } });
 * ep.on('request', (req, tx) => {
 *   if (!tx) return; // an ACK for a 2xx
 *   const res = tx.createResponse(200);
 *   if (req.method === 'INVITE') res.set('Contact', `<sip:uas@${ep.viaHost}:${ep.udpAddress!.port}>`);
 *   tx.respond(res);
 * });
 * ```
 */
export * from './errors.js';
export * from './constants.js';
export * from './uri.js';
export * from './header-values.js';
export * from './message.js';
export {
  type ParseOptions,
  type SalvagedRequest,
  type FramerEvent,
  parseMessage,
  salvageRequest,
  SipStreamFramer,
  isSupportedVersion,
} from './parser.js';
export * from './builders.js';
export * from './transaction.js';
export { type HostPort, type TcpConnection, normalizeAddress } from './transport.js';
export * from './endpoint.js';
export * from './dialog.js';
export * from './proxy.js';
export * from './validation.js';
export { TypedEmitter, type ListenerErrorSink } from './emitter.js';
