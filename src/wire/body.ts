/**
 * The typed body of each message code (RFC 6940 §6.4, §6.5, §7, §9.7; PathTrack from
 * RFC 7851 §5.4): one table from
 * message code to codec. Update and RouteQuery answers are overlay specific; this table
 * uses CHORD-RELOAD's (the mandatory topology) unless the context names another, in
 * which case they stay raw bytes.
 */
import { type Codec, DecodeError, type Empty, Reader, decode, emptyBody, encode } from './codec.js';
import { MessageCode, messageCodeName } from './constants.js';
import type { WireContext } from './context.js';
import { type AppAttachReqAns, type AttachReqAns, appAttachReqAns, attachReqAns } from './attach.js';
import { type ChordRouteQueryAns, type ChordUpdate, chordCodecs } from './chord.js';
import { type ConfigUpdateReq, configUpdateReq } from './config-update.js';
import { type PathTrackAns, type PathTrackReq, pathTrackAns, pathTrackReq } from './diagnostics.js';
import { type ErrorResponse, errorResponse } from './error.js';
import { type JoinAns, type JoinReq, type LeaveReq, type RouteQueryReq, overlayCodecs } from './overlay.js';
import { type PingAns, type PingReq, pingAns, pingReq } from './ping.js';
import { type ProbeAns, type ProbeReq, probeAns, probeReq } from './probe.js';
import {
  type FetchAns,
  type FetchReq,
  type FindAns,
  type FindReq,
  type StatAns,
  type StatReq,
  type StoreAns,
  type StoreReq,
  storageCodecs,
} from './storage.js';

/** Message code → body type. */
export interface BodyTypes {
  [MessageCode.probeReq]: ProbeReq;
  [MessageCode.probeAns]: ProbeAns;
  [MessageCode.attachReq]: AttachReqAns;
  [MessageCode.attachAns]: AttachReqAns;
  [MessageCode.storeReq]: StoreReq;
  [MessageCode.storeAns]: StoreAns;
  [MessageCode.fetchReq]: FetchReq;
  [MessageCode.fetchAns]: FetchAns;
  [MessageCode.findReq]: FindReq;
  [MessageCode.findAns]: FindAns;
  [MessageCode.joinReq]: JoinReq;
  [MessageCode.joinAns]: JoinAns;
  [MessageCode.leaveReq]: LeaveReq;
  [MessageCode.leaveAns]: Empty;
  [MessageCode.updateReq]: ChordUpdate;
  [MessageCode.updateAns]: Empty;
  [MessageCode.routeQueryReq]: RouteQueryReq;
  [MessageCode.routeQueryAns]: ChordRouteQueryAns;
  [MessageCode.pingReq]: PingReq;
  [MessageCode.pingAns]: PingAns;
  [MessageCode.statReq]: StatReq;
  [MessageCode.statAns]: StatAns;
  [MessageCode.appAttachReq]: AppAttachReqAns;
  [MessageCode.appAttachAns]: AppAttachReqAns;
  [MessageCode.configUpdateReq]: ConfigUpdateReq;
  [MessageCode.configUpdateAns]: Empty;
  [MessageCode.pathTrackReq]: PathTrackReq;
  [MessageCode.pathTrackAns]: PathTrackAns;
  [MessageCode.error]: ErrorResponse;
}

export type BodyCode = keyof BodyTypes;

type CodecTable = { [C in BodyCode]: Codec<BodyTypes[C]> };

const tables = new WeakMap<WireContext, CodecTable>();

