import { ConfigError, configSourceFromProcess, loadConfig } from './config.js'
import { migrate } from './db/migrations.js'
import { createPGliteDatabase } from './db/pglite.js'
import { createPostgresDatabase } from './db/postgres.js'
import { postgresTlsOptions } from './db/postgres-tls.js'
import { runRestoreConfirm } from './restore/restore-command.js'

/**
 * `npm run migrate`: applies pending migrations to the configured database and exits. With
 * `--confirm-restore` (and `--acknowledge-lost-revocations` when told to), it then confirms a restored
 * database the service refused to start on (README.md, "Backup and restore").
 */
async function main(): Promise<void> {
  const flags = new Set(process.argv.slice(2))
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
    if (flags.has('--confirm-restore'))
      process.stdout.write(await runRestoreConfirm(config, database, flags.has('--acknowledge-lost-revocations')))
  } finally {
    await database.close()
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`seed-sts migrate: ${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}\n`)
  const code = (error as { exitCode?: unknown } | null)?.exitCode
  process.exit(typeof code === 'number' ? code : 1)
})
