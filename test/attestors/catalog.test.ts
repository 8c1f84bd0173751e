import t from 'tap'
import { ATTESTATION_TOKEN_TYPES, ATTESTOR_KINDS, kindOf, namespaceOf } from '../../src/attestors/catalog.js'
import { RESERVED_FIRST_SEGMENTS } from '../../src/attestors/namespace.js'
import { sourceFormsOf } from '../../src/attestors/source-forms.js'
import { AttestorConfig } from '../../src/config.js'
import { SUPPORTED_SUBJECT_TOKEN_TYPES } from '../../src/exchange/token-request.js'
import { jwks, makeKey } from '../support/attestors/jwt-attestations.js'

/**
 * The catalog is the one list of attestor kinds, and what the service knows of them is read off it:
 * the configuration's `attestors` entries, the token types the exchange accepts, each kind's namespace.
 */

const key = await makeKey('RS256', 'k-1')
/** One valid configuration entry of every kind in the catalog. */
const EXAMPLES: Record<string, Record<string, unknown>> = {
  kubernetes: { kind: 'kubernetes', name: 'prod', issuer: 'https://k8s.example.test', jwks: jwks(key) },
  aws: { kind: 'aws', name: 'aws', accounts: ['111122223333'] },
  gcp: { kind: 'gcp', projects: ['payments-prod'] },
  azure: { kind: 'azure', name: 'azure', subscriptions: ['05e8b285-4ce1-46a3-b4c9-f51ba67d6acc'] },
  github: { kind: 'github', owners: ['acme'] },
  oidc: { kind: 'oidc', name: 'gitlab', issuer: 'https://gitlab.com', jwks: jwks(key), subjectTemplate: 'ci/gitlab/{claims.project_id}' },
}

t.test('the catalog lists each kind once, and the configuration accepts exactly those kinds', async (t) => {
  const kinds = ATTESTOR_KINDS.map((kind) => kind.kind)
  t.same(kinds, ['kubernetes', 'aws', 'gcp', 'azure', 'github', 'oidc'])
  t.same(Object.keys(EXAMPLES).sort(), [...kinds].sort(), 'every kind has an example here')
  for (const kind of ATTESTOR_KINDS) {
    const config = AttestorConfig.parse(EXAMPLES[kind.kind])
    t.equal(config.kind, kind.kind, `an entry of kind ${kind.kind} is parsed by its kind's schema`)
    t.equal(kindOf(config), kind, `and built by its kind (${kind.kind})`)
  }
  const unknown = AttestorConfig.safeParse({ kind: 'vault', name: 'v' })
  t.notOk(unknown.success, 'a kind the catalog does not list is refused')
  t.same(
    unknown.error?.issues.map((issue) => issue.path),
    [['kind']],
  )
})

t.test(
  "the subject token types the exchange accepts are the catalog's, in catalog order, each once, then our own access tokens",
  async (t) => {
    t.same(ATTESTATION_TOKEN_TYPES, [
      'urn:ietf:params:oauth:token-type:jwt',
      'urn:ietf:params:oauth:token-type:id_token',
      'urn:seed-sts:token-type:aws-instance-identity',
      'urn:seed-sts:token-type:azure-attested-data',
    ])
    t.same(SUPPORTED_SUBJECT_TOKEN_TYPES, [...ATTESTATION_TOKEN_TYPES, 'urn:ietf:params:oauth:token-type:access_token'])
  },
)

t.test('a kind that fixes the first segment of its identities has it reserved, and mints under it', async (t) => {
  const roots = ATTESTOR_KINDS.flatMap((kind) => ('identityRoot' in kind ? [kind.identityRoot] : []))
  t.same([...roots].sort(), [...RESERVED_FIRST_SEGMENTS].sort(), "RESERVED_FIRST_SEGMENTS is the kinds' identity roots")
  for (const kind of ATTESTOR_KINDS) {
    if (!('identityRoot' in kind)) continue
    const { identity } = namespaceOf(AttestorConfig.parse(EXAMPLES[kind.kind]))
    t.equal(identity.split('/')[0], kind.identityRoot, `${kind.kind} identities begin with ${kind.identityRoot}/`)
  }
})

t.test("every kind's source forms lie in its namespace", async (t) => {
  const configs = ATTESTOR_KINDS.map((kind) => AttestorConfig.parse(EXAMPLES[kind.kind]))
  const forms = sourceFormsOf(configs)
  configs.forEach((config, index) => {
    const { source } = namespaceOf(config)
    const form = forms[index]
    t.equal(form.prefix, `${source}:`, `${config.kind}: every source id but the namespace itself begins "${source}:"`)
    if (form.exact !== undefined) t.equal(form.exact, source, `${config.kind}: the namespace itself is a source`)
    t.ok(
      form.shows.length > 0 && form.shows.every((shown) => shown === source || shown.startsWith(`${source}:`)),
      `${config.kind}: what people are shown is in the namespace`,
    )
  })
})
