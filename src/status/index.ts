/** The status page of a running node: HTTP server, page and JSON snapshot. */
export { type StatusServer, type StatusServerOptions, serveStatus } from './server.js';
export { type ExtraSections, type StatusSnapshot, statusSnapshot } from './snapshot.js';
export { STATUS_REFRESH_MS, statusPageHtml } from './page.js';
