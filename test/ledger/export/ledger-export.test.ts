import t from 'tap'
import { sealBatch } from '../../../src/ledger/chain/ledger-chains.js'
import type { ExportSink } from '../../../src/ledger/export/export-sinks.js'
import { LedgerExport } from '../../../src/ledger/export/ledger-export.js'
import { eventually } from '../../support/eventually.js'
import { ledgerEntry } from '../../support/ledger.js'

const T0 = Date.UTC(2030, 5, 15, 12, 0, 0)
const AGENT = 'spiffe://example.org/agents/summarizer'
const GATEWAY = 'spiffe://example.org/k8s/prod/ns/tools/sa/gateway'
const PARENT = '0190a1b2-0000-7000-8000-0000000000aa'
const GRANDPARENT = '0190a1b2-0000-7000-8000-0000000000bb'

class KeepingSink implements ExportSink {
  readonly name = 'file'
  taken: string[] = []
  async write(lines: readonly string[]): Promise<void> {
    this.taken.push(...lines)
  }
}

t.test('an exported ledger line carries the parent, ancestors and actors of a delegated token, null for an ordinary one', async (t) => {
  const sink = new KeepingSink()
  const exporter = new LedgerExport([sink], { queueSize: 10, logger: { warn() {} } })
  const delegated = ledgerEntry(T0, {
    kid: 'key-1',
    parentJti: PARENT,
    ancestorJtis: [PARENT, GRANDPARENT],
    actors: [GATEWAY, AGENT],
    actorSources: ['k8s:prod:pod:agent-pod'],
    actorGrantIds: ['0b8f3c2e-0000-4000-8000-00000000000a'],
  })
  const ordinary = ledgerEntry(T0 + 1)
  const batch = sealBatch('0190a1b2-0000-7000-8000-00000000000c', null, [delegated, ordinary], new Date(T0 + 5))
  exporter.committed(batch, [delegated, ordinary])
  await eventually(t, () => sink.taken.length, { until: (n) => n === 2 })
  const common = {
    type: 'ledger.entry',
    chainId: '0190a1b2-0000-7000-8000-00000000000c',
    seq: batch.seq,
    batchHash: batch.batchHash.toString('hex'),
    subject: 'spiffe://example.org/k8s/prod/ns/payments/sa/api',
    attestor: 'prod',
    attestorKind: 'kubernetes',
    attestationFingerprint: 'n4bQgYhMfWWaL-qgxVrQFaO_TxsrC4Is0V1sFbDwCgg',
    sources: ['k8s:prod'],
    audience: 'ledger-api',
    scopes: [],
    grantIds: [],
    issuedAt: '2030-06-15T12:00:00.000Z',
    expiresAt: '2030-06-15T12:05:00.000Z',
    clientAddress: null,
    requestId: null,
  }
  t.strictSame(
    sink.taken.map((line) => JSON.parse(line) as unknown),
    [
      {
        ...common,
        jti: delegated.jti,
        kid: 'key-1',
        parentJti: PARENT,
        ancestorJtis: [PARENT, GRANDPARENT],
        actors: [GATEWAY, AGENT],
        actorSources: ['k8s:prod:pod:agent-pod'],
        actorGrantIds: ['0b8f3c2e-0000-4000-8000-00000000000a'],
      },
      {
        ...common,
        jti: ordinary.jti,
        kid: null,
        parentJti: null,
        ancestorJtis: null,
        actors: null,
        actorSources: null,
        actorGrantIds: null,
      },
    ],
  )
  await exporter.close(100)
})
