import { ACCESS_TOKEN_TYPE, AttestationError, type Attestation, type AttestationContext } from './attestation.js'
import { customAttestation } from './custom.js'
import { looksLikeJwt, unverifiedExpiry } from './jwt-expiry.js'

/** Where the access token comes from: the token itself, or a function asked before every exchange. */
export type AccessTokenInput = string | ((context: AttestationContext) => string | Promise<string>)

/**
 * An access token of Seed STS presented as the subject (`subject_token_type`
 * `urn:ietf:params:oauth:token-type:access_token`): the STS issues a narrower token from it (same
 * audience, fewer scopes, a shorter life), or, with the source's `actor`, a token for the same subject
 * naming the actor in `act`. Give a function when the token is renewed (another token source's
 * `token(...)`): it is asked before every exchange. A token whose `exp` (read without verifying) has
 * passed is never sent; given as a string it can only be refused, so that failure is not retried.
 *
 * A subject token bound to a DPoP key needs a proof of that key: give the token source the same key
 * (`dpop: { key }`).
 *
 * @example
 * // An agent acting for the service whose token it was handed
 * tokenSource({ sts, attestation: accessTokenAttestation(serviceToken), actor: fileAttestation({ path }), dpop: true })
 */
export function accessTokenAttestation(token: AccessTokenInput): Attestation {
  if (typeof token !== 'function' && (typeof token !== 'string' || token === ''))
    throw new TypeError('accessTokenAttestation: expected an access token, or a function returning one')
  const renewable = typeof token === 'function'
  return customAttestation(async (context) => {
    const subjectToken = renewable ? await token(context) : token
    if (typeof subjectToken !== 'string' || !looksLikeJwt(subjectToken))
      throw new AttestationError('the access-token attestation was given no access token (a JWT)', false)
    const exp = unverifiedExpiry(subjectToken)
    if (exp !== undefined && exp * 1000 <= context.now())
      throw new AttestationError(`the access token given expired at ${new Date(exp * 1000).toISOString()}`, renewable)
    return { subjectToken, subjectTokenType: ACCESS_TOKEN_TYPE }
  }, 'access-token')
}
