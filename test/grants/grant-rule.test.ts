import t from 'tap'
import type { Grant } from '../../src/grants/grant.js'
import { GrantRule } from '../../src/grants/grant-rule.js'

/** Who may act for a grant's subjects (`mayAct`), as the hot path asks it of a rule. */

const TD = 'spiffe://example.org'
const NOW = new Date('2026-11-29T12:00:00Z')

function grant(id: string, mayAct: string[]): Grant {
  return {
    id,
    subject: `${TD}/k8s/prod/ns/payments/sa/*`,
    conditions: {},
    audiences: ['ledger-api'],
    scopes: ['ledger:read'],
    maxTtlSeconds: 600,
    owner: 'team-payments',
    description: '',
    expiresAt: new Date('2027-01-01T00:00:00Z'),
    enabled: true,
    requireDpop: false,
    mayAct,
    version: 1,
    createdAt: NOW,
    updatedAt: NOW,
  }
}

const permits = (mayAct: string[], actor: string) => GrantRule.of(grant('g', mayAct)).permitsActor(actor)

t.test('an exact SPIFFE ID permits that actor and no other', async (t) => {
  const gateway = `${TD}/k8s/prod/ns/edge/sa/gateway`
  t.equal(permits([gateway], gateway), true)
  t.equal(permits([gateway], `${gateway}-2`), false, 'a longer ID: the whole ID must match')
  t.equal(permits([gateway], `${TD}/k8s/prod/ns/edge/sa`), false, 'a shorter one')
  t.equal(permits([gateway], `${TD}/k8s/prod/ns/edge/sa/gateway/x`), false, 'one below it')
})

t.test('`*` matches within one path segment', async (t) => {
  const agents = [`${TD}/k8s/prod/ns/agents/sa/*`]
  t.equal(permits(agents, `${TD}/k8s/prod/ns/agents/sa/planner`), true)
  t.equal(permits(agents, `${TD}/k8s/prod/ns/agents/sa/planner/sub`), false, 'not across a /')
  t.equal(permits(agents, `${TD}/k8s/prod/ns/payments/sa/api`), false)
})

t.test('`**` matches across segments', async (t) => {
  const agents = [`${TD}/k8s/prod/ns/agents/**`]
  t.equal(permits(agents, `${TD}/k8s/prod/ns/agents/sa/planner`), true)
  t.equal(permits(agents, `${TD}/k8s/prod/ns/agents-2/sa/planner`), false)
})

t.test('any one of several globs permits; none matching refuses', async (t) => {
  const mayAct = [`${TD}/k8s/prod/ns/agents/sa/*`, `${TD}/github/acme/agent`]
  t.equal(permits(mayAct, `${TD}/github/acme/agent`), true, 'the second')
  t.equal(permits(mayAct, `${TD}/k8s/prod/ns/agents/sa/x`), true, 'the first')
  t.equal(permits(mayAct, `${TD}/github/acme/other`), false)
  t.equal(permits(mayAct, `spiffe://other.org/github/acme/agent`), false, 'another trust domain')
})

t.test('no mayAct: nobody may act, not even the subject itself', async (t) => {
  const rule = GrantRule.of(grant('g', []))
  t.same(rule.mayAct, [])
  t.equal(rule.permitsActor(`${TD}/k8s/prod/ns/payments/sa/api`), false)
  t.equal(rule.permitsActor(''), false)
  t.equal(rule.mayAct, GrantRule.of(grant('h', [])).mayAct, 'every such rule shares one empty list')
  t.ok(Object.isFrozen(rule.mayAct))
})

t.test('the same answer on every call (the globs compiled once, on first use)', async (t) => {
  const rule = GrantRule.of(grant('g', [`${TD}/k8s/prod/ns/agents/sa/*`]))
  const actor = `${TD}/k8s/prod/ns/agents/sa/planner`
  t.same([rule.permitsActor(actor), rule.permitsActor(`${actor}/x`), rule.permitsActor(actor)], [true, false, true])
})

t.test('the rule holds its own copy of mayAct', async (t) => {
  const mayAct = [`${TD}/k8s/prod/ns/agents/sa/*`]
  const rule = GrantRule.of(grant('g', mayAct))
  mayAct[0] = `${TD}/**`
  t.same(rule.mayAct, [`${TD}/k8s/prod/ns/agents/sa/*`])
  t.equal(rule.permitsActor(`${TD}/github/acme/x`), false)
})
