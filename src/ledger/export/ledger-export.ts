import type { Logger } from 'pino'
import type { AuditEntry } from '../../audit/audit-log.js'
import { NO_LEDGER_CHAIN_OBSERVER, type LedgerChainObserver } from '../../observability/observers.js'
import type { ChainListener, SealedBatch } from '../chain/ledger-chains.js'
import type { LedgerEntry } from '../ledger-store.js'
import type { ExportSink } from './export-sinks.js'
import { SinkQueue } from './sink-queue.js'

/**
 * `ledger.export`: every ledger entry this instance commits, and every audit entry it writes, as one
 * JSON line each, to each configured sink (README, "Tamper evidence"). Never the token (the ledger
 * never holds it). A ledger line carries its batch (chain, seq, batch hash) and its jti: the pair a
 * SIEM dedupes on, since delivery is at least once. Nothing here waits for a sink or throws to the
 * caller: a slow or failing sink fills its bounded queue, then drops (counted and logged).
 */
export class LedgerExport implements ChainListener {
  private readonly queues: SinkQueue[]

  constructor(
    sinks: readonly ExportSink[],
    options: { queueSize: number; logger: Pick<Logger, 'warn'>; observer?: LedgerChainObserver; retryMs?: number },
  ) {
    const observer = options.observer ?? NO_LEDGER_CHAIN_OBSERVER
    this.queues = sinks.map((sink) => new SinkQueue(sink, options.queueSize, observer, options.logger, options.retryMs))
  }

  committed(batch: SealedBatch, entries: readonly LedgerEntry[]): void {
    const hash = batch.batchHash.toString('hex')
    this.push(
      entries.map((entry) =>
        JSON.stringify({
          type: 'ledger.entry',
          chainId: batch.chainId,
          seq: batch.seq,
          batchHash: hash,
          jti: entry.jti,
          subject: entry.subject,
          attestor: entry.attestor,
          attestorKind: entry.attestorKind,
          attestationFingerprint: entry.attestationFingerprint,
          sources: entry.sources,
          audience: entry.audience,
          scopes: entry.scopes,
          grantIds: entry.grantIds,
          issuedAt: entry.issuedAt.toISOString(),
          expiresAt: entry.expiresAt.toISOString(),
          clientAddress: entry.clientAddress,
          requestId: entry.requestId,
          kid: entry.kid ?? null,
          parentJti: entry.parentJti ?? null,
          ancestorJtis: entry.ancestorJtis ?? null,
          actors: entry.actors ?? null,
          actorSources: entry.actorSources ?? null,
          actorGrantIds: entry.actorGrantIds ?? null,
        }),
      ),
    )
  }

  audited(entries: readonly AuditEntry[]): void {
    this.push(
      entries.map((entry) =>
        JSON.stringify({
          type: 'audit',
          at: entry.at.toISOString(),
          actor: entry.actor,
          action: entry.action,
          targetType: entry.targetType,
          targetId: entry.targetId,
          before: entry.before,
          after: entry.after,
          requestId: entry.requestId,
        }),
      ),
    )
  }

  /** Gives each sink up to `timeoutMs` to take what is queued (at shutdown). */
  async close(timeoutMs = 2000): Promise<void> {
    await Promise.all(this.queues.map((queue) => queue.close(timeoutMs)))
  }

  private push(lines: string[]): void {
    if (lines.length === 0) return
    for (const queue of this.queues) queue.push(lines)
  }
}
