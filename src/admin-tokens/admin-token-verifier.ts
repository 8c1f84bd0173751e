import { createHash, timingSafeEqual } from 'node:crypto'
import type { Clock } from '../lib/clock.js'
import { ADMIN_ROLES, BOOTSTRAP_ACTOR, type AdminIdentity } from './admin-token.js'
import type { AdminTokenStore } from './admin-token-store.js'
import { looksLikeJwt, type AdminPrincipalVerifier } from './oidc-admin-verifier.js'

export interface AdminTokenVerifierOptions {
  /** STS_ADMIN_TOKEN: every role. */
  bootstrapToken: string | undefined
  tokens: AdminTokenStore
  clock: Clock
  /** How long a looked-up scoped token is trusted before it is looked up again. */
  cacheMs?: number
  /** With `admin.oidc`: people's tokens from the organization's identity provider. */
  oidc?: AdminPrincipalVerifier
}

const BOOTSTRAP: AdminIdentity = { name: BOOTSTRAP_ACTOR, roles: new Set(ADMIN_ROLES), scope: null }

/**
 * Who an admin bearer secret stands for. The bootstrap token is compared in constant time (both sides
 * hashed first, so neither length nor content leaks through timing); scoped tokens are found by their
 * SHA-256, and an answer (a token or none) is trusted for `cacheMs`, so a revoked token stops working
 * within that window on every instance. With `admin.oidc`, a secret shaped like a JWT (never an
 * `sts_admin_` token) is a person's token from the identity provider: verified on every request,
 * never cached, so it stops working the second it expires.
 */
export class AdminTokenVerifier {
  private readonly expected: Buffer | undefined
  private readonly cacheMs: number
  private readonly cache = new Map<string, { identity: AdminIdentity | null; until: number }>()

  constructor(private readonly options: AdminTokenVerifierOptions) {
    this.expected = options.bootstrapToken === undefined ? undefined : digest(options.bootstrapToken)
    this.cacheMs = options.cacheMs ?? 5000
  }

  /** Whether STS_ADMIN_TOKEN is configured: a refusal says so when it is not, to spare an operator the search. */
  get hasBootstrapToken(): boolean {
    return this.expected !== undefined
  }

  /** Whether people sign in with the identity provider (`admin.oidc`). */
  get hasIdentityProvider(): boolean {
    return this.options.oidc !== undefined
  }

  /**
   * The identity of `secret`, or null when it is no usable admin token. Throws ServiceUnavailableError
   * when the store (or the identity provider's keys) cannot answer, and the identity provider's
   * verifier's refusal (401 or 403, with the reason) for a token of its.
   */
  async identify(secret: string): Promise<AdminIdentity | null> {
    if (this.expected !== undefined && timingSafeEqual(digest(secret), this.expected)) return BOOTSTRAP
    if (this.options.oidc !== undefined && looksLikeJwt(secret)) return this.options.oidc.identify(secret)
    const now = this.options.clock.now()
    const key = digest(secret).toString('hex')
    const cached = this.cache.get(key)
    if (cached && cached.until > now) return cached.identity
    const token = await this.options.tokens.findUsable(secret, new Date(now))
    const identity = token ? { name: token.name, roles: new Set(token.roles), scope: token.scope } : null
    if (this.cache.size > 10_000) this.cache.clear()
    this.cache.set(key, { identity, until: now + this.cacheMs })
    return identity
  }
}

function digest(value: string): Buffer {
  return createHash('sha256').update(value).digest()
}
