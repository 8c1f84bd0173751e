import type { FastifyError } from 'fastify'
import type { ErrorReason } from '../error-reasons.js'
import {
  InvalidInputError,
  OverloadedError,
  RateLimitedError,
  RefusalError,
  RuleViolationError,
  StsError,
  type ErrorCode,
  type FieldError,
  type RuleViolation,
  UseDpopNonceError,
} from '../errors.js'

/** The OAuth `error` codes an endpoint answers with: RFC 6749 section 5.2, RFC 8693, RFC 6750 section 3.1. */
export type OAuthErrorCode =
  | 'invalid_request'
  | 'invalid_client'
  | 'invalid_grant'
  | 'invalid_scope'
  | 'invalid_target'
  | 'unsupported_grant_type'
  | 'invalid_dpop_proof'
  | 'use_dpop_nonce'
  | 'invalid_token'
  | 'insufficient_scope'
  | 'temporarily_unavailable'
  | 'server_error'

/** A failure as the wire sees it, before it is written in either format. */
export interface Failure {
  status: number
  reason: ErrorReason
  /** Safe to show: ours are written to be; anything else is replaced by a generic message. */
  message: string
  /** The refusal's own OAuth code, when a token request was refused. */
  refusal?: RefusalError['code']
  errors?: FieldError[]
  /** The rules the input breaks (the grant guardrails). */
  violations?: RuleViolation[]
  /** Sent as `DPoP-Nonce` (RFC 9449 section 8): the nonce the client's next proof must carry. */
  dpopNonce?: string
  /** Sent as `Retry-After`: when the client may try again (a budget's window, an overload's pause). */
  retryAfterSeconds?: number
}

const STATUS: Record<ErrorCode, number> = {
  invalid_request: 400,
  invalid_grant: 400,
  invalid_scope: 400,
  invalid_target: 400,
  unsupported_grant_type: 400,
  invalid_dpop_proof: 400,
  use_dpop_nonce: 400,
  invalid_input: 400,
  unauthenticated: 401,
  forbidden: 403,
  not_found: 404,
  conflict: 409,
  precondition_failed: 412,
  gone: 410,
  unsupported_media_type: 415,
  precondition_required: 428,
  rate_limited: 429,
  internal: 500,
  unavailable: 503,
}

const HIDDEN = 'internal server error'

/** Our errors by their code; Fastify's own 4xx (body too large, not JSON...) as they come; anything else a 500 that says nothing. */
export function failureOf(error: unknown): Failure {
  if (error instanceof StsError) {
    return {
      status: STATUS[error.code],
      reason: error.reason,
      message: error.code === 'internal' ? HIDDEN : error.message,
      ...(error instanceof RefusalError ? { refusal: error.code } : {}),
      ...(error instanceof InvalidInputError ? { errors: error.errors } : {}),
      ...(error instanceof RuleViolationError ? { violations: error.violations } : {}),
      ...(error instanceof UseDpopNonceError ? { dpopNonce: error.nonce } : {}),
      ...((error instanceof RateLimitedError || error instanceof OverloadedError) && error.retryAfterSeconds !== undefined
        ? { retryAfterSeconds: error.retryAfterSeconds }
        : {}),
    }
  }
  const status = statusOf(error)
  if (status >= 500) return { status, reason: status === 503 ? 'service_unavailable' : 'internal_error', message: HIDDEN }
  return { status, reason: frameworkReasonOf(error as FastifyError, status), message: (error as Error).message }
}

/** The OAuth `error` of a failure on an OAuth endpoint. */
export function oauthCodeOf(failure: Failure): OAuthErrorCode {
  if (failure.refusal) return failure.refusal
  // Bearer authentication of a resource server (introspection), RFC 6750 section 3.1.
  if (failure.status === 401) return 'invalid_token'
  if (failure.status === 403) return 'insufficient_scope'
  if (failure.status === 503 || failure.status === 429) return 'temporarily_unavailable'
  return failure.status >= 500 ? 'server_error' : 'invalid_request'
}

const TITLES: Record<number, string> = {
  400: 'Bad request',
  401: 'Unauthorized',
  403: 'Forbidden',
  404: 'Not found',
  405: 'Method not allowed',
  406: 'Not acceptable',
  409: 'Conflict',
  410: 'Gone',
  412: 'Precondition failed',
  413: 'Payload too large',
  415: 'Unsupported media type',
  428: 'Precondition required',
  429: 'Too many requests',
  500: 'Internal server error',
  503: 'Service unavailable',
}

/** The problem `title` of a failure on any other endpoint. */
export function problemTitleOf(failure: Failure): string {
  if (failure.errors !== undefined) return 'Invalid request'
  return TITLES[failure.status] ?? 'Error'
}

function statusOf(error: unknown): number {
  const status = (error as { statusCode?: unknown } | null | undefined)?.statusCode
  return typeof status === 'number' && status >= 400 && status < 600 ? status : 500
}

/** Fastify's own refusals, which come with a status and an FST_ code but no reason of ours. */
function frameworkReasonOf(error: FastifyError, status: number): ErrorReason {
  if (status === 413) return 'body_too_large'
  if (status === 415) return 'media_type_unsupported'
  if (status === 404) return 'route_not_found'
  if (status === 429) return 'rate_limited'
  if (status === 400 && typeof error.code === 'string' && error.code.startsWith('FST_ERR_CTP_')) return 'body_malformed'
  return 'request_invalid'
}
