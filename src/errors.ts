import type { ErrorReason } from './error-reasons.js'

export type { ErrorReason } from './error-reasons.js'

/**
 * Every error we raise on purpose, in the domain's words: a stable `code` (what kind of failure) and a
 * stable `reason` (which one), never an HTTP status. Stores, services and attestors throw these; the
 * HTTP layer alone (src/http/error-handler.ts) decides the status and renders an RFC 6749 or RFC 9457
 * body, depending on the route. Anything not raised through here is a defect: a generic server error
 * with nothing of its message shown. Modelled on jose's errors (`code`, `reason`).
 */
export type ErrorCode =
  | RefusalCode
  /** Admin input that fails validation; `errors` names every field. */
  | 'invalid_input'
  | 'unsupported_media_type'
  /** No credentials, or credentials that are not valid. */
  | 'unauthenticated'
  /** Valid credentials without the right to do this. */
  | 'forbidden'
  | 'not_found'
  | 'conflict'
  | 'precondition_failed'
  | 'precondition_required'
  /** A position (a cursor) before what retention kept: the client must start again from a full listing. */
  | 'gone'
  | 'rate_limited'
  /** A store or a dependency cannot answer now: we fail closed, and the caller may retry. */
  | 'unavailable'
  /** Our own defect, such as a statement the database refused; its message is never shown. */
  | 'internal'

export class StsError extends Error {
  constructor(
    readonly code: ErrorCode,
    message: string,
    readonly reason: ErrorReason,
  ) {
    super(message)
    this.name = new.target.name
  }
}

// --- Refusals of a token request, in the RFC's own codes (RFC 6749 section 5.2, RFC 8693 2.2.2) ------

export type RefusalCode =
  | 'invalid_request'
  | 'invalid_grant'
  | 'invalid_scope'
  | 'invalid_target'
  | 'unsupported_grant_type'
  /** RFC 9449 section 5: the DPoP proof is missing where required, malformed, or does not check out. */
  | 'invalid_dpop_proof'
  /** RFC 9449 section 8: the proof must carry the server's current nonce (sent in `DPoP-Nonce`). */
  | 'use_dpop_nonce'

/** The token request is refused; its code is the OAuth `error` a client sees. */
export class RefusalError extends StsError {
  constructor(
    override readonly code: RefusalCode,
    message: string,
    reason: ErrorReason,
  ) {
    super(code, message, reason)
  }
}

export class InvalidRequestError extends RefusalError {
  constructor(message: string, reason: ErrorReason) {
    super('invalid_request', message, reason)
  }
}

/** The attestation is not acceptable: bad signature, wrong issuer, expired, revoked, not granted... */
export class InvalidGrantError extends RefusalError {
  constructor(message: string, reason: ErrorReason) {
    super('invalid_grant', message, reason)
  }
}

export class InvalidScopeError extends RefusalError {
  constructor(message: string, reason: ErrorReason) {
    super('invalid_scope', message, reason)
  }
}

export class InvalidTargetError extends RefusalError {
  constructor(message: string, reason: ErrorReason) {
    super('invalid_target', message, reason)
  }
}

export class UnsupportedGrantTypeError extends RefusalError {
  constructor(message: string, reason: ErrorReason) {
    super('unsupported_grant_type', message, reason)
  }
}

export class InvalidDpopProofError extends RefusalError {
  constructor(message: string, reason: ErrorReason = 'dpop_proof_invalid') {
    super('invalid_dpop_proof', message, reason)
  }
}

/** RFC 9449 section 8: the answer carries `nonce` in `DPoP-Nonce`, for the client's next proof. */
export class UseDpopNonceError extends RefusalError {
  constructor(
    message: string,
    readonly nonce: string,
  ) {
    super('use_dpop_nonce', message, 'dpop_nonce_required')
  }
}

// --- Refusals of other requests (the admin API, introspection's credentials) -----------------------

export interface FieldError {
  path: string
  message: string
}

/** Input that fails validation; every invalid field at once. */
export class InvalidInputError extends StsError {
  constructor(
    message: string,
    readonly errors: FieldError[],
    reason: ErrorReason = 'input_invalid',
  ) {
    super('invalid_input', message, reason)
  }
}

/** A rule the input breaks, by its stable name, and why (the grant guardrails). */
export interface RuleViolation {
  rule: string
  field: string
  reason: string
}

/** Input that is valid but breaks rules configured to refuse it: every rule at once, each also as a field error. */
export class RuleViolationError extends InvalidInputError {
  constructor(
    message: string,
    readonly violations: RuleViolation[],
  ) {
    super(
      message,
      violations.map((violation) => ({ path: violation.field, message: `${violation.rule}: ${violation.reason}` })),
      'grant_guardrail_denied',
    )
  }
}

export class UnsupportedMediaTypeError extends StsError {
  constructor(message: string) {
    super('unsupported_media_type', message, 'media_type_unsupported')
  }
}

