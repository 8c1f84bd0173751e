import type { Attestation } from '../attestations/attestation.js'
import { customAttestation, type AttestationFunction } from '../attestations/custom.js'
import { systemClock, systemTimers, type Clock, type Timers } from './time.js'
import { TokenSlot, type SlotSettings, type TokenSourceEvent } from './token-slot.js'
import type { TokenRequest } from './token-request.js'
import { DpopProofs, type DpopOptions } from './dpop-proofs.js'

export interface TokenSourceOptions {
  /** The STS's base URL, e.g. `https://sts.example.org`; tokens come from `<sts>/oauth2/token`. */
  sts: string | URL
  /** What the workload proves itself with: one of the attestations, or a function of your own. */
  attestation: Attestation | AttestationFunction
  /**
   * Delegation (RFC 8693 `actor_token`): what the acting workload proves itself with, fetched anew for
   * every exchange like `attestation`: its own attestation, or an access token of the STS issued to it
   * (`accessTokenAttestation(...)`). The tokens are then the subject's (`sub`), naming the actor in
   * `act`; the subject's grants must let the actor act for it (`mayAct`), or the STS refuses
   * (`invalid_grant`, reason `actor_not_allowed`).
   */
  actor?: Attestation | AttestationFunction
  /** The token endpoint, when it is not `<sts>/oauth2/token`. */
  tokenEndpoint?: string | URL
  /** Refresh at this fraction of a token's lifetime (0.8)... */
  refreshAt?: number
  /** ...plus or minus up to this fraction (0.05), at random for each token, so a fleet spreads out. */
  refreshJitter?: number
  /** A token is handed out only while it has this long to live (10 000 ms; at most a tenth of its lifetime). */
  minValidityMs?: number
  retry?: {
    /** The first backoff step (1000 ms); each retry's step doubles, and its wait is uniform below it. */
    baseDelayMs?: number
    /** The largest step (30 000 ms). */
    maxDelayMs?: number
    /** How long a caller with no usable token waits while the STS says "not now" (30 000 ms). */
    waitMs?: number
  }
  /** After a refusal (invalid_grant...), calls fail with it, sending nothing, for this long (30 000 ms). */
  refusalCooldownMs?: number
  /** One attestation and exchange, at most (10 000 ms). */
  requestTimeoutMs?: number
  /** Hears what the source does (for logs and metrics). Events never carry a token. */
  onEvent?: (event: TokenSourceEvent) => void
  /**
   * DPoP (RFC 9449): `true`, or `{ key?, algorithm? }`. Every token request then carries a proof of a
   * key pair (generated once, or the one given), the tokens are bound to it (`token_type: DPoP`), and
   * each resource request needs a proof too: `source.requestHeaders(method, url, request)`.
   */
  dpop?: boolean | DpopOptions
  /** For tests: time, timers, randomness and HTTP. */
  clock?: Clock
  timers?: Timers
  random?: () => number
  fetch?: typeof globalThis.fetch
}

/** Which token: the audience, and the scopes (a space-separated string or a list; order does not matter). */
export interface AccessTokenRequest {
  audience?: string
  scope?: string | readonly string[]
}

export interface AccessToken {
  /** The bearer token: `Authorization: Bearer <token>`. */
  token: string
  tokenType: string
  /** When it expires, as the client measured it (the request's start plus `expires_in`). */
  expiresAt: Date
  /** The scopes granted, when the STS named them. */
  scope?: string
}

/**
 * The headers of a resource request, ready for `fetch`: `authorization` (`DPoP <token>` for a bound
 * token, `Bearer <token>` otherwise) and, with DPoP, `dpop`: the request's own proof.
 */
export type ResourceRequestHeaders = Record<string, string> & { authorization: string }

