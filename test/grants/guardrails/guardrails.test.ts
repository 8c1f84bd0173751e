import t from 'tap'
import { ConfigError, parseConfig } from '../../../src/config.js'
import { GUARDRAIL_RULES } from '../../../src/grants/guardrails/guardrails-config.js'
import { Guardrails } from '../../../src/grants/guardrails/guardrails.js'
import { jwks, makeKey } from '../../support/attestors/jwt-attestations.js'
import { grantDraft } from '../../support/grant-drafts.js'

/**
 * The guardrails on their own: each rule fires on the grant that breaks it and on no other, and does
 * what its configured action says (deny, warn, off).
 */

const NOW = Date.UTC(2026, 10, 23, 12)
const now = new Date(NOW)
const key = await makeKey('RS256', 'k-1')
const ATTESTORS = [
  { kind: 'kubernetes', name: 'prod', issuer: 'https://k8s.example', jwks: jwks(key) },
  { kind: 'github', ownerIds: ['3963394'], jwks: jwks(key) },
  { kind: 'github', name: 'ghes', issuer: 'https://ghes.acme.example/_services/token', owners: ['acme'], jwks: jwks(key) },
  {
    kind: 'oidc',
    name: 'gitlab',
    issuer: 'https://gitlab.com',
    jwks: jwks(key),
    subjectTemplate: 'ci/gitlab/{claims.project_id}',
    claims: ['project_id', 'project_path'],
    shared: true,
    immutableIdClaims: ['project_id'],
  },
  { kind: 'oidc', name: 'buildkite', issuer: 'https://agent.buildkite.com', jwks: jwks(key), subjectTemplate: 'ci/buildkite/{sub}' },
]

function configWith(grants: Record<string, unknown> = {}, attestors: unknown[] = ATTESTORS) {
  return parseConfig({ issuer: 'https://sts.example.org', trustDomain: 'example.org', audience: 'seed-sts', attestors, grants })
}

function guardrailsOf(guardrails: Record<string, unknown> = {}, attestors?: unknown[]): Guardrails {
  const config = configWith({ guardrails }, attestors)
  return Guardrails.of(config.grants.guardrails, config.trustDomain, config.attestors)
}

/** A grant that breaks no rule: a named service account, described, a day long. */
const good = (overrides: Parameters<typeof grantDraft>[1] = {}) =>
  grantDraft(NOW, { description: 'payments read the ledger', ...overrides })
const rulesOf = (findings: { rule: string }[]) => findings.map((finding) => finding.rule)

t.test('a grant that breaks no rule passes every one of them', async (t) => {
  t.same(guardrailsOf().check(good(), now), { denied: [], warnings: [] })
})

t.test('a subject spanning the trust domain is denied by default, named with the reason', async (t) => {
  const guardrails = guardrailsOf({
    rules: { 'subject-spans-attestor-kind': 'off', 'subject-spans-attestor': 'off', 'shared-issuer-unpinned': 'off' },
  })
  for (const subject of ['spiffe://example.org/**', 'spiffe://*/**', 'spiffe://example.org/*/**', 'spiffe://example.org/*/*/*']) {
    t.same(
      guardrails.check(good({ subject }), now),
      {
        denied: [
          {
            rule: 'subject-spans-trust-domain',
            field: 'subject',
            reason: `${subject} matches every identity of the trust domain example.org, whatever attestor minted it: name the workloads`,
          },
        ],
        warnings: [],
      },
      subject,
    )
  }
  for (const subject of ['spiffe://example.org/k8s/**', 'spiffe://example.org/*', 'spiffe://other.org/**', 'spiffe://example.org/ci/**'])
    t.same(guardrails.check(good({ subject }), now), { denied: [], warnings: [] }, subject)
})

