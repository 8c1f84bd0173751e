import { execFile, spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { promisify } from 'node:util'
import { Redis } from 'ioredis'
import pg from 'pg'
import t, { type Test } from 'tap'
import { createTestCluster, STS_AUDIENCE } from '../support/cluster.js'
import { freshPostgresDatabase, POSTGRES_ADMIN_URL, REDIS_URL, uniqueRedisPrefix } from '../support/servers.js'
import {
  ISSUER,
  JWT_TOKEN_TYPE,
  KEY_ENCRYPTION_KEY,
  SOURCE_HASH_KEY,
  NOW,
  startTestService,
  TOKEN_EXCHANGE,
  TRUST_DOMAIN,
  type TestService,
} from '../support/service.js'
import { revocationKeys } from '../../src/revocation/redis-revocation-keys.js'

/**
 * The backup and restore procedure of README.md, for real: pg_dump of a live database, a revocation
 * made after it, pg_restore over the database, then the compiled service started on it as in
 * production (refused: exit code 3 and one clear line), the compiled confirm step, and the service
 * again, enforcing the revocation made after the backup.
 */

const run = promisify(execFile)
const SERVER = new URL('../../dist/src/server.js', import.meta.url).pathname
const MIGRATE = new URL('../../dist/src/migrate.js', import.meta.url).pathname
const subjectOf = (namespace: string) => `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/${namespace}/sa/api`

interface Exited {
  code: number | null
  stdout: string
  stderr: string
}

/** Runs a compiled entry point with a configuration file, as an operator (or an orchestrator) would. */
async function runCompiled(script: string, configFile: string, args: string[] = []): Promise<Exited> {
  const child = spawn(process.execPath, [script, '--config', configFile, ...args], {
    // The key-encryption key the in-process services of this test sealed the signing keys with.
    env: {
      PATH: process.env.PATH,
      LOG_LEVEL: 'info',
      HOST: '127.0.0.1',
      PORT: '0',
      STS_KEY_ENCRYPTION_KEY: KEY_ENCRYPTION_KEY,
      STS_SOURCE_HASH_KEY: SOURCE_HASH_KEY,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk) => (stdout += chunk))
  child.stderr.on('data', (chunk) => (stderr += chunk))
  const timer = setTimeout(() => child.kill('SIGKILL'), 30_000)
  const code = await new Promise<number | null>((resolve) => child.on('exit', resolve))
  clearTimeout(timer)
  return { code, stdout, stderr }
}

async function adminQuery(sql: string): Promise<void> {
  const admin = new pg.Client({ connectionString: POSTGRES_ADMIN_URL })
  await admin.connect()
  try {
    await admin.query(sql)
  } finally {
    await admin.end()
  }
}

async function deployment(t: Test) {
  const databaseUrl = await freshPostgresDatabase(t)
  const databaseName = new URL(databaseUrl).pathname.slice(1)
  const prefix = uniqueRedisPrefix()
  const cluster = await createTestCluster('prod', Math.floor(NOW / 1000))
  const dir = mkdtempSync(join(tmpdir(), 'sts-restore-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const config = {
    issuer: ISSUER,
    trustDomain: TRUST_DOMAIN,
    audience: STS_AUDIENCE,
    database: { url: databaseUrl },
    redis: { url: REDIS_URL, keyPrefix: prefix },
    keys: { dir: join(dir, 'keys') },
  }
  const configFile = join(dir, 'sts.json')
  writeFileSync(configFile, JSON.stringify(config))
  const workersConfigFile = join(dir, 'sts-workers.json')
  writeFileSync(workersConfigFile, JSON.stringify({ ...config, workers: 2 }))
  const inspector = new Redis(REDIS_URL)
  t.teardown(() => inspector.disconnect())
  const start = () => startTestService(t, { databaseUrl, redisKeyPrefix: prefix, cluster })
  const stop = async (sts: TestService) => {
    await sts.app.close()
    await sts.services.close()
  }
  const revoke = async (sts: TestService, namespace: string) => {
    const response = await sts.app.inject({
      method: 'POST',
      url: '/v1/revocations',
      headers: sts.admin,
      payload: { kind: 'subject', value: subjectOf(namespace), reason: 'leaked' },
    })
    if (response.statusCode !== 201) throw new Error(`not revoked: ${response.statusCode} ${response.body}`)
    return response.json().revocation as { id: string; cursor: string }
  }
  const exchange = async (sts: TestService, namespace: string) =>
    (
      await sts.exchange({
        grant_type: TOKEN_EXCHANGE,
        subject_token: await cluster.serviceAccountToken({ namespace }),
        subject_token_type: JWT_TOKEN_TYPE,
      })
    ).statusCode
  const dumpFile = join(dir, 'sts.dump')
  // The README's commands: a custom-format dump, and a restore over a recreated database.
  const backup = () => run('pg_dump', ['--format=custom', `--file=${dumpFile}`, databaseUrl])
  const restore = async () => {
    await adminQuery(`DROP DATABASE ${databaseName} WITH (FORCE)`)
    await adminQuery(`CREATE DATABASE ${databaseName}`)
    await run('pg_restore', ['--no-owner', `--dbname=${databaseUrl}`, dumpFile])
  }
  const audit = async (actions: string[]) => {
    const db = new pg.Client({ connectionString: databaseUrl })
    await db.connect()
    try {
      return (
        await db.query<{ action: string; target_id: string; after: Record<string, unknown> }>(
          'SELECT action, target_id, after FROM audit_log WHERE action = ANY($1) ORDER BY id',
          [actions],
        )
      ).rows
    } finally {
      await db.end()
    }
  }
  return { prefix, configFile, workersConfigFile, inspector, start, stop, revoke, exchange, backup, restore, audit }
}

/** Sets up: a grant and a revocation, the backup, a revocation after it, every instance stopped, the restore. */
async function restoredBehind(t: Test) {
  const d = await deployment(t)
  const a = await d.start()
  await a.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
  const before = await d.revoke(a, 'payments')
  await d.backup()
  const after = await d.revoke(a, 'search')
  t.equal(await d.exchange(a, 'search'), 400, 'the revocation made after the backup is enforced')
  await d.stop(a)
  await d.restore()
  const mark = await d.inspector.hgetall(revocationKeys(d.prefix).highWater)
  t.equal(mark.seq, after.cursor, 'Redis recorded the position of the revocation made after the backup')
  return { ...d, before, after, recordedAt: new Date(Number(mark.at)).toISOString() }
}

function refusal(databasePosition: string, seen: string, recordedAt: string): string {
  return (
    `the database is older than the revocation state seen in Redis: its revocation log ends at position ${databasePosition}, ` +
    `revocations up to position ${seen} were seen (recorded ${recordedAt}). ` +
    'It looks restored from a backup taken before revocations that would silently stop applying. ' +
    'Refusing to start until an operator runs `npm run migrate -- --confirm-restore`, which re-applies the revocations Redis still holds ' +
    '(README.md, "Backup and restore")'
  )
}

t.test('restored behind a revocation: the service refuses to start; after the confirm step it enforces that revocation', async (t) => {
  const d = await restoredBehind(t)

  const refused = await runCompiled(SERVER, d.configFile)
  t.equal(refused.code, 3, 'a start refused on a restored database exits 3')
  const message = refusal(d.before.cursor, d.after.cursor, d.recordedAt)
  t.equal(refused.stderr, `seed-sts: failed to start: ${message}\n`, 'one clear line, no stack')
  const fatal = refused.stdout
    .trim()
    .split('\n')
    .map((line) => JSON.parse(line) as Record<string, unknown>)
    .filter((line) => line.level === 60)
  t.match(fatal, [{ msg: message, databasePosition: d.before.cursor, seenPosition: d.after.cursor, recordedAt: d.recordedAt }])
  t.notMatch(refused.stdout + refused.stderr, /\n\s+at /, 'no stack trace anywhere')

  const confirmed = await runCompiled(MIGRATE, d.configFile, ['--confirm-restore'])
  t.equal(confirmed.code, 0, confirmed.stderr)
  const resumesAfter = String(BigInt(d.after.cursor) + 1n)
  t.equal(
    confirmed.stdout,
    [
      'the database is up to date',
      `the database's revocation log ended at position ${d.before.cursor}; Redis had seen position ${d.after.cursor} (recorded ${d.recordedAt})`,
      're-applied 1 revocation(s) made after the backup, with their ids:',
      `  ${d.after.id}  subject ${subjectOf('search')}  (${new Date(NOW).toISOString()} by bootstrap)`,
      `revocation positions go on after ${resumesAfter}: pollers and streams of before are told to resynchronise (410)`,
      'lifts made after the backup are not in the restored database: those revocations are in force again; lift them again if they must be',
      'recorded in the audit log (restore.confirm); the service starts again, and rebuilds the revocations in Redis from the database',
      '',
    ].join('\n'),
  )

  const c = await d.start()
  t.equal(await d.exchange(c, 'search'), 400, 'the revocation made after the backup is still enforced')
  t.equal(await d.exchange(c, 'payments'), 400, 'and the one from before it')
  t.equal(await d.exchange(c, 'billing'), 200, 'others are issued tokens')
  const listed = await c.app.inject({ method: 'GET', url: '/v1/revocations?active=true', headers: c.admin })
  t.same(
    listed.json().revocations.map((r: { id: string; value: string }) => [r.id, r.value]),
    [
      [d.before.id, subjectOf('payments')],
      [d.after.id, subjectOf('search')],
    ],
    'the database holds it again, with its id',
  )
  const stale = await c.app.inject({ method: 'GET', url: `/v1/revocations?since=${d.after.cursor}`, headers: c.admin })
  t.equal(stale.statusCode, 410, 'a poller resuming from a position of before the restore is told to resynchronise')
  t.same(
    (await d.audit(['revocation.reapply', 'restore.confirm'])).map((row) => [row.action, row.target_id, row.after.acknowledgedLoss]),
    [
      ['revocation.reapply', d.after.id, undefined],
      ['restore.confirm', d.after.cursor, false],
    ],
  )
  const set = await d.inspector.hgetall(revocationKeys(d.prefix).set)
  t.same(
    Object.keys(set)
      .filter((field) => !field.startsWith('~'))
      .sort(),
    [d.before.id, d.after.id].sort(),
    'Redis rebuilt from the database',
  )

  const again = await runCompiled(MIGRATE, d.configFile, ['--confirm-restore'])
  t.equal(again.code, 0)
  t.match(again.stdout, /is not behind the revocation state seen in Redis .*: nothing to confirm/, 'a second confirm has nothing to do')
})

t.test(
  'Redis lost what it knew (its revocation set is gone): confirming needs an acknowledgement, which the audit log records',
  async (t) => {
    const d = await restoredBehind(t)
    // The set, and its marker, lost (an eviction, a failover to an empty replica): the mark, a key of its own, is not.
    await d.inspector.del(revocationKeys(d.prefix).set)

    const refused = await runCompiled(SERVER, d.configFile)
    t.equal(refused.code, 3, 'still refused: the high-water mark outlived the set')
    t.equal(refused.stderr, `seed-sts: failed to start: ${refusal(d.before.cursor, d.after.cursor, d.recordedAt)}\n`)
    const workers = await runCompiled(SERVER, d.workersConfigFile)
    t.equal(workers.code, 3, 'with workers, the primary stops rather than fork refused workers for ever')
    t.match(workers.stdout, /a worker refused to start on a restored database; stopping/)

    const unacknowledged = await runCompiled(MIGRATE, d.configFile, ['--confirm-restore'])
    t.equal(unacknowledged.code, 3)
    t.equal(
      unacknowledged.stderr,
      `seed-sts migrate: Redis no longer vouches for every revocation up to position ${d.after.cursor} (its revocation set is complete up to ` +
        'nothing: it was lost), so revocations made after the backup may be gone for good. Re-apply them by hand once the service runs ' +
        '(the admin API, `sts revoke`), and run again with --acknowledge-lost-revocations to confirm the restore anyway; ' +
        'the acknowledgement is recorded in the audit log\n',
    )
    t.same(await d.audit(['restore.confirm']), [], 'nothing recorded')

    const acknowledged = await runCompiled(MIGRATE, d.configFile, ['--confirm-restore', '--acknowledge-lost-revocations'])
    t.equal(acknowledged.code, 0, acknowledged.stderr)
    t.match(acknowledged.stdout, /re-applied 0 revocation\(s\)/)
    t.match(acknowledged.stdout, /acknowledged: revocations Redis no longer held may be lost/)
    t.match(await d.audit(['restore.confirm']), [{ target_id: d.after.cursor, after: { acknowledgedLoss: true, reapplied: [] } }])

    const c = await d.start()
    t.equal(await d.exchange(c, 'payments'), 400, 'what the backup held is enforced')
    t.equal(await d.exchange(c, 'search'), 200, 'what was lost, and acknowledged as lost, is not: the operator re-applies it')
  },
)

t.test('a database that is not behind starts as usual, and its confirm step has nothing to do', async (t) => {
  const d = await deployment(t)
  const a = await d.start()
  await d.revoke(a, 'payments')
  await d.stop(a)
  const b = await d.start()
  t.equal(await d.exchange(b, 'payments'), 400)
  const confirm = await runCompiled(MIGRATE, d.configFile, ['--confirm-restore'])
  t.equal(confirm.code, 0)
  t.equal(
    confirm.stdout,
    'the database is up to date\nthe database is not behind the revocation state seen in Redis (its log is at position 1, Redis has seen 1): nothing to confirm\n',
  )
})
