import pg from 'pg'
import { createPostgresDatabase } from '../../src/db/postgres.js'
import { migrate } from '../../src/db/migrations.js'
import { fillerGrant, standingRevocation, type FillerGrant, type StandingRevocation } from './growth-rows.js'
import { BENCH_GRANT } from './requests.js'

/**
 * Fills the bench database straight in Postgres, as an organisation's years of admin API calls would
 * have left it, while no service is running: what a service reads at start is then exactly what it
 * would read in production. Revocations are read from Redis, which a service rebuilds from Postgres
 * when it finds it empty (src/revocation/redis-revocation-rebuild.ts): the caller empties the bench's
 * Redis prefix after each fill, so the service loads the standing revocations the way it always does.
 */

export interface GrowthSize {
  /** Rows in `grants`, BENCH_GRANT among them. */
  grants: number
  /** Rows in `revocations`, all in force. */
  standingRevocations: number
  /** Rows in the ledger, filled by ledger-fill.ts after the tables here. */
  ledgerRows: number
}

const BATCH = 5000
const DAY_MS = 86_400_000

/** The schema, by the service's own migrations: the fill needs the tables before a service ever starts. */
export async function migrateBenchDatabase(databaseUrl: string): Promise<void> {
  const database = createPostgresDatabase({ url: databaseUrl, poolSize: 1 })
  try {
    await migrate(database)
  } finally {
    await database.close()
  }
}

/**
 * Leaves exactly `size`'s grants and revocations in the tables, and an empty ledger (the previous
 * size's tokens would make this one's inserts dearer; ledger-fill.ts fills it for a ledger size). TRUNCATE, not DELETE: dead rows would slow the next size's reads.
 */
export async function fillToSize(databaseUrl: string, size: GrowthSize, serviceAccounts: number): Promise<void> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    // `ledger` and `ledger_entries` are views (migrations 011 and 023): the rows are in these three.
    await client.query('TRUNCATE grants, revocations, ledger_rows, ledger_text_rows, ledger_legacy')
    const now = Date.now()
    // The bench's own grant first in the table, the one every exchange is decided by (growth-rows.ts).
    await insertGrants(
      client,
      [{ ...BENCH_GRANT, conditions: {}, audiences: [...BENCH_GRANT.audiences], scopes: [...BENCH_GRANT.scopes] }],
      now,
    )
    for (let from = 0; from < size.grants - 1; from += BATCH) {
      const count = Math.min(BATCH, size.grants - 1 - from)
      await insertGrants(
        client,
        Array.from({ length: count }, (_, n) => fillerGrant(from + n, serviceAccounts)),
        now,
      )
    }
    for (let from = 0; from < size.standingRevocations; from += BATCH) {
      const count = Math.min(BATCH, size.standingRevocations - from)
      await insertRevocations(
        client,
        Array.from({ length: count }, (_, n) => standingRevocation(from + n)),
        now,
      )
    }
    // Settled before the service starts, as a table that has stood for a while is: otherwise the
    // fill's aftermath (autovacuum of the new rows, the checkpoint writing them out) lands in the
    // measured window of the larger sizes only, and the ledger's commits wait on that disk.
    await client.query('VACUUM ANALYZE grants, revocations')
    await client.query('CHECKPOINT')
  } finally {
    await client.end()
  }
}

/** One INSERT per batch; created over the past year, valid for another 90 days. */
async function insertGrants(client: pg.Client, grants: FillerGrant[], now: number): Promise<void> {
  await client.query(
    `INSERT INTO grants (id, subject, conditions, audiences, scopes, max_ttl_seconds, owner, description,
                         expires_at, enabled, version, created_at, updated_at)
     SELECT gen_random_uuid(), r.subject, r.conditions,
            ARRAY(SELECT jsonb_array_elements_text(r.audiences)), ARRAY(SELECT jsonb_array_elements_text(r.scopes)),
            r."maxTtlSeconds", r.owner, r.description, $2::timestamptz, true, 1, $3::timestamptz, $3::timestamptz
       FROM jsonb_to_recordset($1::jsonb) AS r(subject text, conditions jsonb, audiences jsonb, scopes jsonb,
                                               "maxTtlSeconds" integer, owner text, description text)`,
    [JSON.stringify(grants), new Date(now + 90 * DAY_MS), new Date(now - 365 * DAY_MS)],
  )
}

async function insertRevocations(client: pg.Client, revocations: StandingRevocation[], now: number): Promise<void> {
  await client.query(
    `INSERT INTO revocations (id, kind, value, reason, created_at, created_by)
     SELECT gen_random_uuid(), r.kind, r.value, r.reason, $2::timestamptz, 'bench'
       FROM jsonb_to_recordset($1::jsonb) AS r(kind text, value text, reason text)`,
    [JSON.stringify(revocations), new Date(now - 30 * DAY_MS)],
  )
}
