import t from 'tap'
import type { AttestedIdentity } from '../../src/attestors/attestor.js'
import {
  InvalidGrantError,
  InvalidRequestError,
  InvalidScopeError,
  InvalidTargetError,
  type ErrorReason,
  type RefusalError,
} from '../../src/errors.js'
import type { Grant } from '../../src/grants/grant.js'
import { decide, type GrantDecision } from '../../src/grants/grant-matcher.js'
import { GrantRule } from '../../src/grants/grant-rule.js'

/**
 * The grant decision, table-driven: each row is a set of grants, an identity and a request, and the
 * whole decision (or the exact refusal) it must come to. Every branch of grant-matcher.ts is decided by
 * at least one row, so inverting any of them fails a row.
 */

const NOW = new Date('2026-11-29T12:00:00Z')
const TD = 'spiffe://example.org'
const API = `${TD}/k8s/prod/ns/payments/sa/api`

function grant(id: string, fields: Partial<Grant>): Grant {
  return {
    id,
    subject: `${TD}/k8s/prod/ns/payments/sa/*`,
    conditions: {},
    audiences: ['ledger-api'],
    scopes: ['ledger:read'],
    maxTtlSeconds: 3600,
    owner: 'payments',
    description: '',
    expiresAt: new Date('2027-01-01T00:00:00Z'),
    enabled: true,
    requireDpop: false,
    mayAct: [],
    version: 1,
    createdAt: new Date('2026-01-01T00:00:00Z'),
    updatedAt: new Date('2026-01-01T00:00:00Z'),
    ...fields,
  }
}

function identity(
  subject = API,
  claims: Record<string, string> = { namespace: 'payments', serviceAccount: 'api', podName: 'api-7d9f8b-x2x4q' },
): AttestedIdentity {
  return { subject, attestor: 'prod', kind: 'kubernetes', claims, sources: [{ id: 'k8s:prod' }] }
}

interface Row {
  name: string
  grants: Grant[]
  identity?: AttestedIdentity
  audience?: string
  scopes?: string[]
  expected: GrantDecision | { refused: new (message: string, reason: ErrorReason) => RefusalError; reason: ErrorReason; message: string }
}

const g = {
  read: grant('00000000-0000-4000-8000-000000000001', { scopes: ['ledger:read'], maxTtlSeconds: 900 }),
  write: grant('00000000-0000-4000-8000-000000000002', { scopes: ['ledger:write'], maxTtlSeconds: 600 }),
  readWide: grant('00000000-0000-4000-8000-000000000003', {
    subject: `${TD}/k8s/prod/**`,
    scopes: ['ledger:read', 'ledger:audit'],
    maxTtlSeconds: 1800,
  }),
  billing: grant('00000000-0000-4000-8000-000000000004', { audiences: ['billing-api'], scopes: ['billing:read'], maxTtlSeconds: 300 }),
  expired: grant('00000000-0000-4000-8000-000000000005', { scopes: ['ledger:admin'], expiresAt: NOW }),
  disabled: grant('00000000-0000-4000-8000-000000000006', { scopes: ['ledger:admin'], enabled: false }),
  otherService: grant('00000000-0000-4000-8000-000000000007', {
    subject: `${TD}/k8s/prod/ns/payments/sa/worker`,
    scopes: ['ledger:admin'],
  }),
  onPod: grant('00000000-0000-4000-8000-000000000008', { conditions: { podName: 'api-*' }, scopes: ['ledger:pods'], maxTtlSeconds: 120 }),
  onMissingClaim: grant('00000000-0000-4000-8000-000000000009', { conditions: { nodeName: '*' }, scopes: ['ledger:nodes'] }),
  onEitherNamespace: grant('00000000-0000-4000-8000-00000000000a', {
    conditions: { namespace: ['billing', 'pay*'] },
    scopes: ['ledger:ns'],
  }),
  onBothClaims: grant('00000000-0000-4000-8000-00000000000b', {
    conditions: { namespace: 'payments', serviceAccount: 'worker' },
    scopes: ['ledger:both'],
  }),
  onNoGlob: grant('00000000-0000-4000-8000-00000000000e', { conditions: { namespace: [] }, scopes: ['ledger:none'] }),
  onBuiltin: grant('00000000-0000-4000-8000-00000000000c', { conditions: { toString: '**' }, scopes: ['ledger:builtin'] }),
  onConstructor: grant('00000000-0000-4000-8000-00000000000d', { conditions: { constructor: '*' }, scopes: ['ledger:builtin'] }),
}
const noGrant = { refused: InvalidGrantError, reason: 'not_granted' as const, message: `no grant allows ${API} to get a token` }

