import type { Logger } from 'pino'
import { SERVICE_ACTOR } from '../admin-tokens/admin-token.js'
import type { Actor, AuditEntry, AuditLog } from '../audit/audit-log.js'
import type { SigningKeyObserver } from '../observability/observers.js'
import type { Queryable } from '../db/database.js'
import { ConflictError, NotFoundError } from '../errors.js'
import type { Clock } from '../lib/clock.js'
import { clipUntrusted } from '../lib/untrusted-text.js'
import type { RevocationOutcome, RevocationService } from '../revocation/revocation-service.js'
import type { Revocation } from '../revocation/revocation.js'
import { activatesAt, dueSteps, removeAfter, type KeyStep, type KeyTimings } from './key-lifecycle.js'
import { KeyResealer, type KeySealing, type ResealOutcome } from './key-reseal.js'
import type { KeyRing } from './key-ring.js'
import type { SigningKeyStore } from './key-store.js'
import type { PemKeyFile } from './pem-key-files.js'
import type { NewKey, Signer } from './signer.js'
import { signingKeyToJson, type SigningAlgorithm, type SigningKey, type SigningKeyJson } from './signing-key.js'

export interface KeyServiceOptions {
  store: SigningKeyStore
  signer: Signer
  ring: Pick<KeyRing, 'announceChange'>
  /** Makes the `key` revocation of an emergency: every token of the key refused, on every instance. */
  revocations: Pick<RevocationService, 'revoke'>
  audit: AuditLog
  clock: Clock
  logger: Pick<Logger, 'info' | 'warn' | 'error'>
  timings: KeyTimings
  /** keys.algorithm: what new keys are. */
  algorithm: SigningAlgorithm
  /** The signer's key-encryption keys, when it seals keys with them: what a KEK rotation re-seals (src/keys/key-reseal.ts). */
  sealing?: KeySealing
  observer?: Pick<SigningKeyObserver, 'sealedUnderPreviousKek'>
}

export interface RotateOutcome {
  key: SigningKey
  /** A `next` key was waiting already: it is answered, and no other is made. */
  alreadyPending: boolean
}

export interface KeyRevokeOutcome {
  key: SigningKey
  alreadyRevoked: boolean
  /** The key that signs in its place, when the revoked key was the current one. */
  replacement?: SigningKey
  revocation: RevocationOutcome
}

const SERVICE: Actor = { name: SERVICE_ACTOR, requestId: null }

/**
 * The life of the signing keys: made, published as `next`, promoted to `current` once every verifier
 * can have it, retired, removed once its tokens have expired (src/keys/key-lifecycle.ts), or revoked
 * in an emergency. Every change is made under one lock, on one transaction with its audit entries,
 * then announced, so every instance's key ring reads it within seconds.
 */
export class KeyService {
  private readonly resealer: KeyResealer | undefined

  constructor(private readonly options: KeyServiceOptions) {
    this.resealer = options.sealing && new KeyResealer({ ...options, sealing: options.sealing })
  }

  /** At start: throws KeyDecryptionError naming every key sealed under a key-encryption key not configured here. */
  async checkKeks(): Promise<void> {
    await this.resealer?.checkKeks()
  }

  /**
   * A key-encryption key rotation: every key sealed under a previous KEK is sealed again under the
   * current one (by the upkeep, or on demand). Answers undefined when the signer seals nothing.
   */
  async reseal(actor: Actor = SERVICE): Promise<ResealOutcome | undefined> {
    return this.resealer?.reseal(actor)
  }

  /**
   * At start: with no key at all, imports the PEM files of the release before (the newest becomes
   * `current`, the older ones `retired`: they were published, and may have signed tokens still live),
   * or with none, makes the first key, current at once (no verifier can be waiting for another).
   * Once the table holds a key this does nothing: the import happens once. Answers what it did.
   */
  async bootstrap(pemFiles: () => readonly PemKeyFile[]): Promise<'imported' | 'generated' | 'none'> {
    const { signer, timings } = this.options
    const outcome = await this.change(async (tx, now, keys) => {
      if (keys.length > 0) return 'none' as const
      const files = pemFiles()
      if (files.length === 0) {
        await this.insert(
          tx,
          SERVICE,
          'key.create',
          record(await signer.generate(this.options.algorithm), signer.name, 'generated', 'current', now),
        )
        return 'generated' as const
      }
      for (const [index, file] of files.entries()) {
        const newest = index === files.length - 1
        // Published (and the newest signing) since the release before made it; a scheduled rotation counts from then.
        const made = file.createdAt.getTime() < now.getTime() ? file.createdAt : now
        const key = record(await signer.importPrivateKey(file.privateKey), signer.name, 'imported', newest ? 'current' : 'retired', made)
        if (!newest) Object.assign(key, { retiredAt: now, removeAfter: removeAfter(now, timings) })
        await this.insert(tx, SERVICE, 'key.import', key)
      }
      return 'imported' as const
    })
    return outcome
  }

