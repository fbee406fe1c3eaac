/**
 * Landmark-aware Node-IDs and proximity queries (landmarks-and-extras.md §A):
 * - binning.ts: distributed binning (landmark ordering + latency levels) and the bin → Node-ID
 *   prefix mapping;
 * - measure.ts: measuring a node's bin with RELOAD Pings over direct links to the landmarks;
 * - probe.ts: measuring it without credentials, before enrollment (TCP connect / simple-
 *   reliability ack round trips);
 * - strategy.ts: the enrollment server's LandmarkNodeIdStrategy (honours the `landmark-bin`
 *   enrollment field);
 * - capabilities.ts: the capability directory usage — advertise a capability, find the
 *   advertisers nearest in ID space to a Node-ID.
 */
export * from './binning.js';
export * from './measure.js';
export * from './probe.js';
export * from './strategy.js';
export * from './capabilities.js';
