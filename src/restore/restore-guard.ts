import type { Logger } from 'pino'
import type { Config } from '../config.js'
import type { Clock } from '../lib/clock.js'
import { openRedis, waitForRedis } from '../lib/redis-connection.js'
import type { RedisConnectionWatch } from '../observability/observers.js'
import { revocationKeys } from '../revocation/redis-revocation-keys.js'
import type { RevocationLog } from '../revocation/revocation-log.js'
import { RedisRevocationHighWater, type HighWaterMark } from './revocation-high-water.js'

/** The exit code of a start refused because the database is behind the revocation state (and of a confirm step that needs an acknowledgement). */
export const RESTORE_REFUSED_EXIT_CODE = 3

/** The command that confirms a restore: README.md, "Backup and restore". */
export const CONFIRM_RESTORE_COMMAND = 'npm run migrate -- --confirm-restore'

/** How often each instance raises the mark to the position its database has reached. */
const RECORD_INTERVAL_MS = 5000

/** The database is older than revocation state this deployment has seen: starting would silently un-revoke. */
export class RestoredDatabaseError extends Error {
  readonly exitCode = RESTORE_REFUSED_EXIT_CODE

  constructor(
    readonly databasePosition: bigint,
    readonly seen: HighWaterMark,
  ) {
    super(
      `the database is older than the revocation state seen in Redis: its revocation log ends at position ${databasePosition}, ` +
        `revocations up to position ${seen.seq} were seen${seen.recordedAt ? ` (recorded ${seen.recordedAt.toISOString()})` : ''}. ` +
        'It looks restored from a backup taken before revocations that would silently stop applying. ' +
        `Refusing to start until an operator runs \`${CONFIRM_RESTORE_COMMAND}\`, which re-applies the revocations Redis still holds ` +
        '(README.md, "Backup and restore")',
    )
    this.name = 'RestoredDatabaseError'
  }
}

/**
 * A restored database must never silently un-revoke. Each instance keeps a high-water mark of the
 * revocation log's position in Redis (raised at start, every few seconds, and when it stops; the
 * revocation set's own marker moves with every publication besides), and at start compares it with
 * the database: a database whose log ends before what was seen is older than revocations made since,
 * and the start is refused until an operator confirms the restore. Redis is the one place outside
 * the database that outlives its restore: instances keep nothing on disk (a read-only root file system).
 */
export class RestoreGuard {
  private timer: NodeJS.Timeout | undefined

  constructor(
    private readonly highWater: RedisRevocationHighWater,
    private readonly log: RevocationLog,
    private readonly clock: Clock,
    private readonly logger: Logger,
  ) {}

  /** Throws RestoredDatabaseError when the database is behind; otherwise raises the mark to it. */
  async check(): Promise<void> {
    const [databasePosition, seen] = await Promise.all([this.log.lastSeq(), this.highWater.seen()])
    if (seen.highWater !== undefined && seen.highWater.seq > databasePosition) {
      const error = new RestoredDatabaseError(databasePosition, seen.highWater)
      this.logger.fatal(
        {
          databasePosition: String(databasePosition),
          seenPosition: String(seen.highWater.seq),
          recordedAt: seen.highWater.recordedAt?.toISOString(),
          confirm: CONFIRM_RESTORE_COMMAND,
        },
        error.message,
      )
      throw error
    }
    await this.highWater.raise(databasePosition, new Date(this.clock.now()))
  }

  /** Raises the mark every few seconds from now on. */
  start(): void {
    this.timer = setInterval(() => void this.record(), RECORD_INTERVAL_MS)
    this.timer.unref()
  }

  /** Raises the mark one last time: what this instance saw last counts too. */
  async stop(): Promise<void> {
    if (this.timer) clearInterval(this.timer)
    await this.record()
  }

  private async record(): Promise<void> {
    try {
      await this.highWater.raise(await this.log.lastSeq(), new Date(this.clock.now()))
    } catch (error) {
      // Missed once: the next one raises it, and the revocation set's marker covers publications meanwhile.
      this.logger.debug({ err: { message: (error as Error).message } }, 'the revocation high-water mark could not be raised')
    }
  }
}

/**
 * With REDIS_URL: checks the database against the mark (throwing RestoredDatabaseError) and starts
 * raising it, on a connection of its own (`watch`ed, as `restore_guard`). Without Redis there is nothing outside the database to
 * compare with: undefined (README.md says what that leaves to the operator).
 */
export async function openRestoreGuard(
  config: Config,
  log: RevocationLog,
  clock: Clock,
  logger: Logger,
  watch?: RedisConnectionWatch,
): Promise<{ stop(): Promise<void> } | undefined> {
  if (!config.redis.endpoint) return undefined
  // Reported in sts_redis_connection_up like every other: the mark stops rising while it is down.
  const redis = openRedis(
    { ...config.redis.endpoint, commandTimeoutMs: config.redis.commandTimeoutMs, ...(watch ? { watch } : {}) },
    { purpose: 'restore_guard' },
  )
  try {
    await waitForRedis(redis, 'the revocation store', 'revocations_unavailable')
    const guard = new RestoreGuard(new RedisRevocationHighWater(redis, revocationKeys(config.redis.keyPrefix)), log, clock, logger)
    await guard.check()
    guard.start()
    return {
      async stop() {
        await guard.stop()
        redis.disconnect()
      },
    }
  } catch (error) {
    redis.disconnect()
    throw error
  }
}
