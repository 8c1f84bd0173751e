import pg from 'pg'
import t from 'tap'
import { migrate } from '../../../src/db/migrations.js'
import { createPostgresDatabase } from '../../../src/db/postgres.js'
import { LedgerPartitions } from '../../../src/ledger/ledger-partitions.js'
import { ledgerFilterOf, LedgerSearchQuery } from '../../../src/ledger/ledger-search.js'
import { SqlLedgerStore } from '../../../src/ledger/sql-ledger-store.js'
import { uuidV7Millis } from '../../../src/lib/uuid-v7.js'
import { fillLedger } from '../../../scripts/bench/ledger-fill.js'
import { ledgerSearches, SEARCH_NAMES } from '../../../scripts/bench/ledger-queries.js'
import { BIG_CLUSTER, clusterGlob, FLEET_WORKLOADS, fleetWorkload, grantIdOf, issuedMs } from '../../../scripts/bench/ledger-rows.js'
import { freshPostgresDatabase } from '../../support/servers.js'

/**
 * The bench's ledger fill on real Postgres, read back through the service's own store: rows where the
 * service looks for them (its partitions, its jti rule), shaped as ledger-rows.ts says, and every
 * search the bench times finding something. Two fleet rounds (10 minutes of tokens) across a midnight.
 */

const ROWS = 2 * FLEET_WORKLOADS
const MAX_TTL_SECONDS = 3600
const MIDNIGHT = Date.UTC(2030, 0, 10)
const NEWEST = MIDNIGHT + 5 * 60_000 + 123

t.test(`the ledger fill (${ROWS.toLocaleString('en')} rows across a midnight), read by the service`, async (t) => {
  t.setTimeout(120_000)
  const url = await freshPostgresDatabase(t)
  const db = createPostgresDatabase({ url, poolSize: 2 })
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  t.teardown(async () => {
    await client.end()
    await db.close()
  })
  await migrate(db)
  const said: string[] = []
  const fill = await fillLedger(url, ROWS, MAX_TTL_SECONDS, (message) => said.push(message), NEWEST)
  const span = { total: ROWS, newestMs: NEWEST, maxTtlSeconds: MAX_TTL_SECONDS }

  t.test('one partition a day, named as the service names them, none left from the migrations', async (t) => {
    const partitions = await new LedgerPartitions(db, 'day').list()
    t.same(
      partitions.map((p) => p.name),
      ['ledger_rows_d20300109', 'ledger_rows_d20300110'],
    )
    const { rows } = await client.query<{ day: string; n: string }>(
      `SELECT tableoid::regclass::text AS day, count(*) AS n FROM ledger_rows GROUP BY 1 ORDER BY 1`,
    )
    // Row i is issued 3 ms after row i - 1, the last at NEWEST: 5 minutes (100,000 rows) after midnight.
    t.same(rows, [
      { day: 'ledger_rows_d20300109', n: String(ROWS - FLEET_WORKLOADS - 42) },
      { day: 'ledger_rows_d20300110', n: String(FLEET_WORKLOADS + 42) },
    ])
    t.equal(fill.rows, ROWS)
    t.equal(fill.newestMs, NEWEST)
    t.ok(fill.bytesPerRow > 200 && fill.bytesPerRow < 2000, `bytes per row measured (${fill.bytesPerRow})`)
    t.equal(said.length, 3, 'a line per partition and one for VACUUM ANALYZE')
  })

  t.test('each row as ledger-rows.ts says: its workload, a v7 jti of its issue time, its lifetime', async (t) => {
    const { rows } = await client.query<{ jti: string; subject: string; grant_ids: string[]; issued_at: Date; expires_at: Date }>(
      `SELECT jti::text, subject, grant_ids::text[], issued_at, expires_at FROM ledger_entries ORDER BY jti`,
    )
    t.equal(rows.length, ROWS)
    const mismatches: string[] = []
    rows.forEach((row, i) => {
      // jtis sort by time: ORDER BY jti is the fill's order, row i.
      const w = i % FLEET_WORKLOADS
      const ms = issuedMs(span, i)
      const workload = fleetWorkload(w)
      const ttl = workload.cluster === BIG_CLUSTER ? MAX_TTL_SECONDS : w % 10 < 8 ? 300 : 900
      const expected = [workload.subject, grantIdOf(w), ms, Math.floor(ms / 1000) * 1000, ttl * 1000]
      const actual = [
        row.subject,
        row.grant_ids[0],
        uuidV7Millis(row.jti),
        row.issued_at.getTime(),
        row.expires_at.getTime() - row.issued_at.getTime(),
      ]
      if (JSON.stringify(actual) !== JSON.stringify(expected) && mismatches.length < 5)
        mismatches.push(`row ${i}: ${JSON.stringify(actual)} is not ${JSON.stringify(expected)}`)
    })
    t.same(mismatches, [])
  })

  t.test('every search the bench times is valid and finds entries; the cluster revoked has its live tokens', async (t) => {
    const store = new SqlLedgerStore(db, { partitions: new LedgerPartitions(db, 'day'), maxTtlSeconds: MAX_TTL_SECONDS })
    const now = new Date(NEWEST + 1000)
    const empty: string[] = []
    for (const k of [0, 1, 37]) {
      for (const search of ledgerSearches(ROWS, NEWEST, k)) {
        const query = LedgerSearchQuery.parse(Object.fromEntries(new URLSearchParams(search.query)))
        const page = await store.search(ledgerFilterOf(query), now)
        if (page.items.length === 0) empty.push(`${search.name} (k=${k}): ${search.query}`)
      }
    }
    t.same(empty, [], `each of ${SEARCH_NAMES.join(', ')} finds entries`)
    const { rows } = await client.query<{ n: string }>(
      `SELECT count(*) AS n FROM ledger_entries WHERE subject LIKE $1 AND expires_at > $2`,
      [`${clusterGlob(BIG_CLUSTER).slice(0, -2)}%`, now],
    )
    t.equal(Number(rows[0].n), ROWS * 0.3, 'the big cluster: two rounds of its 30,000 workloads, every token still live')
  })
})