t.test('a subject spanning a whole attestor kind is denied by default, one spanning one whole attestor warned of', async (t) => {
  const guardrails = guardrailsOf({ rules: { 'shared-issuer-unpinned': 'off' } })
  const spanned = (subject: string) => {
    const { denied, warnings } = guardrails.check(good({ subject }), now)
    const findings = [
      ...denied.map((finding) => ({ ...finding, action: 'deny' })),
      ...warnings.map((finding) => ({ ...finding, action: 'warn' })),
    ]
    t.equal(findings.length <= 1, true, `${subject}: one finding at most`)
    const [found] = findings
    if (found === undefined) return undefined
    const what = found.reason.slice(subject.length + ' matches every identity of '.length, found.reason.indexOf(', whatever their names'))
    return `${found.action} ${found.rule}: ${what}`
  }
  const kind = 'deny subject-spans-attestor-kind: '
  const one = 'warn subject-spans-attestor: '
  t.equal(spanned('spiffe://example.org/k8s/**'), `${kind}every kubernetes attestor (spiffe://example.org/k8s/{}/ns/{}/sa/{})`)
  t.equal(spanned('spiffe://example.org/k8s/*/ns/*/sa/*'), `${kind}every kubernetes attestor (spiffe://example.org/k8s/{}/ns/{}/sa/{})`)
  t.equal(spanned('spiffe://example.org/k8s/prod/**'), `${one}attestor "prod" (kubernetes) (spiffe://example.org/k8s/prod/ns/{}/sa/{})`)
  t.equal(
    spanned('spiffe://example.org/k8s/prod/ns/*/sa/*'),
    `${one}attestor "prod" (kubernetes) (spiffe://example.org/k8s/prod/ns/{}/sa/{})`,
  )
  t.equal(
    spanned('spiffe://example.org/github/**'),
    `${kind}every github attestor (spiffe://example.org/github/{}/{})`,
    'the kind, not its attestor again',
  )
  t.equal(spanned('spiffe://example.org/ghes/*/*'), `${one}attestor "ghes" (github) (spiffe://example.org/ghes/{}/{})`)
  t.equal(spanned('spiffe://example.org/aws/**'), `${kind}every aws attestor (spiffe://example.org/aws/{}/{}/{})`)
  t.equal(
    spanned('spiffe://example.org/azure/*/principal/*'),
    `${kind}every azure attestor (spiffe://example.org/azure/{}/vm/{}, spiffe://example.org/azure/{}/{}/{}/{}, spiffe://example.org/azure/{}/principal/{})`,
  )
  t.equal(spanned('spiffe://example.org/ci/buildkite/*'), `${one}attestor "buildkite" (oidc) (spiffe://example.org/ci/buildkite/{})`)
  t.equal(
    spanned('spiffe://example.org/ci/*/*'),
    `${one}attestor "gitlab" (oidc) (spiffe://example.org/ci/gitlab/{}); attestor "buildkite" (oidc) (spiffe://example.org/ci/buildkite/{})`,
  )
  for (const subject of [
    'spiffe://example.org/k8s/prod/ns/payments/sa/*',
    'spiffe://example.org/k8s/prod/ns/*/sa/api',
    'spiffe://example.org/k8s/*/ns/payments/**',
    'spiffe://example.org/github/acme/*',
    'spiffe://example.org/aws/111122223333/**',
    'spiffe://example.org/ci/buildkite/pipeline-?',
  ])
    t.equal(spanned(subject), undefined, subject)
})

t.test('a grant that can match a shared issuer must pin an immutable id by a condition', async (t) => {
  const guardrails = guardrailsOf()
  const check = (subject: string, conditions: Record<string, string | string[]> = {}) =>
    rulesOf(guardrails.check(good({ subject, conditions }), now).denied)
  const github = 'spiffe://example.org/github/acme/api'
  t.same(check(github), ['shared-issuer-unpinned'])
  t.same(check(github, { repository_id: '620393838' }), [])
  t.same(check(github, { repository_owner_id: ['3963394', '42'] }), [])
  t.same(check(github, { repository_id: '6203938*' }), ['shared-issuer-unpinned'], 'a glob pins nothing')
  t.same(check(github, { repository_id: ['620393838', '*'] }), ['shared-issuer-unpinned'], 'one glob of a list pins nothing')
  t.same(check(github, { repository: 'acme/api', ref: 'refs/heads/main' }), ['shared-issuer-unpinned'], 'names are not ids')
  t.same(check('spiffe://example.org/*/acme/api'), ['shared-issuer-unpinned'], 'a wildcard where the attestor name is')
  t.same(check('spiffe://example.org/ghes/acme/api'), ['shared-issuer-unpinned'], 'another GitHub issuer')
  t.same(check('spiffe://example.org/ci/gitlab/42'), ['shared-issuer-unpinned'], 'a generic OIDC issuer marked shared')
  t.same(check('spiffe://example.org/ci/gitlab/42', { project_id: '42' }), [])
  t.same(check('spiffe://example.org/ci/gitlab/42', { project_path: 'acme/api' }), ['shared-issuer-unpinned'])
  t.same(check('spiffe://example.org/ci/buildkite/p'), [], 'an OIDC issuer not marked shared')
  t.same(check('spiffe://example.org/k8s/prod/ns/payments/sa/api'), [])
  t.equal(
    guardrails.check(good({ subject: github }), now).denied[0].reason,
    `${github} can match identities of attestor "github" (github), an issuer many tenants share, and no condition pins ` +
      'repository_id or repository_owner_id to exact values: a name deleted or renamed there can be registered again by someone else',
  )
})