const rows: Row[] = [
  {
    name: 'one grant, nothing asked: its audience and every scope',
    grants: [g.read],
    expected: { audience: 'ledger-api', scopes: ['ledger:read'], grantIds: [g.read.id], maxTtlSeconds: 900, requireDpop: false },
  },
  {
    name: 'two grants for the audience, no scope asked: the union, the least lifetime of both',
    grants: [g.read, g.write],
    audience: 'ledger-api',
    expected: {
      audience: 'ledger-api',
      scopes: ['ledger:read', 'ledger:write'],
      grantIds: [g.read.id, g.write.id],
      maxTtlSeconds: 600,
      requireDpop: false,
    },
  },
  {
    name: 'a scope from one grant: only that grant contributes, and only its lifetime counts',
    grants: [g.read, g.write],
    scopes: ['ledger:read'],
    expected: { audience: 'ledger-api', scopes: ['ledger:read'], grantIds: [g.read.id], maxTtlSeconds: 900, requireDpop: false },
  },
  {
    name: 'scopes from two grants: both contribute, the least lifetime wins',
    grants: [g.read, g.write, g.readWide],
    scopes: ['ledger:write', 'ledger:audit'],
    expected: {
      audience: 'ledger-api',
      scopes: ['ledger:write', 'ledger:audit'],
      grantIds: [g.write.id, g.readWide.id],
      maxTtlSeconds: 600,
      requireDpop: false,
    },
  },
  {
    name: 'overlapping subjects giving the same scope: both contribute',
    grants: [g.read, g.readWide],
    scopes: ['ledger:read'],
    expected: {
      audience: 'ledger-api',
      scopes: ['ledger:read'],
      grantIds: [g.read.id, g.readWide.id],
      maxTtlSeconds: 900,
      requireDpop: false,
    },
  },
  {
    name: 'a grant for another audience neither widens nor shortens this one',
    grants: [g.read, g.billing],
    audience: 'ledger-api',
    expected: { audience: 'ledger-api', scopes: ['ledger:read'], grantIds: [g.read.id], maxTtlSeconds: 900, requireDpop: false },
  },
  {
    name: 'two audiences granted and none named: the audience is required',
    grants: [g.read, g.billing],
    expected: {
      refused: InvalidRequestError,
      reason: 'audience_required',
      message: `the audience parameter is required: ${API} is granted 2 audiences`,
    },
  },
  { name: 'no grants at all', grants: [], expected: noGrant },
  { name: 'an expired grant gives nothing', grants: [g.expired], expected: noGrant },
  { name: 'a disabled grant gives nothing', grants: [g.disabled], expected: noGrant },
  { name: 'a grant for another service gives nothing', grants: [g.otherService], expected: noGrant },
  {
    name: 'expired, disabled and other-service grants add no scope beside a live grant',
    grants: [g.read, g.expired, g.disabled, g.otherService],
    expected: { audience: 'ledger-api', scopes: ['ledger:read'], grantIds: [g.read.id], maxTtlSeconds: 900, requireDpop: false },
  },
  {
    name: 'asking for the scope of an expired grant is refused, not narrowed',
    grants: [g.read, g.expired],
    scopes: ['ledger:read', 'ledger:admin'],
    expected: {
      refused: InvalidScopeError,
      reason: 'scope_not_granted',
      message: `scope "ledger:admin" is not granted to ${API} for audience "ledger-api"`,
    },
  },
  {
    name: 'an audience not granted',
    grants: [g.read],
    audience: 'billing-api',
    expected: { refused: InvalidTargetError, reason: 'audience_not_granted', message: `audience "billing-api" is not granted to ${API}` },
  },
  {
    name: 'a condition that holds',
    grants: [g.onPod],
    expected: { audience: 'ledger-api', scopes: ['ledger:pods'], grantIds: [g.onPod.id], maxTtlSeconds: 120, requireDpop: false },
  },
  {
    name: 'a condition that does not hold',
    grants: [g.onPod],
    identity: identity(API, { namespace: 'payments', serviceAccount: 'api', podName: 'worker-1' }),
    expected: noGrant,
  },
  { name: 'a condition on a claim the attestation does not carry never holds', grants: [g.onMissingClaim], expected: noGrant },
  {
    name: 'a condition with several globs holds when any one does',
    grants: [g.onEitherNamespace],
    expected: {
      audience: 'ledger-api',
      scopes: ['ledger:ns'],
      grantIds: [g.onEitherNamespace.id],
      maxTtlSeconds: 3600,
      requireDpop: false,
    },
  },
  { name: 'several conditions must all hold', grants: [g.onBothClaims], expected: noGrant },
  {
    name: 'several conditions that all hold',
    grants: [g.onBothClaims],
    identity: identity(`${TD}/k8s/prod/ns/payments/sa/worker`, { namespace: 'payments', serviceAccount: 'worker' }),
    expected: { audience: 'ledger-api', scopes: ['ledger:both'], grantIds: [g.onBothClaims.id], maxTtlSeconds: 3600, requireDpop: false },
  },
  { name: 'a condition whose list of globs is empty (written by hand in the table) never holds', grants: [g.onNoGlob], expected: noGrant },
  { name: 'a condition named after a built-in (toString) reads no built-in', grants: [g.onBuiltin], expected: noGrant },
  { name: 'a condition named constructor reads no built-in', grants: [g.onConstructor], expected: noGrant },
  {
    name: 'grant ids are recorded sorted, whatever order the grants come in',
    grants: [g.readWide, g.read],
    expected: {
      audience: 'ledger-api',
      scopes: ['ledger:read', 'ledger:audit'],
      grantIds: [g.read.id, g.readWide.id],
      maxTtlSeconds: 900,
      requireDpop: false,
    },
  },
  {
    name: 'a grant that requires DPoP makes the token bound when it contributes',
    grants: [g.read, { ...g.write, requireDpop: true }],
    expected: {
      audience: 'ledger-api',
      scopes: ['ledger:read', 'ledger:write'],
      grantIds: [g.read.id, g.write.id],
      maxTtlSeconds: 600,
      requireDpop: true,
    },
  },
  {
    name: 'a grant that requires DPoP but gives nothing asked for does not',
    grants: [g.read, { ...g.write, requireDpop: true }],
    scopes: ['ledger:read'],
    expected: { audience: 'ledger-api', scopes: ['ledger:read'], grantIds: [g.read.id], maxTtlSeconds: 900, requireDpop: false },
  },
]

