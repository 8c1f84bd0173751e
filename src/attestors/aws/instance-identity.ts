import { constants, type X509Certificate } from 'node:crypto'
import { InvalidGrantError } from '../../errors.js'
import type { Clock } from '../../lib/clock.js'
import { parseInstanceIdentityDocument, type InstanceIdentityDocument } from './document.js'
import { PKCS7_PROFILES, safeVerify, verifyPkcs7 } from './pkcs7.js'
import type { InstanceIdentityAttestation } from './subject-token.js'
import { AwsTrustStore, describeCertificate, validAt, type TrustedCertificate } from './trust.js'

/**
 * Verification of an EC2 instance identity document in each form AWS publishes (see subject-token.ts),
 * against trust material given by the caller. What comes out is the document parsed from the bytes
 * that were verified, never from anything beside them: in particular the region is the signed
 * document's, not the region of the certificate that happened to verify it (AWS uses one RSA
 * `signature` key in many regions, so the certificate says nothing about where the instance runs).
 */

export interface InstanceIdentityVerifierOptions {
  /** AWS's published certificates: PEM text or parsed certificates. Nothing else is ever trusted. */
  certificates: ReadonlyArray<string | X509Certificate> | AwsTrustStore
  clock: Clock
  /** Tolerance for a signing time slightly ahead of our clock; default 60. */
  skewSeconds?: number
}

export interface VerifiedInstanceIdentity {
  form: InstanceIdentityAttestation['form']
  document: InstanceIdentityDocument
  /** The exact bytes the signature covers, which `document` was parsed from. */
  signedBytes: Buffer
  /** The trusted certificate that verified it. */
  certificate: X509Certificate
  /** The PKCS#7 signingTime, when the form has one. */
  signingTime?: Date
}

export interface InstanceIdentityVerifier {
  /** Throws InvalidGrantError, with a description safe to show the caller, for anything not acceptable. */
  verify(attestation: InstanceIdentityAttestation): VerifiedInstanceIdentity
}

/** AWS documents are under 1 KiB. */
export const MAX_DOCUMENT_BYTES = 16_384
/** RSA signatures are as long as the modulus: 128 bytes for AWS's RSA-1024 key; at most RSA-4096. */
const MAX_SIGNATURE_BYTES = 512
const MIN_SIGNATURE_KEY_BITS = 1024

/**
 * @example
 * const verifier = createInstanceIdentityVerifier({ certificates: [dsaPem, rsaPem, rsa2048Pem], clock: systemClock })
 * const { document } = verifier.verify(parseAwsSubjectToken(subjectToken, 16_384))
 * document.accountId // '241656615859'
 */
export function createInstanceIdentityVerifier(options: InstanceIdentityVerifierOptions): InstanceIdentityVerifier {
  const trust = options.certificates instanceof AwsTrustStore ? options.certificates : AwsTrustStore.from(options.certificates)
  const skewSeconds = options.skewSeconds ?? 60
  return {
    verify(attestation) {
      const now = new Date(options.clock.now())
      if (attestation.form === 'signature') {
        const certificate = verifySignatureForm(attestation.document, attestation.signature, trust, now)
        return {
          form: 'signature',
          document: parseInstanceIdentityDocument(attestation.document),
          signedBytes: attestation.document,
          certificate: certificate.x509,
        }
      }
      const verified = verifyPkcs7(attestation.pkcs7, PKCS7_PROFILES[attestation.form], trust, now, skewSeconds)
      if (verified.content.byteLength > MAX_DOCUMENT_BYTES)
        throw new InvalidGrantError(`the instance identity document is larger than ${MAX_DOCUMENT_BYTES} bytes`, 'attestation_too_large')
      const result: VerifiedInstanceIdentity = {
        form: attestation.form,
        document: parseInstanceIdentityDocument(verified.content),
        signedBytes: verified.content,
        certificate: verified.signer.x509,
      }
      if (verified.signingTime !== undefined) result.signingTime = verified.signingTime
      return result
    },
  }
}

/**
 * The `signature` form: RSA PKCS#1 v1.5 with SHA-256 over the document's exact bytes. Several trusted
 * certificates may carry the same key, so each distinct key is tried once and then any certificate
 * carrying it that is valid now is enough. This form has no signing time, so validity is checked at
 * the current time. (A document's pendingTime may be older than the certificate: AWS put its existing
 * key into new certificates in April 2024. Nothing here compares the two.)
 *
 * The PKCS#7 forms' RSA-2048 keys are tried too, harmlessly: what they sign is DER, which is never a
 * JSON object, so a signature of theirs cannot make a document.
 */
function verifySignatureForm(document: Buffer, signature: Buffer, trust: AwsTrustStore, now: Date): TrustedCertificate {
  if (document.byteLength > MAX_DOCUMENT_BYTES)
    throw new InvalidGrantError(`the instance identity document is larger than ${MAX_DOCUMENT_BYTES} bytes`, 'attestation_too_large')
  if (signature.byteLength > MAX_SIGNATURE_BYTES)
    throw new InvalidGrantError('the instance identity signature is too long to be an RSA signature', 'attestation_malformed')
  let expired: TrustedCertificate | undefined
  for (const { key, certificates } of trust.keys('rsa', MIN_SIGNATURE_KEY_BITS)) {
    if (!safeVerify('sha256', document, { key, padding: constants.RSA_PKCS1_PADDING }, signature)) continue
    const valid = certificates.find((certificate) => validAt(certificate, now))
    if (valid !== undefined) return valid
    expired ??= certificates[0]
  }
  if (expired !== undefined) {
    throw new InvalidGrantError(
      `the instance identity signature verifies only with certificate ${describeCertificate(expired)}, which is not valid at ${now.toISOString()} ` +
        `(valid ${expired.notBefore.toISOString()} to ${expired.notAfter.toISOString()})`,
      now > expired.notAfter ? 'certificate_expired' : 'certificate_not_yet_valid',
    )
  }
  throw new InvalidGrantError('the instance identity signature does not verify with any trusted AWS certificate', 'signature_invalid')
}
