import { performance } from 'node:perf_hooks'
import { requireScopes, verifiedClaims, type ClaimExpectations, type VerifiedToken } from './claims.js'
import { TokenRefusedError, VerifierUnavailableError } from './errors.js'
import { DpopProofCheck } from './dpop-proof-check.js'
import { JwksCache } from './jwks-cache.js'
import { parseAccessTokenJws, signatureValid } from './jws.js'
import { credentialsOf, proofsOf } from './presentation.js'
import { RevocationFollower } from './revocation-follower.js'
import { RevocationSet } from './revocation-set.js'
import { verifierSettings, type StreamLoss, type VerifierOptions, type VerifierSettings, type VerifierStatus } from './verifier-options.js'

/** A request as the verifier reads it; `headers` named in lower case (Node's `IncomingHttpHeaders`). */
export interface ResourceRequest {
  method: string
  /** The absolute URL the client called (scheme and host as the client saw them, behind any proxy). */
  url: string | URL
  headers: Readonly<Record<string, string | string[] | undefined>>
}

/** Verifies Seed STS access tokens for a resource server. Made by `createVerifier`. */
export interface Verifier {
  /**
   * The token's identity, once its signature, header, claims, scopes and revocation status are
   * checked. Throws TokenRefusedError (answer 401 `invalid_token`, or 403 `insufficient_scope`), or
   * VerifierUnavailableError (answer 503) when it cannot decide now.
   */
  verify(token: string, options?: { scopes?: readonly string[] }): Promise<VerifiedToken>
  /**
   * The same for a whole request, as RFC 9449 section 7 needs it: `Authorization: Bearer <token>` for
   * an unbound token, `Authorization: DPoP <token>` and a `DPoP` proof of this request (method, URL as
   * the client called it) for a token bound to a key (`cnf.jkt`). A bound token presented as Bearer,
   * or an unbound one as DPoP, is refused. `verify(token)` is the Bearer case: it refuses bound tokens.
   */
  verifyRequest(request: ResourceRequest, options?: { scopes?: readonly string[] }): Promise<VerifiedToken>
  /** Resolves once the revocations in force are read and the stream is open: await it before serving. */
  ready(): Promise<void>
  status(): VerifierStatus
  /** Stops following the revocations; verify() is not to be called after. */
  close(): Promise<void>
}

/**
 * A verifier of RFC 9068 access tokens from one Seed STS, that knows revocations without a call per
 * request: it follows the STS's revocation stream and holds the revocations in force in memory.
 *
 * @example
 * const verifier = createVerifier({
 *   issuer: 'https://sts.example.org',
 *   audience: 'ledger-api',
 *   revocations: {
 *     subscribeToken: process.env.STS_SUBSCRIBE_TOKEN!, // an admin token with the role revocations:subscribe
 *     onStreamLost: { refuseAfterMs: 30_000 },
 *   },
 * })
 * await verifier.ready()
 * const { subject, scopes } = await verifier.verify(token, { scopes: ['ledger:read'] })
 */
export function createVerifier(options: VerifierOptions): Verifier {
  return new AccessTokenVerifier(verifierSettings(options))
}

/** How often revocations that can no longer matter are forgotten. */
const PRUNE_EVERY_MS = 60_000

class AccessTokenVerifier implements Verifier {
  private readonly dpop: DpopProofCheck
  private readonly jwks: JwksCache
  private readonly set: RevocationSet
  private readonly follower: RevocationFollower | undefined
  private readonly expectations: ClaimExpectations
  private readonly pruning: NodeJS.Timeout | undefined
  /** Real time (not the tokens' clock, which a test may stop): since when the stream is lost; undefined while it is open. */
  private lostSince: number | undefined
  private lostSinceDate: Date | undefined
  private lastError: Error | undefined
  private hasFollowed = false
  /** The loss under way has been reported (once per loss, however many reconnections fail). */
  private lossReported = false
  private attempted: () => void = () => undefined
  private followed: () => void = () => undefined
  /** Settles at the first answer: the stream open, or the first attempt failed. */
  private readonly firstAttempt: Promise<void>
  /** Settles once the stream has been open. */
  private readonly firstFollowing: Promise<void>

