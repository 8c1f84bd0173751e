import type { DpopCheckSettings } from './dpop-proof-check.js'
/** Where the verifier stands with the revocations. */
export interface VerifierStatus {
  /** `following`: the stream is open; `lost`: it is not (since `lostSince`); `off`: `revocations: false`. */
  revocations: 'following' | 'lost' | 'off'
  lostSince?: Date
  /** Why it was last lost. */
  lastError?: Error
  /** Revocations held in memory. */
  held: number
}

/** The stream was lost: since when, and why (the first failure). */
export interface StreamLoss {
  since: Date
  error: Error
}

/**
 * What the verifier does while it cannot hear the revocation stream (the STS down or unreachable,
 * its subscribe token refused), the caller's choice, made explicitly:
 * - `{ refuseAfterMs }`: go on accepting for that long (revocations made meanwhile are not seen), then
 *   refuse every token with VerifierUnavailableError (503) until the stream is back. Fails closed.
 * - `{ acceptAndReport }`: go on accepting, and be told once per loss (then `onStatus` when it is
 *   back). Tokens revoked during the loss are accepted until the stream returns. Fails open.
 */
export type StreamLostPolicy = { refuseAfterMs: number } | { acceptAndReport: (loss: StreamLoss) => void }

export interface RevocationOptions {
  /**
   * An admin token with the role `revocations:subscribe` (made with `POST /v1/admin-tokens`), or a
   * function giving it, asked again at every connection (so a rotated token is picked up).
   */
  subscribeToken: string | (() => string | Promise<string>)
  onStreamLost: StreamLostPolicy
  /** Told at every change: the stream lost (`revocations: 'lost'`, with `lastError`) and back (`'following'`). */
  onStatus?: (status: VerifierStatus) => void
  /** The longest wait between two reconnection attempts (full jitter below it); 500 ms. */
  reconnectMaxDelayMs?: number
  /** Without a byte from the stream for this long it is taken for dead and reopened; 45 s (the STS sends a keep-alive every 15 s). */
  idleTimeoutMs?: number
}

export interface VerifierOptions {
  /** What `iss` must be: the STS's `issuer`. */
  issuer: string
  /** This resource server's name(s): `aud` must be one. */
  audience: string | readonly string[]
  /** Where to reach the STS (its JWKS and admin API); the issuer by default. */
  sts?: string
  /** Scopes every token must have, on top of those each `verify` asks for. */
  requiredScopes?: readonly string[]
  /** Allowed difference between this host's clock and the STS's, for `exp`, `nbf` and `iat`; 10 s. */
  clockToleranceSeconds?: number
  /** Tokens that live longer (`exp - iat`) are refused; 86400 s (the most the STS can be set to mint). */
  maxTokenLifetimeSeconds?: number
  jwks?: {
    /** `<sts>/.well-known/jwks.json` by default. */
    uri?: string
    /** Least time between two fetches caused by an unknown `kid`; 30 s. */
    cooldownMs?: number
    /** How long a fetched key set is used before it is fetched again; 5 minutes (the STS's `max-age`). */
    maxAgeMs?: number
    /** 5 s. */
    timeoutMs?: number
  }
  /** How revocations are followed; `false` knowingly accepts revoked tokens until they expire. */
  revocations: RevocationOptions | false
  /**
   * DPoP (RFC 9449) proofs of bound tokens (`cnf.jkt`), checked by `verifyRequest`: the algorithms a
   * proof may use (ES256, ES384, EdDSA, RS256, PS256), how far its `iat` may be from now (60 s), and
   * how many proof jtis are remembered to refuse replays (100 000; past it proofs are refused with 503).
   */
  dpop?: { algorithms?: readonly string[]; proofWindowSeconds?: number; maxProofsRemembered?: number }
  /** The fetch to use; the global one by default. */
  fetch?: typeof globalThis.fetch
  /** The clock tokens are checked against, in milliseconds; Date.now by default. */
  now?: () => number
}

/** Asymmetric only: a proof signed with a shared secret proves nothing about a key pair. */
const DPOP_ALGORITHMS = ['ES256', 'ES384', 'ES512', 'EdDSA', 'Ed25519', 'RS256', 'RS384', 'RS512', 'PS256', 'PS384', 'PS512']

/** The options, checked, with their defaults. */
export interface VerifierSettings {
  issuer: string
  audiences: readonly string[]
  sts: string
  requiredScopes: readonly string[]
  clockToleranceSeconds: number
  maxTokenLifetimeSeconds: number
  jwks: { uri: string; cooldownMs: number; maxAgeMs: number; timeoutMs: number }
  revocations:
    | false
    | (Required<Pick<RevocationOptions, 'reconnectMaxDelayMs' | 'idleTimeoutMs'>> &
        Omit<RevocationOptions, 'subscribeToken'> & { subscribeToken: () => string | Promise<string> })
  dpop: DpopCheckSettings
  fetch: typeof globalThis.fetch
  now: () => number
}

