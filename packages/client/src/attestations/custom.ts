import { AttestationError, type Attestation, type AttestationContext, type SubjectToken } from './attestation.js'

/** An attestation of your own making: return the two token-exchange parameters. */
export type AttestationFunction = (context: AttestationContext) => Promise<SubjectToken>

/**
 * Any attestation the built-in kinds do not fetch: an OIDC issuer's token, a token from a vault. What
 * the function throws is retried with backoff, unless it is an AttestationError with `retryable: false`.
 *
 * @example
 * customAttestation(async () => ({ subjectToken: await myIssuer.token(), subjectTokenType: JWT_TOKEN_TYPE }))
 */
export function customAttestation(get: AttestationFunction, kind = 'custom'): Attestation {
  if (typeof get !== 'function')
    throw new TypeError('customAttestation: expected an async function returning { subjectToken, subjectTokenType }')
  return {
    kind,
    async subjectToken(context) {
      const token = await get(context)
      if (
        typeof token?.subjectToken !== 'string' ||
        token.subjectToken === '' ||
        typeof token.subjectTokenType !== 'string' ||
        token.subjectTokenType === ''
      ) {
        throw new AttestationError(`the ${kind} attestation returned no { subjectToken, subjectTokenType }`, false)
      }
      return { subjectToken: token.subjectToken, subjectTokenType: token.subjectTokenType }
    },
  }
}
