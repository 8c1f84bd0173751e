import { AttestationError, StsError, type AccessToken, type TokenSource } from '@seed-sts/client'
import type { Logger } from 'pino'
import type { AgentTokenConfig } from './agent-config.js'
import { runHook, type RunningCommands } from './after-refresh.js'
import type { AgentMetrics } from './agent-metrics.js'
import { readTokenFile, writeTokenFile } from './token-file.js'

/**
 * One `tokens` entry: keeps the newest token of its audience and scope in its file. The token source
 * does the refreshing (ahead of expiry, single flight, backoff, refusals); the keeper asks it for the
 * token when told a new one was issued and at each check, writes the file when the token differs
 * from the one written (or the file no longer holds it), then runs the entry's hook. A failure leaves
 * the last good file alone: it serves until it expires.
 */

export interface KeeperDependencies {
  source: TokenSource
  logger: Logger
  metrics: AgentMetrics
  commands: RunningCommands
  env: Readonly<Record<string, string | undefined>>
  now: () => number
}

interface Written {
  token: string
  expiresAt: number
}

export class TokenKeeper {
  private written?: Written
  private syncing?: Promise<void>
  private again = false
  /** The hook runs one at a time; a token written meanwhile gets one more run after it, not one each. */
  private hooking?: Promise<void>
  private hookDue?: AccessToken
  private expiryReported = false
  private readonly labels: { audience: string; scope?: string }

  constructor(
    readonly entry: AgentTokenConfig,
    private readonly deps: KeeperDependencies,
  ) {
    this.labels = { audience: entry.audience, ...(entry.scope === undefined ? {} : { scope: entry.scope }) }
    deps.metrics.trackExpiry(this.labels, () => this.written?.expiresAt)
  }

  /** Brings the file up to date; a call while one runs makes it run once more after. Never rejects. */
  sync(): Promise<void> {
    if (this.syncing !== undefined) {
      this.again = true
      return this.syncing
    }
    const run = async () => {
      do {
        this.again = false
        await this.syncOnce().catch((error: unknown) =>
          this.deps.logger.error({ err: error, file: this.entry.file }, 'token file check failed'),
        )
      } while (this.again)
    }
    this.syncing = run().finally(() => (this.syncing = undefined))
    return this.syncing
  }

  /** Ready while the file holds the token written last and that token has not expired. */
  async ready(): Promise<{ file: string; audience: string; scope?: string; ready: boolean; expiresAt?: string }> {
    const written = this.written
    const holds = written !== undefined && written.expiresAt > this.deps.now() && (await readTokenFile(this.entry.file)) === written.token
    return {
      file: this.entry.file,
      ...this.labels,
      ready: holds,
      ...(written === undefined ? {} : { expiresAt: new Date(written.expiresAt).toISOString() }),
    }
  }

  /** Waits for the check and the hook under way, if any. */
  async settled(): Promise<void> {
    await this.syncing
    await this.hooking
  }

  private async syncOnce(): Promise<void> {
    const { logger } = this.deps
    let token: AccessToken
    try {
      token = await this.deps.source.accessToken({ audience: this.entry.audience, scope: this.entry.scope })
    } catch (error) {
      // Refusals and retries are logged from the source's events; this is only the caller's side of them.
      if (error instanceof StsError || error instanceof AttestationError)
        logger.debug({ file: this.entry.file, error: error.message }, 'no new token')
      else logger.warn({ file: this.entry.file, error: (error as Error).message }, 'no new token')
      this.reportExpiry()
      return
    }
    const current = this.written
    if (current?.token === token.token && (await readTokenFile(this.entry.file)) === token.token) return
    try {
      await writeTokenFile(this.entry.file, token.token)
    } catch (error) {
      this.deps.metrics.fileWritten(this.labels, false)
      logger.error({ file: this.entry.file, error: (error as Error).message }, 'cannot write the token file: the last one written stays')
      return
    }
    this.deps.metrics.fileWritten(this.labels, true)
    this.written = { token: token.token, expiresAt: token.expiresAt.getTime() }
    this.expiryReported = false
    logger.info({ file: this.entry.file, ...this.labels, expiresAt: token.expiresAt.toISOString() }, 'token file written')
    if (current?.token !== token.token) this.afterRefresh(token)
  }

  /** Runs the hook without holding up the next write: a slow hook never leaves an old token in the file. */
  private afterRefresh(token: AccessToken): void {
    if (this.entry.afterRefresh === undefined) return
    this.hookDue = token
    if (this.hooking !== undefined) return
    const run = async () => {
      for (let due = this.hookDue; due !== undefined; due = this.hookDue) {
        this.hookDue = undefined
        await this.runHookFor(due)
      }
    }
    this.hooking = run().finally(() => (this.hooking = undefined))
  }

  private async runHookFor(token: AccessToken): Promise<void> {
    const hook = this.entry.afterRefresh
    if (hook === undefined) return
    const outcome = await runHook(
      hook,
      {
        file: this.entry.file,
        ...this.labels,
        expiresAt: token.expiresAt,
        // The token it was run for, and any written since, which the hook may have read.
        redact: (text) =>
          [token.token, this.written?.token ?? token.token].reduce((said, secret) => said.replaceAll(secret, '[redacted]'), text),
        env: this.deps.env,
      },
      this.deps.commands,
    )
    const kind = hook.signal === undefined ? 'command' : 'signal'
    if (outcome.ok) {
      this.deps.logger.info({ file: this.entry.file, hook: kind }, 'afterRefresh hook done')
    } else {
      this.deps.metrics.hookFailed(this.labels, kind)
      this.deps.logger.warn({ file: this.entry.file, hook: kind, problem: outcome.problem }, 'afterRefresh hook failed')
    }
  }

  /** Once per token: the file now holds an expired token, and nothing better could be had. */
  private reportExpiry(): void {
    const written = this.written
    if (written === undefined || written.expiresAt > this.deps.now() || this.expiryReported) return
    this.expiryReported = true
    this.deps.logger.error(
      { file: this.entry.file, ...this.labels, expiredAt: new Date(written.expiresAt).toISOString() },
      'the token in the file has expired and no new one could be had',
    )
  }
}
