import { z } from 'zod'
import { AttestorName, checkKeySource, IssuerUrl, jwtIssuerFields } from '../jwt-issuer-config.js'
import { RESERVED_FIRST_SEGMENTS } from '../namespace.js'

/**
 * One `kind: github` attestor: GitHub Actions jobs of the listed owners, by the OIDC tokens of one
 * issuer (github.com's by default, an enterprise's, or a GitHub Enterprise Server's).
 */

export const GITHUB_ISSUER = 'https://token.actions.githubusercontent.com'
/** Names a github attestor for another issuer may not take: they begin other kinds' identities or source ids. */
const TAKEN_NAMES = [...RESERVED_FIRST_SEGMENTS, 'oidc']

/** GitHub logins: letters, digits and "-" (Enterprise Managed Users add "_<shortcode>"). */
export const OWNER = /^[A-Za-z0-9][A-Za-z0-9_-]{0,99}$/

const NOT_AN_ID = 'must be a numeric GitHub id, e.g. 3963394'
const NumericId = z
  .union([z.string().regex(/^[1-9][0-9]{0,19}$/, NOT_AN_ID), z.number({ error: NOT_AN_ID }).int(NOT_AN_ID).positive(NOT_AN_ID)], {
    error: NOT_AN_ID,
  })
  .transform(String)

export const GitHubAttestorConfig = z
  .object({
    kind: z.literal('github'),
    name: AttestorName.default('github'),
    /** github.com, a github.com enterprise's own issuer (`.../<enterprise>`), or GHES (`https://<host>/_services/token`). */
    // Single-use by default: every core.getIDToken() call mints a token with a new jti, so a job that
    // needs two exchanges asks twice, and a token copied from a log is worth nothing.
    ...jwtIssuerFields(IssuerUrl.default(GITHUB_ISSUER), { algorithms: ['RS256'], maxTokenLifetimeSeconds: 3600, singleUse: true }),
    /** `repository_owner` values accepted (compared without regard to case, as GitHub does). */
    owners: z.array(z.string().regex(OWNER, 'must be a GitHub user or organization name')).min(1).optional(),
    /** `repository_owner_id` values accepted: these survive renames and cannot be re-registered. */
    ownerIds: z.array(NumericId).min(1).optional(),
  })
  .strict()
  .superRefine((config, ctx) => {
    checkKeySource(config, ctx, defaultJwksUri(config.issuer))
    if (config.issuer !== GITHUB_ISSUER && TAKEN_NAMES.includes(config.name)) {
      ctx.addIssue({
        code: 'custom',
        path: ['name'],
        message:
          "an attestor for an issuer other than github.com's mints spiffe://<trustDomain>/<name>/<owner>/<repo>: " +
          `give it a name of its own (not ${TAKEN_NAMES.join(', ')})`,
      })
    }
    if (config.owners === undefined && config.ownerIds === undefined) {
      ctx.addIssue({
        code: 'custom',
        path: ['owners'],
        message: 'give owners or ownerIds (or both): without them every repository on GitHub could attest',
      })
    }
  })
export type GitHubAttestorConfig = z.infer<typeof GitHubAttestorConfig>

/** GitHub publishes each issuer's keys under the issuer (github.com, an enterprise's issuer, GHES alike). */
export function defaultJwksUri(issuer: string): string {
  return `${issuer.replace(/\/+$/, '')}/.well-known/jwks`
}
