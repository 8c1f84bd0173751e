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

/** A connection fault becomes ServiceUnavailableError (503); anything else is returned as it is. */
export function classifyDatabaseError(error: unknown): unknown {
  if (error instanceof ServiceUnavailableError || !isConnectionFault(error)) return error
  return new ServiceUnavailableError('the database is not reachable', 'database_unavailable', error)
}
