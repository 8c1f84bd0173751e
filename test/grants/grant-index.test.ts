import t from 'tap'
import type { AttestedIdentity } from '../../src/attestors/attestor.js'
import type { Grant } from '../../src/grants/grant.js'
import { GrantIndex } from '../../src/grants/grant-index.js'
import { decide, type GrantDecision } from '../../src/grants/grant-matcher.js'
import { GrantRule, inCreationOrder } from '../../src/grants/grant-rule.js'
import { globMatches } from '../../src/lib/glob.js'
import { random, randomPath } from '../support/random-paths.js'

/**
 * The index against the full scan it replaces, kept here as the oracle: for thousands of random grants
 * and identities, the grants whose subject matches are exactly the same, and so is every grant
 * decision (or refusal). Candidates come in no particular order: the decision puts those that apply
 * in creation order (grant-matcher.test.ts).
 */

const NOW = new Date('2026-11-29T12:00:00Z')

function grant(id: number, subject: string, audiences: string[], scopes: string[]): GrantRule {
  return GrantRule.of(draftGrant(id, subject, audiences, scopes))
}

function draftGrant(id: number, subject: string, audiences: string[], scopes: string[]): Grant {
  return {
    // Padded, so the order they are made in is creation order (createdAt, then id).
    id: `g-${String(id).padStart(5, '0')}`,
    subject,
    conditions: {},
    audiences,
    scopes,
    maxTtlSeconds: 3600,
    owner: 'team',
    description: '',
    expiresAt: new Date('2027-01-01T00:00:00Z'),
    enabled: true,
    requireDpop: false,
    mayAct: [],
    version: 1,
    createdAt: NOW,
    updatedAt: NOW,
  }
}

function identity(subject: string): AttestedIdentity {
  return { subject, attestor: 'prod', kind: 'kubernetes', claims: {}, sources: [{ id: 'k8s:prod' }] }
}

function outcome(run: () => GrantDecision): GrantDecision | string {
  try {
    return run()
  } catch (error) {
    return `${(error as Error).name}: ${(error as Error).message}`
  }
}

/** The grants in creation order, by id: what sets of candidates are compared as. */
const idsOf = (grants: readonly GrantRule[]) => [...grants].sort(inCreationOrder).map((g) => g.id)

t.test('the index finds exactly the grants a full scan matches, each once', async (t) => {
  for (const seed of [1, 2, 3, 4, 5]) {
    const next = random(seed)
    const grants = Array.from({ length: 2000 }, (_, i) => grant(i, randomPath(next, true), ['api'], ['read']))
    const index = new GrantIndex(grants)
    let mismatches = 0
    let matched = 0
    for (let i = 0; i < 2000; i++) {
      const subject = randomPath(next, false)
      const expected = grants.filter((g) => globMatches(g.subject, subject))
      const candidates = index.candidates(subject)
      const found = candidates.filter((g) => globMatches(g.subject, subject)).sort(inCreationOrder)
      matched += expected.length
      if (found.length !== expected.length || found.some((g, k) => g !== expected[k])) {
        mismatches++
        if (mismatches <= 3)
          t.same(
            found.map((g) => g.subject),
            expected.map((g) => g.subject),
            `seed ${seed}: ${subject}`,
          )
      }
      if (new Set(candidates).size !== candidates.length) t.fail(`seed ${seed}: a grant is a candidate twice for ${subject}`)
    }
    t.equal(mismatches, 0, `seed ${seed}: 2000 identities against 2000 grants, no difference (${matched} matches)`)
    t.ok(matched > 200, `seed ${seed}: the random cases match often enough to prove something`)
  }
})

t.test('a decision made from the candidates is the decision made from every grant', async (t) => {
  const next = random(42)
  const audiences = ['api', 'ledger', 'db']
  const scopes = ['read', 'write', 'admin']
  const grants = Array.from({ length: 1500 }, (_, i) =>
    grant(
      i,
      randomPath(next, true),
      audiences.filter(() => next() < 0.5),
      scopes.filter(() => next() < 0.5),
    ),
  )
  const index = new GrantIndex(grants)
  let differences = 0
  let granted = 0
  for (let i = 0; i < 3000; i++) {
    const who = identity(randomPath(next, false))
    const audience = next() < 0.2 ? undefined : audiences[Math.floor(next() * audiences.length)]
    const requested = scopes.filter(() => next() < 0.3)
    const full = outcome(() => decide(who, grants, NOW, audience, requested))
    // The candidates reversed too: the decision must not depend on the order they come in.
    const fromIndex = outcome(() => decide(who, index.candidates(who.subject), NOW, audience, requested))
    const reversed = outcome(() => decide(who, index.candidates(who.subject).reverse(), NOW, audience, requested))
    if (typeof full !== 'string') granted++
    if (JSON.stringify(full) !== JSON.stringify(fromIndex) || JSON.stringify(full) !== JSON.stringify(reversed)) {
      differences++
      if (differences <= 3) t.same([fromIndex, reversed], [full, full], `${who.subject} ${audience} ${requested.join(' ')}`)
    }
  }
  t.equal(differences, 0, '3000 requests decided alike')
  t.ok(granted > 100, `enough requests are granted to prove something (${granted})`)
})

