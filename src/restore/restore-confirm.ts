import type { RedisClient } from '../lib/redis-connection.js'
import { SERVICE_ACTOR } from '../admin-tokens/admin-token.js'
import type { AuditLog } from '../audit/audit-log.js'
import type { Database } from '../db/database.js'
import type { Clock } from '../lib/clock.js'
import type { RevocationBusKeys } from '../revocation/redis-revocation-keys.js'
import type { RevocationLog } from '../revocation/revocation-log.js'
import { inForce, revocationFromJson, RevocationJson, revocationToJson, type Revocation } from '../revocation/revocation.js'
import { RESTORE_REFUSED_EXIT_CODE } from './restore-guard.js'
import type { HighWaterMark, RedisRevocationHighWater } from './revocation-high-water.js'

export interface RestoreConfirmDependencies {
  database: Database
  log: RevocationLog
  audit: AuditLog
  redis: RedisClient
  keys: Pick<RevocationBusKeys, 'set'>
  highWater: RedisRevocationHighWater
  clock: Clock
}

export type RestoreConfirmation =
  | { outcome: 'not-behind'; databasePosition: bigint; seen?: HighWaterMark }
  | {
      outcome: 'confirmed'
      databasePosition: bigint
      seen: HighWaterMark
      /** Revocations in force in Redis that the restored database did not have: now in it, with their ids. */
      reapplied: Revocation[]
      /** Revocations in Redis whose target the restored database already holds revoked. */
      alreadyRevoked: Revocation[]
      /** True when Redis could not vouch for everything up to the mark and the operator acknowledged the loss. */
      acknowledgedLoss: boolean
      /** Where positions now go on: every cursor handed out before is below it, and told to resynchronise. */
      resumesAfter: bigint
    }

/** The confirm step cannot go on without the operator's acknowledgement: revocations may be lost. */
export class RestoreNeedsAcknowledgementError extends Error {
  readonly exitCode = RESTORE_REFUSED_EXIT_CODE
}

/**
 * The operator's step after restoring a database older than the revocation state Redis has seen
 * (`npm run migrate -- --confirm-restore`). The revocations Redis holds in force that the database
 * lacks are written back, with their ids, each with an audit entry; revocation positions jump past
 * everything seen before the restore, so every poller or stream resynchronises (410, then a full
 * listing) instead of resuming in a log that no longer matches what it read; and the confirmation is
 * itself audited. Redis's set is left behind the database on purpose: the next instance to start
 * rebuilds it from the database, which now holds the union.
 *
 * When Redis cannot vouch for every revocation up to the mark (its set was lost or rebuilt since),
 * some may be gone for good: the step refuses unless `acknowledgeLoss`, and the acknowledgement is
 * what the audit log then records.
 */
