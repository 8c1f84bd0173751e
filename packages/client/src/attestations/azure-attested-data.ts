import { randomInt } from 'node:crypto'
import { AZURE_ATTESTED_DATA_TOKEN_TYPE, AttestationError, type Attestation } from './attestation.js'
import { callMetadata, expectOk, type Fetch } from './metadata-http.js'

export interface AzureAttestedDataOptions {
  /** The instance metadata service; `http://169.254.169.254` by default. */
  endpoint?: string
  /** IMDS api-version; 2021-02-01 by default (2019-04-30 or newer: older data names no subscription). */
  apiVersion?: string
  fetch?: Fetch
}

/**
 * An Azure VM's IMDS attested data (`/metadata/attested/document`), sent as IMDS answers it
 * (`{"encoding":"pkcs7","signature":"..."}`). Fetched anew, with a new nonce, for every exchange:
 * the Azure attestor accepts each document once.
 *
 * @example
 * tokenSource({ sts, attestation: azureAttestedData() })
 */
export function azureAttestedData(options: AzureAttestedDataOptions = {}): Attestation {
  const endpoint = (options.endpoint ?? 'http://169.254.169.254').replace(/\/+$/, '')
  const apiVersion = options.apiVersion ?? '2021-02-01'
  const fetch = options.fetch ?? globalThis.fetch
  const what = 'the Azure instance metadata service'
  return {
    kind: 'azure-attested-data',
    async subjectToken({ signal }) {
      const url = new URL(`${endpoint}/metadata/attested/document`)
      url.searchParams.set('api-version', apiVersion)
      // IMDS takes a nonce of up to ten digits and signs it into the data.
      url.searchParams.set('nonce', String(randomInt(1_000_000_000, 10_000_000_000)))
      const body = expectOk(what, await callMetadata(fetch, { what, url, headers: { Metadata: 'true' }, signal }))
      let answer: unknown
      try {
        answer = JSON.parse(body)
      } catch {
        throw new AttestationError(`${what} answered attested data that is not JSON`, true)
      }
      const { encoding, signature } = (answer ?? {}) as Record<string, unknown>
      if (encoding !== 'pkcs7' || typeof signature !== 'string' || signature === '') {
        throw new AttestationError(`${what} answered attested data without a PKCS#7 signature`, true)
      }
      return { subjectToken: JSON.stringify({ encoding, signature }), subjectTokenType: AZURE_ATTESTED_DATA_TOKEN_TYPE }
    },
  }
}
