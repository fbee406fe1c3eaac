/** The local data store of a RELOAD peer: Kinds, access-control policies, the DataStore. */
export * from './kinds.js';
export * from './policies.js';
export * from './store.js';
