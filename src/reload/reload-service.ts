import type { Logger } from 'pino'
import type { Actor, AuditLog } from '../audit/audit-log.js'
import type { Queryable } from '../db/database.js'
import { storeFailure } from '../errors.js'
import type { Clock } from '../lib/clock.js'
import type { ConfigReloader, ReloadOutcome, ReloadTrigger } from './config-reloader.js'
import type { ReloadFeed } from './reload-feed.js'

/** What POST /v1/admin/reload answers: what this instance did, and whether the others were asked. */
export interface ReloadAnswer extends ReloadOutcome {
  /**
   * `asked`: every other instance was asked through the reload feed, and each decides for itself (see
   * its log); `none`: there is no other (no Redis); `not_asked`: the feed could not be written.
   */
  otherInstances: 'asked' | 'none' | 'not_asked'
}

export interface ReloadServiceOptions {
  reloader: ConfigReloader
  feed: ReloadFeed
  audit: AuditLog
  /** Where the audit entry is written. */
  database: Queryable
  clock: Clock
  logger: Logger
  /** What the audit entry names as reloaded: the configuration file, or `environment` without one. */
  target: string
}

/**
 * Reloads of the configuration: here (SIGHUP), when another instance asks (the reload feed), and
 * everywhere (the admin API): this instance first, recorded in the audit log, then every other
 * instance asked through the feed.
 */
export class ReloadService {
  constructor(private readonly options: ReloadServiceOptions) {}

  /** Listens for the other instances' requests. */
  start(): Promise<void> {
    return this.options.feed.start(() => void this.options.reloader.reload('another instance'))
  }

  reloadHere(trigger: ReloadTrigger): ReloadOutcome {
    return this.options.reloader.reload(trigger)
  }

  /**
   * The audit entry is written before the new configuration is put in force: if it cannot be
   * (ServiceUnavailableError), nothing is reloaded and nobody is asked. Whatever this instance
   * decides, the others are asked: each reads its own file, and refuses or applies it on its own.
   */
  async reloadEverywhere(actor: Actor): Promise<ReloadAnswer> {
    const { reloader, feed, audit, database, clock, logger, target } = this.options
    const prepared = reloader.prepare('admin API')
    const { outcome, changed, attestors, problems } = prepared.outcome
    try {
      await audit.record(database, {
        at: new Date(clock.now()),
        actor: actor.name,
        action: 'config.reload',
        targetType: 'config',
        targetId: target,
        before: null,
        after: { outcome, changed, attestors, problems },
        requestId: actor.requestId,
      })
    } catch (error) {
      throw storeFailure('the audit log cannot be written: nothing was reloaded', error, 'audit_unavailable')
    }
    const applied = prepared.apply()
    let otherInstances: ReloadAnswer['otherInstances']
    try {
      otherInstances = (await feed.publish()) === 'asked' ? 'asked' : 'none'
    } catch (error) {
      otherInstances = 'not_asked'
      logger.warn(
        { err: { message: (error as Error).message } },
        'the other instances could not be asked to reload (the reload feed, on Redis): send them SIGHUP, or ask again',
      )
    }
    return { ...applied, otherInstances }
  }

  close(): Promise<void> {
    return this.options.feed.close()
  }
}
