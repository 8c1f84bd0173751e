/**
 * Every error we raise on purpose. Each carries the HTTP status it maps to and whether its message is
 * safe to show the caller (`expose`). The HTTP error handler (src/http/error-handler.ts) is the one
 * place that turns them into RFC 6749 or RFC 9457 bodies; anything not listed here becomes a generic
 * server error with nothing of its message shown.
 */
export class StsError extends Error {
  readonly statusCode: number
  readonly expose: boolean
  constructor(message: string, statusCode: number) {
    super(message)
    this.name = new.target.name
    this.statusCode = statusCode
    this.expose = statusCode < 500 || statusCode === 503
  }
}

// --- OAuth 2.0 errors (RFC 6749 section 5.2, RFC 8693 section 2.2.2) -----------------------------

export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'invalid_scope'
  | 'invalid_target'
  | 'unsupported_grant_type'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'temporarily_unavailable'
  | 'server_error'

export class OAuthError extends StsError {
  constructor(
    readonly error: OAuthErrorCode,
    description: string,
    statusCode = 400,
  ) {
    super(description, statusCode)
  }
}

export class InvalidRequestError extends OAuthError {
  constructor(description: string, statusCode = 400) {
    super('invalid_request', description, statusCode)
  }
}

/** The attestation is not acceptable: bad signature, wrong issuer, expired, revoked, not granted... */
export class InvalidGrantError extends OAuthError {
  constructor(description: string) {
    super('invalid_grant', description)
  }
}

export class InvalidScopeError extends OAuthError {
  constructor(description: string) {
    super('invalid_scope', description)
  }
}

export class InvalidTargetError extends OAuthError {
  constructor(description: string) {
    super('invalid_target', description)
  }
}

export class UnsupportedGrantTypeError extends OAuthError {
  constructor(description: string) {
    super('unsupported_grant_type', description)
  }
}

// --- Faults we fail closed on ---------------------------------------------------------------------

/**
 * A store (ledger, grants, revocation) or an outside dependency could not answer. We never guess:
 * the token endpoint answers 503 temporarily_unavailable and the admin API a 503 problem.
 */
export class ServiceUnavailableError extends StsError {
  constructor(
    message: string,
    cause?: unknown,
  ) {
    super(message, 503)
    if (cause !== undefined) this.cause = cause
  }
}

// --- Admin API problems (RFC 9457) ---------------------------------------------------------------

export interface ProblemField {
  path: string
  message: string
}

export class ProblemError extends StsError {
  constructor(
    readonly title: string,
    detail: string,
    statusCode: number,
    readonly errors?: ProblemField[],
  ) {
    super(detail, statusCode)
  }
}

export class ValidationProblem extends ProblemError {
  constructor(detail: string, errors: ProblemField[]) {
    super('Invalid request', detail, 400, errors)
  }
}

export class UnauthorizedProblem extends ProblemError {
  constructor(detail: string) {
    super('Unauthorized', detail, 401)
  }
}

export class NotFoundProblem extends ProblemError {
  constructor(detail: string) {
    super('Not found', detail, 404)
  }
}

export class PreconditionFailedProblem extends ProblemError {
  constructor(detail: string) {
    super('Precondition failed', detail, 412)
  }
}

export class PreconditionRequiredProblem extends ProblemError {
  constructor(detail: string) {
    super('Precondition required', detail, 428)
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
    super(`${message}: the store refused the statement (SQLSTATE ${sqlState})`, 500)
    this.cause = cause
  }
}

/**
 * What a failed store call becomes. Only a data error the database answered with is a bug
 * (StoreDataError, 500); anything else (refused or dropped connections, timeouts, a full pool, a
 * server shutting down, serialization failures) is the store being unable to answer, and fails
 * closed as 503. Errors we raised on purpose pass through unchanged.
 */
export function storeFailure(unavailable: string, error: unknown): StsError {
  if (error instanceof StsError) return error
  const sqlState = sqlStateOf(error)
  if (sqlState !== undefined && DATA_ERROR_CLASSES.has(sqlState.slice(0, 2))) return new StoreDataError(unavailable, sqlState, error)
  return new ServiceUnavailableError(unavailable, error)
}

/** A SQLSTATE answered by the database (pg's and PGlite's errors carry `code` and `severity`); not a Node system error code. */
function sqlStateOf(error: unknown): string | undefined {
  if (typeof error !== 'object' || error === null) return undefined
  const { code, severity } = error as { code?: unknown; severity?: unknown }
  return typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code) && typeof severity === 'string' ? code : undefined
}