t.test("GitHub's own namespace is held to the rule even with no GitHub attestor configured", async (t) => {
  const guardrails = guardrailsOf({}, [ATTESTORS[0]])
  t.same(guardrails.check(good({ subject: 'spiffe://example.org/github/acme/api' }), now).denied, [
    {
      rule: 'shared-issuer-unpinned',
      field: 'conditions',
      reason:
        'spiffe://example.org/github/acme/api can match identities of every github attestor, an issuer many tenants share, and no condition pins ' +
        'repository_id or repository_owner_id to exact values: a name deleted or renamed there can be registered again by someone else',
    },
  ])
})

t.test('maxTtlSeconds above the ceiling warns by default', async (t) => {
  const guardrails = guardrailsOf({ maxTtlSeconds: 900 })
  t.same(guardrails.check(good({ maxTtlSeconds: 900 }), now), { denied: [], warnings: [] })
  t.same(guardrails.check(good({ maxTtlSeconds: 901 }), now), {
    denied: [],
    warnings: [
      {
        rule: 'ttl-above-ceiling',
        field: 'maxTtlSeconds',
        reason: 'maxTtlSeconds 901 is above the ceiling of 900 (grants.guardrails.maxTtlSeconds)',
      },
    ],
  })
})

t.test('audiences outside the allowed list warn by default; globs allowed; no list allows every audience', async (t) => {
  const guardrails = guardrailsOf({ allowedAudiences: ['ledger-*', 'https://api.example.com/**'] })
  t.same(guardrails.check(good({ audiences: ['ledger-api', 'https://api.example.com/v1/orders'] }), now), { denied: [], warnings: [] })
  t.same(guardrails.check(good({ audiences: ['ledger-api', 'billing', 'https://api.example.org/x'] }), now).warnings, [
    {
      rule: 'audience-not-allowed',
      field: 'audiences',
      reason: '"billing", "https://api.example.org/x" are not among the allowed audiences (grants.guardrails.allowedAudiences)',
    },
  ])
  t.same(guardrailsOf().check(good({ audiences: ['anything'] }), now), { denied: [], warnings: [] })
})

