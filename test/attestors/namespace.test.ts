import t from 'tap'
import { namespaceOf } from '../../src/attestors/catalog.js'
import { createAttestorRegistry } from '../../src/attestors/registry.js'
import { AttestorConfig, ConfigError, parseConfig } from '../../src/config.js'
import { countingFetcher, frozenClock, jwks, makeKey } from '../support/attestors/jwt-attestations.js'

/**
 * Two attestors never mint the same identity or source id: each has a namespace of its own, and a
 * configuration where two namespaces are equal or one begins the other does not start.
 */

const key = await makeKey('RS256', 'k-1')
const deps = {
  trustDomain: 'example.org',
  audience: 'seed-sts',
  clock: frozenClock(),
  skewSeconds: 60,
  maxAttestationBytes: 16_384,
  fetchJwks: countingFetcher(jwks(key)).fetch,
}
const oidc = (name: string, issuer: string, subjectTemplate: string) => ({ kind: 'oidc', name, issuer, jwks: jwks(key), subjectTemplate })
const github = (fields: Record<string, unknown> = {}) => ({ kind: 'github', owners: ['acme'], jwks: jwks(key), ...fields })
const GITLAB = oidc('gitlab', 'https://gitlab.com', 'ci/gitlab/{claims.project_id}')
const SELF_MANAGED = oidc('gitlab-self', 'https://gitlab.acme.example', 'ci/gitlab/{claims.project_id}')

function problems(attestors: unknown[]): string[] {
  const error = t.throws(() =>
    parseConfig({ issuer: 'https://sts.example.org', trustDomain: 'example.org', audience: 'seed-sts', attestors }),
  ) as ConfigError
  t.type(error, ConfigError)
  return error.problems
}

t.test("each kind's namespace: built-in identities as they were, github.com's and others' apart", async (t) => {
  const of = (config: Record<string, unknown>) => namespaceOf(AttestorConfig.parse(config))
  t.same(
    [
      of({ kind: 'kubernetes', name: 'prod', issuer: 'https://k8s', jwks: jwks(key) }),
      of({ kind: 'aws', name: 'aws', accounts: ['111122223333'] }),
      of({ kind: 'gcp', projects: ['payments-prod'] }),
      of(github()),
      of(github({ name: 'ghes', issuer: 'https://ghes.acme.example/_services/token' })),
      of(GITLAB),
      of(oidc('buildkite', 'https://agent.buildkite.com', 'oidc/{name}/{iss_host}/p-{claims.pipeline}/{sub}')),
    ],
    [
      { identity: 'k8s/prod', source: 'k8s:prod' },
      { identity: 'aws', source: 'aws' },
      { identity: 'gcp', source: 'gcp' },
      { identity: 'github', source: 'github' },
      { identity: 'ghes', source: 'ghes' },
      { identity: 'ci/gitlab', source: 'oidc:gitlab' },
      { identity: 'oidc/buildkite/agent.buildkite.com', source: 'oidc:buildkite' },
    ],
  )
})

t.test('two OIDC attestors whose templates begin alike are refused, naming both', async (t) => {
  t.same(problems([GITLAB, SELF_MANAGED]), [
    'attestors.1: attestors "gitlab" and "gitlab-self" would mint identities in one namespace ("ci/gitlab/..." and "ci/gitlab/..."): ' +
      "each attestor's identities must begin with path segments of its own that neither equal nor begin another's",
  ])
  const wider = oidc('ci', 'https://ci.acme.example', 'ci/{sub}')
  t.match(
    problems([GITLAB, wider]),
    [/^attestors\.1: attestors "gitlab" and "ci" would mint identities in one namespace \("ci\/gitlab\/\.\.\." and "ci\/\.\.\."\)/],
    'one namespace beginning another',
  )
  const config = parseConfig({
    issuer: 'https://sts.example.org',
    trustDomain: 'example.org',
    audience: 'seed-sts',
    attestors: [GITLAB, { ...SELF_MANAGED, subjectTemplate: 'ci/gitlab-self/{claims.project_id}' }],
  })
  t.equal(config.attestors.length, 2, 'a segment of its own each ("ci/gitlab" and "ci/gitlab-self") is fine')
})

t.test('namespaces of different kinds, and two of a per-kind namespace, are compared alike', async (t) => {
  t.match(
    problems([
      github({ name: 'ghe', issuer: 'https://ghe.acme.example/_services/token' }),
      oidc('other', 'https://other.example', 'ghe/{sub}'),
    ]),
    [/^attestors\.1: attestors "ghe" and "other" would mint identities in one namespace \("ghe\/\.\.\." and "ghe\/\.\.\."\)/],
  )
  t.same(
    problems([
      { kind: 'gcp', projects: ['payments-prod'] },
      { kind: 'gcp', name: 'gcp-2', issuer: 'https://accounts.google.example', projects: ['other-project'] },
    ]),
    [
      'attestors.1: attestors "gcp" and "gcp-2" would mint identities in one namespace ("gcp/..." and "gcp/..."): each attestor\'s identities must begin with path segments of its own that neither equal nor begin another\'s',
      'attestors.1: attestors "gcp" and "gcp-2" would give source ids in one namespace ("gcp:..." and "gcp:..."): each attestor\'s source ids must begin with text of its own that neither equals nor begins another\'s',
    ],
  )
  // github.com and an enterprise issuer: the enterprise's identities and sources carry its name.
  const both = parseConfig({
    issuer: 'https://sts.example.org',
    trustDomain: 'example.org',
    audience: 'seed-sts',
    attestors: [github(), github({ name: 'acme-corp', issuer: 'https://token.actions.githubusercontent.com/acme-corp' })],
  })
  t.same(both.attestors.map(namespaceOf), [
    { identity: 'github', source: 'github' },
    { identity: 'acme-corp', source: 'acme-corp' },
  ])
})

t.test('the registry refuses overlapping namespaces too, however its configurations were made', async (t) => {
  const configs = [GITLAB, SELF_MANAGED].map((c) => AttestorConfig.parse(c))
  const error = t.throws(() => createAttestorRegistry(configs, deps)) as ConfigError
  t.type(error, ConfigError)
  t.same(error.problems, [
    'attestors "gitlab" and "gitlab-self" would mint identities in one namespace ("ci/gitlab/..." and "ci/gitlab/..."): each attestor\'s identities must begin with path segments of its own that neither equal nor begin another\'s',
  ])
})
