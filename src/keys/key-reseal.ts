import type { Logger } from 'pino'
import type { Actor, AuditLog } from '../audit/audit-log.js'
import type { Clock } from '../lib/clock.js'
import type { SigningKeyObserver } from '../observability/observers.js'
import { KeyDecryptionError } from './key-encryption.js'
import { unknownKekMessage, type KeyEncryptionKeys, type SealedKey } from './key-encryption-keys.js'
import { activatesAt, type KeyTimings } from './key-lifecycle.js'
import type { KeyRing } from './key-ring.js'
import type { SigningKeyStore } from './key-store.js'
import { signingKeyToJson, type SigningKey } from './signing-key.js'

/** A signer whose private keys are sealed with key-encryption keys (src/keys/software-signer.ts). */
export interface KeySealing {
  /** Its name in the keys table: rows of other signers are left alone. */
  readonly name: string
  readonly keks: KeyEncryptionKeys
  /** `key`'s private key sealed again under the current KEK; throws KeyDecryptionError when it does not open. */
  reseal(key: SigningKey): SealedKey
}

export interface ResealOutcome {
  /** The KEK every key is sealed under once re-sealed: this instance's current one. */
  kekId: string
  /** The keys this call re-sealed, as they are now. */
  resealed: SigningKey[]
  /** The keys still sealed under another KEK: one this instance does not hold, or under which the key does not open. */
  remaining: SigningKey[]
}

export interface KeyResealerOptions {
  store: SigningKeyStore
  sealing: KeySealing
  ring: Pick<KeyRing, 'announceChange'>
  audit: AuditLog
  clock: Clock
  logger: Pick<Logger, 'info' | 'warn' | 'error'>
  timings: KeyTimings
  /** Told how many keys remain under another KEK after each run (sts_signing_keys_sealed_under_previous_kek). */
  observer?: Pick<SigningKeyObserver, 'sealedUnderPreviousKek'>
}

/**
 * A rotation of the key-encryption key: every private key sealed under a previous KEK is opened with it
 * and sealed again under the current one. Run by every instance's key upkeep and on demand; the
 * instances take turns under the keys' lock, and each row is replaced only while it still names the
 * KEK it was read with, so two runs racing re-seal each key once. A key whose KEK this instance does
 * not hold is left as it is and counted: it is for an instance that holds it (a rolling restart
 * under way), or its KEK was dropped too early.
 */
export class KeyResealer {
  /** What the last run left under other KEKs, so the same warning is not logged at every run. */
  private reported = ''

  constructor(private readonly options: KeyResealerOptions) {}

  /**
   * At start: throws KeyDecryptionError naming every key (and its kek_id) sealed under a KEK not
   * configured here. A key that is not needed to sign yet is checked too: its KEK was dropped before
   * its keys were re-sealed, and the next instance to need it would fail.
   */
  async checkKeks(): Promise<void> {
    const { keks } = this.options.sealing
    const byKek = new Map<string, string[]>()
    for (const key of await this.options.store.list()) {
      if (!this.sealedHere(key) || keks.knows(key.kekId)) continue
      byKek.set(key.kekId!, [...(byKek.get(key.kekId!) ?? []), key.kid])
    }
    if (byKek.size === 0) {
      // The ids, never the keys: what GET /v1/keys shows of each key (kekId), to tell which are re-sealed.
      this.options.logger.info({ kekId: keks.current.id, previousKekIds: keks.previousIds }, 'key-encryption keys in use')
      return
    }
    throw new KeyDecryptionError([...byKek].map(([kekId, kids]) => unknownKekMessage(kids, kekId, keks)).join('; '))
  }

  async reseal(actor: Actor): Promise<ResealOutcome> {
    const { store, sealing, audit } = this.options
    const kekId = sealing.keks.current.id
    const outcome = await store.transaction(async (tx) => {
      await store.lock(tx)
      const at = new Date(this.options.clock.now())
      const resealed: SigningKey[] = []
      const remaining: SigningKey[] = []
      for (const key of await store.list(tx)) {
        if (!this.sealedHere(key) || key.kekId === kekId) continue
        const sealed = this.resealed(key)
        if (!sealed) {
          remaining.push(key)
          continue
        }
        // Only while the row still names the KEK it was read with: a run that got there first wins.
        const after = await store.reseal(tx, key.kid, key.kekId, sealed)
        if (!after) continue
        const json = (k: SigningKey) => signingKeyToJson(k, activatesAt(k, this.options.timings))
        const entry = { at, actor: actor.name, targetType: 'signing-key', targetId: key.kid, requestId: actor.requestId }
        await audit.record(tx, { ...entry, action: 'key.reseal', before: json(key), after: json(after) })
        resealed.push(after)
      }
      return { kekId, resealed, remaining }
    })
    this.options.observer?.sealedUnderPreviousKek(outcome.remaining.length)
    this.report(outcome)
    // Nothing any instance serves changes, but their listings and gauges should not wait for their next read.
    if (outcome.resealed.length > 0) await this.options.ring.announceChange()
    return outcome
  }

  /** A key of this signer that still holds its private key (removed and revoked ones hold none). */
  private sealedHere(key: SigningKey): boolean {
    return key.signer === this.options.sealing.name && key.privateKey !== null
  }

  /** The key sealed under the current KEK, or undefined when its KEK is not held here or it does not open. */
  private resealed(key: SigningKey): SealedKey | undefined {
    if (!this.options.sealing.keks.knows(key.kekId)) return undefined
    try {
      return this.options.sealing.reseal(key)
    } catch (error) {
      if (!(error instanceof KeyDecryptionError)) throw error
      this.options.logger.error({ kid: key.kid, kekId: key.kekId, err: { message: error.message } }, 'a signing key cannot be re-sealed')
      return undefined
    }
  }

  private report({ kekId, resealed, remaining }: ResealOutcome): void {
    if (resealed.length > 0) {
      this.options.logger.info(
        { kekId, kids: resealed.map((key) => key.kid), remaining: remaining.length },
        'signing keys re-sealed under the current key-encryption key',
      )
    }
    const summary = remaining.map((key) => `${key.kid}:${key.kekId}`).join(',')
    if (summary === this.reported) return
    this.reported = summary
    if (remaining.length > 0) {
      this.options.logger.warn(
        { kekId, keys: remaining.map((key) => ({ kid: key.kid, kekId: key.kekId })) },
        'signing keys remain sealed under a key-encryption key this instance does not hold (or under which they do not open): ' +
          'an instance holding it re-seals them; if none does, it was dropped too early (README, "Rotating the key-encryption key")',
      )
    }
  }
}
