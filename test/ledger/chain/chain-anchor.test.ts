import t from 'tap'
import { ChainAnchor } from '../../../src/ledger/chain/chain-anchor.js'
import { LedgerChains } from '../../../src/ledger/chain/ledger-chains.js'
import { ledgerEntry } from '../../support/ledger.js'

const T0 = Date.UTC(2030, 5, 15, 12, 0, 0)
const clock = { now: () => T0 }
const quiet = { info() {}, warn() {} }

function chains(...ids: string[]): LedgerChains {
  const queue = [...ids]
  return new LedgerChains(clock, 1, undefined, () => queue.shift() ?? 'out-of-ids')
}

t.test('each anchor tells the heads that moved since the last, an ended chain once, and counts webhook failures', async (t) => {
  const ledger = chains('c-1', 'c-2')
  const write = () => Promise.resolve()
  await ledger.commit([ledgerEntry(T0)], write)
  const second = await ledger.commit([ledgerEntry(T0 + 1000)], write)
  const failures: string[] = []
  const anchored: unknown[] = []
  const anchor = new ChainAnchor({
    chains: ledger,
    logger: quiet,
    intervalMs: 60_000,
    observer: {
      anchored: (heads) => anchored.push(heads.map((h) => `${h.chainId}:${h.seq}`)),
      anchorWebhookFailed: () => failures.push('webhook'),
      exported() {},
      exportDropped() {},
      exportFailed() {},
    },
    webhook: { url: 'http://anchor.invalid/', timeoutMs: 100 },
    fetch: () => Promise.reject(new Error('connection refused')),
  })
  t.same(
    (await anchor.anchorNow()).map((h) => [h.chainId, h.seq, h.batchHash]),
    [['c-1', 2, second.batchHash.toString('hex')]],
  )
  t.same(await anchor.anchorNow(), [], 'nothing moved')
  await t.rejects(ledger.commit([ledgerEntry(T0 + 2000)], () => Promise.reject(new Error('lost at COMMIT'))))
  await ledger.commit([ledgerEntry(T0 + 3000)], write)
  t.same(
    (await anchor.anchorNow()).map((h) => `${h.chainId}:${h.seq}`),
    ['c-2:1'],
    'the ended chain was anchored at seq 2 already; the new one starts at 1',
  )
  t.same(anchored, [['c-1:2'], ['c-1:2'], ['c-1:2', 'c-2:1']])
  t.same(failures, ['webhook', 'webhook'], 'one failure per anchor that had heads to send')
})

t.test('a failed commit ends its chain; the next batch starts a new one with no previous hash', async (t) => {
  const ledger = chains('c-1', 'c-2')
  const first = await ledger.commit([ledgerEntry(T0)], () => Promise.resolve())
  await t.rejects(ledger.commit([ledgerEntry(T0 + 1)], () => Promise.reject(new Error('refused'))))
  const next = await ledger.commit([ledgerEntry(T0 + 2)], () => Promise.resolve())
  t.same(
    [first, next].map((b) => ({ chain: b.chainId, seq: b.seq, prev: b.prevHash })),
    [
      { chain: 'c-1', seq: 1, prev: null },
      { chain: 'c-2', seq: 1, prev: null },
    ],
  )
})

t.test('a listener that throws does not fail a committed batch', async (t) => {
  const ledger = new LedgerChains(clock, 1, {
    committed() {
      throw new Error('the export broke')
    },
  })
  const batch = await ledger.commit([ledgerEntry(T0)], () => Promise.resolve())
  t.equal(batch.seq, 1)
  t.same(
    ledger.takeHeads().map((h) => h.seq),
    [1],
    'and the chain moved on',
  )
})