  constructor(private readonly settings: VerifierSettings) {
    this.jwks = new JwksCache({ ...settings.jwks, fetch: settings.fetch, elapsed: () => performance.now() })
    this.set = new RevocationSet(
      (settings.maxTokenLifetimeSeconds + settings.clockToleranceSeconds + 300) * 1000,
      settings.clockToleranceSeconds * 1000,
    )
    this.expectations = settings
    this.dpop = new DpopProofCheck(settings.dpop, settings.now)
    this.firstAttempt = new Promise((resolve) => (this.attempted = resolve))
    this.firstFollowing = new Promise((resolve) => (this.followed = resolve))
    const revocations = settings.revocations
    if (revocations === false) {
      // Nothing to follow: ready at once, as `ready()` promises once what it follows is in.
      this.followed()
      return
    }
    this.lostSince = performance.now()
    this.lostSinceDate = new Date()
    this.follower = new RevocationFollower({
      sts: settings.sts,
      token: revocations.subscribeToken,
      set: this.set,
      fetch: settings.fetch,
      now: settings.now,
      reconnectMaxDelayMs: revocations.reconnectMaxDelayMs,
      idleTimeoutMs: revocations.idleTimeoutMs,
      onFollowing: () => this.following(),
      onLost: (error) => this.lost(error),
    })
    this.follower.start()
    this.pruning = setInterval(() => this.set.prune(settings.now()), PRUNE_EVERY_MS)
    this.pruning.unref()
  }

  verify(token: string, options: { scopes?: readonly string[] } = {}): Promise<VerifiedToken> {
    return this.verifyPresented(token, undefined, options)
  }

  async verifyRequest(request: ResourceRequest, options: { scopes?: readonly string[] } = {}): Promise<VerifiedToken> {
    const credentials = credentialsOf(request.headers.authorization)
    if ('missing' in credentials) throw new TokenRefusedError('token_malformed', 'the request has no Bearer or DPoP access token')
    if ('malformed' in credentials) throw new TokenRefusedError('token_malformed', credentials.malformed)
    if (credentials.scheme === 'Bearer') return this.verifyPresented(credentials.token, undefined, options)
    return this.verifyPresented(credentials.token, { ...request, proofs: proofsOf(request.headers.dpop) }, options)
  }

  /** `dpop`: the request, when the token came with the DPoP scheme; undefined for Bearer. */
  private async verifyPresented(
    token: string,
    dpop: (ResourceRequest & { proofs: readonly string[] }) | undefined,
    options: { scopes?: readonly string[] },
  ): Promise<VerifiedToken> {
    const jws = parseAccessTokenJws(token)
    // Untrusted until the signature verifies: nothing of the claims is looked at before.
    const key = await this.jwks.key(jws.kid)
    if (key === undefined) throw new TokenRefusedError('key_unknown', `the issuer publishes no key ${jws.kid}`)
    if (!signatureValid(jws, key)) throw new TokenRefusedError('signature_invalid', 'the token signature does not verify')
    const verified = verifiedClaims(jws.payload, jws.kid, this.expectations, Math.floor(this.settings.now() / 1000))
    const jkt = boundKeyOf(verified.claims.cnf)
    if (jkt === undefined && dpop !== undefined) {
      throw new TokenRefusedError('token_not_bound', 'the token is not DPoP-bound: present it as Authorization: Bearer')
    }
    if (jkt !== undefined && dpop === undefined) {
      // RFC 9449 section 7.2: a bound token is worth nothing without its key; as a bearer token it could be anyone's.
      throw new TokenRefusedError('token_bound', 'the token is DPoP-bound: present it as Authorization: DPoP with a DPoP proof')
    }
    if (jkt !== undefined && dpop !== undefined) {
      await this.dpop.check(dpop.proofs, { method: dpop.method, url: dpop.url, accessToken: token, jkt })
    }
    await this.ensureRevocationsKnown()
    const revokedBy = this.set.find(
      {
        tokenId: verified.tokenId,
        keyId: verified.keyId,
        subject: verified.subject,
        grants: verified.grants,
        sourceHashes: verified.claims.src_h,
        actors: verified.actors,
        ancestorTokenIds: verified.ancestorTokenIds,
      },
      this.settings.now(),
    )
    if (revokedBy !== undefined) throw new TokenRefusedError('token_revoked', `the token is revoked (by ${revokedBy})`, { revokedBy })
    requireScopes(verified, [...this.settings.requiredScopes, ...(options.scopes ?? [])])
    return verified
  }

