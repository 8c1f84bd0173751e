import { ConfigError } from '../../config-error.js'
import { InvalidGrantError } from '../../errors.js'
import { UUID_PATTERN } from '../../lib/ids.js'
import type { AttestationSource, AttestedIdentity, AttestorDeps, JwtAttestor } from '../attestor.js'
import { parseUntrustedJwt, untrustedIssuerOf, type UntrustedJwt } from '../../jose/compact-jws.js'
import { RemoteKeySet } from '../../jose/jwks-key-set.js'
import { JwtVerifier, type JwtPayload } from '../../jose/jwt-verifier.js'
import { singleUseOf } from '../single-use.js'
import { quoteUntrusted } from '../../lib/untrusted-text.js'
import type { AzureAttestorConfig } from './config.js'

/**
 * Microsoft Entra access tokens of managed identities (`GET /metadata/identity/oauth2/token?resource=
 * <audience>` on the VM): RS256 JWTs from an allowed tenant, addressed to the configured audience.
 * Entra signs every tenant's tokens with one key set, so the tenant is decided by the exact issuer:
 * `https://sts.windows.net/<tenant>/` (v1 tokens, what managed identities get) or
 * `https://login.microsoftonline.com/<tenant>/v2.0` (v2), and `tid` must agree with it.
 */

/** One attestor answers for several issuers (two per tenant); the registry must route each of them here. */
export interface AzureManagedIdentityAttestor extends JwtAttestor {
  readonly issuers: readonly string[]
}

/** A system-assigned identity's resource id names its VM. */
const VM_RESOURCE_ID =
  /^\/subscriptions\/([0-9a-fA-F-]{36})\/resourcegroups\/([^/]{1,90})\/providers\/Microsoft\.Compute\/virtualMachines\/([^/]{1,64})$/i
/** Any other resource id (user-assigned identities, App Service, ...): only its subscription is read. */
const RESOURCE_ID = /^\/subscriptions\/([0-9a-fA-F-]{36})\/resourcegroups\/([^/]{1,90})\/providers\/[^/]+\/.+$/i
/** What a SPIFFE path segment may hold (Azure names are case-insensitive, so lowercased first). */
const SPIFFE_SEGMENT = /^[a-z0-9._-]+$/

/**
 * @example
 * const attestor = createAzureManagedIdentityAttestor(azureConfig, deps)
 * attestor.issuers // ['https://sts.windows.net/<tenant>/', 'https://login.microsoftonline.com/<tenant>/v2.0']
 */
export function createAzureManagedIdentityAttestor(config: AzureAttestorConfig, deps: AttestorDeps): AzureManagedIdentityAttestor {
  const { managedIdentity, tenants } = config
  if (managedIdentity === undefined || tenants === undefined) {
    throw new ConfigError([`attestor ${config.name}: managed-identity tokens need managedIdentity and tenants`])
  }
  const audience = managedIdentity.audience ?? deps.audience
  const keys = new RemoteKeySet({
    issuer: 'Microsoft Entra ID',
    uri: managedIdentity.jwksUri,
    fetch: deps.fetchJwks,
    clock: deps.clock,
    cacheSeconds: managedIdentity.jwksCacheSeconds,
    refreshCooldownSeconds: managedIdentity.jwksRefreshCooldownSeconds,
    ...(deps.jwksObserver ? { observer: { attestor: config.name, jwks: deps.jwksObserver } } : {}),
  })
  const verifiers = new Map<string, { tenant: string; verifier: JwtVerifier }>()
  for (const tenant of tenants) {
    for (const issuer of [`https://sts.windows.net/${tenant}/`, `https://login.microsoftonline.com/${tenant}/v2.0`]) {
      const policy = {
        issuer,
        audience,
        algorithms: ['RS256'] as const,
        maxLifetimeSeconds: managedIdentity.maxTokenLifetimeSeconds,
        skewSeconds: deps.skewSeconds,
        maxBytes: deps.maxAttestationBytes,
      }
      verifiers.set(issuer, { tenant, verifier: new JwtVerifier(policy, keys, deps.clock) })
    }
  }
  const issuers = [...verifiers.keys()]
  return {
    name: config.name,
    kind: 'azure',
    issuer: issuers[0],
    issuers,
    async attest(attestation: string): Promise<AttestedIdentity> {
      return this.attestJwt(parseUntrustedJwt(attestation, deps.maxAttestationBytes))
    },
    async attestJwt(jwt: UntrustedJwt): Promise<AttestedIdentity> {
      // Untrusted: the unverified `iss` only picks the verifier, which then requires exactly that issuer.
      const issuer = untrustedIssuerOf(jwt)
      const entry = verifiers.get(issuer)
      if (entry === undefined)
        throw new InvalidGrantError(
          `the token issuer ${quoteUntrusted(issuer, 100)} is not a Microsoft Entra tenant allowed by attestor ${config.name}`,
          'issuer_unknown',
        )
      const { payload } = await entry.verifier.verify(jwt, refuseDelegatedToken)
      const identity = toIdentity(payload, entry.tenant, config, deps.trustDomain)
      return managedIdentity.singleUse ? { ...identity, singleUse: singleUseOf(jwt, payload, issuer, deps.skewSeconds) } : identity
    },
  }
}