t.test('a mayAct glob as broad as a refused or warned-of subject is warned of by default, each named', async (t) => {
  const guardrails = guardrailsOf()
  const td = 'spiffe://example.org'
  const broad = {
    [`${td}/**`]: `${td}/** matches every identity of the trust domain example.org, whatever attestor minted it`,
    [`${td}/k8s/*/ns/*/sa/*`]: `${td}/k8s/*/ns/*/sa/* matches every identity of every kubernetes attestor (${td}/k8s/{}/ns/{}/sa/{}), whatever their names`,
    [`${td}/k8s/prod/**`]: `${td}/k8s/prod/** matches every identity of attestor "prod" (kubernetes) (${td}/k8s/prod/ns/{}/sa/{}), whatever their names`,
  }
  const tail = ": each of them may act for the grant's subjects; name the workloads that may act"
  for (const [glob, said] of Object.entries(broad)) {
    t.same(
      guardrails.check(good({ mayAct: [`${td}/k8s/prod/ns/edge/sa/gateway`, glob] }), now),
      { denied: [], warnings: [{ rule: 'may-act-spans', field: 'mayAct', reason: `${said}${tail}` }] },
      glob,
    )
  }
  t.same(guardrails.check(good({ mayAct: Object.keys(broad) }), now).warnings, [
    { rule: 'may-act-spans', field: 'mayAct', reason: `${Object.values(broad).join('; ')}${tail}` },
  ])
  for (const glob of [
    `${td}/k8s/prod/ns/agents/sa/*`,
    `${td}/k8s/*/ns/agents/sa/planner`,
    `${td}/github/acme/agent`,
    'spiffe://other.org/**',
  ])
    t.same(guardrails.check(good({ mayAct: [glob] }), now), { denied: [], warnings: [] }, glob)
  t.same(guardrails.check(good({ mayAct: [] }), now), { denied: [], warnings: [] })
  t.same(guardrailsOf({ rules: { 'may-act-spans': 'deny' } }).check(good({ mayAct: [`${td}/**`] }), now).denied, [
    { rule: 'may-act-spans', field: 'mayAct', reason: `${broad[`${td}/**`]}${tail}` },
  ])
})

t.test('an expiry further than the maximum warns by default', async (t) => {
  const guardrails = guardrailsOf({ maxLifetimeDays: 30 })
  t.same(guardrails.check(good({ expiresAt: new Date(NOW + 30 * 86_400_000) }), now), { denied: [], warnings: [] })
  t.same(guardrails.check(good({ expiresAt: new Date(NOW + 30 * 86_400_000 + 1000) }), now).warnings, [
    { rule: 'expiry-too-far', field: 'expiresAt', reason: 'expiresAt is 31 days away, more than 30 (grants.guardrails.maxLifetimeDays)' },
  ])
})

t.test('no description warns by default; blanks are no description', async (t) => {
  const guardrails = guardrailsOf()
  for (const description of ['', '   '])
    t.same(guardrails.check(good({ description }), now).warnings, [
      {
        rule: 'description-missing',
        field: 'description',
        reason: 'no description: say why the grant exists, for the next person who reads it',
      },
    ])
})

t.test('each rule denies, warns or is off as configured; every broken rule is said at once', async (t) => {
  const broken = good({
    subject: 'spiffe://example.org/**',
    audiences: ['billing'],
    maxTtlSeconds: 7200,
    description: '',
    expiresAt: new Date(NOW + 400 * 86_400_000),
    mayAct: ['spiffe://example.org/k8s/**'],
  })
  const limits = { allowedAudiences: ['ledger-api'] }
  const all = (action: string) => ({
    ...limits,
    rules: Object.fromEntries(GUARDRAIL_RULES.map((rule) => [rule, action])),
  })
  const inOrder = [
    'subject-spans-trust-domain',
    'subject-spans-attestor-kind',
    'subject-spans-attestor',
    'shared-issuer-unpinned',
    'audience-not-allowed',
    'ttl-above-ceiling',
    'description-missing',
    'expiry-too-far',
    'may-act-spans',
  ]
  const byDefault = guardrailsOf(limits).check(broken, now)
  t.same(
    [rulesOf(byDefault.denied), rulesOf(byDefault.warnings)],
    [
      ['subject-spans-trust-domain', 'subject-spans-attestor-kind', 'shared-issuer-unpinned'],
      ['subject-spans-attestor', 'audience-not-allowed', 'ttl-above-ceiling', 'description-missing', 'expiry-too-far', 'may-act-spans'],
    ],
  )
  const denied = guardrailsOf(all('deny')).check(broken, now)
  t.same([rulesOf(denied.denied), rulesOf(denied.warnings)], [inOrder, []])
  const warned = guardrailsOf(all('warn')).check(broken, now)
  t.same([rulesOf(warned.denied), rulesOf(warned.warnings)], [[], inOrder])
  t.same(guardrailsOf(all('off')).check(broken, now), { denied: [], warnings: [] })
})

t.test('the configuration: documented defaults, and every problem named', async (t) => {
  t.same(configWith().grants.guardrails, {
    rules: {
      'subject-spans-trust-domain': 'deny',
      'subject-spans-attestor-kind': 'deny',
      'subject-spans-attestor': 'warn',
      'shared-issuer-unpinned': 'deny',
      'ttl-above-ceiling': 'warn',
      'audience-not-allowed': 'warn',
      'expiry-too-far': 'warn',
      'description-missing': 'warn',
      'may-act-spans': 'warn',
    },
    maxTtlSeconds: 3600,
    allowedAudiences: [],
    maxLifetimeDays: 365,
  })
  const problems = (grants: Record<string, unknown>, attestors?: unknown[]) =>
    (t.throws(() => configWith(grants, attestors)) as ConfigError).problems
  t.same(problems({ guardrails: { rules: { 'no-such-rule': 'deny', 'ttl-above-ceiling': 'block' }, maxTtlSeconds: 0 } }), [
    'grants.guardrails.rules.ttl-above-ceiling: Invalid option: expected one of "deny"|"warn"|"off"',
    'grants.guardrails.rules: Unrecognized key: "no-such-rule"',
    'grants.guardrails.maxTtlSeconds: Too small: expected number to be >0',
  ])
  const gitlab = {
    kind: 'oidc',
    name: 'gitlab',
    issuer: 'https://gitlab.com',
    jwks: jwks(key),
    subjectTemplate: 'ci/gitlab/{claims.project_id}',
  }
  t.same(problems({}, [{ ...gitlab, shared: true }]), [
    'attestors.0.immutableIdClaims: a shared issuer needs the claims that are immutable ids (e.g. [project_id]), which grants on it must pin',
  ])
  t.same(problems({}, [{ ...gitlab, claims: ['project_path'], shared: true, immutableIdClaims: ['project_id'] }]), [
    'attestors.0.immutableIdClaims.0: "project_id" must also be listed in claims, or no grant condition can pin it',
  ])
  t.same(problems({}, [{ ...gitlab, claims: ['project_id'], immutableIdClaims: ['project_id'] }]), [
    'attestors.0.immutableIdClaims: is only read with shared: true',
  ])
})
