import { Counter, Gauge, type Registry } from 'prom-client'
import type { LedgerChainObserver } from '../observability/observers.js'

/**
 * The hash chains' metrics (README, "Tamper evidence"): each chain's anchored head (its seq, and an
 * info series carrying its hash, so a scrape kept outside the database is an anchor too), failures of
 * the anchor webhook, and what the export to a SIEM wrote, dropped and failed to write. A chain lives
 * for an instance's lifetime: its series go when it is no longer anchored.
 */
export function ledgerChainMetrics(registry: Registry): LedgerChainObserver {
  const registers = [registry]
  let heads: readonly { chainId: string; seq: number; batchHash: string }[] = []
  new Gauge({
    name: 'sts_ledger_chain_head_seq',
    help: 'The seq of the last anchored batch of each hash chain this instance writes.',
    labelNames: ['chain'],
    registers,
    collect() {
      this.reset()
      for (const head of heads) this.labels(head.chainId).set(head.seq)
    },
  })
  new Gauge({
    name: 'sts_ledger_chain_head_info',
    help: 'The last anchored head of each hash chain this instance writes (always 1): chain, seq and batch hash.',
    labelNames: ['chain', 'seq', 'hash'],
    registers,
    collect() {
      this.reset()
      for (const head of heads) this.labels(head.chainId, String(head.seq), head.batchHash).set(1)
    },
  })
  const webhookFailures = new Counter({
    name: 'sts_ledger_anchor_webhook_failures_total',
    help: 'POSTs of chain heads to ledger.anchor.webhookUrl that failed (the heads are in the log line).',
    registers,
  })
  const exported = new Counter({
    name: 'sts_ledger_export_events_total',
    help: 'Ledger and audit events written to an export sink, by sink (file, webhook).',
    labelNames: ['sink'],
    registers,
  })
  const dropped = new Counter({
    name: 'sts_ledger_export_dropped_total',
    help: "Ledger and audit events not exported because the sink's queue was full, by sink.",
    labelNames: ['sink'],
    registers,
  })
  const failures = new Counter({
    name: 'sts_ledger_export_failures_total',
    help: 'Writes to an export sink that failed, by sink (their events stay queued and are tried again).',
    labelNames: ['sink'],
    registers,
  })
  return {
    anchored: (current) => (heads = current),
    anchorWebhookFailed: () => webhookFailures.inc(),
    exported: (sink, events) => exported.labels(sink).inc(events),
    exportDropped: (sink, events) => dropped.labels(sink).inc(events),
    exportFailed: (sink) => failures.labels(sink).inc(),
  }
}