/** A token acting for a signed-in user carries `scp`: a person, not a workload. */
function refuseDelegatedToken(payload: Record<string, unknown>): void {
  if (payload.scp !== undefined || payload.idtyp === 'user') {
    throw new InvalidGrantError(
      'the token was issued to a user (delegated "scp"); only app-only tokens of managed identities and service principals are accepted',
      'token_kind_not_accepted',
    )
  }
}

// Below this line the token is verified: its claims are Microsoft's word, still checked for form.

function toIdentity(payload: JwtPayload, tenant: string, config: AzureAttestorConfig, trustDomain: string): AttestedIdentity {
  if (typeof payload.tid !== 'string' || payload.tid.toLowerCase() !== tenant) {
    throw new InvalidGrantError(
      `the token tenant ("tid") ${quoteUntrusted(payload.tid)} does not match its issuer's tenant ${JSON.stringify(tenant)}`,
      'claim_invalid',
    )
  }
  const oid = typeof payload.oid === 'string' ? payload.oid.toLowerCase() : undefined
  if (oid === undefined || !UUID_PATTERN.test(oid))
    throw new InvalidGrantError(`the token object id ("oid") ${quoteUntrusted(payload.oid)} is not a GUID`, 'claim_invalid')
  const claims: Record<string, string> = { tenantId: tenant, objectId: oid }
  const appId = payload.appid ?? payload.azp
  if (typeof appId === 'string' && UUID_PATTERN.test(appId)) claims.appId = appId.toLowerCase()
  const sources: AttestationSource[] = [{ id: `azure:${tenant}` }]
  let subject = `spiffe://${trustDomain}/azure/${tenant}/principal/${oid}`

  const resourceId = payload.xms_mirid
  if (resourceId !== undefined) {
    const resource = typeof resourceId === 'string' ? RESOURCE_ID.exec(resourceId) : null
    if (resource === null)
      throw new InvalidGrantError(
        `the token resource id ("xms_mirid") ${quoteUntrusted(resourceId, 100)} is not an Azure resource id`,
        'claim_invalid',
      )
    const subscription = resource[1].toLowerCase()
    if (!config.subscriptions.includes(subscription)) {
      throw new InvalidGrantError(
        `subscription ${JSON.stringify(subscription)} is not allowed by attestor ${config.name}`,
        'claim_not_allowed',
      )
    }
    Object.assign(claims, {
      subscriptionId: subscription,
      resourceGroup: resource[2].toLowerCase(),
      resourceId: (resourceId as string).toLowerCase(),
    })
    sources.push({ id: `azure:${subscription}` })
    const vm = VM_RESOURCE_ID.exec(resourceId as string)
    if (vm !== null) {
      const [group, name] = [vm[2].toLowerCase(), vm[3].toLowerCase()]
      claims.vmName = name
      // A name a SPIFFE ID cannot hold (Azure allows parentheses in group names) keeps the principal form.
      if (SPIFFE_SEGMENT.test(group) && SPIFFE_SEGMENT.test(name))
        subject = `spiffe://${trustDomain}/azure/${tenant}/${subscription}/${group}/${name}`
    }
  }
  sources.push({ id: `azure:${tenant}:principal:${oid}` })
  return { subject, attestor: config.name, kind: 'azure', claims, sources, expiresAt: new Date(payload.exp * 1000) }
}