function table(ctx: WireContext): CodecTable {
  let t = tables.get(ctx);
  if (t) return t;
  const s = storageCodecs(ctx);
  const o = overlayCodecs(ctx.nodeIdLength);
  const chord = chordCodecs(ctx.nodeIdLength);
  t = {
    [MessageCode.probeReq]: probeReq,
    [MessageCode.probeAns]: probeAns,
    [MessageCode.attachReq]: attachReqAns,
    [MessageCode.attachAns]: attachReqAns,
    [MessageCode.storeReq]: s.storeReq,
    [MessageCode.storeAns]: s.storeAns,
    [MessageCode.fetchReq]: s.fetchReq,
    [MessageCode.fetchAns]: s.fetchAns,
    [MessageCode.findReq]: s.findReq,
    [MessageCode.findAns]: s.findAns,
    [MessageCode.joinReq]: o.joinReq,
    [MessageCode.joinAns]: o.joinAns,
    [MessageCode.leaveReq]: o.leaveReq,
    [MessageCode.leaveAns]: emptyBody,
    [MessageCode.updateReq]: chord.update,
    [MessageCode.updateAns]: emptyBody,
    [MessageCode.routeQueryReq]: o.routeQueryReq,
    [MessageCode.routeQueryAns]: chord.routeQueryAns,
    [MessageCode.pingReq]: pingReq,
    [MessageCode.pingAns]: pingAns,
    [MessageCode.statReq]: s.statReq,
    [MessageCode.statAns]: s.statAns,
    [MessageCode.appAttachReq]: appAttachReqAns,
    [MessageCode.appAttachAns]: appAttachReqAns,
    [MessageCode.configUpdateReq]: configUpdateReq,
    [MessageCode.configUpdateAns]: emptyBody,
    [MessageCode.pathTrackReq]: pathTrackReq,
    [MessageCode.pathTrackAns]: pathTrackAns,
    [MessageCode.error]: errorResponse,
  };
  tables.set(ctx, t);
  return t;
}

/** Whether this table knows the body of `code`. */
export function isKnownBody(code: number): code is BodyCode {
  return code in BODY_CODES;
}

const BODY_CODES: Record<number, true> = Object.fromEntries(
  [
    MessageCode.probeReq,
    MessageCode.probeAns,
    MessageCode.attachReq,
    MessageCode.attachAns,
    MessageCode.storeReq,
    MessageCode.storeAns,
    MessageCode.fetchReq,
    MessageCode.fetchAns,
    MessageCode.findReq,
    MessageCode.findAns,
    MessageCode.joinReq,
    MessageCode.joinAns,
    MessageCode.leaveReq,
    MessageCode.leaveAns,
    MessageCode.updateReq,
    MessageCode.updateAns,
    MessageCode.routeQueryReq,
    MessageCode.routeQueryAns,
    MessageCode.pingReq,
    MessageCode.pingAns,
    MessageCode.statReq,
    MessageCode.statAns,
    MessageCode.appAttachReq,
    MessageCode.appAttachAns,
    MessageCode.configUpdateReq,
    MessageCode.configUpdateAns,
    MessageCode.pathTrackReq,
    MessageCode.pathTrackAns,
    MessageCode.error,
  ].map((c) => [c, true]),
);

/** The codec of a message code's body. */
export function bodyCodec<C extends BodyCode>(code: C, ctx: WireContext): Codec<BodyTypes[C]> {
  return table(ctx)[code];
}

/** Encodes a body into exactly-sized bytes. */
export function encodeBody<C extends BodyCode>(code: C, body: BodyTypes[C], ctx: WireContext): Uint8Array {
  return encode(bodyCodec(code, ctx), body);
}

/** Decodes a body; the whole of `bytes` must be consumed. */
export function decodeBody<C extends BodyCode>(code: C, bytes: Uint8Array, ctx: WireContext): BodyTypes[C] {
  return decode(bodyCodec(code, ctx), bytes);
}

/** Decodes the body of any code, failing with a DecodeError for codes without a known body. */
export function decodeAnyBody(code: number, bytes: Uint8Array, ctx: WireContext): unknown {
  if (!isKnownBody(code)) {
    throw new DecodeError('MessageContents', 'message_code', 'value', 0, `no body known for ${messageCodeName(code)}`);
  }
  const r = new Reader(bytes);
  const v = bodyCodec(code, ctx).decode(r);
  r.done(bodyCodec(code, ctx).name);
  return v;
}
