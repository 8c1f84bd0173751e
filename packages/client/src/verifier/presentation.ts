/**
 * How a request presents its access token: `Authorization: Bearer <token>` (RFC 6750 section 2.1) or
 * `Authorization: DPoP <token>` with a `DPoP` proof header (RFC 9449 section 7.1). Read here only, for
 * the verifier's request entry point and the adapters alike.
 */

export type AccessTokenScheme = 'Bearer' | 'DPoP'

/** What the request carries: a token and its scheme, nothing usable (answer 401 with a bare challenge), or a malformed header (400). */
export type Credentials = { token: string; scheme: AccessTokenScheme } | { missing: true } | { malformed: string }

/** The scheme, compared without case, and a b64token (RFC 6750 section 2.1, RFC 9449 section 7.1). */
const CREDENTIALS = /^(Bearer|DPoP) +([A-Za-z0-9\-._~+/]+=*) *$/i

export function credentialsOf(authorization: string | string[] | undefined): Credentials {
  if (authorization === undefined || authorization === '') return { missing: true }
  if (Array.isArray(authorization)) return { malformed: 'the request has more than one Authorization header' }
  // Another scheme (Basic...) carries no access token: answered as if none were sent.
  const scheme = /^(bearer|dpop)(\s|$)/i.exec(authorization)?.[1]
  if (scheme === undefined) return { missing: true }
  const match = CREDENTIALS.exec(authorization)
  const named: AccessTokenScheme = scheme.toLowerCase() === 'dpop' ? 'DPoP' : 'Bearer'
  return match?.[2] !== undefined ? { token: match[2], scheme: named } : { malformed: `the Authorization header is not ${named} <token>` }
}

/**
 * The DPoP proofs of a request. Node joins repeated headers it does not know with ", ", and a compact
 * JWS has no comma: so two headers are two proofs here, and refused as such.
 */
export function proofsOf(dpop: string | string[] | undefined): string[] {
  const values = dpop === undefined ? [] : Array.isArray(dpop) ? dpop : [dpop]
  return values
    .flatMap((value) => value.split(','))
    .map((value) => value.trim())
    .filter((value) => value !== '')
}