/**
 * Checks the options once, at construction, and reports every problem at once (a TypeError: these
 * are programming mistakes, not conditions to handle).
 */
export function verifierSettings(options: VerifierOptions): VerifierSettings {
  const problems: string[] = []
  const check = (ok: boolean, problem: string) => {
    if (!ok) problems.push(problem)
  }
  const audiences = typeof options.audience === 'string' ? [options.audience] : [...(options.audience ?? [])]
  check(typeof options.issuer === 'string' && options.issuer !== '', 'issuer: the STS issuer, a URL, is required')
  check(audiences.length > 0 && audiences.every((a) => typeof a === 'string' && a !== ''), 'audience: one name or more is required')
  const sts = options.sts ?? options.issuer
  check(isUrl(sts), `sts: ${String(sts)} is not a URL`)
  const count = (name: string, value: number | undefined, fallback: number, min = 0): number => {
    check(value === undefined || (Number.isFinite(value) && value >= min), `${name}: must be a number, at least ${min}`)
    return value ?? fallback
  }
  const clockToleranceSeconds = count('clockToleranceSeconds', options.clockToleranceSeconds, 10)
  const maxTokenLifetimeSeconds = count('maxTokenLifetimeSeconds', options.maxTokenLifetimeSeconds, 86_400, 1)
  const jwksUri = options.jwks?.uri ?? (isUrl(sts) ? new URL('.well-known/jwks.json', withSlash(sts)).href : undefined)
  check(jwksUri === undefined || isUrl(jwksUri), `jwks.uri: ${String(jwksUri)} is not a URL`)
  const jwks = {
    uri: jwksUri ?? '',
    cooldownMs: count('jwks.cooldownMs', options.jwks?.cooldownMs, 30_000),
    maxAgeMs: count('jwks.maxAgeMs', options.jwks?.maxAgeMs, 300_000),
    timeoutMs: count('jwks.timeoutMs', options.jwks?.timeoutMs, 5000, 1),
  }
  let revocations: VerifierSettings['revocations'] = false
  if (options.revocations === undefined) {
    problems.push('revocations: say how revocations are followed ({ subscribeToken, onStreamLost }), or false to accept revoked tokens')
  } else if (options.revocations !== false) {
    const r = options.revocations
    const token = r.subscribeToken
    check(
      (typeof token === 'string' && token !== '') || typeof token === 'function',
      'revocations.subscribeToken: an admin token with revocations:subscribe, or a function giving one',
    )
    const policy = r.onStreamLost as Partial<{ refuseAfterMs: unknown; acceptAndReport: unknown }> | undefined
    const refuse = policy !== undefined && 'refuseAfterMs' in policy
    const accept = policy !== undefined && 'acceptAndReport' in policy
    check(
      refuse !== accept &&
        (!refuse || (typeof policy.refuseAfterMs === 'number' && policy.refuseAfterMs >= 0)) &&
        (!accept || typeof policy.acceptAndReport === 'function'),
      'revocations.onStreamLost: choose { refuseAfterMs: <ms> } or { acceptAndReport: (loss) => ... }',
    )
    revocations = {
      ...r,
      subscribeToken: typeof token === 'function' ? token : () => token,
      reconnectMaxDelayMs: count('revocations.reconnectMaxDelayMs', r.reconnectMaxDelayMs, 500, 1),
      idleTimeoutMs: count('revocations.idleTimeoutMs', r.idleTimeoutMs, 45_000, 1),
    }
  }
  const algorithms = options.dpop?.algorithms ?? ['ES256', 'ES384', 'EdDSA', 'RS256', 'PS256']
  check(
    Array.isArray(algorithms) &&
      algorithms.length > 0 &&
      (algorithms as readonly unknown[]).every((alg) => typeof alg === 'string' && DPOP_ALGORITHMS.includes(alg)),
    `dpop.algorithms: asymmetric JWS algorithms only, from ${DPOP_ALGORITHMS.join(', ')}`,
  )
  const dpop = {
    algorithms,
    proofWindowSeconds: count('dpop.proofWindowSeconds', options.dpop?.proofWindowSeconds, 60, 1),
    maxProofsRemembered: count('dpop.maxProofsRemembered', options.dpop?.maxProofsRemembered, 100_000, 1),
  }
  if (problems.length > 0) throw new TypeError(`createVerifier: ${problems.join('; ')}`)
  return {
    issuer: options.issuer,
    audiences,
    sts,
    requiredScopes: options.requiredScopes ?? [],
    clockToleranceSeconds,
    maxTokenLifetimeSeconds,
    jwks,
    revocations,
    dpop,
    fetch: options.fetch ?? globalThis.fetch,
    now: options.now ?? Date.now,
  }
}

function isUrl(value: unknown): boolean {
  return typeof value === 'string' && URL.canParse(value)
}

function withSlash(url: string): string {
  return url.endsWith('/') ? url : `${url}/`
}