export interface TokenSource {
  /** The access token for this audience and scope, from the cache while it is fresh enough. */
  token(request?: AccessTokenRequest): Promise<string>
  /** The same, with its expiry and granted scope. */
  accessToken(request?: AccessTokenRequest): Promise<AccessToken>
  /**
   * The headers to call `method url` with: the token for `request` and, with DPoP, a new proof for this
   * very request (htm, htu, ath of the token, the resource server's latest nonce). Make them anew for
   * each request: a proof is single-use.
   */
  requestHeaders(method: string, url: string | URL, request?: AccessTokenRequest): Promise<ResourceRequestHeaders>
  /**
   * A DPoP proof for `method url` (with `ath` when `accessToken` is given); throws TypeError unless the
   * source was made with `dpop`. `nonce` overrides the latest one remembered for the URL's origin.
   */
  dpopProof(method: string, url: string | URL, options?: { accessToken?: string; nonce?: string }): Promise<string>
  /** Remembers the `DPoP-Nonce` a resource server answered with, for the next proofs to its origin. */
  dpopNonce(url: string | URL, nonce: string | null): void
  /** The RFC 7638 thumbprint of the DPoP key (the tokens' `cnf.jkt`); undefined without `dpop`. */
  dpopThumbprint(): Promise<string | undefined>
  /** Stops every refresh and retry; calls after it fail. Nothing of the source keeps a process alive anyway. */
  close(): void
}

/**
 * Access tokens for a workload, kept fresh: each (audience, scope) asked for is fetched once, refreshed
 * in the background at about 80 % of its lifetime, retried with backoff while the STS is unavailable,
 * and never handed out expired. A refusal (`invalid_grant`, `invalid_scope`...) is thrown as an
 * StsError with the OAuth error and description, and not retried until `refusalCooldownMs` has passed.
 *
 * @example
 * const source = tokenSource({ sts: 'https://sts.example.org', attestation: fileAttestation({ path: '/var/run/secrets/tokens/sts-token' }) })
 * const token = await source.token({ audience: 'ledger-api', scope: 'ledger:read' })
 * await fetch('https://ledger-api/entries', { headers: { authorization: `Bearer ${token}` } })
 */
export function tokenSource(options: TokenSourceOptions): TokenSource {
  const settings = settingsOf(options)
  const slots = new Map<string, TokenSlot>()
  let closed = false

  async function accessToken(request: AccessTokenRequest = {}): Promise<AccessToken> {
    if (closed) throw new Error('the token source is closed')
    const normalised = normalise(request)
    const key = `${normalised.audience ?? ''}\n${normalised.scope ?? ''}`
    let slot = slots.get(key)
    if (slot === undefined) {
      slot = new TokenSlot(normalised, settings)
      slots.set(key, slot)
    }
    const held = await slot.get()
    return {
      token: held.accessToken,
      tokenType: held.tokenType,
      expiresAt: new Date(held.expiresAt),
      ...(held.scope === undefined ? {} : { scope: held.scope }),
    }
  }

  const dpop = settings.dpop
  function proofs(): DpopProofs {
    if (dpop === undefined) throw new TypeError('tokenSource: DPoP proofs need the `dpop` option')
    return dpop
  }

  return {
    accessToken,
    token: async (request) => (await accessToken(request)).token,
    async requestHeaders(method, url, request): Promise<ResourceRequestHeaders> {
      const { token } = await accessToken(request)
      if (dpop === undefined) return { authorization: `Bearer ${token}` }
      return { authorization: `DPoP ${token}`, dpop: await dpop.proof(method, url, { accessToken: token }) }
    },
    dpopProof: async (method, url, options) => proofs().proof(method, url, options),
    dpopNonce: (url, nonce) => proofs().rememberNonce(url, nonce),
    dpopThumbprint: async () => (dpop === undefined ? undefined : dpop.thumbprint()),
    close() {
      closed = true
      for (const slot of slots.values()) slot.close()
      slots.clear()
    },
  }
}

function normalise(request: AccessTokenRequest): TokenRequest {
  if (request.audience !== undefined && (typeof request.audience !== 'string' || request.audience === '')) {
    throw new TypeError('token(): `audience` must be a non-empty string')
  }
  const scopes: unknown = typeof request.scope === 'string' ? [request.scope] : (request.scope ?? [])
  if (!Array.isArray(scopes) || scopes.some((scope) => typeof scope !== 'string'))
    throw new TypeError('token(): `scope` must be a string or a list of strings')
  const words = (scopes as string[])
    .join(' ')
    .split(/\s+/)
    .filter((word) => word !== '')
  const scope = [...new Set(words)].sort().join(' ')
  return { ...(request.audience === undefined ? {} : { audience: request.audience }), ...(scope === '' ? {} : { scope }) }
}

