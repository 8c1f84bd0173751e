import t from 'tap'
import { JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN, type TestService } from '../../support/service.js'

/**
 * The inventory through the admin API, after real exchanges: GET /v1/identities?subject=&attestor=&source=&
 * lastSeenBefore=&lastSeenAfter=&cursor=&limit= -> {identities, nextCursor?}, GET /v1/identity?subject= -> {identity}.
 */

const PAYMENTS = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa`
const POD_API = { name: 'api-7d9f8b-x2x4q', uid: '9a8b7c6d-0000-4000-8000-000000000002' }
const POD_WORKER = { name: 'worker-5c6d7e-q8w9e', uid: '9a8b7c6d-0000-4000-8000-000000000003' }
const NODE_B = { name: 'node-b', uid: '1b2c3d4e-0000-4000-8000-000000000004' }

async function issue(sts: TestService, serviceAccount: 'api' | 'worker', params: Record<string, string>): Promise<void> {
  const attestation = await sts.cluster.serviceAccountToken(
    serviceAccount === 'api' ? { pod: POD_API } : { serviceAccount, pod: POD_WORKER, node: NODE_B },
  )
  const answer = await sts.exchange({
    grant_type: TOKEN_EXCHANGE,
    subject_token: attestation,
    subject_token_type: JWT_TOKEN_TYPE,
    ...params,
  })
  if (answer.statusCode !== 200) throw new Error(`no token: ${answer.statusCode} ${JSON.stringify(answer.body)}`)
}

for (const backend of ['real', 'embedded'] as const) {
  t.test(`the inventory after real exchanges (${backend})`, async (t) => {
    const sts = await startTestService(t, { backend })
    const start = sts.clock.now()
    const iso = (ms: number) => new Date(start + ms).toISOString()
    const payments = await sts.createGrant({
      subject: `${PAYMENTS}/*`,
      audiences: ['ledger-api'],
      scopes: ['ledger:read', 'ledger:write'],
      owner: 'team-payments',
    })
    const queue = await sts.createGrant({
      subject: `${PAYMENTS}/worker`,
      audiences: ['queue'],
      scopes: ['queue:consume'],
      owner: 'team-payments',
    })

    await issue(sts, 'api', { audience: 'ledger-api', scope: 'ledger:read' })
    sts.clock.advance(1000)
    await issue(sts, 'worker', { audience: 'ledger-api' })
    sts.clock.advance(1000)
    await issue(sts, 'worker', { audience: 'queue' })
    sts.clock.advance(1000)
    await issue(sts, 'api', { audience: 'ledger-api', scope: 'ledger:read' })
    // Written behind the ledger: now rather than at the next interval.
    await sts.services.inventoryRecorder.flush()

    const get = async (url: string, headers = sts.admin) => sts.app.inject({ method: 'GET', url, headers })
    const list = async (query: string) => {
      const response = await get(`/v1/identities${query}`)
      t.equal(response.statusCode, 200, query)
      return response.json<{ identities: { subject: string }[]; nextCursor?: string }>()
    }

    const api = {
      subject: `${PAYMENTS}/api`,
      attestor: 'prod',
      attestorKind: 'kubernetes',
      sources: ['k8s:prod', 'k8s:prod:node:node-a', `k8s:prod:pod:${POD_API.uid}`],
      firstSeen: iso(0),
      lastSeen: iso(3000),
      audiences: [
        {
          audience: 'ledger-api',
          firstUsed: iso(0),
          lastUsed: iso(3000),
          scopes: [{ scope: 'ledger:read', firstUsed: iso(0), lastUsed: iso(3000) }],
        },
      ],
      grants: [
        {
          grantId: payments.id,
          firstUsed: iso(0),
          lastUsed: iso(3000),
          audiences: [
            {
              audience: 'ledger-api',
              firstUsed: iso(0),
              lastUsed: iso(3000),
              scopes: [{ scope: 'ledger:read', firstUsed: iso(0), lastUsed: iso(3000) }],
            },
          ],
        },
      ],
    }
    const ledgerUse = {
      audience: 'ledger-api',
      firstUsed: iso(1000),
      lastUsed: iso(1000),
      scopes: ['ledger:read', 'ledger:write'].map((scope) => ({ scope, firstUsed: iso(1000), lastUsed: iso(1000) })),
    }
    const queueUse = {
      audience: 'queue',
      firstUsed: iso(2000),
      lastUsed: iso(2000),
      scopes: [{ scope: 'queue:consume', firstUsed: iso(2000), lastUsed: iso(2000) }],
    }
    const worker = {
      subject: `${PAYMENTS}/worker`,
      attestor: 'prod',
      attestorKind: 'kubernetes',
      sources: ['k8s:prod', 'k8s:prod:node:node-b', `k8s:prod:pod:${POD_WORKER.uid}`],
      firstSeen: iso(1000),
      lastSeen: iso(2000),
      audiences: [ledgerUse, queueUse],
      grants: [
        { grantId: payments.id, firstUsed: iso(1000), lastUsed: iso(1000), audiences: [ledgerUse] },
        { grantId: queue.id, firstUsed: iso(2000), lastUsed: iso(2000), audiences: [queueUse] },
      ].sort((a, b) => (String(a.grantId) < String(b.grantId) ? -1 : 1)),
    }

    t.same(await list(''), { identities: [api, worker] }, 'every identity, whole')
    t.same(await list(`?subject=${encodeURIComponent(`${PAYMENTS}/w*`)}`), { identities: [worker] })
    t.same(await list('?source=k8s:prod:node:node-b'), { identities: [worker] })
    t.same(await list('?attestor=prod&limit=1'), { identities: [api], nextCursor: (await list('?limit=1')).nextCursor })
    const firstPage = await list('?limit=1')
    t.same(await list(`?limit=1&cursor=${firstPage.nextCursor}`), { identities: [worker] })
    t.same(await list('?attestor=other'), { identities: [] })
    t.same(await list(`?lastSeenBefore=${encodeURIComponent(iso(3000))}`), { identities: [worker] })
    t.same(await list(`?lastSeenAfter=${encodeURIComponent(iso(3000))}`), { identities: [api] })

    const one = await get(`/v1/identity?subject=${encodeURIComponent(`${PAYMENTS}/worker`)}`)
    t.equal(one.statusCode, 200)
    t.same(one.json(), { identity: { ...worker, dailyTokens: [{ day: '2026-11-23', tokens: 2 }], delegations: [], actedFor: [] } })

    const missing = await get(`/v1/identity?subject=${encodeURIComponent(`${PAYMENTS}/nobody`)}`)
    t.equal(missing.statusCode, 404)
    t.same(missing.json(), {
      type: 'about:blank',
      title: 'Not found',
      status: 404,
      detail: `no token was issued to ${PAYMENTS}/nobody`,
      instance: '/v1/identity',
      reason: 'identity_not_found',
    })

    const bad = async (url: string) => {
      const response = await get(url)
      t.equal(response.statusCode, 400, url)
      t.equal(response.headers['content-type'], 'application/problem+json; charset=utf-8')
      return response.json<{ reason: string; errors: { path: string }[] }>()
    }
    t.same((await bad('/v1/identities?subject=payments&lastSeenBefore=yesterday&limit=0&colour=blue')).errors.map((e) => e.path).sort(), [
      '(query)',
      'lastSeenBefore',
      'limit',
      'subject',
    ])
    t.equal((await bad('/v1/identities?cursor=nonsense')).reason, 'input_invalid')
    t.same((await bad(`/v1/identity?subject=${encodeURIComponent(`${PAYMENTS}/*x`)}&x=1`)).errors.map((e) => e.path).sort(), ['(query)'])
    t.same(
      (await bad('/v1/identity')).errors.map((e) => e.path),
      ['subject'],
    )
  })
}
