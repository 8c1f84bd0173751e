import type { Logger } from 'pino'
import type { Config } from '../config.js'
import { configChanges, type AttestorChanges, type ConfigChanges } from './config-changes.js'

/** What asked for the reload, for the log. */
export type ReloadTrigger = 'SIGHUP' | 'admin API' | 'another instance'

/** What one instance did with the configuration it read again. Key names only: values may be secrets. */
export interface ReloadOutcome {
  /** `unchanged`: valid, and the same as the running configuration. */
  outcome: 'applied' | 'unchanged' | 'refused'
  /** The keys that changed (applied), or would have (refused because some cannot change at run time). */
  changed: string[]
  attestors: AttestorChanges
  /** Why it was refused: each problem, as at start; empty otherwise. */
  problems: string[]
}

/** A reload checked and built, not yet in force: `apply()` puts it in force (or logs the refusal). */
export interface PreparedReload {
  outcome: ReloadOutcome
  apply(): ReloadOutcome
}

export interface ConfigReloaderOptions {
  /** The configuration the service started with. */
  running: Config
  /** Reads and validates the configuration again (src/config.ts reloadConfig). */
  read: () => { config: Config } | { problems: string[] }
  /**
   * Builds what the new configuration needs, without putting anything in force, and returns what puts
   * it in force. Throws (ConfigError, as at start) when it cannot be built.
   */
  build: (config: Config, changes: ConfigChanges) => () => void
  logger: Logger
}

const NO_ATTESTOR_CHANGES: AttestorChanges = { added: [], removed: [], changed: [] }

/**
 * Reads the configuration again and puts what may change at run time in force, atomically, or refuses
 * it whole and keeps the running one: when it does not validate (the messages of a start), when it
 * changes a key that cannot change at run time (each named), or when what it needs cannot be built.
 * Never throws, never stops the process: a refusal is an answer and a log line.
 */
export class ConfigReloader {
  private running: Config

  constructor(private readonly options: ConfigReloaderOptions) {
    this.running = options.running
  }

  /** The configuration in force. */
  current(): Config {
    return this.running
  }

  reload(trigger: ReloadTrigger): ReloadOutcome {
    return this.prepare(trigger).apply()
  }

  /** Everything but putting it in force: what the admin API records in the audit log first. */
  prepare(trigger: ReloadTrigger): PreparedReload {
    const basis = this.running
    // Logged as an error when the configuration is broken (the next start would fail on it too), as a
    // warning when it only changes what needs a restart.
    const refused = (problems: string[], changes?: ConfigChanges, level: 'warn' | 'error' = 'error'): PreparedReload => {
      const outcome: ReloadOutcome = {
        outcome: 'refused',
        changed: changes?.changed ?? [],
        attestors: changes?.attestors ?? NO_ATTESTOR_CHANGES,
        problems,
      }
      return { outcome, apply: () => this.log(trigger, outcome, level) }
    }
    let read: { config: Config } | { problems: string[] }
    try {
      read = this.options.read()
    } catch (error) {
      return refused([`the configuration could not be read: ${(error as Error).message}`])
    }
    if ('problems' in read) return refused(read.problems)
    const changes = configChanges(basis, read.config)
    if (changes.fixed.length > 0)
      return refused(
        changes.fixed.map((key) => `${key} cannot change at run time: restart the service to apply it`),
        changes,
        'warn',
      )
    const outcome: ReloadOutcome = {
      outcome: changes.changed.length === 0 ? 'unchanged' : 'applied',
      changed: changes.changed,
      attestors: changes.attestors,
      problems: [],
    }
    if (outcome.outcome === 'unchanged') return { outcome, apply: () => this.log(trigger, outcome, 'info') }
    let putInForce: () => void
    try {
      putInForce = this.options.build(read.config, changes)
    } catch (error) {
      const problems = (error as { problems?: unknown }).problems
      return refused(Array.isArray(problems) ? problems.map(String) : [(error as Error).message], changes)
    }
    const next = read.config
    return {
      outcome,
      apply: () => {
        // Another reload came first (a SIGHUP while the audit entry was written): compare again.
        if (this.running !== basis) return this.reload(trigger)
        putInForce()
        this.running = next
        return this.log(trigger, outcome, 'info')
      },
    }
  }

  private log(trigger: ReloadTrigger, outcome: ReloadOutcome, level: 'info' | 'warn' | 'error'): ReloadOutcome {
    const { attestors, changed, problems } = outcome
    const message = {
      applied: 'configuration reloaded',
      unchanged: 'configuration reloaded: nothing changed',
      refused: 'configuration reload refused: the running configuration is kept',
    }[outcome.outcome]
    this.options.logger[level]({ trigger, reload: outcome.outcome, changed, attestors, problems }, message)
    return outcome
  }
}
