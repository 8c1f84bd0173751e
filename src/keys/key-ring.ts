import { createPublicKey, type KeyObject } from 'node:crypto'
import type { Logger } from 'pino'
import { ServiceUnavailableError } from '../errors.js'
import type { GrantFeed as ChangeFeed } from '../grants/grant-feed.js'
import { KeyDecryptionError } from './key-encryption.js'
import type { SigningKeyStore } from './key-store.js'
import type { Signer } from './signer.js'
import type { SigningKeyObserver } from '../observability/observers.js'
import { PUBLISHED_STATES, type PublicJwk, type SigningAlgorithm, type SigningKey } from './signing-key.js'

export interface KeyRingOptions {
  /** How often the keys are read whatever the feed says: the safety net for lost messages. */
  catchUpIntervalMs: number
  /** Without a successful read for longer than this, the instance neither signs nor publishes (keys_stale). */
  maxStalenessMs: number
  /** Measures time since the last read; must not jump when the wall clock does. */
  monotonic?: () => number
  logger: Pick<Logger, 'warn' | 'error' | 'info'>
  /** keys.rotateEveryDays in ms (0: never): when the current key's rotation is due, for the metrics. */
  rotateEveryMs?: number
  /** Told which key signs and when its scheduled rotation is due (sts_signing_key_retirement_seconds). */
  observer?: Pick<SigningKeyObserver, 'signing'>
}

/** The key new tokens are signed with. */
export interface ActiveKey {
  kid: string
  alg: SigningAlgorithm
}

/**
 * This instance's copy of the keys table: what it signs with (the `current` key), what its JWKS
 * serves (`next`, `current`, `retired`) and what introspection verifies with. The table is tiny, so
 * every change is applied by reading it whole: when the change feed says something changed (any
 * instance's write, after its commit), after each reconnection of the feed, and every
 * `catchUpIntervalMs`. The `current` and `next` private keys are opened (decrypted) as soon as they
 * are read, so a promotion never waits on it and a wrong key-encryption key shows at once: at start, it
 * stops the start. Once running, a key that another instance sealed under a key-encryption key this
 * one does not hold (a KEK rotation rolling out) is still published and verified with; this instance
 * only refuses to sign with it, saying why, until it is restarted with that KEK.
 *
 * Fail closed: a copy not read for longer than `maxStalenessMs` may lack a key that another replica
 * already signs with, or still hold a removed one; it neither signs nor serves the JWKS until a read
 * succeeds again. The key timings count on that bound (src/keys/key-lifecycle.ts).
 */
export class KeyRing {
  private active: ActiveKey | undefined
  /** Why the current key cannot sign here, when its private key does not open with the KEKs held here. */
  private refusal: string | undefined
  /** The keys to sign with (current, next) that do not open here, and why: each is logged once. */
  private unopened = new Map<string, string>()
  private jwks: { keys: PublicJwk[] } = { keys: [] }
  private verification = new Map<string, { alg: string; key: KeyObject }>()
  private lastRead = Number.NEGATIVE_INFINITY
  private loaded = false
  private reading: Promise<void> | undefined
  private again = false
  private timer: NodeJS.Timeout | undefined
  private readonly monotonic: () => number

  constructor(
    private readonly store: SigningKeyStore,
    private readonly signer: Signer,
    private readonly feed: ChangeFeed,
    private readonly options: KeyRingOptions,
  ) {
    this.monotonic = options.monotonic ?? (() => performance.now())
  }

  /** Listens to the feed and reads the keys; throws if they cannot be read or the current key cannot be opened. */
  async start(): Promise<void> {
    await this.feed.start(() => this.refreshInBackground())
    await this.refresh()
    this.timer = setInterval(() => this.refreshInBackground(), this.options.catchUpIntervalMs)
    this.timer.unref()
  }

  /** The key to sign with now. Throws ServiceUnavailableError when this copy cannot be vouched for. */
  signingKey(): ActiveKey {
    this.ensureCurrent()
    if (!this.active) throw new ServiceUnavailableError(this.refusal ?? 'there is no current signing key', 'keys_unavailable')
    return this.active
  }

  /** The JWKS: every published key. Throws ServiceUnavailableError when this copy cannot be vouched for. */
  publicJwks(): { keys: PublicJwk[] } {
    this.ensureCurrent()
    return this.jwks
  }

  /** The public key a token naming `kid` verifies with, if `kid` is published. */
  verificationKey(kid: string): { alg: string; key: KeyObject } | undefined {
    this.ensureCurrent()
    return this.verification.get(kid)
  }

