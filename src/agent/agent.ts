import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { StsError, tokenSource, type TokenSourceEvent } from '@seed-sts/client'
import type { Logger } from 'pino'
import { RunningCommands } from './after-refresh.js'
import type { AgentConfig } from './agent-config.js'
import { AgentMetrics } from './agent-metrics.js'
import { attestationFor } from './attestation-provider.js'
import { listenForHealth } from './health-server.js'
import { TokenKeeper } from './token-keeper.js'

/**
 * `sts agent`: one token source for the configured STS and attestation, one keeper per token file,
 * the health endpoint. New tokens are written as the source issues them; every `checkIntervalSeconds`
 * each file is checked as well, which is also how a token is asked for again after the source gave
 * up or was refused (no faster than the source's own cool-down allows).
 */

export interface AgentDependencies {
  logger: Logger
  /** Handed to afterRefresh commands, which inherit the agent's environment. */
  env: Readonly<Record<string, string | undefined>>
  now?: () => number
}

export interface Agent {
  /** Where the health endpoint listens, when there is one. */
  health?: AddressInfo
  /** Checks every file now (SIGHUP), as the periodic check does. */
  check(): void
  /** Stops refreshing, ends hook commands still running, closes the health endpoint. */
  close(): Promise<void>
}

/** How long stopping waits for a file being written or a hook: a bound, so SIGTERM always ends the agent. */
const SETTLE_MS = 5_000

export async function startAgent(config: AgentConfig, deps: AgentDependencies): Promise<Agent> {
  const { logger } = deps
  const now = deps.now ?? Date.now
  const metrics = new AgentMetrics(now)
  const commands = new RunningCommands()
  const byToken = new Map<string, TokenKeeper[]>()
  const source = tokenSource({
    sts: config.sts,
    attestation: attestationFor(config.attestation),
    refreshAt: config.refresh.at,
    refreshJitter: config.refresh.jitter,
    onEvent(event) {
      metrics.refresh(event)
      logEvent(logger, event)
      if (event.type === 'issued') for (const keeper of byToken.get(tokenKey(event)) ?? []) void keeper.sync()
    },
  })
  const keepers = config.tokens.map((entry) => {
    const keeper = new TokenKeeper(entry, { source, logger, metrics, commands, env: deps.env, now })
    const key = tokenKey(entry)
    byToken.set(key, [...(byToken.get(key) ?? []), keeper])
    return keeper
  })

  let health: Server | undefined
  if (config.health !== undefined) {
    try {
      health = await listenForHealth(
        { registry: metrics.registry, readiness: () => Promise.all(keepers.map((keeper) => keeper.ready())) },
        config.health.host,
        config.health.port,
        logger,
      )
    } catch (error) {
      source.close()
      throw error
    }
  }
  logger.info(
    { sts: config.sts, attestation: config.attestation.kind, files: keepers.map((keeper) => keeper.entry.file) },
    'agent started: keeping tokens fresh in their files',
  )
  const checkAll = () => {
    for (const keeper of keepers) void keeper.sync()
  }
  checkAll()
  const check = setInterval(checkAll, config.checkIntervalSeconds * 1000)

  return {
    ...(health === undefined ? {} : { health: health.address() as AddressInfo }),
    check: checkAll,
    async close() {
      clearInterval(check)
      source.close()
      commands.terminate()
      await Promise.race([
        Promise.all(keepers.map((keeper) => keeper.settled())),
        new Promise((resolve) => setTimeout(resolve, SETTLE_MS).unref()),
      ])
      if (health !== undefined) {
        health.closeAllConnections()
        await new Promise<void>((resolve) => health.close(() => resolve()))
      }
    },
  }
}

function tokenKey(token: { audience?: string; scope?: string }): string {
  return `${token.audience ?? ''}\n${token.scope ?? ''}`
}

/** The source's events in the log: what was refused and why, never a token. */
function logEvent(logger: Logger, event: TokenSourceEvent): void {
  const token = { audience: event.audience, scope: event.scope }
  switch (event.type) {
    case 'issued':
      logger.debug({ ...token, expiresAt: event.expiresAt.toISOString(), attempts: event.attempts }, 'token issued')
      return
    case 'retrying':
      logger.warn({ ...token, ...problem(event.error), attempt: event.attempt, delayMs: event.delayMs }, 'token request failed: retrying')
      return
    case 'refused':
      logger.error(
        { ...token, ...problem(event.error), retryAfter: event.retryAfter.toISOString() },
        'the STS refused the token request: the token file keeps the last token until it expires',
      )
      return
    case 'gave-up':
      logger.warn({ ...token, ...problem(event.error) }, 'token request failed: retrying at the next check')
      return
  }
}

function problem(error: Error): Record<string, unknown> {
  if (!(error instanceof StsError)) return { error: error.message }
  return { error: error.error, description: error.description, reason: error.reason, status: error.status }
}
