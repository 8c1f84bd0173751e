import { InvalidGrantError } from '../../errors.js'
import { globMatches } from '../../lib/glob.js'
import { quoteUntrusted } from '../../lib/untrusted-text.js'
import type { AttestorDeps, JwtAttestor } from '../attestor.js'
import { createJwtAttestor } from '../jwt-attestor.js'
import { exposedName, scalarClaim } from './claims.js'
import type { OidcAttestorConfig } from './config.js'
import { compileSubjectTemplate, oidcNamespace, renderSubject } from './subject-template.js'

/**
 * Any OIDC issuer with a JWKS (GitLab CI, Buildkite, an IdP's workload tokens): the identity is rendered
 * from a template of verified claims, `subjectTemplate: "ci/gitlab/{claims.project_id}"` giving
 * `spiffe://<trustDomain>/ci/gitlab/42`; `requiredClaims` must match their globs; the `claims` listed
 * are exposed to grant conditions.
 *
 * Trust boundary: a claim value becomes part of a SPIFFE ID only if it is one plain path segment
 * (1 to 128 of A-Z a-z 0-9 . _ -, never "." or ".."). The template's leading whole segments of fixed
 * text (`ci/gitlab` above) are the attestor's namespace: its first segment is none of the built-in
 * kinds', and no other attestor's namespace may equal or begin it, or be begun by it (namespace.ts).
 * Claim values keep the case the issuer gives them: only the issuer knows whether case matters.
 */

const JTI = /^[\x21-\x7E]{1,256}$/

/**
 * @example
 * const attestor = createOidcAttestor(OidcAttestorConfig.parse({ kind: 'oidc', name: 'gitlab', issuer: 'https://gitlab.com',
 *   jwksUri: 'https://gitlab.com/oauth/discovery/keys', subjectTemplate: 'ci/gitlab/{claims.project_id}',
 *   claims: ['project_path', 'ref'], requiredClaims: { namespace_path: 'acme' } }), deps)
 * const identity = await attestor.attest(ciJobJwt) // identity.subject === 'spiffe://example.org/ci/gitlab/42'
 */
export function createOidcAttestor(config: OidcAttestorConfig, deps: AttestorDeps): JwtAttestor {
  const template = compileSubjectTemplate(config.subjectTemplate, config)
  // Unreachable after schema validation: a programming mistake, not a bad token.
  if (typeof template === 'string') throw new TypeError(`attestor ${config.name}: subjectTemplate: ${template}`)
  const exposed = config.claims.map((path) => ({ name: exposedName(path), path }))
  const required = Object.entries(config.requiredClaims).map(([path, globs]) => ({
    path,
    globs: typeof globs === 'string' ? [globs] : globs,
  }))
  const source = oidcNamespace(config).source
  return createJwtAttestor(config, deps, {
    kind: 'oidc',
    // Verified by now; the values are still checked before they name anything.
    identify: (payload) => {
      for (const { path, globs } of required) {
        const value = scalarClaim(payload, path)
        if (value === undefined)
          throw new InvalidGrantError(
            `the token has no "${path}" claim, which attestor ${JSON.stringify(config.name)} requires`,
            'claim_missing',
          )
        if (!globs.some((glob) => globMatches(glob, value))) {
          throw new InvalidGrantError(
            `the token claim "${path}" is ${quoteUntrusted(value)}, which attestor ${JSON.stringify(config.name)} does not accept`,
            'claim_not_allowed',
          )
        }
      }
      const claims: Record<string, string> = {}
      for (const { name, path } of exposed) {
        const value = scalarClaim(payload, path)
        if (value !== undefined) claims[name] = value
      }
      const { jti } = payload
      if (jti !== undefined) {
        if (typeof jti !== 'string' || !JTI.test(jti))
          throw new InvalidGrantError(`the token id ("jti") ${quoteUntrusted(jti)} is not valid`, 'claim_invalid')
        claims.jti = jti
      }
      return {
        subject: `spiffe://${deps.trustDomain}/${renderSubject(template, payload)}`,
        attestor: config.name,
        kind: 'oidc',
        claims,
        sources: [{ id: source }],
        expiresAt: new Date(payload.exp * 1000),
      }
    },
  })
}
