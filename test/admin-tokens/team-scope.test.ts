import t from 'tap'
import { coversSubject, ownsGrant, scopeWithin, subjectUnderPrefix, TeamScopeInput } from '../../src/admin-tokens/team-scope.js'

const NS = 'spiffe://example.org/k8s/prod/ns'
const PAY = `${NS}/pay`

t.test('a prefix covers itself and what lies below it after a /, never a longer segment', async (t) => {
  const cases: [string, boolean][] = [
    [PAY, true],
    [`${PAY}/sa/api`, true],
    [`${PAY}/sa/*`, true],
    [`${PAY}/**`, true],
    [`${PAY}/`, true],
    [`${NS}/payments`, false],
    [`${NS}/payments/sa/api`, false],
    [`${NS}/pay*`, false],
    [`${NS}/pay?/sa/api`, false],
    [`${NS}/pa?/sa/api`, false],
    [`${NS}/**`, false],
    [`${NS}/*/sa/api`, false],
    [NS, false],
    ['spiffe://example.org/k8s/prod/ns/PAY/sa/api', false],
    ['spiffe://other.org/k8s/prod/ns/pay/sa/api', false],
  ]
  t.same(
    cases.map(([subject]) => [subject, subjectUnderPrefix(subject, PAY)]),
    cases,
  )
})

t.test('a scope owns a grant when both its owner and its subject are in it', async (t) => {
  const scope = { owners: ['team-pay'], subjectPrefixes: [PAY, `${NS}/ledger`] }
  t.same(
    [
      ownsGrant(scope, { owner: 'team-pay', subject: `${PAY}/sa/*` }),
      ownsGrant(scope, { owner: 'team-pay', subject: `${NS}/ledger/sa/x` }),
      ownsGrant(scope, { owner: 'team-other', subject: `${PAY}/sa/*` }),
      ownsGrant(scope, { owner: 'team-pay', subject: `${NS}/payments/sa/*` }),
      coversSubject(scope, `${NS}/ledgers`),
    ],
    [true, true, false, false, false],
  )
})

t.test('a scope is within another when its owners are among them and its prefixes under theirs; unscoped is widest', async (t) => {
  const team = { owners: ['team-pay', 'team-ops'], subjectPrefixes: [PAY] }
  t.same(
    [
      scopeWithin({ owners: ['team-pay'], subjectPrefixes: [`${PAY}/sa/api`] }, team),
      scopeWithin(team, team),
      scopeWithin({ owners: ['team-pay', 'team-x'], subjectPrefixes: [PAY] }, team),
      scopeWithin({ owners: ['team-pay'], subjectPrefixes: [`${NS}/payments`] }, team),
      scopeWithin({ owners: ['team-pay'], subjectPrefixes: [NS] }, team),
      scopeWithin(null, team),
      scopeWithin(team, null),
      scopeWithin(null, null),
    ],
    [true, true, false, false, false, false, true, true],
  )
})

t.test('a prefix is a SPIFFE ID without wildcards, empty segments or a trailing slash; GitHub names lower-cased', async (t) => {
  const bad = TeamScopeInput.safeParse({
    owners: ['team-pay', ' '],
    subjectPrefixes: [`${PAY}/`, `${NS}/pay*`, `${NS}//pay`, 'https://example.org/x', `${PAY}/sa/api`],
  })
  t.same(
    bad.error?.issues.map((issue) => issue.path.join('.')),
    ['owners.1', 'subjectPrefixes.0', 'subjectPrefixes.1', 'subjectPrefixes.2', 'subjectPrefixes.3'],
  )
  t.same(TeamScopeInput.parse({ owners: ['a'], subjectPrefixes: ['spiffe://example.org/github/Acme/Api'] }), {
    owners: ['a'],
    subjectPrefixes: ['spiffe://example.org/github/acme/api'],
  })
  t.notOk(TeamScopeInput.safeParse({ owners: [], subjectPrefixes: [PAY] }).success, 'a scope has owners')
  t.notOk(TeamScopeInput.safeParse({ owners: ['a'], subjectPrefixes: [] }).success, 'a scope has prefixes')
})
