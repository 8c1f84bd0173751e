/**
 * GitHub compares owner, repository, actor and environment names without regard to case: `ACME/Api`
 * and `acme/api` are one repository. The service writes them one way, lower-case, wherever they name
 * something (identities, source ids, the claims grant conditions match), and brings what an operator
 * types for the github.com namespace (`spiffe://<td>/github/...`, `github:...`) to the same spelling,
 * so a grant or a revocation never misses a repository for its case. Migration 007 did the same to the
 * rows written before. Refs, workflow paths and `sub` keep GitHub's case: git compares them exactly.
 */

const NAME_CLAIMS = new Set(['repository', 'repository_owner', 'actor', 'environment'])
const WORKFLOW_REF_CLAIMS = new Set(['workflow_ref', 'job_workflow_ref'])
const GITHUB_SUBJECT = /^spiffe:\/\/[^/]+\/github\//

/**
 * @example
 * canonicalGitHubClaim('job_workflow_ref', 'ACME/Platform/.github/workflows/Deploy.yml@refs/heads/Main')
 * // 'acme/platform/.github/workflows/Deploy.yml@refs/heads/Main'
 */
export function canonicalGitHubClaim(claim: string, value: string): string {
  if (NAME_CLAIMS.has(claim)) return value.toLowerCase()
  if (WORKFLOW_REF_CLAIMS.has(claim)) {
    // `<owner>/<repo>/<path>@<ref>`: the repository is case-insensitive, the path and ref are not.
    const [owner, repo, ...rest] = value.split('/')
    return rest.length === 0 ? value : [owner.toLowerCase(), repo.toLowerCase(), ...rest].join('/')
  }
  return value
}

/** A SPIFFE ID (or glob) of github.com's namespace, lower-cased; any other as given. */
export function canonicalGitHubSubject(subject: string): string {
  return GITHUB_SUBJECT.test(subject) ? subject.toLowerCase() : subject
}

/** A source id of github.com's namespace (`github:ACME/Api`), lower-cased; any other as given. */
export function canonicalGitHubSource(source: string): string {
  return source.startsWith('github:') ? source.toLowerCase() : source
}

/** A grant's conditions on GitHub's case-insensitive claims, when the grant is for github.com's identities. */
export function canonicalGitHubConditions<C extends Record<string, string | string[]>>(subject: string, conditions: C): C {
  if (!GITHUB_SUBJECT.test(subject)) return conditions
  return Object.fromEntries(
    Object.entries(conditions).map(([claim, globs]) => [
      claim,
      typeof globs === 'string' ? canonicalGitHubClaim(claim, globs) : globs.map((glob) => canonicalGitHubClaim(claim, glob)),
    ]),
  ) as C
}