export class UnauthenticatedError extends StsError {
  constructor(message: string, reason: ErrorReason) {
    super('unauthenticated', message, reason)
  }
}

export class ForbiddenError extends StsError {
  constructor(message: string, reason: ErrorReason) {
    super('forbidden', message, reason)
  }
}

export class NotFoundError extends StsError {
  constructor(message: string, reason: ErrorReason) {
    super('not_found', message, reason)
  }
}

export class ConflictError extends StsError {
  constructor(message: string, reason: ErrorReason) {
    super('conflict', message, reason)
  }
}

/** The change was made against a version that is no longer current. */
export class PreconditionFailedError extends StsError {
  constructor(message: string, reason: ErrorReason) {
    super('precondition_failed', message, reason)
  }
}

/** The change must say which version it was made against. */
export class PreconditionRequiredError extends StsError {
  constructor(message: string, reason: ErrorReason) {
    super('precondition_required', message, reason)
  }
}

/**
 * The cursor points before what retention kept: the entries or changes after it may have been dropped,
 * so a page from it could have a silent gap. The client starts afresh from a full listing instead.
 */
export class GoneError extends StsError {
  constructor(message: string, reason: ErrorReason) {
    super('gone', message, reason)
  }
}

export class RateLimitedError extends StsError {
  /** When set, the answer carries `Retry-After` with it (the HTTP layer writes the header). */
  constructor(
    message: string,
    reason: ErrorReason,
    readonly retryAfterSeconds?: number,
  ) {
    super('rate_limited', message, reason)
  }
}

// --- Faults we fail closed on ---------------------------------------------------------------------

/**
 * A store (ledger, grants, revocation) or an outside dependency could not answer. We never guess:
 * the token endpoint answers 503 temporarily_unavailable and the admin API a 503 problem. (The reason
 * comes last because the database's connection-fault classifier, src/db/connection-faults.ts, raises
 * this with a cause and no reason.)
 */
export class ServiceUnavailableError extends StsError {
  constructor(message: string, reason: ErrorReason, cause?: unknown) {
    super('unavailable', message, reason)
    if (cause !== undefined) this.cause = cause
  }
}

/**
 * This instance is overloaded (event-loop lag or utilization, or requests in flight, past their bounds
 * in `overload`): the request is refused before any work is done on it, to be retried after
 * `retryAfterSeconds`, here or on another instance. A 503 like any fault we fail closed on.
 */
export class OverloadedError extends ServiceUnavailableError {
  constructor(
    message: string,
    readonly retryAfterSeconds: number,
  ) {
    super(message, 'overloaded')
  }
}

// --- Store failures: an outage, or a bug ---------------------------------------------------------

/**
 * SQLSTATE classes that say the statement or its data is wrong, not that the store is away:
 * 0A feature not supported, 21 cardinality, 22 data exception (a NUL byte, `invalid input syntax`
 * for a uuid), 44 check option. Retrying cannot help, and calling them an outage would send
 * responders after a healthy database. Left out on purpose, so they stay a 503: class 42, which
 * besides our syntax errors holds a table gone missing or privileges revoked (the store's state,
 * not the request's), and class 23, whose conflicts (a duplicate jti, a concurrent insert) a retry
 * does clear.
 */
const DATA_ERROR_CLASSES = new Set(['0A', '21', '22', '44'])

/**
 * The store refused what we sent it. Input is validated before any store (src/http/admin/validation.ts),
 * so this is our bug: a 500 whose detail is logged and never shown.
 */
export class StoreDataError extends StsError {
  constructor(
    message: string,
    readonly sqlState: string,
    cause: unknown,
  ) {
    super('internal', `${message}: the store refused the statement (SQLSTATE ${sqlState})`, 'internal_error')
    this.cause = cause
  }
}

/**
 * What a failed store call becomes. Only a data error the database answered with is a bug
 * (StoreDataError, 500); anything else (refused or dropped connections, timeouts, a full pool, a
 * server shutting down, serialization failures) is the store being unable to answer, and fails
 * closed as 503 with `reason`. Errors we raised on purpose pass through unchanged, except that an
 * outage the database layer reported (database_unavailable) becomes this store's outage.
 */
export function storeFailure(unavailable: string, error: unknown, reason: ErrorReason): StsError {
  if (error instanceof ServiceUnavailableError && error.reason === 'database_unavailable')
    return new ServiceUnavailableError(error.message, reason, error.cause)
  if (error instanceof StsError) return error
  const sqlState = sqlStateOf(error)
  if (sqlState !== undefined && DATA_ERROR_CLASSES.has(sqlState.slice(0, 2))) return new StoreDataError(unavailable, sqlState, error)
  return new ServiceUnavailableError(unavailable, reason, error)
}

/** A SQLSTATE answered by the database (pg's and PGlite's errors carry `code` and `severity`); not a Node system error code. */
function sqlStateOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const { code, severity } = error as { code?: unknown; severity?: unknown }
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string' ? code : undefined
}
