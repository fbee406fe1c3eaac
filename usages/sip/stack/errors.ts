/**
 * Typed errors of the SIP stack. The parser throws {@link SipParseError} and nothing else;
 * the transaction layer and the endpoint report {@link SipStackError}. Match on `code`,
 * never on the message text.
 */

/** What is wrong with a message that failed to parse, machine-readable. */
export type SipParseErrorCode =
  | 'MESSAGE_TOO_LARGE' // more octets than the configured message size limit
  | 'EMPTY_MESSAGE' // nothing but CRLFs (or nothing at all)
  | 'INVALID_UTF8' // the start line or a header field is not well-formed UTF-8 (RFC 3261 §7.3.1)
  | 'NO_HEADER_TERMINATOR' // the header section does not end in an empty line (RFC 3261 §7)
  | 'BARE_LINE_ENDING' // a CR or LF in the header section that is not part of a CRLF
  | 'MALFORMED_START_LINE' // Request-Line / Status-Line does not follow RFC 3261 §7.1 / §7.2
  | 'BAD_METHOD' // Method is not a token (RFC 3261 §25.1)
  | 'BAD_REQUEST_URI' // the Request-URI does not parse (RFC 3261 §19.1, §25.1)
  | 'BAD_VERSION' // SIP-Version does not match "SIP/" 1*DIGIT "." 1*DIGIT
  | 'BAD_STATUS_CODE' // Status-Code is not three digits in 100..699 (RFC 3261 §7.2, §21)
  | 'BAD_REASON_PHRASE' // control characters in the Reason-Phrase
  | 'MALFORMED_HEADER_LINE' // a header line without "name HCOLON value"
  | 'INVALID_CHARACTER' // a control character where the grammar allows none
  | 'BAD_HEADER_VALUE' // a known header field's value does not match its grammar
  | 'MISSING_HEADER' // To, From, Call-ID, CSeq or Via (or Content-Length on a stream) is absent
  | 'DUPLICATE_HEADER' // a header field that allows one value appears more than once
  | 'CSEQ_METHOD_MISMATCH' // CSeq method differs from the request method (RFC 3261 §8.1.1.5)
  | 'BAD_CONTENT_LENGTH' // Content-Length not a non-negative integer, conflicting, or too large
  | 'BODY_TRUNCATED' // fewer body octets than Content-Length (RFC 3261 §18.3)
  | 'BAD_URI'; // a URI given on its own does not parse

/** The one error type the SIP parser throws. */
export class SipParseError extends Error {
  readonly code = 'ERR_SIP_PARSE';
  constructor(
    /** What is wrong. */
    readonly reason: SipParseErrorCode,
    /** A short human-readable explanation; safe to put in a Reason-Phrase. */
    readonly detail: string,
    /** The header field (canonical name) the problem is in, when there is one. */
    readonly header?: string,
  ) {
    super(header ? `${header}: ${detail}` : detail);
    this.name = 'SipParseError';
  }
}

/** Why a transaction or the endpoint failed an operation. */
export type SipStackErrorCode =
  | 'TRANSPORT_ERROR' // a socket could not send (RFC 3261 §17.1.4, §17.2.4)
  | 'NO_TRANSPORT' // the endpoint has no transport of the requested kind
  | 'TIMEOUT' // Timer B or Timer F fired
  | 'INVALID_STATE' // an operation the transaction's state does not allow
  | 'INVALID_ARGUMENT' // a message that cannot be sent as given
  | 'STOPPED'; // the endpoint has been stopped

export class SipStackError extends Error {
  readonly code = 'ERR_SIP_STACK';
  constructor(
    readonly reason: SipStackErrorCode,
    message: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
    this.name = 'SipStackError';
  }
}
