import { ServiceUnavailableError } from '../errors.js'

/**
 * Tells a fault of the connection to the database (the server went away, restarted, was asked to
 * stop this backend, or did not answer in time) from a fault of the data or of our SQL. The first is
 * transient and the caller gets a 503; the second is a defect and stays what it is.
 */

// Socket-level errors of the pg driver (Node's errno codes).
const NETWORK_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENOTFOUND',
  'EAI_AGAIN',
])

// SQLSTATEs that say "not now" rather than "not this": the server is shutting down or restarting,
// the backend was terminated (57P01 admin_shutdown, pg_terminate_backend), a statement timed out
// (57014), too many connections (53300), or the transaction lost a race it may retry (40001, 40P01).
const TRANSIENT_SQLSTATES = new Set(['57P01', '57P02', '57P03', '57014', '53300', '53400', '40001', '40P01', '25P03'])

// The driver's own messages when a connection dies under it or cannot be had in time.
const DRIVER_MESSAGES = [
  /connection terminated/i,
  /connection ended/i,
  /timeout exceeded when trying to connect/i,
  /not queryable/i,
  /query read timeout/i,
  /cannot use a pool after calling end/i,
  /client was closed/i,
]

export function isConnectionFault(error: unknown): boolean {
  if (!(error instanceof Error)) return false
  const code = (error as { code?: unknown }).code
  if (typeof code === 'string') {
    if (NETWORK_CODES.has(code) || TRANSIENT_SQLSTATES.has(code)) return true
    // Class 08: connection exception.
    if (/^08[0-9A-Z]{3}$/.test(code)) return true
  }
  return DRIVER_MESSAGES.some((pattern) => pattern.test(error.message))
}

// Node's codes for a server certificate that does not verify (database.ssl): wrong CA, wrong name, expired.
const TLS_VERIFICATION_CODES = new Set([
  'SELF_SIGNED_CERT_IN_CHAIN',
  'DEPTH_ZERO_SELF_SIGNED_CERT',
  'UNABLE_TO_VERIFY_LEAF_SIGNATURE',
  'UNABLE_TO_GET_ISSUER_CERT',
  'UNABLE_TO_GET_ISSUER_CERT_LOCALLY',
  'CERT_SIGNATURE_FAILURE',
  'CERT_HAS_EXPIRED',
  'CERT_NOT_YET_VALID',
  'CERT_UNTRUSTED',
  'ERR_TLS_CERT_ALTNAME_INVALID',
])

/**
 * A connection fault becomes ServiceUnavailableError (503); so does a server certificate that does not
 * verify, named as such (at start it is the reason the service does not start; later, after the
 * database's certificate changed, requests fail closed rather than with a 500). Anything else is
 * returned as it is.
 */
export function classifyDatabaseError(error: unknown): unknown {
  if (error instanceof ServiceUnavailableError) return error
  const code = (error as { code?: unknown } | null | undefined)?.code
  if (typeof code === 'string' && TLS_VERIFICATION_CODES.has(code)) {
    const detail = (error as Error).message
    return new ServiceUnavailableError(
      `the database's TLS certificate is not trusted (${code}: ${detail}): check database.ssl (mode, caFile) against the server's certificate`,
      'database_unavailable',
      error,
    )
  }
  if (!isConnectionFault(error)) return error
  return new ServiceUnavailableError('the database is not reachable', 'database_unavailable', error)
}