t.test('an exchange looks only at the grants that can concern its identity', async (t) => {
  // A grant per service, as a platform team writes them: 10,000 services in 10 namespaces.
  const grants: GrantRule[] = []
  for (let ns = 0; ns < 10; ns++) {
    for (let sa = 0; sa < 1000; sa++)
      grants.push(grant(grants.length, `spiffe://example.org/k8s/prod/ns/ns${ns}/sa/svc${sa}`, ['api'], ['read']))
    grants.push(grant(grants.length, `spiffe://example.org/k8s/prod/ns/ns${ns}/sa/*`, ['metrics'], ['write']))
  }
  grants.push(grant(grants.length, 'spiffe://example.org/k8s/*/ns/*/sa/*', ['health'], ['read']))
  const index = new GrantIndex(grants)
  t.same(
    index
      .candidates('spiffe://example.org/k8s/prod/ns/ns3/sa/svc7')
      .sort(inCreationOrder)
      .map((g) => g.subject),
    ['spiffe://example.org/k8s/prod/ns/ns3/sa/svc7', 'spiffe://example.org/k8s/prod/ns/ns3/sa/*', 'spiffe://example.org/k8s/*/ns/*/sa/*'],
    'its own grant, its namespace glob and the fleet-wide glob, nothing else',
  )
  t.same(
    index.candidates('spiffe://example.org/k8s/dev/ns/ns3/sa/svc7').map((g) => g.subject),
    ['spiffe://example.org/k8s/*/ns/*/sa/*'],
    'another cluster sees only the glob that spans clusters',
  )
  t.same(index.candidates('spiffe://other.org/x'), [], 'an identity nothing concerns gets no candidate')
  t.equal(index.size, 10_011)
})

t.test('subjects without a slash before their first wildcard, and literal subjects', async (t) => {
  const grants = [
    grant(0, '*', ['a'], ['r']),
    grant(1, 'spiffe:*', ['a'], ['r']),
    grant(2, 'exact', ['a'], ['r']),
    grant(3, '/?', ['a'], ['r']),
  ]
  const index = new GrantIndex(grants)
  t.same(
    idsOf(index.candidates('exact')),
    ['g-00000', 'g-00001', 'g-00002'],
    'the exact subject and every glob filed under the empty prefix',
  )
  t.same(idsOf(index.candidates('/x')), ['g-00000', 'g-00001', 'g-00003'], 'a glob whose literal part is "/" is found under "/"')
  t.same(idsOf(index.candidates('exactly')), ['g-00000', 'g-00001'], 'a literal subject is found only for itself')
})

t.test('grants filed and taken out one by one leave the index a fresh one would be', async (t) => {
  const next = random(7)
  const live = new Map<string, GrantRule>()
  const index = new GrantIndex()
  let differences = 0
  for (let step = 0; step < 3000; step++) {
    const id = Math.floor(next() * 400)
    const roll = next()
    const key = `g-${String(id).padStart(5, '0')}`
    if (roll < 0.3) {
      t.equal(index.remove(key), live.delete(key), `step ${step}: remove answers whether the grant was filed`)
    } else {
      // Filed again under another subject, or created later than others.
      const changed = GrantRule.of({
        ...draftGrant(id, randomPath(next, true), ['api'], ['read']),
        createdAt: new Date(NOW.getTime() - id * 1000),
      })
      index.upsert(changed)
      live.set(key, changed)
    }
    if (step % 100 === 99) {
      const fresh = new GrantIndex([...live.values()])
      for (let i = 0; i < 50; i++) {
        const subject = randomPath(next, false)
        const expected = [...live.values()].filter((g) => globMatches(g.subject, subject)).sort(inCreationOrder)
        const found = index
          .candidates(subject)
          .filter((g) => globMatches(g.subject, subject))
          .sort(inCreationOrder)
        if (
          found.length !== expected.length ||
          found.some((g, k) => g !== expected[k]) ||
          JSON.stringify(idsOf(index.candidates(subject))) !== JSON.stringify(idsOf(fresh.candidates(subject)))
        )
          differences++
      }
      t.equal(index.size, live.size)
    }
  }
  t.equal(differences, 0, 'the same candidates as a fresh index, and the same matches as a full scan')
})

t.test('a decision lists scopes in creation order whatever order the grants were filed in', async (t) => {
  const older = GrantRule.of({
    ...draftGrant(2, 'spiffe://example.org/a/*', ['api'], ['older']),
    createdAt: new Date(NOW.getTime() - 1000),
  })
  const sameTimeLowerId = grant(0, 'spiffe://example.org/**', ['api'], ['lower'])
  const sameTimeHigherId = grant(1, 'spiffe://example.org/a/b', ['api'], ['higher'])
  const index = new GrantIndex([sameTimeHigherId, sameTimeLowerId, older])
  const scopes = () => decide(identity('spiffe://example.org/a/b'), index.candidates('spiffe://example.org/a/b'), NOW, 'api', []).scopes
  t.same(scopes(), ['older', 'lower', 'higher'])
  index.remove('g-00000')
  index.upsert(GrantRule.of({ ...draftGrant(0, 'spiffe://example.org/a/?', ['api'], ['lower']) }))
  t.same(scopes(), ['older', 'lower', 'higher'], 'a grant filed again keeps its place')
  t.equal(index.remove('g-00009'), false)
})

t.test('a filed grant is found by its id: the latest filed, none once taken out', async (t) => {
  const first = grant(1, 'spiffe://example.org/k8s/prod/**', ['a'], [])
  const index = new GrantIndex([first, grant(2, 'spiffe://example.org/k8s/prod/ns/x/sa/y', ['a'], [])])
  t.equal(index.get(first.id), first)
  t.equal(index.get('g-00003'), undefined)
  const replaced = grant(1, 'spiffe://example.org/github/acme/*', ['b'], [])
  index.upsert(replaced)
  t.equal(index.get(first.id), replaced, 'the rule filed last under the id')
  t.equal(index.size, 2)
  t.equal(index.remove(first.id), true)
  t.equal(index.get(first.id), undefined)
  t.equal(index.get('g-00002')?.subject, 'spiffe://example.org/k8s/prod/ns/x/sa/y')
})
