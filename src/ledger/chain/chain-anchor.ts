import type { Logger } from 'pino'
import { NO_LEDGER_CHAIN_OBSERVER, type LedgerChainObserver } from '../../observability/observers.js'
import type { ChainHead, LedgerChains } from './ledger-chains.js'

export interface ChainAnchorOptions {
  chains: Pick<LedgerChains, 'takeHeads'>
  logger: Pick<Logger, 'info' | 'warn'>
  intervalMs: number
  observer?: LedgerChainObserver
  /** POSTed the heads that moved, as JSON; never logged (its URL may carry a secret). */
  webhook?: { url: string; timeoutMs: number }
  fetch?: typeof fetch
}

const SHUTDOWN_WEBHOOK_MS = 1000

/** A head as the log line, the webhook and `sts ledger verify --head` spell it. */
export function headText(head: Pick<ChainHead, 'chainId' | 'seq' | 'batchHash'>): string {
  return `${head.chainId}:${head.seq}:${head.batchHash}`
}

/**
 * Writes this writer's chain heads outside the database at intervals (README, "Tamper evidence"):
 * an info log line per head that moved, the metrics, and optionally a webhook. A deletion at the tail
 * of a chain (or of a whole chain) cannot be seen in the database it was made in; against a head
 * kept here, `sts ledger verify --head` sees it. Nothing here is on the exchange path: a slow or
 * failing webhook delays only the next anchor, and is logged and counted.
 */
export class ChainAnchor {
  private timer: NodeJS.Timeout | undefined
  private running: Promise<unknown> | undefined
  private anchored = new Map<string, number>()
  private readonly observer: LedgerChainObserver
  private readonly fetch: typeof fetch

  constructor(private readonly options: ChainAnchorOptions) {
    this.observer = options.observer ?? NO_LEDGER_CHAIN_OBSERVER
    this.fetch = options.fetch ?? globalThis.fetch
  }

  start(): void {
    if (this.timer) return
    this.timer = setInterval(() => this.kick(), this.options.intervalMs)
    this.timer.unref()
  }

  /**
   * Stops the timer and anchors once more, so the heads of the last batches are not lost; the webhook
   * then gets at most a second (a shutdown must not hang on it).
   */
  async stop(): Promise<void> {
    clearInterval(this.timer)
    this.timer = undefined
    await this.running
    await this.anchorNow(SHUTDOWN_WEBHOOK_MS)
  }

  /** Anchors the heads that moved since the last time; answers them. */
  async anchorNow(webhookTimeoutMs = this.options.webhook?.timeoutMs ?? 0): Promise<ChainHead[]> {
    const heads = this.options.chains.takeHeads()
    const moved = heads.filter((head) => this.anchored.get(head.chainId) !== head.seq)
    // Only the chains there are now: an ended chain, once anchored, is not handed out again.
    this.anchored = new Map(heads.map((head) => [head.chainId, head.seq]))
    for (const head of moved) {
      this.options.logger.info(
        { chain: head.chainId, seq: head.seq, batchHash: head.batchHash, issuedTo: head.issuedTo.toISOString(), head: headText(head) },
        'ledger chain head anchored',
      )
    }
    this.observer.anchored(heads)
    const webhook = this.options.webhook
    if (moved.length > 0 && webhook) await this.post({ url: webhook.url, timeoutMs: Math.min(webhook.timeoutMs, webhookTimeoutMs) }, moved)
    return moved
  }

  private async post(webhook: { url: string; timeoutMs: number }, heads: ChainHead[]): Promise<void> {
    const body = JSON.stringify({
      heads: heads.map((head) => ({
        chainId: head.chainId,
        seq: head.seq,
        batchHash: head.batchHash,
        issuedTo: head.issuedTo.toISOString(),
        head: headText(head),
      })),
    })
    try {
      const response = await this.fetch(webhook.url, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body,
        signal: AbortSignal.timeout(webhook.timeoutMs),
      })
      await response.body?.cancel()
      if (!response.ok) throw new Error(`it answered ${response.status}`)
    } catch (error) {
      this.observer.anchorWebhookFailed()
      this.options.logger.warn(
        { heads: heads.map(headText), err: { message: error instanceof Error ? error.message : String(error) } },
        'the ledger anchor webhook failed: the heads are in this log line, and the next anchor sends the newer ones',
      )
    }
  }

  private kick(): void {
    if (this.running) return
    this.running = this.anchorNow()
      .catch((error: unknown) => this.options.logger.warn({ err: error }, 'ledger chain heads could not be anchored'))
      .finally(() => (this.running = undefined))
  }
}
