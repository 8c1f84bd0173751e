import t from 'tap'
import type { Queryable } from '../../src/db/database.js'
import { LedgerPartitions } from '../../src/ledger/ledger-partitions.js'
import { SqlLedgerStore } from '../../src/ledger/sql-ledger-store.js'
import { BACKENDS } from '../support/databases.js'
import { fillLedgerEntries, FLEET_MS_PER_TOKEN } from '../support/ledger-fill.js'

interface PlanNode {
  'Node Type': string
  'Relation Name'?: string
  'Actual Rows': number
  'Actual Loops': number
  'Rows Removed by Filter'?: number
  'Rows Removed by Index Recheck'?: number
  Plans?: PlanNode[]
}

/**
 * The rows every scan of a ledger partition read, summed over the plan: those it handed up and those
 * it read only to drop (a filter, or the recheck of a lossy bitmap page).
 */
function rowsReadFromPartitions(node: PlanNode): number {
  const read = node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0)
  const own = node['Relation Name']?.startsWith('ledger_entries_') ? read * node['Actual Loops'] : 0
  return own + (node.Plans ?? []).reduce((sum, child) => sum + rowsReadFromPartitions(child), 0)
}

t.test('a page of a busy subject, newest first, reads about a page of rows, not its whole history', async (t) => {
  const db = await BACKENDS.postgres(t)
  const ROWS = 50_000
  const newest = new Date()
  const partitions = new LedgerPartitions(db, 'day')
  await partitions.ensureBetween(new Date(newest.getTime() - ROWS * FLEET_MS_PER_TOKEN), newest)
  // 500 subjects, so 100 rows each, over about four hours and the partitions of those days.
  // In parts, each well inside the pool's statement timeout on a busy machine.
  const PART = 10_000
  for (let first = 1; first <= ROWS; first += PART) {
    const partNewest = new Date(newest.getTime() - (ROWS - (first + PART - 1)) * FLEET_MS_PER_TOKEN)
    await fillLedgerEntries(db, { first, rows: PART, newest: partNewest, spreadMs: PART * FLEET_MS_PER_TOKEN })
  }
  await db.query('ANALYZE ledger_entries')

  // The store's own statements, as it sent them.
  const sent: { sql: string; params: unknown[] }[] = []
  const recording: Queryable = {
    query: (sql, params) => (sent.push({ sql, params: params ?? [] }), db.query(sql, params)),
    exec: (sql) => db.exec(sql),
  }
  const ledger = new SqlLedgerStore(recording, { partitions, maxTtlSeconds: 3600 })
  const subject = 'spiffe://example.org/k8s/prod/ns/ns-7/sa/svc-7'
  const page = await ledger.search({ subject, limit: 10 }, newest)
  t.equal(page.items.length, 10)
  t.same(
    page.items.map((entry) => entry.issuedAt.getTime()),
    page.items.map((entry) => entry.issuedAt.getTime()).sort((a, b) => b - a),
    'newest first',
  )
  // Every statement of the search (one a window of issue times), explained as it was sent.
  let read = 0
  for (const statement of sent) {
    const [{ 'QUERY PLAN': plan }] = await db.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(
      `EXPLAIN (ANALYZE, FORMAT JSON) ${statement.sql}`,
      statement.params,
    )
    read += rowsReadFromPartitions(plan[0].Plan)
  }
  t.ok(read <= 20, `${read} rows read for a page of 10 of the subject's 100`)
})
