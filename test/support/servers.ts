import { randomBytes } from 'node:crypto'
import pg from 'pg'
import type { Test } from 'tap'

/**
 * The real servers integration tests run against. They are never optional: if Postgres or Redis is
 * not reachable the tests fail (they are not skipped), so a green run always means the real
 * backends were exercised.
 */
export const POSTGRES_ADMIN_URL = process.env.TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/test'
export const REDIS_URL = process.env.TEST_REDIS_URL ?? 'redis://127.0.0.1:6379'

/** Creates an empty database of its own for one test file, dropped when the test ends. */
export async function freshPostgresDatabase(t: Test): Promise<string> {
  const name = `sts_test_${randomBytes(6).toString('hex')}`
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL, connectionTimeoutMillis: 3000 })
  try {
    await admin.connect()
  } catch (error) {
    throw new Error(`Postgres is not reachable at ${POSTGRES_ADMIN_URL} (${(error as Error).message}); start it or set TEST_DATABASE_URL`)
  }
  await admin.query(`CREATE DATABASE ${name}`)
  await admin.end()
  t.teardown(async () => {
    const cleanup = new pg.Client({ connectionString: POSTGRES_ADMIN_URL })
    await cleanup.connect()
    await cleanup.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    await cleanup.end()
  })
  const url = new URL(POSTGRES_ADMIN_URL)
  url.pathname = `/${name}`
  return url.toString()
}

/** A key prefix no other test uses, so test files can share one Redis. */
export function uniqueRedisPrefix(): string {
  return `sts-test:${randomBytes(6).toString('hex')}:`
}
