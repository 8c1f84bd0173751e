import t from 'tap'
import { LedgerExport } from '../../../src/ledger/export/ledger-export.js'
import type { ExportSink } from '../../../src/ledger/export/export-sinks.js'
import { ledgerEntry } from '../../support/ledger.js'
import { sealBatch } from '../../../src/ledger/chain/ledger-chains.js'
import { eventually } from '../../support/eventually.js'

const T0 = Date.UTC(2030, 5, 15, 12, 0, 0)

/** A SIEM that refuses until told to take, then keeps what it took. */
class FlakySink implements ExportSink {
  readonly name = 'webhook'
  taken: string[] = []
  refusing = true
  async write(lines: readonly string[]): Promise<void> {
    if (this.refusing) throw new Error('the SIEM is down')
    this.taken.push(...lines)
  }
}

t.test('a sink that is down keeps its queue (bounded, drops counted) and gets it all once back, at least once', async (t) => {
  const sink = new FlakySink()
  const counts = { exported: 0, dropped: 0, failed: 0 }
  const exporter = new LedgerExport([sink], {
    queueSize: 3,
    retryMs: 5,
    logger: { warn() {} },
    observer: {
      anchored() {},
      anchorWebhookFailed() {},
      exported: (_, n) => (counts.exported += n),
      exportDropped: (_, n) => (counts.dropped += n),
      exportFailed: () => (counts.failed += 1),
    },
  })
  const entries = [0, 1, 2, 3, 4].map((i) => ledgerEntry(T0 + i))
  // Never throws, never waits: the exchange's commit calls it.
  exporter.committed(sealBatch('c-1', null, entries, new Date(T0)), entries)
  await eventually(t, () => counts.failed, { until: (n) => n >= 2 })
  t.equal(counts.dropped, 2, 'past the queue, dropped and counted')
  sink.refusing = false
  await eventually(t, () => sink.taken.length, { until: (n) => n === 3 })
  t.same(
    sink.taken.map((line) => (JSON.parse(line) as { jti: string; seq: number }).jti),
    entries.slice(0, 3).map((e) => e.jti),
  )
  t.equal(counts.exported, 3)
  await exporter.close(100)
})
