import t from 'tap'
import { decodeProtectedHeader } from 'jose'
import { JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN, type TestService } from '../support/service.js'

/**
 * A key's whole life through the admin API and the key upkeep, with the service's clock frozen and
 * moved by hand, on PGlite and on Postgres: published as next, signing only once due, retired,
 * unpublished once its tokens have expired.
 */

const WAIT_MS = (300 + 30 + 60) * 1000 // JWKS max-age + keys.maxStalenessMs + clockSkewSeconds (the defaults)
const MAX_TTL_MS = 3600 * 1000

async function kidOfNewToken(sts: TestService): Promise<string> {
  const { statusCode, body } = await sts.exchange({
    grant_type: TOKEN_EXCHANGE,
    subject_token: await sts.cluster.serviceAccountToken({ issuedAt: Math.floor(sts.clock.now() / 1000) }),
    subject_token_type: JWT_TOKEN_TYPE,
  })
  if (statusCode !== 200) throw new Error(`no token: ${JSON.stringify(body)}`)
  return String(decodeProtectedHeader(String(body.access_token)).kid)
}

async function jwksKids(sts: TestService): Promise<string[]> {
  const response = await sts.app.inject({ method: 'GET', url: '/.well-known/jwks.json' })
  return (response.json() as { keys: { kid: string }[] }).keys.map((key) => key.kid).sort()
}

async function states(sts: TestService): Promise<Record<string, string>> {
  const response = await sts.app.inject({ method: 'GET', url: '/v1/keys', headers: sts.admin })
  return Object.fromEntries((response.json() as { keys: { kid: string; state: string }[] }).keys.map((key) => [key.kid, key.state]))
}

for (const backend of ['embedded', 'real'] as const) {
  t.test(`${backend}: rotate, wait, sign with the new key, retire and unpublish the old one`, async (t) => {
    const sts = await startTestService(t, { backend })
    await sts.createGrant({ subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`, audiences: ['ledger-api'], owner: 'team-payments' })
    const first = await kidOfNewToken(sts)
    t.same(await states(sts), { [first]: 'current' }, 'the first key is made current at the first start')

    const rotated = await sts.app.inject({ method: 'POST', url: '/v1/keys/rotate', headers: sts.admin })
    t.equal(rotated.statusCode, 201)
    const next = rotated.json().key
    t.match(next, { state: 'next', published: true, activatesAt: new Date(sts.clock.now() + WAIT_MS).toISOString(), activatedAt: null })
    const again = await sts.app.inject({ method: 'POST', url: '/v1/keys/rotate', headers: sts.admin })
    t.same([again.statusCode, again.json().key.kid, again.json().alreadyPending], [200, next.kid, true], 'one next key at a time')
    t.same(await jwksKids(sts), [first, next.kid].sort(), 'published at once')

    sts.clock.advance(WAIT_MS - 1)
    t.same(await sts.services.keyService.maintain(), [], 'a millisecond before it is due, nothing happens')
    t.equal(await kidOfNewToken(sts), first, 'and the old key still signs')

    sts.clock.advance(1)
    t.same(await sts.services.keyService.maintain(), [{ action: 'activate', kid: next.kid, retire: first }])
    t.equal(await kidOfNewToken(sts), next.kid, 'the new key signs')
    t.same(await states(sts), { [first]: 'retired', [next.kid]: 'current' })
    t.same(await jwksKids(sts), [first, next.kid].sort(), 'the retired key is still published')
    const retiredAt = sts.clock.now()

    sts.clock.set(retiredAt + MAX_TTL_MS + 90_000 - 1)
    t.same(await sts.services.keyService.maintain(), [], 'kept while a token it signed may be live')
    sts.clock.advance(1)
    t.same(await sts.services.keyService.maintain(), [{ action: 'remove', kid: first }])
    t.same(await jwksKids(sts), [next.kid], 'unpublished')
    t.same(await states(sts), { [first]: 'removed', [next.kid]: 'current' })

    const audit = await sts.app.inject({ method: 'GET', url: '/v1/audit?targetType=signing-key&limit=50', headers: sts.admin })
    t.same(
      (audit.json().entries as { action: string; targetId: string; actor: string }[]).map((e) => [e.action, e.targetId, e.actor]),
      [
        ['key.create', first, 'seed-sts'],
        ['key.create', next.kid, 'bootstrap'],
        ['key.retire', first, 'seed-sts'],
        ['key.activate', next.kid, 'seed-sts'],
        ['key.remove', first, 'seed-sts'],
      ],
      'every step is on the audit log, by whom',
    )
    if (backend === 'real') {
      const rows = await sts.services.database.query<{ kid: string; private_key: unknown }>(
        'SELECT kid, private_key FROM signing_keys ORDER BY kid',
      )
      t.same(rows.find((row) => row.kid === first)?.private_key, null, 'a removed key has no private key left')
    }
  })
}