  ready(): Promise<void> {
    return this.firstFollowing
  }

  status(): VerifierStatus {
    const revocations = this.follower === undefined ? 'off' : this.lostSince === undefined ? 'following' : 'lost'
    return {
      revocations,
      ...(revocations === 'lost' ? { lostSince: this.lostSinceDate } : {}),
      ...(this.lastError ? { lastError: this.lastError } : {}),
      held: this.set.size,
    }
  }

  async close(): Promise<void> {
    clearInterval(this.pruning)
    await this.follower?.stop()
  }

  /** As the caller chose: refuse once the stream has been lost for too long, or accept (having reported the loss). */
  private async ensureRevocationsKnown(): Promise<void> {
    const revocations = this.settings.revocations
    if (revocations === false || this.lostSince === undefined) return
    const policy = revocations.onStreamLost
    if ('refuseAfterMs' in policy) {
      // Never followed yet (just made): wait for the stream until the allowance runs out.
      const left = this.lostSince + policy.refuseAfterMs - performance.now()
      if (left > 0 && !this.hasFollowed) await within(this.firstFollowing, left)
      // Never followed after the whole wait: refused, even if a timer fired a hair before the allowance.
      const lostTooLong = this.lostSince !== undefined && (!this.hasFollowed || performance.now() - this.lostSince >= policy.refuseAfterMs)
      if (lostTooLong) {
        throw new VerifierUnavailableError(
          'revocations_unavailable',
          `the revocation stream has been lost for longer than ${policy.refuseAfterMs} ms: ${this.lastError?.message ?? 'not open yet'}`,
        )
      }
    } else if (!this.hasFollowed) {
      // Accepting blind only once the first attempt has failed (and was reported), not while it is under way.
      await this.firstAttempt
    }
  }

  private following(): void {
    this.lostSince = undefined
    this.lostSinceDate = undefined
    this.hasFollowed = true
    this.lossReported = false
    this.followed()
    this.attempted()
    this.report()
  }

  private lost(error: Error): void {
    this.lastError = error
    if (this.lostSince === undefined) {
      this.lostSince = performance.now()
      this.lostSinceDate = new Date()
    }
    this.attempted()
    const revocations = this.settings.revocations
    if (revocations === false || this.lossReported) return
    this.lossReported = true
    if ('acceptAndReport' in revocations.onStreamLost) {
      revocations.onStreamLost.acceptAndReport({ since: this.lostSinceDate!, error } satisfies StreamLoss)
    }
    this.report()
  }

  private report(): void {
    const revocations = this.settings.revocations
    if (revocations !== false) revocations.onStatus?.(this.status())
  }
}

/** The `cnf.jkt` of a bound token; undefined without `cnf`. A confirmation this verifier cannot check (mTLS...) is refused. */
function boundKeyOf(cnf: unknown): string | undefined {
  if (cnf === undefined) return undefined
  const jkt = typeof cnf === 'object' && cnf !== null && !Array.isArray(cnf) ? (cnf as Record<string, unknown>).jkt : undefined
  if (typeof jkt !== 'string' || !/^[A-Za-z0-9_-]{43}$/.test(jkt) || Object.keys(cnf as object).length !== 1) {
    throw new TokenRefusedError(
      'claim_missing',
      'the token has a cnf claim that is not a DPoP binding (exactly one jkt) this verifier can check',
    )
  }
  return jkt
}

/** Resolves when `promise` does or after `ms`, whichever is first. */
function within(promise: Promise<void>, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined
  return Promise.race([promise, new Promise<void>((resolve) => (timer = setTimeout(resolve, ms)))]).finally(() => clearTimeout(timer))
}