  isCurrent(): boolean {
    return this.loaded && this.monotonic() - this.lastRead <= this.options.maxStalenessMs
  }

  /** After a change made through this instance (committed): applied here, then every other instance is told. */
  async announceChange(): Promise<void> {
    await this.refresh().catch((error: unknown) =>
      this.options.logger.warn({ err: { message: (error as Error).message } }, 'the signing keys could not be read again after a change'),
    )
    await this.feed
      .publish()
      .catch((error: unknown) =>
        this.options.logger.warn(
          { err: { message: (error as Error).message } },
          'a signing key change could not be announced; other instances see it at their next periodic read',
        ),
      )
  }

  /** Reads the keys table again; a read asked for while one runs runs once more after it. */
  refresh(): Promise<void> {
    if (this.reading) {
      this.again = true
      return this.reading
    }
    this.reading = this.read().finally(() => {
      this.reading = undefined
      if (this.again) {
        this.again = false
        this.refreshInBackground()
      }
    })
    return this.reading
  }

  async close(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.feed.close()
    await this.reading?.catch(() => {})
  }

  /** A failed read is logged; the copy stays as it was, and turns stale if reads keep failing. */
  private refreshInBackground(): void {
    this.refresh().catch((error: unknown) =>
      this.options.logger.error({ err: { message: (error as Error).message } }, 'the signing keys cannot be read; retrying'),
    )
  }

  private async read(): Promise<void> {
    const askedAt = this.monotonic()
    const keys = await this.store.list()
    const current = keys.find((key) => key.state === 'current')
    const next = keys.find((key) => key.state === 'next')
    // Opened before anything changes here: a key that cannot be opened leaves the copy as it was, but
    // for one sealed under a KEK not held here once running (see the class's comment).
    const unopened = new Map<string, string>()
    for (const key of [current, next]) {
      if (!key) continue
      try {
        await this.signer.open(key)
      } catch (error) {
        if (!this.loaded || !(error instanceof KeyDecryptionError)) throw error
        unopened.set(key.kid, error.message)
      }
    }
    // A retired key stays open: an exchange that took it just before it retired still signs with it (it is
    // still published). Removed and revoked keys sign nothing more.
    for (const key of keys) if (key.state === 'removed' || key.state === 'revoked') this.signer.forget(key.kid)
    const published = keys.filter((key) => PUBLISHED_STATES.includes(key.state))
    const verification = new Map<string, { alg: string; key: KeyObject }>()
    for (const key of published) verification.set(key.kid, { alg: key.alg, key: createPublicKey({ key: key.publicJwk, format: 'jwk' }) })
    for (const [kid, why] of unopened) {
      if (!this.unopened.has(kid)) this.options.logger.error({ kid, err: { message: why } }, 'this instance cannot sign with a signing key')
    }
    const signs = current && !unopened.has(current.kid) ? current : undefined
    if (signs?.kid !== this.active?.kid) this.options.logger.info({ kid: signs?.kid, alg: signs?.alg }, 'signing with a new key')
    this.active = signs ? { kid: signs.kid, alg: signs.alg } : undefined
    this.refusal = current && unopened.get(current.kid)
    this.unopened = unopened
    if (signs) this.options.observer?.signing(signs.kid, this.rotationDueMillis(signs))
    this.jwks = { keys: published.map(publicPart) }
    this.verification = verification
    this.loaded = true
    this.lastRead = Math.max(this.lastRead, askedAt)
  }

  /** When the schedule replaces `key`; undefined when nothing is scheduled (rotateEveryDays 0). */
  private rotationDueMillis(key: SigningKey): number | undefined {
    const every = this.options.rotateEveryMs ?? 0
    return every > 0 && key.activatedAt !== null ? key.activatedAt.getTime() + every : undefined
  }

  private ensureCurrent(): void {
    if (!this.loaded) throw new ServiceUnavailableError('the signing keys are not loaded yet', 'keys_unavailable')
    const silent = this.monotonic() - this.lastRead
    if (silent > this.options.maxStalenessMs) {
      throw new ServiceUnavailableError(
        `the signing keys have not been read for ${(silent / 1000).toFixed(1)} s: this instance may not have the keys the others use`,
        'keys_stale',
      )
    }
  }
}

/** The JWK as published: its public members, kid, alg and use, whatever else the row holds. */
function publicPart(key: SigningKey): PublicJwk {
  const { kty, crv, x, y } = key.publicJwk
  return {
    kty,
    ...(crv === undefined ? {} : { crv }),
    x,
    ...(y === undefined ? {} : { y }),
    kid: key.kid,
    alg: key.alg,
    use: 'sig',
  }
}
