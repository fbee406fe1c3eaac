/**
 * Helpers a proxy (and a conference focus acting as a B2BUA or proxy) needs (RFC 3261 §16):
 * Max-Forwards (§16.3, §16.6 step 3), Record-Route (§16.6 step 4), route information
 * preprocessing (§16.4), loose / strict next-hop determination (§16.6 steps 6-7, §16.12),
 * response Via removal (§16.7 step 3), and refusing to forward responses to broadcast
 * addresses (RFC 4475 §3.3.10). No DNS (RFC 3263): a next-hop URI becomes a destination
 * by its maddr/host, port and transport parameter.
 */
import { isIPv4 } from 'node:net';
import { DEFAULT_MAX_FORWARDS, DEFAULT_SIP_PORT, DEFAULT_SIPS_PORT } from './constants.js';
import { SipStackError } from './errors.js';
import { type Via, formatNameAddr, getParam, parseNameAddr } from './header-values.js';
import type { SipRequest, SipResponse } from './message.js';
import { type SipUri, type Uri, getUriParam, withUriParam } from './uri.js';
import type { SipDestination } from './endpoint.js';

/** True when the request may not be forwarded: Max-Forwards is 0 (answer 483, §16.3 step 3). */
export function maxForwardsExhausted(req: SipRequest): boolean {
  return req.maxForwards() === 0;
}

/** §16.6 step 3: decrement Max-Forwards, or add it with 70 when absent. */
export function decrementMaxForwards(req: SipRequest): void {
  const mf = req.maxForwards();
  if (mf === 0) throw new SipStackError('INVALID_ARGUMENT', 'Max-Forwards is 0: the request must not be forwarded');
  req.set('Max-Forwards', String(mf === undefined ? DEFAULT_MAX_FORWARDS : mf - 1));
}

/**
 * §16.6 step 4: adds this proxy's Record-Route on top, with `lr` so that the route set is
 * loose-routed (RFC 3261 §16.6: "The URI ... MUST contain the lr parameter").
 */
export function addRecordRoute(req: SipRequest, proxyUri: SipUri): void {
  const uri = getUriParam(proxyUri, 'lr') === undefined ? withUriParam(proxyUri, 'lr', null) : proxyUri;
  req.prepend('Record-Route', formatNameAddr({ uri, params: [] }));
}

/**
 * §16.4 route information preprocessing: if the Request-URI is a value this proxy put into
 * a Record-Route (a strict router upstream moved it there), the last Route value becomes
 * the Request-URI; if the top Route is this proxy, it is removed.
 */
export function preprocessRoute(req: SipRequest, isOwnUri: (uri: Uri) => boolean): void {
  if (isOwnUri(req.uri)) {
    const routes = req.getAll('Route');
    const last = routes[routes.length - 1];
    if (last !== undefined) {
      req.uri = parseNameAddr(last, 'Route', true).uri;
      req.set('Route', ...routes.slice(0, -1));
    }
  }
  const top = req.get('Route');
  if (top !== undefined && isOwnUri(parseNameAddr(top, 'Route', true).uri)) req.removeFirst('Route');
}

/**
 * §16.6 steps 6-7: if the top Route has no `lr` (the next hop is a strict router), the
 * Request-URI goes last in Route and the top Route becomes the Request-URI. Returns the
 * URI of the next hop: the top Route when it is a loose router, else the Request-URI.
 */
export function nextHop(req: SipRequest): Uri {
  const top = req.get('Route');
  if (top === undefined) return req.uri;
  const first = parseNameAddr(top, 'Route', true).uri;
  if (first.kind === 'sip' && getUriParam(first, 'lr') !== undefined) return first;
  // Strict router.
  req.removeFirst('Route');
  req.append('Route', formatNameAddr({ uri: req.uri, params: [] }));
  req.uri = first.kind === 'sip' ? { ...first, headers: [] } : first;
  return req.uri;
}

/**
 * The copy of a request to forward (§16.6 steps 1-7): Request-URI set to `target` when
 * given, Max-Forwards decremented, Record-Route added when `recordRoute` is given, strict
 * routes fixed; returns it with its next-hop URI. The endpoint adds the Via when sending.
 */
export function prepareForward(
  req: SipRequest,
  options: { target?: Uri; recordRoute?: SipUri } = {},
): { request: SipRequest; nextHop: Uri } {
  const copy = req.clone();
  delete copy.received;
  if (options.target) copy.uri = structuredClone(options.target);
  decrementMaxForwards(copy);
  if (options.recordRoute) addRecordRoute(copy, options.recordRoute);
  const hop = nextHop(copy);
  return { request: copy, nextHop: hop };
}

/**
 * Turns a next-hop SIP URI into a destination without DNS SRV (RFC 3263 simplified): the
 * maddr or host, the explicit port or 5060/5061, the transport parameter or `fallback`.
 * A SIPS URI, or `transport=tls`, goes over TLS (RFC 3261 §26.2.2) when the endpoint has a
 * TLS transport (`tls: true`); otherwise over TCP as before.
 */
export function destinationOf(uri: Uri, fallback: 'UDP' | 'TCP' = 'UDP', options: { tls?: boolean } = {}): SipDestination {
  if (uri.kind !== 'sip') throw new SipStackError('INVALID_ARGUMENT', `cannot route to a ${uri.kind === 'tel' ? 'tel' : uri.scheme} URI`);
  const t = (getUriParam(uri, 'transport') ?? '').toUpperCase();
  const secure = options.tls === true && (uri.scheme === 'sips' || t === 'TLS');
  const transport = secure ? 'TLS' : t === 'TCP' || t === 'UDP' ? t : uri.scheme === 'sips' ? 'TCP' : fallback;
  const host = getUriParam(uri, 'maddr') ?? uri.host;
  const port = uri.port ?? (uri.scheme === 'sips' ? DEFAULT_SIPS_PORT : DEFAULT_SIP_PORT);
  return { transport, host: host.startsWith('[') ? host.slice(1, -1) : host, port };
}

/**
 * §16.7 step 3: removes the top Via of a response if it is this proxy's; returns false
 * (drop the response) when it is not, or when no Via would be left (the response was for
 * this proxy itself).
 */
export function removeOwnVia(res: SipResponse, isOwn: (via: Via) => boolean): boolean {
  const top = res.topVia();
  if (!top || !isOwn(top)) return false;
  res.removeFirst('Via');
  return res.has('Via');
}

/**
 * RFC 4475 §3.3.10: a response whose next hop (the top Via after the proxy's own was
 * removed) names a broadcast or unspecified address must be dropped, not forwarded.
 */
export function isUnsafeResponseHop(res: SipResponse): boolean {
  const via = res.topVia();
  if (!via) return true;
  const target = getParam(via.params, 'maddr') ?? getParam(via.params, 'received') ?? via.host;
  if (!isIPv4(target)) return target === '::' || target === '[::]';
  const first = Number(target.split('.')[0]);
  // The limited broadcast and unspecified addresses, and multicast without an explicit maddr.
  return target === '255.255.255.255' || target === '0.0.0.0' || (first >= 224 && first <= 239 && getParam(via.params, 'maddr') === undefined);
}
