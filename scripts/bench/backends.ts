import { Redis } from 'ioredis'
import pg from 'pg'
import { redactUrl } from './service.js'

/**
 * Postgres and Redis as the bench uses them: a database of its own, recreated every run; a key
 * prefix of its own, emptied every run; and the ledger read back at the end.
 */

/** Drops and recreates the bench database; returns its URL. Nothing but `name` is ever dropped. */
export async function recreateDatabase(adminUrl: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]*$/.test(name)) throw new TypeError(`not a plain database name: ${name}`)
  const admin = new pg.Client({ connectionString: adminUrl, connectionTimeoutMillis: 3000 })
  try {
    await admin.connect()
  } catch (error) {
    throw new Error(`Postgres is not reachable at ${redactUrl(adminUrl)} (${(error as Error).message}); start it or set BENCH_DATABASE_URL`)
  }
  try {
    await admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await admin.query(`CREATE DATABASE ${name}`)
  } finally {
    await admin.end()
  }
  const url = new URL(adminUrl)
  url.pathname = `/${name}`
  return url.toString()
}

/** Empties the bench's key prefix and returns the Redis version. */
export async function prepareRedis(url: string, keyPrefix: string): Promise<string> {
  const redis = new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 0, connectTimeout: 3000, retryStrategy: () => null })
  redis.on('error', () => {})
  try {
    await redis.connect()
  } catch (error) {
    redis.disconnect()
    throw new Error(`Redis is not reachable at ${redactUrl(url)} (${(error as Error).message}); start it or set BENCH_REDIS_URL`)
  }
  try {
    // A revocation left under the prefix by an earlier experiment would turn 200s into 400s.
    let cursor = '0'
    do {
      const [next, found] = await redis.scan(cursor, 'MATCH', `${keyPrefix}*`, 'COUNT', 1000)
      if (found.length > 0) await redis.del(...found)
      cursor = next
    } while (cursor !== '0')
    return /redis_version:(\S+)/.exec(await redis.info('server'))?.[1] ?? 'unknown'
  } finally {
    redis.disconnect()
  }
}

/** The server's version, e.g. "15.20", for the summary. */
export async function postgresVersion(databaseUrl: string): Promise<string> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const { rows } = await client.query<{ version: string }>(`SELECT current_setting('server_version') AS version`)
    return rows[0].version.split(' ')[0]
  } finally {
    await client.end()
  }
}

export interface LedgerCheck {
  rows: number
  /** 200 answers over the whole run: pre-flight, warm-up and measured window. */
  answered200: number
  /** Of those, how many have their own row (matched by request id). */
  matched: number
  ok: boolean
  postgresVersion: string
}

/**
 * The durable-ledger claim: exactly one row per 200 answer, each found by the x-request-id the bench
 * sent with it (the service records it, marked `client:`), and no row for anything else.
 */
export async function checkLedger(databaseUrl: string, answeredRequestIds: readonly string[]): Promise<LedgerCheck> {
  const client = new pg.Client({ connectionString: databaseUrl })
  await client.connect()
  try {
    const { rows } = await client.query<{ rows: number; matched: number; version: string }>(
      `SELECT count(*)::int AS rows,
              (SELECT count(*)::int FROM ledger WHERE request_id = ANY($1::text[]) OR substr(request_id, 8) = ANY($1::text[]) AND request_id LIKE 'client:%') AS matched,
              current_setting('server_version') AS version
         FROM ledger`,
      [answeredRequestIds],
    )
    const { rows: total, matched, version } = rows[0]
    const answered200 = answeredRequestIds.length
    return {
      rows: total,
      answered200,
      matched,
      ok: total === answered200 && matched === answered200,
      postgresVersion: version.split(' ')[0],
    }
  } finally {
    await client.end()
  }
}
