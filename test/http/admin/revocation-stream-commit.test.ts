import pg from 'pg'
import t, { type Test } from 'tap'
import { postgresBinaries, startOwnPostgres } from '../../support/postgres-server.js'
import { openSse, type SseConnection } from '../../support/sse.js'
import { startTestService, TRUST_DOMAIN } from '../../support/service.js'

/**
 * A revocation is announced from inside its transaction (so no token is issued in between), before
 * the commit makes it readable. A stream that opens in that gap must still send it once committed,
 * not only at its next keep-alive (15 s). The gap is held open with a Postgres of the test's own whose
 * commits wait for a synchronous standby that does not exist: a transaction waiting so is not yet
 * visible to others, as on a disk slow to flush.
 */

const binaries = postgresBinaries()
const skip = 'unavailable' in binaries ? `no Postgres of our own: ${binaries.unavailable}` : false

interface HeldCommits {
  address: string
  admin: Record<string, string>
  /** Starts a revocation and resolves once it has been announced and its commit waits; `answer` is the API's answer. */
  revokeHeld(value: string): Promise<{ answer: Promise<{ cursor: string }> }>
  release(): Promise<void>
}

async function heldCommits(t: Test): Promise<HeldCommits> {
  const { port } = await startOwnPostgres(t, (binaries as { bin: string }).bin, () => ({
    conf: [],
    hba: ['local all all trust', 'host all all 127.0.0.1/32 trust', 'host all all ::1/128 trust'],
  }))
  const url = `postgres://postgres@127.0.0.1:${port}/postgres`
  const sts = await startTestService(t, { databaseUrl: url, config: { limits: { adminRequestsPerMinute: 0 } } })
  const address = await sts.app.listen({ host: '127.0.0.1', port: 0 })
  const db = new pg.Client({ connectionString: url })
  await db.connect()
  t.teardown(() => db.end())
  const setStandby = async (names: string | undefined) => {
    await db.query(names ? `ALTER SYSTEM SET synchronous_standby_names = '${names}'` : 'ALTER SYSTEM RESET synchronous_standby_names')
    await db.query('SELECT pg_reload_conf()')
  }
  return {
    address,
    admin: sts.admin,
    async revokeHeld(value) {
      await setStandby('nobody')
      const answer = sts.app
        .inject({ method: 'POST', url: '/v1/revocations', headers: sts.admin, payload: { kind: 'subject', value, reason: 'leak' } })
        .then((response) => response.json().revocation)
      for (let waited = 0; ; waited += 20) {
        const { rows } = await db.query("SELECT 1 FROM pg_stat_activity WHERE wait_event = 'SyncRep'")
        if (rows.length > 0) return { answer }
        if (waited > 10_000) throw new Error('the revocation never reached its commit')
        await new Promise((resolve) => setTimeout(resolve, 20))
      }
    },
    release: () => setStandby(undefined),
  }
}

/** Lets the held commit through, then the stream must send that revocation, whole. */
async function releasedAndSent(t: Test, held: HeldCommits, stream: SseConnection, answer: Promise<{ cursor: string }>): Promise<void> {
  await held.release()
  const revocation = await answer
  t.same(
    await stream.next(10_000),
    { id: revocation.cursor, event: 'revoked', data: JSON.stringify(revocation) },
    'sent once committed, well before the keep-alive would have read the log again',
  )
}

t.test('a revocation announced before a stream opens and committed after its first read is sent at once', { skip }, async (t) => {
  const held = await heldCommits(t)
  const { answer } = await held.revokeHeld(`spiffe://${TRUST_DOMAIN}/k8s/prod/ns/a/sa/api`)
  const stream = await openSse(`${held.address}/v1/revocations/stream`, held.admin)
  t.teardown(() => stream.close())
  t.equal(stream.status, 200)
  await releasedAndSent(t, held, stream, answer)
})

t.test('a revocation whose commit takes seconds is sent once committed', { skip }, async (t) => {
  const held = await heldCommits(t)
  const stream = await openSse(`${held.address}/v1/revocations/stream`, held.admin)
  t.teardown(() => stream.close())
  const { answer } = await held.revokeHeld(`spiffe://${TRUST_DOMAIN}/k8s/prod/ns/b/sa/api`)
  // As a disk slow to flush under load would.
  await new Promise((resolve) => setTimeout(resolve, 2500))
  await releasedAndSent(t, held, stream, answer)
})
