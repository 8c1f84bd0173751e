import t from 'tap'
import type { Grant } from '../../src/grants/grant.js'
import type { SubjectAccessUse } from '../../src/reports/grant-usage.js'
import { MAX_SPLIT_SUBJECTS, tightening, usageOf } from '../../src/reports/least-privilege.js'

/** Attribution and the choice of change, on fixed rows and a frozen clock. */
const NOW = Date.UTC(2030, 5, 15, 12)
const DAY = 86_400_000
const SINCE = new Date(NOW - 30 * DAY)
const NS = 'spiffe://example.org/k8s/prod/ns'

const grant: Grant = {
  id: '0190a1b2-0000-7000-8000-00000000000a',
  subject: `${NS}/payments/sa/*`,
  conditions: { cluster: 'prod' },
  audiences: ['ledger-api', 'billing'],
  scopes: ['ledger:read', 'ledger:write'],
  maxTtlSeconds: 600,
  owner: 'team-payments',
  description: '',
  expiresAt: new Date(NOW + 60 * DAY),
  enabled: true,
  requireDpop: false,
  mayAct: [],
  version: 4,
  createdAt: new Date(NOW - 90 * DAY),
  updatedAt: new Date(NOW - 90 * DAY),
}
const recent = new Date(NOW - DAY)

t.test('a scope another grant of the same token gave, or an audience it does not hold, is not its use', async (t) => {
  const usage = usageOf(
    grant,
    [
      { grantId: grant.id, audience: 'ledger-api', lastUsed: recent },
      { grantId: grant.id, audience: 'ledger-api', scope: 'ledger:read', lastUsed: recent },
      { grantId: grant.id, audience: 'ledger-api', scope: 'queue:consume', lastUsed: recent },
      { grantId: grant.id, audience: 'queue', lastUsed: recent },
      { grantId: grant.id, audience: 'billing', lastUsed: new Date(NOW - 31 * DAY) },
    ],
    SINCE,
    3,
  )
  t.same(usage, {
    grant,
    lastUsed: recent,
    audiences: [
      { audience: 'ledger-api', lastUsed: recent },
      { audience: 'billing', lastUsed: new Date(NOW - 31 * DAY) },
    ],
    scopes: [
      { scope: 'ledger:read', lastUsed: recent },
      { scope: 'ledger:write', lastUsed: undefined },
    ],
    unusedAudiences: ['billing'],
    unusedScopes: ['ledger:write'],
    identities: 3,
  })
  const literal = { ...grant, subject: `${NS}/payments/sa/api` }
  t.same(tightening({ ...usage, grant: literal }, SINCE, undefined), {
    grantId: grant.id,
    owner: 'team-payments',
    subject: literal.subject,
    kind: 'unused-access',
    unusedAudiences: ['billing'],
    unusedScopes: ['ledger:write'],
    changes: [
      {
        method: 'PUT',
        path: `/v1/grants/${grant.id}`,
        ifMatch: '"4"',
        body: {
          subject: literal.subject,
          conditions: { cluster: 'prod' },
          audiences: ['ledger-api'],
          scopes: ['ledger:read'],
          maxTtlSeconds: 600,
          owner: 'team-payments',
          description: '',
          expiresAt: grant.expiresAt.toISOString(),
          enabled: true,
          requireDpop: false,
          mayAct: [],
        },
      },
    ],
  })
  t.equal(
    tightening({ ...usage, unusedAudiences: [], unusedScopes: [], grant: literal }, SINCE, undefined),
    undefined,
    'all used: nothing to change',
  )
})

t.test('a glob is split while it served few enough identities; past that, it is narrowed', async (t) => {
  const usage = usageOf(grant, [{ grantId: grant.id, audience: 'ledger-api', lastUsed: recent }], SINCE, 1)
  const rows = (n: number): SubjectAccessUse[] =>
    Array.from({ length: n }, (_, i) => ({
      grantId: grant.id,
      subject: `${NS}/payments/sa/s${String(i).padStart(2, '0')}`,
      audience: 'ledger-api',
    }))
  const few = tightening(usage, SINCE, rows(MAX_SPLIT_SUBJECTS))
  t.equal(few?.kind, 'split-grant')
  t.same(
    few !== undefined && 'changes' in few ? few.changes.map((c) => c.method) : [],
    [...Array.from({ length: MAX_SPLIT_SUBJECTS }, () => 'POST'), 'DELETE'],
    'the new grants before the glob goes',
  )
  t.equal(tightening(usage, SINCE, rows(MAX_SPLIT_SUBJECTS + 1))?.kind, 'unused-access')
  t.equal(tightening(usage, SINCE, undefined)?.kind, 'unused-access', 'too many for the reader to list')
})

t.test('unused in the window: disabled once older than it, left alone before', async (t) => {
  const unused = usageOf(grant, [{ grantId: grant.id, audience: 'ledger-api', lastUsed: new Date(NOW - 40 * DAY) }], SINCE, 0)
  t.same(tightening(unused, SINCE, []), {
    grantId: grant.id,
    owner: 'team-payments',
    subject: grant.subject,
    kind: 'unused-grant',
    lastUsed: new Date(NOW - 40 * DAY),
    changes: [{ method: 'DELETE', path: `/v1/grants/${grant.id}` }],
  })
  const young = { ...grant, createdAt: new Date(NOW - 29 * DAY) }
  t.equal(tightening(usageOf(young, [], SINCE, 0), SINCE, []), undefined)
  t.equal(
    tightening(usageOf({ ...grant, createdAt: SINCE }, [], SINCE, 0), SINCE, []),
    undefined,
    'exactly as old as the window: still new',
  )
})
