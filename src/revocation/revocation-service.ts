import { SERVICE_ACTOR } from '../admin-tokens/admin-token.js'
import type { Actor, AuditLog } from '../audit/audit-log.js'
import { ConflictError, InvalidInputError, NotFoundError, ServiceUnavailableError } from '../errors.js'
import type { LiveTokenCounter } from './live-token-counter.js'
import type { Logger } from 'pino'
import type { Clock } from '../lib/clock.js'
import type { PageRequest } from '../lib/page.js'
import { clipUntrusted } from '../lib/untrusted-text.js'
import type { PublishReceipt, RevocationBus } from './revocation-bus.js'
import { prunedCursor, type RevocationFilter, type RevocationLog, type RevocationPage } from './revocation-log.js'
import { inForce, revocationToJson, type Revocation, type RevocationRequest } from './revocation.js'
import { sqlStateOf } from '../db/sql-state.js'

export interface RevocationOutcome {
  revocation: Revocation
  /** Unexpired tokens on the ledger that this revocation covers; null when they could not be counted. */
  liveTokensCutOff: number | null
  /** Why `liveTokensCutOff` is null: the revocation is in force all the same. */
  liveTokensCutOffUnavailable?: string
  /** True when the target was already revoked: the standing revocation is answered, nothing new is made. */
  alreadyRevoked: boolean
}

/**
 * Revoking and lifting. The durable row, its audit entry and the publication to every instance
 * happen together: the Postgres transaction commits only after Redis took the change, so a revocation
 * is never on record without being in force, nor in force without being on record (short of Postgres
 * failing at the very commit, when it stays in force: the safe side). The answer waits until every
 * live instance has applied the change (or the staleness bound has passed, when the silent ones have
 * failed closed): from the moment it answers, no instance mints for what was revoked.
 */
export class RevocationService {
  constructor(
    private readonly log: RevocationLog,
    private readonly bus: RevocationBus,
    private readonly audit: AuditLog,
    private readonly liveTokens: LiveTokenCounter,
    private readonly clock: Clock,
    private readonly logger?: Logger,
  ) {}

  async revoke(input: RevocationRequest, actor: Actor): Promise<RevocationOutcome> {
    const now = new Date(this.clock.now())
    const expiresAt = await this.expiryFor(input, now)
    const attempt = () =>
      this.log.transaction(async (tx): Promise<{ revocation: Revocation; alreadyRevoked: boolean; receipt?: PublishReceipt }> => {
        const standing = await this.log.standing(tx, input.kind, input.value)
        if (standing && inForce(standing, now.getTime())) return { revocation: standing, alreadyRevoked: true }
        // An expired one no longer stands: it makes room for the new one, on the record like any lift.
        if (standing) {
          const expired = (await this.log.lift(tx, standing.id, now, SERVICE_ACTOR, 'expired'))!
          await this.audit.record(
            tx,
            entry(
              { name: SERVICE_ACTOR, requestId: actor.requestId },
              now,
              'revocation.lift',
              expired,
              revocationToJson(standing),
              revocationToJson(expired),
            ),
          )
          await this.bus.publish(expired)
        }
        const revocation = await this.log.insert(tx, { ...input, reason: input.reason, expiresAt, createdAt: now, createdBy: actor.name })
        await this.audit.record(tx, entry(actor, now, 'revocation.create', revocation, null, revocationToJson(revocation)))
        return { revocation, alreadyRevoked: false, receipt: await this.bus.publish(revocation) }
      })
    // Two responders revoking the same thing at once: the second finds the first's revocation standing.
    const outcome = await attempt().catch((error: unknown) => {
      if (isUniqueViolation(error)) return attempt()
      throw error
    })
    const [, counted] = await Promise.all([
      outcome.receipt && this.awaitApplied(outcome.receipt, outcome.revocation),
      this.countCutOff(outcome.revocation, now),
    ])
    return { revocation: outcome.revocation, alreadyRevoked: outcome.alreadyRevoked, ...counted }
  }