  /**
   * At start: a key whose revocation stands but whose row says otherwise (a database restored from
   * before the key was revoked, the revocation re-applied by the restore's confirm step) is revoked
   * again the usual way, and replaced if it signed: a restore must never bring a revoked key back.
   * Answers the kids it revoked.
   */
  async enforceKeyRevocations(standing: readonly Revocation[]): Promise<string[]> {
    const keys = await this.options.store.list()
    const revoked: string[] = []
    for (const revocation of standing) {
      if (revocation.kind !== 'key') continue
      const key = keys.find((candidate) => candidate.kid === revocation.value)
      if (!key || key.state === 'revoked' || key.state === 'removed') continue
      await this.revoke(key.kid, revocation.reason, SERVICE)
      revoked.push(key.kid)
    }
    return revoked
  }

  /** Every key, oldest first, with when a `next` one will sign. */
  async list(): Promise<SigningKeyJson[]> {
    return (await this.options.store.list()).map((key) => this.toJson(key))
  }

  toJson(key: SigningKey): SigningKeyJson {
    return signingKeyToJson(key, activatesAt(key, this.options.timings))
  }

  /**
   * Rotation on demand: makes the `next` key, which signs once it has been published long enough
   * (`activatesAt`). One waits at most: with one waiting already, that one is answered.
   */
  async rotate(actor: Actor): Promise<RotateOutcome> {
    return this.change(async (tx, now, keys) => {
      const pending = keys.find((key) => key.state === 'next')
      if (pending) return { key: pending, alreadyPending: true }
      const key = record(await this.options.signer.generate(this.options.algorithm), this.options.signer.name, 'generated', 'next', now)
      await this.insert(tx, actor, 'key.create', key)
      return { key, alreadyPending: false }
    })
  }

  /**
   * The scheduled upkeep, run by every instance in turn (the lock makes them take turns): the next key
   * made on schedule, promoted when due, retired keys removed once their tokens have expired.
   * Answers the steps taken.
   */
  async maintain(): Promise<KeyStep[]> {
    return this.change(async (tx, now, keys) => {
      const steps = dueSteps(keys, now, this.options.timings)
      for (const step of steps) await this.take(tx, step, now, keys)
      return steps
    })
  }

  /**
   * Emergency revocation: the key leaves the JWKS at once (its private key is erased), every token it
   * signed is refused through a `key` revocation (introspection and every verifier following the
   * revocation stream), and if it was signing, another key signs in its place at once: the `next`
   * key if there is one, else a new one. Verifiers that cached the JWKS before that key was published
   * fetch it again when they meet its kid (jose does), or when their cache expires.
   */
  async revoke(kid: string, reason: string, actor: Actor): Promise<KeyRevokeOutcome> {
    const changed = await this.change(async (tx, now, keys) => {
      const key = keys.find((candidate) => candidate.kid === kid)
      if (!key) throw new NotFoundError(`no signing key has the kid ${clipUntrusted(kid)}`, 'key_not_found')
      if (key.state === 'revoked') return { key, alreadyRevoked: true }
      if (key.state === 'removed') {
        throw new ConflictError(
          `signing key ${kid} was removed at ${key.removedAt?.toISOString()}: it is not published, and every token it signed has expired`,
          'key_removed',
        )
      }
      const revoked = await this.update(tx, actor, 'key.revoke', key, {
        state: 'revoked',
        privateKey: null,
        kekId: null,
        revokedAt: now,
        revokedBy: actor.name,
        revokeReason: reason,
      })
      if (key.state !== 'current') return { key: revoked, alreadyRevoked: false }
      const next = keys.find((candidate) => candidate.state === 'next')
      const replacement = next
        ? await this.update(tx, actor, 'key.activate', next, { state: 'current', activatedAt: now })
        : await this.insert(
            tx,
            actor,
            'key.create',
            record(await this.options.signer.generate(this.options.algorithm), this.options.signer.name, 'generated', 'current', now),
          )
      return { key: revoked, alreadyRevoked: false, replacement }
    })
    // After the key's own change, and again when it was revoked already (a retry after a failure here):
    // a standing revocation is answered as it is.
    const revocation = await this.options.revocations.revoke({ kind: 'key', value: kid, reason }, actor)
    return { ...changed, revocation }
  }

