import { ConfigError, configSourceFromProcess, loadConfig } from './config.js'
import { migrate } from './db/migrations.js'
import { createPGliteDatabase } from './db/pglite.js'
import { createPostgresDatabase } from './db/postgres.js'
import { postgresTlsOptions } from './db/postgres-tls.js'

/** `npm run migrate`: applies pending migrations to the configured database and exits. */
async function main(): Promise<void> {
  const { config } = loadConfig(configSourceFromProcess())
  const database = config.database.url
    ? createPostgresDatabase({
        url: config.database.url,
        poolSize: 1,
        statementTimeoutMs: config.database.statementTimeoutMs,
        ...(config.database.ssl ? { ssl: postgresTlsOptions(config.database.ssl) } : {}),
      })
    : await createPGliteDatabase(config.database.dataDir)
  try {
    const applied = await migrate(database)
    process.stdout.write(applied.length > 0 ? `applied: ${applied.join(', ')}\n` : 'the database is up to date\n')
  } finally {
    await database.close()
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`seed-sts migrate: ${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}\n`)
  process.exit(1)
})
