/**
 * The overlay configuration document (RFC 6940 §11): typed values, reading with exact
 * signed bytes kept, writing new signed versions, signature and sequence checks.
 */
export * from './errors.js';
export * from './kinds.js';
export * from './parse.js';
export * from './sequence.js';
export * from './signature.js';
export * from './types.js';
export * from './write.js';
export { XmlError, type XmlElement, type XmlAttribute, parseXml, rawXml, attributeValue, escapeXml } from './xml.js';
