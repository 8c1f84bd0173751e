import { z } from 'zod'
import { InvalidGrantError } from '../errors.js'
import type { AttestedIdentity, JwtAttestor } from './attestor.js'
import { parseUntrustedJwt, type JwtPayload, type UntrustedJwt } from './jwt-verifier.js'
import { AttestorName, checkKeySource, createIssuerVerifier, IssuerUrl, jwtIssuerFields, objectClaim, withSingleUse, type JwtAttestorDeps } from './jwt-attestor-config.js'
import { quoteUntrusted } from './untrusted.js'

/**
 * GCP instance identity tokens: the JWT a Compute Engine VM (or GKE node) gets from its metadata
 * server at `.../instance/service-accounts/default/identity?audience=<aud>&format=full`, signed by
 * Google. The identity is the instance: `spiffe://<trustDomain>/gcp/<projectId>/<zone>/<instanceName>`.
 *
 * Trust boundary: the Compute Engine claims mean something only because Google signed them. Any service
 * account can sign a JWT with the same claims using its own key (the Vault bypass, CVE-2020-16251), so
 * keys come only from the configuration (Google's JWKS by default) and the issuer must be Google's.
 */

export const GOOGLE_ISSUER = 'https://accounts.google.com'
export const GOOGLE_JWKS_URI = 'https://www.googleapis.com/oauth2/v3/certs'

/** GCP project ids: 6 to 30 of a-z 0-9 -, starting with a letter. Domain-scoped ids (`example.com:p`) are not accepted. */
const PROJECT_ID = /^[a-z][a-z0-9-]{4,28}[a-z0-9]$/
const ProjectId = z.string().regex(PROJECT_ID, 'must be a GCP project id (6 to 30 lowercase letters, digits or "-", starting with a letter)')

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

/** `us-central1-c` -> region `us-central1`; the zone letter may grow (`-ai1a`), the region form is fixed. */
const ZONE = /^([a-z]+-[a-z]+[0-9]{1,2})-[a-z][a-z0-9]{0,7}$/
/** RFC 1035 label: what Compute Engine allows for instance names. */
const INSTANCE_NAME = /^[a-z]([-a-z0-9]{0,61}[a-z0-9])?$/
const NUMERIC_ID = /^[0-9]{1,20}$/
/** Service account unique ids are 21 digits today. */
const ACCOUNT_ID = /^[0-9]{1,32}$/
const EMAIL = /^[A-Za-z0-9._+-]{1,64}@[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)+$/

/**
 * @example
 * const attestor = createGcpAttestor(GcpAttestorConfig.parse({ kind: 'gcp', projects: ['payments-prod'] }),
 *   { trustDomain, audience, clock: systemClock, skewSeconds: 60, maxAttestationBytes: 16_384, fetchJwks: createHttpJwksFetcher(5000) })
 * const identity = await attestor.attest(instanceIdentityToken)
 * // identity.subject === 'spiffe://example.org/gcp/payments-prod/europe-west1-b/api-1'
 */
export function createGcpAttestor(config: GcpAttestorConfig, deps: JwtAttestorDeps): JwtAttestor {
  const verifier = createIssuerVerifier(config, deps, GOOGLE_JWKS_URI)
  const projects = new Set(config.projects)
  const audience = config.audience ?? deps.audience
  // Untrusted payload, read only to refuse with a useful message: a plain Google ID token is not an instance token.
  const requireComputeEngineClaims = (payload: Record<string, unknown>): void => {
    if (computeEngineClaims(payload) === undefined) {
      throw new InvalidGrantError(
        'the token has no "google.compute_engine" claims; request the instance identity token with format=full ' +
          `(metadata path instance/service-accounts/default/identity?audience=${audience}&format=full)`,
          'token_kind_not_accepted',
      )
    }
  }
  return {
    name: config.name,
    kind: 'gcp',
    issuer: config.issuer,
    async attest(attestation: string): Promise<AttestedIdentity> {
      return this.attestJwt(parseUntrustedJwt(attestation, deps.maxAttestationBytes))
    },
    async attestJwt(jwt: UntrustedJwt): Promise<AttestedIdentity> {
      const { payload } = await verifier.verify(jwt, requireComputeEngineClaims)
      return withSingleUse(toIdentity(payload, config, projects, deps.trustDomain), jwt, payload, config, deps)
    },
  }
}

function computeEngineClaims(payload: Record<string, unknown>): Record<string, unknown> | undefined {
  return objectClaim(objectClaim(payload.google)?.compute_engine)
}

// Below this line the token is verified (Google said it), but its values still become part of a SPIFFE
// ID, source ids and grant conditions: each is checked against what GCP itself allows.

function toIdentity(payload: JwtPayload, config: GcpAttestorConfig, projects: ReadonlySet<string>, trustDomain: string): AttestedIdentity {
  const gce = computeEngineClaims(payload)!
  const projectId = required(gce.project_id, 'project id', PROJECT_ID)
  if (!projects.has(projectId)) {
    throw new InvalidGrantError(`the token project ${JSON.stringify(projectId)} is not one of the projects attestor ${JSON.stringify(config.name)} accepts`, 'claim_not_allowed')
  }
  const zone = required(gce.zone, 'zone', ZONE)
  const instanceName = required(gce.instance_name, 'instance name', INSTANCE_NAME)
  const instanceId = required(gce.instance_id, 'instance id', NUMERIC_ID)
  const projectNumber = required(typeof gce.project_number === 'number' && Number.isSafeInteger(gce.project_number) ? String(gce.project_number) : gce.project_number, 'project number', NUMERIC_ID)
  const created = gce.instance_creation_timestamp
  if (typeof created !== 'number' || !Number.isFinite(created)) {
    throw new InvalidGrantError(`the token instance creation timestamp ${quoteUntrusted(created)} is not a number of seconds`, 'claim_invalid')
  }
  const claims: Record<string, string> = {
    projectId,
    projectNumber,
    zone,
    region: ZONE.exec(zone)![1]!,
    instanceId,
    instanceName,
    serviceAccountEmail: required(payload.email, 'service account email', EMAIL),
    serviceAccountId: required(payload.sub, 'subject (service account id)', ACCOUNT_ID),
  }
  const licenses = gce.license_id
  if (licenses !== undefined) {
    if (!Array.isArray(licenses) || licenses.some((id) => typeof id !== 'string' || !NUMERIC_ID.test(id))) {
      throw new InvalidGrantError(`the token license ids ${quoteUntrusted(licenses)} are not a list of numeric ids`, 'claim_invalid')
    }
    claims.licenseIds = licenses.join(',')
  }
  return {
    subject: `spiffe://${trustDomain}/gcp/${projectId}/${zone}/${instanceName}`,
    attestor: config.name,
    kind: 'gcp',
    claims,
    sources: [{ id: `gcp:${projectId}` }, { id: `gcp:${projectId}:${zone}` }, { id: `gcp:${projectId}:${zone}:${instanceId}` }],
    expiresAt: new Date(payload.exp * 1000),
  }
}

function required(value: unknown, what: string, form: RegExp): string {
  if (typeof value !== 'string' || !form.test(value)) throw new InvalidGrantError(`the token ${what} ${quoteUntrusted(value)} is not valid`, 'claim_invalid')
  return value
}
