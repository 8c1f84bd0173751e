import { InvalidGrantError } from '../../errors.js'
import type { JwtPayload } from '../../jose/jwt-verifier.js'
import { quoteUntrusted } from '../../lib/untrusted-text.js'
import type { AttestedIdentity, AttestorDeps, JwtAttestor } from '../attestor.js'
import { createJwtAttestor, objectClaim } from '../jwt-attestor.js'
import { GOOGLE_JWKS_URI, PROJECT_ID, type GcpAttestorConfig } from './config.js'

/**
 * GCP instance identity tokens: the JWT a Compute Engine VM (or GKE node) gets from its metadata
 * server at `.../instance/service-accounts/default/identity?audience=<aud>&format=full`, signed by
 * Google. The identity is the instance: `spiffe://<trustDomain>/gcp/<projectId>/<zone>/<instanceName>`.
 *
 * Trust boundary: the Compute Engine claims mean something only because Google signed them. Any service
 * account can sign a JWT with the same claims using its own key (the Vault bypass, CVE-2020-16251), so
 * keys come only from the configuration (Google's JWKS by default) and the issuer must be Google's.
 */

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
export function createGcpAttestor(config: GcpAttestorConfig, deps: AttestorDeps): JwtAttestor {
  const projects = new Set(config.projects)
  const audience = config.audience ?? deps.audience
  // A plain Google ID token is not an instance token: refused with how to ask for one.
  const requireComputeEngineClaims = (payload: Record<string, unknown>): void => {
    if (computeEngineClaims(payload) === undefined) {
      throw new InvalidGrantError(
        'the token has no "google.compute_engine" claims; request the instance identity token with format=full ' +
          `(metadata path instance/service-accounts/default/identity?audience=${audience}&format=full)`,
        'token_kind_not_accepted',
      )
    }
  }
  return createJwtAttestor(config, deps, {
    kind: 'gcp',
    defaultJwksUri: GOOGLE_JWKS_URI,
    inspect: requireComputeEngineClaims,
    identify: (payload) => toIdentity(payload, config, projects, deps.trustDomain),
  })
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
    throw new InvalidGrantError(
      `the token project ${JSON.stringify(projectId)} is not one of the projects attestor ${JSON.stringify(config.name)} accepts`,
      'claim_not_allowed',
    )
  }
  const zone = required(gce.zone, 'zone', ZONE)
  const instanceName = required(gce.instance_name, 'instance name', INSTANCE_NAME)
  const instanceId = required(gce.instance_id, 'instance id', NUMERIC_ID)
  const projectNumber = required(
    typeof gce.project_number === 'number' && Number.isSafeInteger(gce.project_number) ? String(gce.project_number) : gce.project_number,
    'project number',
    NUMERIC_ID,
  )
  const created = gce.instance_creation_timestamp
  if (typeof created !== 'number' || !Number.isFinite(created)) {
    throw new InvalidGrantError(
      `the token instance creation timestamp ${quoteUntrusted(created)} is not a number of seconds`,
      'claim_invalid',
    )
  }
  const claims: Record<string, string> = {
    projectId,
    projectNumber,
    zone,
    region: ZONE.exec(zone)![1],
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
  if (typeof value !== 'string' || !form.test(value))
    throw new InvalidGrantError(`the token ${what} ${quoteUntrusted(value)} is not valid`, 'claim_invalid')
  return value
}
