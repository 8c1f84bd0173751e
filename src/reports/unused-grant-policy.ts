import type { Logger } from 'pino'
import { SERVICE_ACTOR } from '../admin-tokens/admin-token.js'
import { ADVISORY_LOCKS } from '../db/advisory-locks.js'
import type { Database } from '../db/database.js'
import type { GrantStore } from '../grants/grant-store.js'
import type { Clock } from '../lib/clock.js'
import type { GrantUsageReader } from './grant-usage.js'
import { DAY_MS } from './least-privilege.js'

export interface UnusedGrantPolicyOptions {
  database: Pick<Database, 'withConnection'>
  grants: Pick<GrantStore, 'disable'>
  usage: Pick<GrantUsageReader, 'unusedGrantIds'>
  /** Tells every instance's catalog that grants changed. */
  announce: () => Promise<void>
  clock: Clock
  logger: Pick<Logger, 'info'>
  /** `grants.disableUnusedAfterDays`. */
  afterDays: number
  /** Grants disabled per run at most; the next run goes on. */
  maxPerRun?: number
}

/**
 * The opt-in policy `grants.disableUnusedAfterDays`: disables the live grants that gave nothing for
 * that many days (and are older than that, so a new grant has its chance), as `seed-sts` with the
 * reason in each audit entry. Run by the retention upkeep on every instance; a session advisory lock
 * makes one do it while the others skip, so no grant is disabled twice.
 */
export class UnusedGrantPolicy {
  constructor(private readonly options: UnusedGrantPolicyOptions) {}

  /** One run, now: answers the ids of the grants it disabled ([] when another instance holds the lock). */
  async run(): Promise<string[]> {
    const { database, grants, usage, clock, afterDays, logger } = this.options
    return database.withConnection(async (conn) => {
      const [lock] = await conn.query<{ locked: boolean }>('SELECT pg_try_advisory_lock($1) AS locked', [ADVISORY_LOCKS.unusedGrants])
      if (lock?.locked !== true) return []
      try {
        const now = new Date(clock.now())
        const cutoff = new Date(now.getTime() - afterDays * DAY_MS)
        const reason = `unused for ${afterDays} days (grants.disableUnusedAfterDays): no token since ${cutoff.toISOString()}`
        const disabled: string[] = []
        // A use landing between the read and the disable is the first in `afterDays` days: the grant
        // goes as it would have a moment earlier.
        for (const id of await usage.unusedGrantIds(cutoff, now, this.options.maxPerRun ?? 1000)) {
          const grant = await grants.disable(id, now, { name: SERVICE_ACTOR, requestId: null }, reason)
          if (grant !== undefined) disabled.push(id)
        }
        if (disabled.length > 0) {
          await this.options.announce()
          logger.info(
            { grants: disabled, unusedSince: cutoff.toISOString() },
            'grants unused too long disabled (grants.disableUnusedAfterDays)',
          )
        }
        return disabled
      } finally {
        await conn.query('SELECT pg_advisory_unlock($1)', [ADVISORY_LOCKS.unusedGrants])
      }
    })
  }
}