  /** One change: locked, on one transaction with its audit entries, announced after it committed. */
  private async change<T>(work: (tx: Queryable, now: Date, keys: SigningKey[]) => Promise<T>): Promise<T> {
    const { store } = this.options
    let changed = false
    const result = await store.transaction(async (tx) => {
      await store.lock(tx)
      // Set under the lock: a change waiting for it in this process does not overwrite them meanwhile.
      this.at = this.now()
      const before = this.audited
      const outcome = await work(tx, this.at, await store.list(tx))
      changed = this.audited > before
      return outcome
    })
    if (changed) await this.options.ring.announceChange()
    return result
  }

  /** Audit entries written so far: a change that wrote none is not announced. */
  private audited = 0
  /** The time of the change under way. */
  private at = new Date(0)

  private async insert(tx: Queryable, actor: Actor, action: string, key: SigningKey): Promise<SigningKey> {
    await this.options.store.insert(tx, key)
    await this.record(tx, actor, action, key, null, key)
    this.options.logger.info({ kid: key.kid, state: key.state, action }, 'signing key changed')
    return key
  }

  private async update(
    tx: Queryable,
    actor: Actor,
    action: string,
    key: SigningKey,
    change: Parameters<SigningKeyStore['update']>[2],
  ): Promise<SigningKey> {
    const after = await this.options.store.update(tx, key.kid, change)
    await this.record(tx, actor, action, key, key, after)
    this.options.logger.info({ kid: key.kid, from: key.state, to: after.state, action }, 'signing key changed')
    return after
  }

  private async take(tx: Queryable, step: KeyStep, now: Date, keys: SigningKey[]): Promise<void> {
    const byKid = (kid: string) => keys.find((key) => key.kid === kid)!
    switch (step.action) {
      case 'create-next':
        await this.insert(
          tx,
          SERVICE,
          'key.create',
          record(await this.options.signer.generate(this.options.algorithm), this.options.signer.name, 'generated', 'next', now),
        )
        return
      case 'activate':
        // Retired first: at most one key is current at any moment, the table's index holds it to that.
        if (step.retire)
          await this.update(tx, SERVICE, 'key.retire', byKid(step.retire), {
            state: 'retired',
            retiredAt: now,
            removeAfter: removeAfter(now, this.options.timings),
          })
        await this.update(tx, SERVICE, 'key.activate', byKid(step.kid), { state: 'current', activatedAt: now })
        return
      case 'remove':
        await this.update(tx, SERVICE, 'key.remove', byKid(step.kid), { state: 'removed', privateKey: null, kekId: null, removedAt: now })
        return
    }
  }

  private async record(
    tx: Queryable,
    actor: Actor,
    action: string,
    key: SigningKey,
    before: SigningKey | null,
    after: SigningKey,
  ): Promise<void> {
    this.audited++
    const entry: AuditEntry = {
      at: this.at,
      actor: actor.name,
      action,
      targetType: 'signing-key',
      targetId: key.kid,
      before: before && this.toJson(before),
      after: this.toJson(after),
      requestId: actor.requestId,
    }
    await this.options.audit.record(tx, entry)
  }

  private now(): Date {
    return new Date(this.options.clock.now())
  }
}

/** A row for a key just made or imported. */
function record(key: NewKey, signer: string, origin: SigningKey['origin'], state: 'next' | 'current' | 'retired', now: Date): SigningKey {
  return {
    ...key,
    state,
    signer,
    origin,
    createdAt: now,
    publishedAt: now,
    activatedAt: state === 'next' ? null : now,
    retiredAt: null,
    removeAfter: null,
    removedAt: null,
    revokedAt: null,
    revokedBy: null,
    revokeReason: null,
  }
}
