import type { SubjectToken } from '../attestations/attestation.js'
import { StsError } from '../errors.js'
import type { DpopProofs } from './dpop-proofs.js'

/**
 * One token exchange (RFC 8693 §2.1) at the STS's token endpoint, and what its answer means for the
 * token source: a token, a refusal to surface, or a failure worth retrying (and when).
 */

export const TOKEN_EXCHANGE_GRANT_TYPE = 'urn:ietf:params:oauth:grant-type:token-exchange'

export interface TokenRequest {
  audience?: string
  /** Space-separated, already normalised. */
  scope?: string
}

export interface IssuedToken {
  accessToken: string
  /** Seconds, as the STS said (`expires_in`). */
  expiresIn: number
  /** The scopes granted, when the STS named them. */
  scope?: string
  tokenType: string
}

export type ExchangeOutcome = { ok: true; token: IssuedToken } | { ok: false; error: StsError; retryable: boolean; retryAfterMs?: number }

/** Statuses that say "not now" rather than "no": overload, a restart behind a proxy, a rate limit. */
const RETRYABLE_STATUSES = new Set([429, 502, 503, 504])
/** Refusals Seed STS says to simply try again (README, "Error reasons"). */
const RETRYABLE_REASONS = new Set(['registration_changed'])

/** One exchange as the token source asks for it: where, with what, and how. */
export interface TokenExchange {
  fetch: typeof globalThis.fetch
  /** The STS's token endpoint. */
  endpoint: string
  subject: SubjectToken
  /** With delegation: the acting workload's token, sent as `actor_token` and `actor_token_type`. */
  actor?: SubjectToken
  request: TokenRequest
  signal: AbortSignal
  /** The time, in milliseconds: what an HTTP-date `Retry-After` is counted from. */
  now: number
  /** The token source's DPoP key and nonces, when its tokens are bound. */
  dpop?: DpopProofs
}

export async function exchangeToken(exchange: TokenExchange): Promise<ExchangeOutcome> {
  const first = await exchangeOnce(exchange)
  // RFC 9449 section 8: the STS asks for a nonce (or a newer one); it is in the answer's DPoP-Nonce,
  // remembered by then. Once only: a server that keeps asking is answered with its refusal.
  if (exchange.dpop !== undefined && !first.ok && first.error.error === 'use_dpop_nonce') return exchangeOnce(exchange)
  return first
}

async function exchangeOnce({ fetch, endpoint, subject, actor, request, signal, now, dpop }: TokenExchange): Promise<ExchangeOutcome> {
  const form = new URLSearchParams({
    grant_type: TOKEN_EXCHANGE_GRANT_TYPE,
    subject_token: subject.subjectToken,
    subject_token_type: subject.subjectTokenType,
  })
  if (actor !== undefined) {
    form.set('actor_token', actor.subjectToken)
    form.set('actor_token_type', actor.subjectTokenType)
  }
  if (request.audience !== undefined) form.set('audience', request.audience)
  if (request.scope !== undefined && request.scope !== '') form.set('scope', request.scope)
  let response: Response
  let text: string
  try {
    const proof: Record<string, string> = dpop === undefined ? {} : { dpop: await dpop.proof('POST', endpoint) }
    response = await fetch(endpoint, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json', ...proof },
      body: form.toString(),
      redirect: 'error',
      signal,
    })
    text = await response.text()
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? `: ${error.cause.message}` : ''
    const reason = error instanceof Error ? `${error.message}${cause}` : String(error)
    return {
      ok: false,
      error: new StsError('temporarily_unavailable', `the STS did not answer: ${reason}`, undefined, { cause: error }),
      retryable: true,
    }
  }
  dpop?.rememberNonce(endpoint, response.headers.get('dpop-nonce'))
  const body = parseJson(text)
  if (response.status === 200) return issuedFrom(body, dpop !== undefined)
  const retryAfterMs = parseRetryAfter(response.headers.get('retry-after'), now)
  const error = errorFrom(response.status, body)
  const retryable = RETRYABLE_STATUSES.has(response.status) || (error.reason !== undefined && RETRYABLE_REASONS.has(error.reason))
  return { ok: false, error, retryable, ...(retryAfterMs === undefined ? {} : { retryAfterMs }) }
}

function issuedFrom(body: Record<string, unknown> | undefined, bound: boolean): ExchangeOutcome {
  const accessToken = body?.access_token
  const expiresIn = body?.expires_in
  if (typeof accessToken !== 'string' || accessToken === '' || typeof expiresIn !== 'number' || !(expiresIn > 0)) {
    // Not a token response (a proxy's page, a misconfigured endpoint): nothing to cache, and no
    // reason to think a second try would differ.
    return {
      ok: false,
      error: new StsError('invalid_response', 'the STS answered 200 without an access_token and expires_in', 200),
      retryable: false,
    }
  }
  const scope = typeof body?.scope === 'string' ? body.scope : undefined
  const tokenType = typeof body?.token_type === 'string' ? body.token_type : 'Bearer'
  if (bound && tokenType.toLowerCase() !== 'dpop') {
    // RFC 9449 section 5: a bearer token where a bound one was asked for (an STS without DPoP, a proxy
    // that dropped the header). Not used: the workload asked for a token a thief could not replay.
    return {
      ok: false,
      error: new StsError('invalid_response', `the STS answered token_type ${tokenType} to a request with a DPoP proof, not DPoP`, 200),
      retryable: false,
    }
  }
  return { ok: true, token: { accessToken, expiresIn, tokenType, ...(scope === undefined ? {} : { scope }) } }
}

function errorFrom(status: number, body: Record<string, unknown> | undefined): StsError {
  const code = typeof body?.error === 'string' && body.error !== '' ? body.error : 'server_error'
  const description =
    typeof body?.error_description === 'string'
      ? body.error_description
      : code === 'server_error'
        ? `the STS answered ${status}`
        : undefined
  const reason = typeof body?.error_reason === 'string' ? body.error_reason : undefined
  return new StsError(code, description, status, reason === undefined ? undefined : { reason })
}

function parseJson(text: string): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(text)
    return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
  } catch {
    return undefined
  }
}

/** `Retry-After` (RFC 9110 §10.2.3): whole seconds, or an HTTP date. */
export function parseRetryAfter(value: string | null, now: number): number | undefined {
  if (value === null) return undefined
  const trimmed = value.trim()
  if (/^\d+$/.test(trimmed)) return Number(trimmed) * 1000
  const date = Date.parse(trimmed)
  return Number.isNaN(date) ? undefined : Math.max(0, date - now)
}
