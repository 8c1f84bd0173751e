import t from 'tap'
import type { Database, Queryable } from '../../src/db/database.js'
import { LedgerPartitions } from '../../src/ledger/ledger-partitions.js'
import { BITMAPS_ONLY, SqlLedgerStore } from '../../src/ledger/sql-ledger-store.js'
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
  // The compact rows' partitions (ledger_rows_...) and those of the rows of before migration 023 (ledger_entries_...).
  const own = /^ledger_(rows|entries)_/.test(node['Relation Name'] ?? '') ? read * node['Actual Loops'] : 0
  return own + (node.Plans ?? []).reduce((sum, child) => sum + rowsReadFromPartitions(child), 0)
}

t.test('a page of a busy subject or of a namespace glob, newest first, reads about a page of rows, not their whole history', async (t) => {
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
  await db.query('ANALYZE ledger_rows, ledger_subjects, ledger_sources')

  // The store's own statements, as it sent them (those in a transaction with the settings before them).
  const sent: { sql: string; params: unknown[]; settings: string[] }[] = []
  const recordingOn = (on: Queryable, settings: string[]): Queryable => ({
    ...on,
    query: (sql, params) => {
      if (sql === BITMAPS_ONLY) settings.push(sql)
      else sent.push({ sql, params: params ?? [], settings: [...settings] })
      return on.query(sql, params)
    },
  })
  const recording: Database = { ...db, ...recordingOn(db, []), transaction: (work) => db.transaction((tx) => work(recordingOn(tx, []))) }
  const ledger = new SqlLedgerStore(recording, { partitions, maxTtlSeconds: 3600 })
  // Every statement of a search (one a window of issue times), explained as it was sent.
  const rowsRead = async (filter: { subject: string }): Promise<{ rows: number; byWindows: number; page: number }> => {
    sent.length = 0
    const page = await ledger.search({ ...filter, limit: 10 }, newest)
    t.same(
      page.items.map((entry) => entry.issuedAt.getTime()),
      page.items.map((entry) => entry.issuedAt.getTime()).sort((a, b) => b - a),
      'newest first',
    )
    let read = 0
    let byWindows = 0
    for (const [index, statement] of sent.entries()) {
      const [{ 'QUERY PLAN': plan }] = await db.transaction(async (tx) => {
        for (const setting of statement.settings) await tx.query(setting)
        return tx.query<{ 'QUERY PLAN': [{ Plan: PlanNode }] }>(`EXPLAIN (ANALYZE, FORMAT JSON) ${statement.sql}`, statement.params)
      })
      read += rowsReadFromPartitions(plan[0].Plan)
      // The first read walks the last minute newest first; each after it is a window of its own.
      if (index > 0) byWindows += rowsReadFromPartitions(plan[0].Plan)
    }
    return { rows: read, byWindows, page: page.items.length }
  }

  const subject = await rowsRead({ subject: 'spiffe://example.org/k8s/prod/ns/ns-7/sa/svc-7' })
  t.equal(subject.page, 10)
  t.ok(subject.rows <= 20, `${subject.rows} rows read for a page of 10 of the subject's 100`)
  // Ten subjects, 1,000 rows over the four hours (the planner walked the issued_at index through every
  // row of each window: 436 rows for 8). The first read may walk the last minute's rows (about 200).
  const glob = await rowsRead({ subject: 'spiffe://example.org/k8s/prod/ns/ns-7/sa/*' })
  t.equal(glob.page, 10)
  t.ok(glob.byWindows <= 20, `${glob.byWindows} rows read by the windows of a page of 10 of the namespace's 1,000`)
})
