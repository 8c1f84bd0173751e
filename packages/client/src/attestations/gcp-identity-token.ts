import { AttestationError, JWT_TOKEN_TYPE, type Attestation } from './attestation.js'
import { looksLikeJwt } from './jwt-expiry.js'
import { callMetadata, expectOk, type Fetch } from './metadata-http.js'

export interface GcpIdentityTokenOptions {
  /** The `aud` asked for: the audience the STS's GCP attestor is configured with. */
  audience: string
  /** The service account whose token to ask for; `default` by default. */
  serviceAccount?: string
  /** Also ask for the VM's licence codes (`licenses=TRUE`), for grants that match `licenseIds`. */
  licenses?: boolean
  /** The metadata server; `http://metadata.google.internal` by default. */
  endpoint?: string
  fetch?: Fetch
}

/**
 * A Compute Engine VM's (or GKE node's) instance identity token from its metadata server, always with
 * `format=full`: without it the token carries no instance claims and the GCP attestor refuses it.
 *
 * @example
 * tokenSource({ sts, attestation: gcpIdentityToken({ audience: 'sts.example.org' }) })
 */
export function gcpIdentityToken(options: GcpIdentityTokenOptions): Attestation {
  if (typeof options?.audience !== 'string' || options.audience === '') {
    throw new TypeError('gcpIdentityToken: `audience` must be the audience the STS expects')
  }
  const endpoint = (options.endpoint ?? 'http://metadata.google.internal').replace(/\/+$/, '')
  const account = encodeURIComponent(options.serviceAccount ?? 'default')
  const fetch = options.fetch ?? globalThis.fetch
  const url = new URL(`${endpoint}/computeMetadata/v1/instance/service-accounts/${account}/identity`)
  url.searchParams.set('audience', options.audience)
  url.searchParams.set('format', 'full')
  if (options.licenses === true) url.searchParams.set('licenses', 'TRUE')
  const what = 'the GCE metadata server'
  return {
    kind: 'gcp',
    async subjectToken({ signal }) {
      const response = await callMetadata(fetch, { what, url, headers: { 'Metadata-Flavor': 'Google' }, signal })
      const token = expectOk(what, response).trim()
      if (!looksLikeJwt(token)) throw new AttestationError(`${what} answered something that is not a JWT`, true)
      return { subjectToken: token, subjectTokenType: JWT_TOKEN_TYPE }
    },
  }
}
