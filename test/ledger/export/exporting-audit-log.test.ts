import { trace } from '@opentelemetry/api'
import t, { type Test } from 'tap'
import type { AuditEntry } from '../../../src/audit/audit-log.js'
import { SqlAuditLog } from '../../../src/audit/sql-audit-log.js'
import type { Database } from '../../../src/db/database.js'
import { ExportingAuditLog } from '../../../src/ledger/export/exporting-audit-log.js'
import { SpanScope } from '../../../src/tracing/span-scope.js'
import { tracedDatabase } from '../../../src/tracing/traced-database.js'
import { BACKENDS } from '../../support/databases.js'

/** An audit entry reaches the export (a SIEM) only once its change has committed, and never if it rolls back. */

const entry = (targetId: string): AuditEntry => ({
  at: new Date(Date.UTC(2026, 10, 30, 3, 0, 0)),
  actor: 'responder',
  action: 'grant.disable',
  targetType: 'grant',
  targetId,
  before: { enabled: true },
  after: { enabled: false },
  requestId: 'req-1',
})

const DATABASES: Record<string, (t: Test) => Promise<Database>> = {
  postgres: BACKENDS.postgres,
  pglite: BACKENDS.pglite,
  // Tracing wraps every transaction's connection: the commit must still be heard through it.
  'postgres, traced': async (t) => tracedDatabase(await BACKENDS.postgres(t), trace.getTracer('test'), new SpanScope()),
}

for (const [name, open] of Object.entries(DATABASES)) {
  t.test(`on ${name}`, async (t) => {
    const db = await open(t)
    const exported: string[] = []
    const audit = new ExportingAuditLog(new SqlAuditLog(db), { audited: (entries) => exported.push(...entries.map((e) => e.targetId)) })

    await db.transaction(async (tx) => {
      await audit.record(tx, entry('committed'))
      await audit.recordMany(tx, [entry('committed-2'), entry('committed-3')])
      t.same(exported, [], 'nothing exported before the commit')
    })
    t.same(exported, ['committed', 'committed-2', 'committed-3'], 'exported once committed, in order')

    await t.rejects(
      db.transaction(async (tx) => {
        await audit.record(tx, entry('rolled-back'))
        throw new Error('the change failed')
      }),
      { message: 'the change failed' },
    )
    t.same(exported, ['committed', 'committed-2', 'committed-3'], 'a change rolled back is never exported')

    await audit.record(db, entry('outside'))
    t.same(exported, ['committed', 'committed-2', 'committed-3', 'outside'], 'outside a transaction, at once: the statement committed')
    t.same(
      (await audit.list({ limit: 10 })).items.map((record) => record.targetId),
      ['committed', 'committed-2', 'committed-3', 'outside'],
      'what was exported is what the audit log holds',
    )
  })
}