export async function confirmRestore(deps: RestoreConfirmDependencies, acknowledgeLoss: boolean): Promise<RestoreConfirmation> {
  const [databasePosition, seen] = await Promise.all([deps.log.lastSeq(), deps.highWater.seen()])
  const mark = seen.highWater
  if (mark === undefined || mark.seq <= databasePosition)
    return { outcome: 'not-behind', databasePosition, ...(mark ? { seen: mark } : {}) }
  const complete = seen.setMarker !== undefined && seen.setMarker >= mark.seq
  if (!complete && !acknowledgeLoss) {
    throw new RestoreNeedsAcknowledgementError(
      `Redis no longer vouches for every revocation up to position ${mark.seq} (its revocation set is complete up to ` +
        `${seen.setMarker ?? 'nothing: it was lost'}), so revocations made after the backup may be gone for good. ` +
        'Re-apply them by hand once the service runs (the admin API, `sts revoke`), and run again with ' +
        '--acknowledge-lost-revocations to confirm the restore anyway; the acknowledgement is recorded in the audit log',
    )
  }
  const now = new Date(deps.clock.now())
  const held = await heldInForce(deps, now.getTime())
  const resumesAfter = mark.seq + 1n
  const outcome = await deps.database.transaction(async (tx) => {
    // Positions go on after everything seen, so nothing written from now on reuses a position a reader has.
    await tx.query(`SELECT setval('revocation_seq', greatest($1::bigint, (SELECT last_value FROM revocation_seq)))`, [String(resumesAfter)])
    const known = new Set(
      (await tx.query<{ id: string }>('SELECT id FROM revocations WHERE id = ANY($1::uuid[])', [held.map((r) => r.id)])).map(
        (row) => row.id,
      ),
    )
    const reapplied: Revocation[] = []
    const alreadyRevoked: Revocation[] = []
    for (const revocation of held.filter((r) => !known.has(r.id))) {
      const standing = await deps.log.standing(tx, revocation.kind, revocation.value)
      if (standing && inForce(standing, now.getTime())) {
        alreadyRevoked.push(revocation)
        continue
      }
      // An expired one only holds the place: lifted, as a new revocation of its target would.
      if (standing) await deps.log.lift(tx, standing.id, now, SERVICE_ACTOR, 'expired')
      const [row] = await tx.query<{ seq: string }>(
        `INSERT INTO revocations (id, kind, value, reason, created_at, created_by, expires_at) VALUES ($1, $2, $3, $4, $5, $6, $7) RETURNING seq`,
        [
          revocation.id,
          revocation.kind,
          revocation.value,
          revocation.reason,
          revocation.createdAt,
          revocation.createdBy,
          revocation.expiresAt,
        ],
      )
      const restored = { ...revocation, seq: BigInt(row.seq) }
      reapplied.push(restored)
      await deps.audit.record(tx, {
        at: now,
        actor: SERVICE_ACTOR,
        action: 'revocation.reapply',
        targetType: 'revocation',
        targetId: revocation.id,
        before: null,
        after: revocationToJson(restored),
        requestId: null,
      })
    }
    // Every cursor from before the restore is now below what is kept: a poller or stream is told 410 and resynchronises.
    await tx.query(`UPDATE retention_watermarks SET pruned_through = greatest(pruned_through, $1) WHERE log = 'revocations'`, [
      String(resumesAfter),
    ])
    await deps.audit.record(tx, {
      at: now,
      actor: SERVICE_ACTOR,
      action: 'restore.confirm',
      targetType: 'revocations',
      targetId: String(mark.seq),
      before: { databasePosition: String(databasePosition) },
      after: {
        seenPosition: String(mark.seq),
        seenRecordedAt: mark.recordedAt?.toISOString() ?? null,
        reapplied: reapplied.map((r) => r.id),
        alreadyRevoked: alreadyRevoked.map((r) => r.id),
        acknowledgedLoss: !complete,
        resumesAfter: String(resumesAfter),
      },
      requestId: null,
    })
    return { reapplied, alreadyRevoked }
  })
  await deps.highWater.raise(await deps.log.lastSeq(), now)
  return { outcome: 'confirmed', databasePosition, seen: mark, ...outcome, acknowledgedLoss: !complete, resumesAfter }
}

/** The revocations in force in Redis's set; an entry that does not parse is skipped (the set is rebuilt from the database next). */
async function heldInForce(deps: RestoreConfirmDependencies, now: number): Promise<Revocation[]> {
  const fields = await deps.redis.hgetall(deps.keys.set)
  const held: Revocation[] = []
  for (const [id, json] of Object.entries(fields)) {
    if (id.startsWith('~')) continue
    let parsed: ReturnType<typeof RevocationJson.safeParse>
    try {
      parsed = RevocationJson.safeParse(JSON.parse(json))
    } catch {
      continue
    }
    if (!parsed.success) continue
    const revocation = revocationFromJson(parsed.data)
    if (inForce(revocation, now)) held.push(revocation)
  }
  return held.sort((a, b) => (a.seq < b.seq ? -1 : a.seq > b.seq ? 1 : 0))
}