  /** The change is made and in force here: counting is only information, and its failure is said, not raised. */
  private async countCutOff(
    revocation: Revocation,
    now: Date,
  ): Promise<Pick<RevocationOutcome, 'liveTokensCutOff' | 'liveTokensCutOffUnavailable'>> {
    try {
      const counted = await this.liveTokens.count(revocation, now)
      if (counted !== undefined) return { liveTokensCutOff: counted }
      return {
        liveTokensCutOff: null,
        liveTokensCutOffUnavailable:
          'the live tokens could not be counted within revocations.countBudgetMs (more than that allows, or a slow ledger); ' +
          'GET /v1/ledger with live=true lists them, and the revocation is in force all the same',
      }
    } catch (error) {
      if (!(error instanceof ServiceUnavailableError)) throw error
      this.logger?.warn(
        { revocationId: revocation.id, err: { message: causeOf(error) } },
        'revoked, but the live tokens it cuts off could not be counted',
      )
      return {
        liveTokensCutOff: null,
        liveTokensCutOffUnavailable:
          'the live tokens could not be counted in time (the token ledger did not answer); the revocation is in force all the same',
      }
    }
  }

  private async awaitApplied(receipt: PublishReceipt, revocation: Revocation): Promise<void> {
    const { silent } = await this.bus.awaitApplied(receipt)
    if (silent.length > 0) {
      this.logger?.warn(
        { revocationId: revocation.id, silent },
        'instances did not acknowledge the change within the staleness bound: they have failed closed',
      )
    }
  }

  async lift(id: string, reason: string, actor: Actor): Promise<Revocation> {
    const now = new Date(this.clock.now())
    const { lifted, receipt } = await this.log.transaction(async (tx) => {
      const before = await this.log.get(id, tx)
      // A key's revocation goes with its private key erased and the key out of the JWKS: lifted alone, it
      // would tell verifiers following the stream to accept the key again while nothing can sign with it.
      if (before?.kind === 'key')
        throw new ConflictError(
          `revocation ${clipUntrusted(id)} is of signing key ${before.value}, which stays revoked`,
          'key_revocation_permanent',
        )
      const lifted = before === undefined ? undefined : await this.log.lift(tx, id, now, actor.name, reason)
      if (before === undefined || lifted === undefined)
        throw new NotFoundError(`no standing revocation with id ${clipUntrusted(id)}`, 'revocation_not_found')
      await this.audit.record(tx, entry(actor, now, 'revocation.lift', lifted, revocationToJson(before), revocationToJson(lifted)))
      return { lifted, receipt: await this.bus.publish(lifted) }
    })
    await this.awaitApplied(receipt, lifted)
    return lifted
  }

  async get(id: string): Promise<Revocation> {
    const revocation = await this.log.get(id)
    if (!revocation) throw new NotFoundError(`no revocation with id ${clipUntrusted(id)}`, 'revocation_not_found')
    return revocation
  }

  /** The position of the latest change: where a stream of what happens next starts. */
  lastPosition(): Promise<bigint> {
    return this.log.lastSeq()
  }

  /** Throws GoneError when retention has pruned changes after `position`: resuming from it would miss them. */
  async assertResumable(position: bigint): Promise<void> {
    const prunedThrough = await this.log.prunedThrough()
    if (position < prunedThrough) throw prunedCursor(position, prunedThrough)
  }

  list(filter: RevocationFilter & PageRequest): Promise<RevocationPage> {
    return this.log.list(filter, new Date(this.clock.now()))
  }

  /** A token revocation need not outlive the token: it expires with it, unless told otherwise. */
  private async expiryFor(input: RevocationRequest, now: Date): Promise<Date | null> {
    if (input.expiresAt !== undefined) {
      const expiresAt = new Date(input.expiresAt)
      if (expiresAt <= now)
        throw new InvalidInputError('expiresAt must be in the future', [{ path: 'expiresAt', message: 'must be in the future' }])
      return expiresAt
    }
    return input.kind === 'token' ? ((await this.liveTokens.tokenExpiry(input.value)) ?? null) : null
  }
}

function causeOf(error: Error): string {
  return error.cause instanceof Error ? error.cause.message : error.message
}

function isUniqueViolation(error: unknown): boolean {
  return sqlStateOf(error) === '23505'
}

function entry(actor: Actor, at: Date, action: string, revocation: Revocation, before: unknown, after: unknown) {
  return { at, actor: actor.name, action, targetType: 'revocation', targetId: revocation.id, before, after, requestId: actor.requestId }
}
