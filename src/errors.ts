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