for (const row of rows) {
  t.test(row.name, async (t) => {
    const run = () => decide(row.identity ?? identity(), row.grants.map(GrantRule.of), NOW, row.audience, row.scopes ?? [])
    if ('refused' in row.expected) {
      const { refused, reason, message } = row.expected
      let caught: unknown
      try {
        run()
      } catch (error) {
        caught = error
      }
      t.ok(caught instanceof refused, `refused with ${refused.name}`)
      t.equal((caught as RefusalError | undefined)?.reason, reason)
      // The description names what was refused (clipped): it is what an operator reads in the log.
      t.equal((caught as Error | undefined)?.message, message)
    } else {
      t.same(run(), row.expected)
    }
  })
}

t.test('a grant that expires exactly now no longer applies; one that expires a millisecond later still does', async (t) => {
  const lastMoment = grant('00000000-0000-4000-8000-0000000000ff', { expiresAt: new Date(NOW.getTime() + 1) })
  t.same(decide(identity(), [GrantRule.of(lastMoment)], NOW, undefined, []).grantIds, [lastMoment.id])
  t.throws(() => decide(identity(), [GrantRule.of(lastMoment)], new Date(NOW.getTime() + 1), undefined, []), InvalidGrantError)
})

t.test('the scopes of a token are listed in the order the grants were created, whatever order they come in', async (t) => {
  const at = (iso: string) => new Date(iso)
  // Created in this order; the last two at the same moment, so their ids decide.
  const first = grant('00000000-0000-4000-8000-0000000000f3', { scopes: ['c', 'shared'], createdAt: at('2026-01-01T00:00:00Z') })
  const second = grant('00000000-0000-4000-8000-0000000000f1', { scopes: ['a'], createdAt: at('2026-02-01T00:00:00Z') })
  const third = grant('00000000-0000-4000-8000-0000000000f2', { scopes: ['shared', 'b'], createdAt: at('2026-02-01T00:00:00Z') })
  const notApplying = grant('00000000-0000-4000-8000-0000000000f0', {
    scopes: ['z'],
    enabled: false,
    createdAt: at('2025-01-01T00:00:00Z'),
  })
  const expected = {
    audience: 'ledger-api',
    scopes: ['c', 'shared', 'a', 'b'],
    grantIds: [second.id, third.id, first.id],
    maxTtlSeconds: 3600,
    requireDpop: false,
  }
  for (const order of [
    [first, second, third, notApplying],
    [third, notApplying, second, first],
    [second, third, first, notApplying],
  ]) {
    t.same(decide(identity(), order.map(GrantRule.of), NOW, undefined, []), expected, order.map((g) => g.id.slice(-2)).join(' '))
  }
})
