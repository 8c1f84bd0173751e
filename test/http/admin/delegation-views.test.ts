import t from 'tap'
import { ledgerEntry } from '../../support/ledger.js'
import { NOW, startTestService, TRUST_DOMAIN } from '../../support/service.js'

/**
 * Delegations as an admin sees them (issue 14): GET /v1/ledger shows a token's parent, ancestors and
 * actors and finds tokens by actor; GET /v1/identity shows who acted for an identity and whom it acted
 * for, the latter kept to a team's identities for a team's token.
 */

const NS = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns`
const PAY = `${NS}/pay/sa/api`
const SEARCH = `${NS}/search/sa/api`
const AGENT = `${NS}/agents/sa/summarizer`
const PARENT = '0190a1b2-0000-7000-8000-0000000000aa'
const MINUTE = 60_000

for (const backend of ['real', 'embedded'] as const) {
  t.test(`${backend}: delegations in the ledger and the inventory`, async (t) => {
    const sts = await startTestService(t, { backend, config: { limits: { adminRequestsPerMinute: 0 } } })
    const delegated = ledgerEntry(NOW - 2 * MINUTE, { subject: PAY, parentJti: PARENT, ancestorJtis: [PARENT], actors: [AGENT] })
    const forSearch = ledgerEntry(NOW - MINUTE, { subject: SEARCH, actors: [AGENT] })
    const ordinary = ledgerEntry(NOW, { subject: PAY })
    const own = ledgerEntry(NOW, { subject: AGENT })
    for (const entry of [delegated, forSearch, ordinary, own]) await sts.services.ledger.record(entry)
    await sts.services.inventoryRecorder.flush()
    const get = (url: string, authorization = sts.admin.authorization) => sts.app.inject({ method: 'GET', url, headers: { authorization } })

    const since = encodeURIComponent(new Date(NOW - 10 * MINUTE).toISOString())
    const byActor = await get(`/v1/ledger?actor=${encodeURIComponent(AGENT)}&since=${since}`)
    t.equal(byActor.statusCode, 200, byActor.body)
    const wire = (entry: typeof delegated) => ({
      jti: entry.jti,
      subject: entry.subject,
      attestor: 'prod',
      attestorKind: 'kubernetes',
      attestationFingerprint: entry.attestationFingerprint,
      sources: ['k8s:prod'],
      audience: 'ledger-api',
      scopes: [],
      grantIds: [],
      issuedAt: entry.issuedAt.toISOString(),
      expiresAt: entry.expiresAt.toISOString(),
      clientAddress: null,
      requestId: null,
      live: true,
    })
    t.same(byActor.json(), {
      entries: [
        { ...wire(forSearch), actors: [AGENT] },
        { ...wire(delegated), parentJti: PARENT, ancestorJtis: [PARENT], actors: [AGENT] },
      ],
    })

    const refused = await get('/v1/ledger?actor=summarizer')
    t.equal(refused.statusCode, 400)
    t.match(refused.json(), {
      status: 400,
      errors: [{ path: 'actor', message: 'must be a SPIFFE ID, e.g. spiffe://example.org/agents/summarizer' }],
    })

    const pay = await get(`/v1/identity?subject=${encodeURIComponent(PAY)}`)
    t.equal(pay.statusCode, 200, pay.body)
    const at = (entry: typeof delegated) => entry.issuedAt.toISOString()
    t.same(
      { delegations: pay.json().identity.delegations, actedFor: pay.json().identity.actedFor },
      { delegations: [{ actor: AGENT, tokens: 1, firstSeen: at(delegated), lastSeen: at(delegated) }], actedFor: [] },
    )
    const agent = await get(`/v1/identity?subject=${encodeURIComponent(AGENT)}`)
    t.same(agent.json().identity.actedFor, [
      { subject: SEARCH, tokens: 1, firstSeen: at(forSearch), lastSeen: at(forSearch) },
      { subject: PAY, tokens: 1, firstSeen: at(delegated), lastSeen: at(delegated) },
    ])

    // A team whose scope holds the agent and the pay service, not search: search is left out.
    const made = await sts.app.inject({
      method: 'POST',
      url: '/v1/admin-tokens',
      headers: { authorization: sts.admin.authorization },
      payload: {
        name: 'team-pay',
        roles: ['ledger:read'],
        scope: { owners: ['team-pay'], subjectPrefixes: [`${NS}/pay`, `${NS}/agents`] },
      },
    })
    t.equal(made.statusCode, 201, made.body)
    const team = `Bearer ${made.json().token}`
    const scoped = await get(`/v1/identity?subject=${encodeURIComponent(AGENT)}`, team)
    t.equal(scoped.statusCode, 200, scoped.body)
    t.same(scoped.json().identity.actedFor, [{ subject: PAY, tokens: 1, firstSeen: at(delegated), lastSeen: at(delegated) }])
  })
}
