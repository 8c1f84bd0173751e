import { collectDefaultMetrics, Counter, Gauge, Registry } from 'prom-client'
import type { TokenSourceEvent } from '@seed-sts/client'

/**
 * The agent's Prometheus metrics, in a registry of its own. Labels are the configured audience and
 * scope of each token (bounded by the configuration), and a few fixed outcomes.
 */

/** What became of a refresh, from the token source's events. */
export const REFRESH_OUTCOMES = {
  issued: 'issued',
  retrying: 'retried',
  refused: 'refused',
  'gave-up': 'failed',
} as const satisfies Record<TokenSourceEvent['type'], string>

export interface TokenLabels {
  audience: string
  scope?: string
}

export class AgentMetrics {
  readonly registry = new Registry()
  private readonly refreshes: Counter<'audience' | 'scope' | 'outcome'>
  private readonly writes: Counter<'audience' | 'scope' | 'outcome'>
  private readonly hookFailures: Counter<'audience' | 'scope' | 'hook'>
  private readonly expiries = new Map<string, { labels: TokenLabels; expiresAt: () => number | undefined }>()

  constructor(now: () => number) {
    const registers = [this.registry]
    collectDefaultMetrics({ register: this.registry })
    this.refreshes = new Counter({
      name: 'sts_agent_refreshes_total',
      help: 'Token requests by audience, scope and outcome: issued, retried (the STS was unavailable), refused, failed (retries gave up).',
      labelNames: ['audience', 'scope', 'outcome'],
      registers,
    })
    this.writes = new Counter({
      name: 'sts_agent_token_file_writes_total',
      help: 'Token files replaced, by audience, scope and outcome (written, failed).',
      labelNames: ['audience', 'scope', 'outcome'],
      registers,
    })
    this.hookFailures = new Counter({
      name: 'sts_agent_hook_failures_total',
      help: 'afterRefresh hooks that failed (a command that failed or timed out, a signal that could not be sent), by hook kind.',
      labelNames: ['audience', 'scope', 'hook'],
      registers,
    })
    const expiries = this.expiries
    new Gauge({
      name: 'sts_agent_token_expiry_seconds',
      help: 'Seconds until the token in each file expires (negative once it has); absent until a token is written.',
      labelNames: ['audience', 'scope'],
      registers,
      collect() {
        for (const { labels, expiresAt } of expiries.values()) {
          const at = expiresAt()
          if (at !== undefined) this.labels(labelsOf(labels)).set((at - now()) / 1000)
        }
      },
    })
  }

  /** The expiry of one token file, read at each scrape. */
  trackExpiry(labels: TokenLabels, expiresAt: () => number | undefined): void {
    this.expiries.set(`${labels.audience}\n${labels.scope ?? ''}`, { labels, expiresAt })
  }

  refresh(event: TokenSourceEvent): void {
    this.refreshes.inc({ audience: event.audience ?? '', scope: event.scope ?? '', outcome: REFRESH_OUTCOMES[event.type] })
  }

  fileWritten(labels: TokenLabels, ok: boolean): void {
    this.writes.inc({ ...labelsOf(labels), outcome: ok ? 'written' : 'failed' })
  }

  hookFailed(labels: TokenLabels, hook: 'command' | 'signal'): void {
    this.hookFailures.inc({ ...labelsOf(labels), hook })
  }
}

function labelsOf(labels: TokenLabels): { audience: string; scope: string } {
  return { audience: labels.audience, scope: labels.scope ?? '' }
}
