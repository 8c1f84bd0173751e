import { AttestationError, JWT_TOKEN_TYPE, type Attestation } from './attestation.js'
import { looksLikeJwt } from './jwt-expiry.js'
import { callMetadata, expectOk, type Fetch } from './metadata-http.js'

export interface GithubActionsOptions {
  /** The `aud` asked for: the audience the STS's GitHub attestor is configured with. */
  audience: string
  /** `ACTIONS_ID_TOKEN_REQUEST_URL` of the job by default. */
  requestUrl?: string
  /** `ACTIONS_ID_TOKEN_REQUEST_TOKEN` of the job by default. Never logged. */
  requestToken?: string
  fetch?: Fetch
}

/**
 * A GitHub Actions job's OIDC token, asked for as `core.getIDToken(audience)` does. GitHub sets the
 * two variables only for jobs with `permissions: id-token: write`. Each token is single-use at the
 * STS, and each call mints a new one.
 *
 * @example
 * tokenSource({ sts, attestation: githubActions({ audience: 'sts.example.org' }) })
 */
export function githubActions(options: GithubActionsOptions): Attestation {
  if (typeof options?.audience !== 'string' || options.audience === '') {
    throw new TypeError('githubActions: `audience` must be the audience the STS expects')
  }
  const requestUrl = options.requestUrl ?? process.env.ACTIONS_ID_TOKEN_REQUEST_URL
  const requestToken = options.requestToken ?? process.env.ACTIONS_ID_TOKEN_REQUEST_TOKEN
  if (!requestUrl || !requestToken) {
    throw new TypeError(
      'githubActions: ACTIONS_ID_TOKEN_REQUEST_URL and ACTIONS_ID_TOKEN_REQUEST_TOKEN are not set: give the job `permissions: id-token: write`',
    )
  }
  const url = new URL(requestUrl)
  url.searchParams.set('audience', options.audience)
  const fetch = options.fetch ?? globalThis.fetch
  const what = "GitHub Actions' OIDC token service"
  return {
    kind: 'github-actions',
    async subjectToken({ signal }) {
      const response = await callMetadata(fetch, {
        what,
        url,
        headers: { Authorization: `Bearer ${requestToken}`, Accept: 'application/json; api-version=2.0' },
        signal,
        timeoutMs: 10_000,
      })
      const body = expectOk(what, response)
      let value: unknown
      try {
        value = (JSON.parse(body) as Record<string, unknown> | null)?.value
      } catch {
        throw new AttestationError(`${what} answered something that is not JSON`, true)
      }
      if (typeof value !== 'string' || !looksLikeJwt(value)) throw new AttestationError(`${what} answered no token`, true)
      return { subjectToken: value, subjectTokenType: JWT_TOKEN_TYPE }
    },
  }
}
