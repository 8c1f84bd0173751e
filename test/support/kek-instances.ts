import { createLocalJWKSet, jwtVerify } from 'jose'
import type { Test } from 'tap'
import { KeyEncryptionKey } from '../../src/keys/key-encryption.js'
import { createTestCluster, type FakeCluster } from './cluster.js'
import { eventually } from './eventually.js'
import { freshPostgresDatabase, uniqueRedisPrefix } from './servers.js'
import { ISSUER, JWT_TOKEN_TYPE, KEY_ENCRYPTION_KEY, NOW, startTestService, TOKEN_EXCHANGE, type TestService } from './service.js'

/**
 * Instances of one deployment (one Postgres, one Redis, one attested cluster) started with the
 * key-encryption keys a KEK rotation gives them: what test/keys/kek-*.test.ts run.
 */

/** The KEK before the rotation (every test service's), and the one after. */
export const OLD_KEK = KEY_ENCRYPTION_KEY
export const NEW_KEK = Buffer.alloc(32, 8).toString('base64')
export const OLD_KEK_ID = new KeyEncryptionKey(Buffer.from(OLD_KEK, 'base64')).id
export const NEW_KEK_ID = new KeyEncryptionKey(Buffer.from(NEW_KEK, 'base64')).id

/** The activation wait of a next key on the test services' defaults (300 s JWKS max-age, 30 s staleness, 60 s skew), and a little more. */
export const ACTIVATION_MS = 400_000

export interface Deployment {
  databaseUrl: string
  cluster: FakeCluster
  instances: TestService[]
  /** Starts an instance with these `keys` settings, at the time the running ones are at. */
  start(keys: Record<string, unknown>): Promise<TestService>
  /** Moves every instance's clock on. */
  advance(ms: number): void
}

export async function deployment(t: Test): Promise<Deployment> {
  const shared = {
    databaseUrl: await freshPostgresDatabase(t),
    redisKeyPrefix: uniqueRedisPrefix(),
    cluster: await createTestCluster('prod', Math.floor(NOW / 1000)),
  }
  const instances: TestService[] = []
  return {
    databaseUrl: shared.databaseUrl,
    cluster: shared.cluster,
    instances,
    async start(keys) {
      const now = instances[0]?.clock.now() ?? NOW
      const sts = await startTestService(t, { ...shared, now, config: { keys } })
      instances.push(sts)
      return sts
    },
    advance(ms) {
      for (const sts of instances) sts.clock.advance(ms)
    },
  }
}

/** A token from `sts` for the grant `spiffe://example.org/k8s/prod/**` -> ledger-api (made once, seen by every instance through the feed). */
export async function tokenFrom(t: Test, sts: TestService): Promise<string> {
  const request = async () =>
    sts.exchange({
      grant_type: TOKEN_EXCHANGE,
      subject_token: await sts.cluster.serviceAccountToken({ issuedAt: Math.floor(sts.clock.now() / 1000) }),
      subject_token_type: JWT_TOKEN_TYPE,
    })
  const { statusCode, body } = await eventually(t, request, { until: (answer) => answer.statusCode === 200, what: 'a token' })
  if (statusCode !== 200) throw new Error(`no token: ${JSON.stringify(body)}`)
  return String(body.access_token)
}

/** Whether `token` verifies against `sts`'s JWKS (with jose, at its time) and its introspection answers active. */
export async function acceptedBy(sts: TestService, token: string): Promise<{ jwks: boolean; active: boolean }> {
  const jwks = (await sts.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })).json()
  const verified = await jwtVerify(token, createLocalJWKSet(jwks), { issuer: ISSUER, currentDate: new Date(sts.clock.now()) }).then(
    () => true,
    () => false,
  )
  const introspected = await sts.app.inject({
    method: 'POST',
    url: '/oauth2/introspect',
    headers: { ...sts.admin, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ token }).toString(),
  })
  return { jwks: verified, active: introspected.json().active === true }
}

/** GET /v1/keys as [kid, state, kekId] rows, oldest first. */
export async function keyRows(sts: TestService): Promise<[string, string, string | null][]> {
  const keys = (await sts.app.inject({ method: 'GET', url: '/v1/keys', headers: sts.admin })).json().keys as {
    kid: string
    state: string
    kekId: string | null
  }[]
  return keys.map((key) => [key.kid, key.state, key.kekId])
}

/** The key.reseal entries of the audit log, as [kid, actor, kekId before, kekId after]. */
export async function resealEntries(sts: TestService): Promise<[string, string, string, string][]> {
  const entries = (await sts.app.inject({ method: 'GET', url: '/v1/audit?targetType=signing-key&limit=500', headers: sts.admin })).json()
    .entries as { action: string; targetId: string; actor: string; before: { kekId: string }; after: { kekId: string } }[]
  return entries.filter((entry) => entry.action === 'key.reseal').map((e) => [e.targetId, e.actor, e.before.kekId, e.after.kekId])
}

/** The value of an unlabelled gauge in `sts`'s scrape. */
export async function gauge(sts: TestService, name: string): Promise<number | undefined> {
  const scrape = await sts.services.scrape!()
  const line = scrape.body.split('\n').find((candidate) => candidate.startsWith(`${name} `))
  return line === undefined ? undefined : Number(line.slice(name.length + 1))
}

/** A rotation started on `sts` (a second after the last change: keys made at one instant are listed by kid). */
export async function rotate(t: Test, sts: TestService, all: Deployment): Promise<void> {
  all.advance(1000)
  const rotated = await sts.app.inject({ method: 'POST', url: '/v1/keys/rotate', headers: sts.admin })
  t.equal(rotated.statusCode, 201, 'a next key is made')
}

/** The next key promoted by `sts`'s upkeep, once its wait is over. */
export async function promote(sts: TestService, all: Deployment): Promise<void> {
  all.advance(ACTIVATION_MS)
  await sts.services.keyService.maintain()
}
