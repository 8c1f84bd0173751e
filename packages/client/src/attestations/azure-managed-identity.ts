import { AttestationError, JWT_TOKEN_TYPE, type Attestation } from './attestation.js'
import { looksLikeJwt } from './jwt-expiry.js'
import { callMetadata, expectOk, type Fetch } from './metadata-http.js'

export interface AzureManagedIdentityOptions {
  /** The resource the token is for: the `managedIdentity.audience` of the STS's Azure attestor, e.g. api://seed-sts. */
  resource: string
  /** A user-assigned identity, by one of its ids; the system-assigned identity when none is given. */
  clientId?: string
  objectId?: string
  /** The user-assigned identity's ARM resource id (`msi_res_id`). */
  resourceId?: string
  /** The instance metadata service; `http://169.254.169.254` by default. */
  endpoint?: string
  fetch?: Fetch
}

/**
 * A managed-identity access token from IMDS (`/metadata/identity/oauth2/token`), sent as a JWT. IMDS
 * caches it for hours, so asking for every exchange costs nothing.
 *
 * @example
 * tokenSource({ sts, attestation: azureManagedIdentity({ resource: 'api://seed-sts' }) })
 */
export function azureManagedIdentity(options: AzureManagedIdentityOptions): Attestation {
  if (typeof options?.resource !== 'string' || options.resource === '') {
    throw new TypeError('azureManagedIdentity: `resource` must be the audience the STS expects, e.g. api://seed-sts')
  }
  const chosen = [options.clientId, options.objectId, options.resourceId].filter((id) => id !== undefined)
  if (chosen.length > 1) throw new TypeError('azureManagedIdentity: name the identity by one of `clientId`, `objectId`, `resourceId`')
  const endpoint = (options.endpoint ?? 'http://169.254.169.254').replace(/\/+$/, '')
  const fetch = options.fetch ?? globalThis.fetch
  const url = new URL(`${endpoint}/metadata/identity/oauth2/token`)
  url.searchParams.set('api-version', '2018-02-01')
  url.searchParams.set('resource', options.resource)
  if (options.clientId !== undefined) url.searchParams.set('client_id', options.clientId)
  if (options.objectId !== undefined) url.searchParams.set('object_id', options.objectId)
  if (options.resourceId !== undefined) url.searchParams.set('msi_res_id', options.resourceId)
  const what = 'the Azure managed identity endpoint'
  return {
    kind: 'azure-managed-identity',
    async subjectToken({ signal }) {
      const body = expectOk(what, await callMetadata(fetch, { what, url, headers: { Metadata: 'true' }, signal }))
      let token: unknown
      try {
        token = (JSON.parse(body) as Record<string, unknown> | null)?.access_token
      } catch {
        throw new AttestationError(`${what} answered something that is not JSON`, true)
      }
      if (typeof token !== 'string' || !looksLikeJwt(token)) throw new AttestationError(`${what} answered no access_token JWT`, true)
      return { subjectToken: token, subjectTokenType: JWT_TOKEN_TYPE }
    },
  }
}
