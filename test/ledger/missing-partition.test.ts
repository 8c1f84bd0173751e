import t from 'tap'
import { isMissingPartition } from '../../src/ledger/ledger-partitions.js'
import { BACKENDS } from '../support/databases.js'

/** What the database threw for `sql`. */
async function errorOf(query: () => Promise<unknown>): Promise<Record<string, unknown>> {
  try {
    await query()
  } catch (error) {
    return error as Record<string, unknown>
  }
  throw new Error('the statement was expected to fail')
}

for (const [backend, open] of Object.entries(BACKENDS)) {
  t.test(`a row no partition holds is told apart by its fields, not its words, on ${backend}`, async (t) => {
    const db = await open(t)
    const noPartition = await errorOf(() =>
      db.query(
        `INSERT INTO ledger_entries (issued_at, expires_at, jti, subject, attestor, attestor_kind, attestation_fingerprint,
                                     sources, audience, scopes, grant_ids)
         VALUES ('1999-01-01Z', '1999-01-01Z', '0188a5f0-0000-7000-8000-000000000000', 's', 'a', 'k', '\\x00', '{}', 'a', '{}', '{}')`,
      ),
    )
    const checkViolation = await errorOf(() => db.query('INSERT INTO ledger_retention (singleton, dropped_before) VALUES (false, now())'))
    t.equal(isMissingPartition(noPartition), true)
    // The same error from a server whose lc_messages is German: the message is all that differs.
    const german = Object.assign(Object.create(Object.getPrototypeOf(noPartition) as object) as object, noPartition, {
      message: 'keine Partition von Relation »ledger_rows« für Zeile gefunden',
    })
    t.equal(isMissingPartition(german), true, 'whatever the language of the message')
    t.equal(checkViolation.code, '23514', 'a CHECK constraint violated is the same SQLSTATE')
    t.equal(isMissingPartition(checkViolation), false, 'but names its constraint')
    t.equal(isMissingPartition(new Error('no partition')), false)
    t.equal(isMissingPartition(undefined), false)
  })
}
