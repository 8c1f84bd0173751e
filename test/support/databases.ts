import type { Test } from 'tap'
import type { Database } from '../../src/db/database.js'
import { migrate } from '../../src/db/migrations.js'
import { createPGliteDatabase } from '../../src/db/pglite.js'
import { createPostgresDatabase } from '../../src/db/postgres.js'
import { freshPostgresDatabase } from './servers.js'

/** Both SQL backends, migrated: store contracts run against each. */
export const BACKENDS = {
  async postgres(t: Test): Promise<Database> {
    const db = createPostgresDatabase({ url: await freshPostgresDatabase(t), poolSize: 4 })
    t.teardown(() => db.close())
    await migrate(db)
    return db
  },
  async pglite(t: Test): Promise<Database> {
    const db = await createPGliteDatabase()
    t.teardown(() => db.close())
    await migrate(db)
    return db
  },
}
