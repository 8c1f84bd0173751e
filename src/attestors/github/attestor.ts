import { InvalidGrantError } from '../../errors.js'
import type { JwtPayload } from '../../jose/jwt-verifier.js'
import { quoteUntrusted } from '../../lib/untrusted-text.js'
import type { AttestationSource, AttestedIdentity, AttestorDeps, JwtAttestor } from '../attestor.js'
import { createJwtAttestor } from '../jwt-attestor.js'
import { defaultJwksUri, GITHUB_ISSUER, OWNER, type GitHubAttestorConfig } from './config.js'
import { canonicalGitHubClaim } from './names.js'

/**
 * GitHub Actions OIDC tokens: what a job with `permissions: id-token: write` gets from
 * `core.getIDToken(<audience>)`. The identity is the repository:
 * `spiffe://<trustDomain>/github/<owner>/<repo>` for github.com's issuer, and
 * `spiffe://<trustDomain>/<name>/<owner>/<repo>` for any other (an enterprise's issuer on github.com,
 * GitHub Enterprise Server), named by the attestor: two issuers never mint the same identity, and
 * their source ids (`github:...`, `<name>:...`) never meet. The workflow, ref, environment and the rest
 * are claims for grant conditions, under the names GitHub gives them (snake_case, as in GitHub's
 * documentation).
 *
 * GitHub compares owner, repository, actor and environment names without regard to case, so they are
 * lower-cased wherever they name something (identity, source ids, claims, the `owner/repo` of the
 * workflow refs): `ACME/api` and `acme/api` are one repository, one identity, one revocation. `sub`,
 * refs and workflow paths keep GitHub's case.
 *
 * Owner and repository names can be deleted and registered again by somebody else; their numeric ids
 * cannot. The allow-list can pin `ownerIds`, and grants can pin `repository_id` / `repository_owner_id`.
 */

const REPOSITORY_NAME = /^[A-Za-z0-9._-]{1,100}$/
const NUMERIC_ID = /^[0-9]{1,20}$/
const JTI = /^[\x21-\x7E]{1,256}$/

/** The claims exposed to grant conditions, each under GitHub's own name. */
export const GITHUB_CLAIMS = [
  'sub',
  'repository',
  'repository_id',
  'repository_owner',
  'repository_owner_id',
  'repository_visibility',
  'ref',
  'ref_type',
  'ref_protected',
  'environment',
  'workflow',
  'workflow_ref',
  'job_workflow_ref',
  'job_workflow_sha',
  'sha',
  'event_name',
  'actor',
  'actor_id',
  'run_id',
  'run_attempt',
  'runner_environment',
  'jti',
] as const

/**
 * @example
 * const attestor = createGitHubAttestor(GitHubAttestorConfig.parse({ kind: 'github', ownerIds: ['3963394'] }), deps)
 * const identity = await attestor.attest(idToken) // in the job: core.getIDToken('seed-sts')
 * // identity.subject === 'spiffe://example.org/github/qoomon/sandbox', identity.claims.ref === 'refs/heads/main'
 */
export function createGitHubAttestor(config: GitHubAttestorConfig, deps: AttestorDeps): JwtAttestor {
  const policy: OwnerPolicy = {
    owners: config.owners === undefined ? undefined : new Set(config.owners.map((owner) => owner.toLowerCase())),
    ownerIds: config.ownerIds === undefined ? undefined : new Set(config.ownerIds),
    namespace: githubNamespace(config),
  }
  return createJwtAttestor(config, deps, {
    kind: 'github',
    defaultJwksUri: defaultJwksUri(config.issuer),
    identify: (payload) => toIdentity(payload, config, policy, deps.trustDomain),
  })
}

interface OwnerPolicy {
  owners: ReadonlySet<string> | undefined
  ownerIds: ReadonlySet<string> | undefined
  namespace: { identity: string; source: string }
}

/**
 * `github` for github.com's own issuer; the attestor's name for any other, whose repositories are not
 * github.com's (GHES) or must not answer to github.com's grants and revocations (an enterprise issuer).
 */
export function githubNamespace(config: Pick<GitHubAttestorConfig, 'name' | 'issuer'>): { identity: string; source: string } {
  return config.issuer === GITHUB_ISSUER ? { identity: 'github', source: 'github' } : { identity: config.name, source: config.name }
}

// Below this line the token is verified (GitHub said it), but its names still become part of a SPIFFE
// ID and source ids: each is checked against what GitHub itself allows.

function toIdentity(payload: JwtPayload, config: GitHubAttestorConfig, policy: OwnerPolicy, trustDomain: string): AttestedIdentity {
  const owner = required(payload, 'repository_owner', OWNER)
  const ownerId = required(payload, 'repository_owner_id', NUMERIC_ID)
  // Each allow-list given must hold: pinning both name and id refuses a re-registered name.
  if (policy.owners !== undefined && !policy.owners.has(owner.toLowerCase())) {
    throw new InvalidGrantError(
      `the repository owner ${JSON.stringify(owner)} is not one of the owners attestor ${JSON.stringify(config.name)} accepts`,
      'claim_not_allowed',
    )
  }
  if (policy.ownerIds !== undefined && !policy.ownerIds.has(ownerId)) {
    throw new InvalidGrantError(
      `the repository owner id ${JSON.stringify(ownerId)} (${owner}) is not one of the owner ids attestor ${JSON.stringify(config.name)} accepts`,
      'claim_not_allowed',
    )
  }
  const repository = required(payload, 'repository', /^[^/]+\/[^/]+$/)
  const repo = repository.slice(repository.indexOf('/') + 1)
  if (
    repository.slice(0, repository.indexOf('/')).toLowerCase() !== owner.toLowerCase() ||
    !REPOSITORY_NAME.test(repo) ||
    repo === '.' ||
    repo === '..'
  ) {
    throw new InvalidGrantError(
      `the token repository ${quoteUntrusted(repository)} is not a repository of ${JSON.stringify(owner)}`,
      'claim_invalid',
    )
  }
  const repositoryId = required(payload, 'repository_id', NUMERIC_ID)
  required(payload, 'jti', JTI)

  const claims: Record<string, string> = {}
  for (const name of GITHUB_CLAIMS) {
    const value = payload[name]
    if (value === undefined) continue
    if (typeof value !== 'string')
      throw new InvalidGrantError(`the token claim "${name}" is ${quoteUntrusted(value)}, not a string`, 'claim_invalid')
    claims[name] = canonicalGitHubClaim(name, value)
  }
  // One name, one spelling: GitHub resolves `ACME/App` and `acme/app` to the same repository.
  const name = repository.toLowerCase()
  const { identity, source } = policy.namespace
  const sources: AttestationSource[] = [
    { id: `${source}:${owner.toLowerCase()}` },
    { id: `${source}:repository_owner_id:${ownerId}` },
    { id: `${source}:${name}` },
    { id: `${source}:repository_id:${repositoryId}` },
  ]
  return {
    subject: `spiffe://${trustDomain}/${identity}/${name}`,
    attestor: config.name,
    kind: 'github',
    claims,
    sources,
    expiresAt: new Date(payload.exp * 1000),
  }
}

function required(payload: JwtPayload, claim: string, form: RegExp): string {
  const value = payload[claim]
  if (typeof value !== 'string' || !form.test(value))
    throw new InvalidGrantError(`the token claim "${claim}" ${quoteUntrusted(value)} is not valid`, 'claim_invalid')
  return value
}