function settingsOf(options: TokenSourceOptions): SlotSettings {
  if (options === null || typeof options !== 'object') throw new TypeError('tokenSource: expected options { sts, attestation }')
  const endpoint = tokenEndpointOf(options)
  const attestation = attestationOf(options.attestation)
  if (attestation === undefined)
    throw new TypeError(
      'tokenSource: `attestation` must be an attestation (fileAttestation(...), awsInstanceIdentity(...)...) or an async function',
    )
  const actor = options.actor === undefined ? undefined : attestationOf(options.actor)
  if (options.actor !== undefined && actor === undefined)
    throw new TypeError(
      'tokenSource: `actor` must be an attestation (fileAttestation(...), accessTokenAttestation(...)...) or an async function',
    )
  const refreshAt = fraction('refreshAt', options.refreshAt, 0.8)
  const refreshJitter = fraction('refreshJitter', options.refreshJitter, 0.05, true)
  if (refreshAt - refreshJitter <= 0 || refreshAt + refreshJitter >= 1) {
    throw new TypeError('tokenSource: `refreshAt` ± `refreshJitter` must stay between 0 and 1')
  }
  const baseDelayMs = milliseconds('retry.baseDelayMs', options.retry?.baseDelayMs, 1_000)
  const maxDelayMs = milliseconds('retry.maxDelayMs', options.retry?.maxDelayMs, 30_000)
  if (maxDelayMs < baseDelayMs) throw new TypeError('tokenSource: `retry.maxDelayMs` must not be less than `retry.baseDelayMs`')
  return {
    endpoint,
    attestation,
    ...(actor === undefined ? {} : { actor }),
    fetch: options.fetch ?? globalThis.fetch,
    clock: options.clock ?? systemClock,
    timers: options.timers ?? systemTimers,
    random: options.random ?? Math.random,
    refreshAt,
    refreshJitter,
    minValidityMs: milliseconds('minValidityMs', options.minValidityMs, 10_000, true),
    backoff: { baseDelayMs, maxDelayMs },
    waitMs: milliseconds('retry.waitMs', options.retry?.waitMs, 30_000, true),
    refusalCooldownMs: milliseconds('refusalCooldownMs', options.refusalCooldownMs, 30_000, true),
    requestTimeoutMs: milliseconds('requestTimeoutMs', options.requestTimeoutMs, 10_000),
    ...dpopOf(options),
    emit: options.onEvent ?? (() => {}),
  }
}

function attestationOf(given: unknown): Attestation | undefined {
  if (typeof given === 'function') return customAttestation(given as AttestationFunction)
  const candidate = given as Attestation | null | undefined
  return candidate !== null && typeof candidate === 'object' && typeof candidate.subjectToken === 'function' ? candidate : undefined
}

function dpopOf(options: TokenSourceOptions): { dpop?: DpopProofs } {
  const dpop = options.dpop
  if (dpop === undefined || dpop === false) return {}
  if (dpop !== true && (dpop === null || typeof dpop !== 'object'))
    throw new TypeError('tokenSource: `dpop` must be true or { key?, algorithm? }')
  return { dpop: new DpopProofs(dpop === true ? {} : dpop, options.clock ?? systemClock) }
}

function tokenEndpointOf(options: TokenSourceOptions): string {
  const given = options.tokenEndpoint ?? (options.sts === undefined ? undefined : `${String(options.sts).replace(/\/+$/, '')}/oauth2/token`)
  let url: URL
  try {
    url = new URL(String(given))
  } catch {
    throw new TypeError(`tokenSource: \`sts\` must be the STS's URL, such as https://sts.example.org, not ${String(options.sts)}`)
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:')
    throw new TypeError(`tokenSource: the token endpoint must be http(s), not ${url.protocol}`)
  return url.href
}

function fraction(name: string, value: number | undefined, fallback: number, zeroAllowed = false): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !(zeroAllowed ? value >= 0 : value > 0) || !(value < 1)) {
    throw new TypeError(`tokenSource: \`${name}\` must be a number ${zeroAllowed ? 'from 0' : 'above 0'} and below 1, not ${String(value)}`)
  }
  return value
}

function milliseconds(name: string, value: number | undefined, fallback: number, zeroAllowed = false): number {
  if (value === undefined) return fallback
  if (typeof value !== 'number' || !Number.isFinite(value) || !(zeroAllowed ? value >= 0 : value > 0)) {
    throw new TypeError(
      `tokenSource: \`${name}\` must be a ${zeroAllowed ? 'non-negative' : 'positive'} number of milliseconds, not ${String(value)}`,
    )
  }
  return value
}
