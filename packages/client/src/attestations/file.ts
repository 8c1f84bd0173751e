import { readFile } from 'node:fs/promises'
import { AttestationError, JWT_TOKEN_TYPE, type Attestation } from './attestation.js'
import { looksLikeJwt, unverifiedExpiry } from './jwt-expiry.js'

export interface FileAttestationOptions {
  /** The token's file: a Kubernetes projected service-account token, e.g. /var/run/secrets/tokens/sts-token. */
  path: string
  /** The `subject_token_type` to send; a JWT by default. */
  subjectTokenType?: string
}

/**
 * A token kept in a file by someone else, above all the Kubernetes projected service-account token.
 * The file is read for every exchange: the kubelet rotates it in place (an atomic symlink swap) at 80 %
 * of its life, so the newest token is always the one sent. A token whose `exp` (read without
 * verifying) has passed is never sent: it could only be refused, and waiting for the kubelet is the
 * way out, so that failure is retried.
 *
 * @example
 * const source = tokenSource({ sts: 'https://sts.example.org', attestation: fileAttestation({ path: '/var/run/secrets/tokens/sts-token' }) })
 */
export function fileAttestation(options: FileAttestationOptions): Attestation {
  if (typeof options?.path !== 'string' || options.path === '')
    throw new TypeError('fileAttestation: `path` must be the path of the token file')
  const { path } = options
  const subjectTokenType = options.subjectTokenType ?? JWT_TOKEN_TYPE
  return {
    kind: 'file',
    async subjectToken({ now }) {
      let token: string
      try {
        token = (await readFile(path, 'utf8')).trim()
      } catch (error) {
        // Missing while the kubelet has not mounted it yet: worth waiting for.
        throw new AttestationError(`the token file ${path} cannot be read: ${(error as Error).message}`, true, { cause: error })
      }
      if (token === '') throw new AttestationError(`the token file ${path} is empty`, true)
      if (subjectTokenType === JWT_TOKEN_TYPE) {
        if (!looksLikeJwt(token)) throw new AttestationError(`the token file ${path} does not hold a JWT`, false)
        const exp = unverifiedExpiry(token)
        if (exp !== undefined && exp * 1000 <= now()) {
          throw new AttestationError(
            `the token in ${path} expired at ${new Date(exp * 1000).toISOString()}; waiting for it to be rotated`,
            true,
          )
        }
      }
      return { subjectToken: token, subjectTokenType }
    },
  }
}
