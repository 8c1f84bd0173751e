import type { Logger } from 'pino'
import type { Config } from '../config.js'
import { ChainAnchor } from '../ledger/chain/chain-anchor.js'
import { DEFAULT_CHAIN_LANES, LedgerChains } from '../ledger/chain/ledger-chains.js'
import { FileSink, WebhookSink, type ExportSink } from '../ledger/export/export-sinks.js'
import { LedgerExport } from '../ledger/export/ledger-export.js'
import type { Clock } from '../lib/clock.js'
import type { Metrics } from '../metrics/metrics.js'

export interface OpenedLedgerChains {
  chains: LedgerChains
  /** With `ledger.export` set: where ledger and audit events go for a SIEM. */
  exporter: LedgerExport | undefined
  anchor: ChainAnchor
}

/** The ledger's hash chains, their anchor (started) and the export (README, "Tamper evidence"). */
export function openLedgerChains(config: Config, clock: Clock, logger: Logger, metrics: Metrics): OpenedLedgerChains {
  const { anchor: anchorConfig, export: exportConfig } = config.ledger
  const sinks: ExportSink[] = []
  if (exportConfig.file !== undefined) sinks.push(new FileSink(exportConfig.file))
  if (exportConfig.webhookUrl !== undefined) sinks.push(new WebhookSink(exportConfig.webhookUrl, exportConfig.webhookTimeoutMs))
  const exporter =
    sinks.length === 0 ? undefined : new LedgerExport(sinks, { queueSize: exportConfig.queueSize, logger, observer: metrics.ledgerChains })
  const chains = new LedgerChains(clock, DEFAULT_CHAIN_LANES, exporter)
  const anchor = new ChainAnchor({
    chains,
    logger,
    intervalMs: anchorConfig.intervalSeconds * 1000,
    observer: metrics.ledgerChains,
    ...(anchorConfig.webhookUrl === undefined
      ? {}
      : { webhook: { url: anchorConfig.webhookUrl, timeoutMs: anchorConfig.webhookTimeoutMs } }),
  })
  anchor.start()
  return { chains, exporter, anchor }
}
