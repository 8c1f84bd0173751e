import { z } from 'zod'
import { AttestorName, checkKeySource, IssuerUrl, jwtIssuerFields } from '../jwt-issuer-config.js'

/**
 * One `kind: gcp` attestor: Compute Engine instances of the listed projects, by the instance identity
 * tokens Google signs. The issuer and its keys default to Google's.
 */

export const GOOGLE_ISSUER = 'https://accounts.google.com'
export const GOOGLE_JWKS_URI = 'https://www.googleapis.com/oauth2/v3/certs'

/** GCP project ids: 6 to 30 of a-z 0-9 -, starting with a letter. Domain-scoped ids (`example.com:p`) are not accepted. */
export const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/
const ProjectId = z
  .string()
  .regex(PROJECT_ID, 'must be a GCP project id (6 to 30 lowercase letters, digits or "-", starting with a letter)')

export const GcpAttestorConfig = z
  .object({
    kind: z.literal('gcp'),
    name: AttestorName.default('gcp'),
    // Not single-use by default: the token has no jti, and a VM may present the one its metadata server
    // gave it more than once within its hour; that hour bounds what a copy is worth.
    ...jwtIssuerFields(IssuerUrl.default(GOOGLE_ISSUER), { algorithms: ['RS256'], maxTokenLifetimeSeconds: 3600, singleUse: false }),
    /** The projects whose instances may attest; required, so a config cannot trust every VM on GCP. */
    projects: z.array(ProjectId).min(1, 'list the GCP projects whose instances may attest'),
  })
  .strict()
  .superRefine((config, ctx) => checkKeySource(config, ctx, GOOGLE_JWKS_URI))
export type GcpAttestorConfig = z.infer<typeof GcpAttestorConfig>
