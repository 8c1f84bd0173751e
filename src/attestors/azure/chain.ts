import { InvalidGrantError } from '../../errors.js'
import { clipUntrusted, quoteUntrusted } from '../../lib/untrusted-text.js'
import type { CertificateInfo } from './certificates.js'

/**
 * Chain validation for the certificate that signed attested data, on node:crypto: each link's
 * signature (`X509Certificate.verify`), names and key identifiers (`checkIssued`, which also wants
 * keyCertSign when the issuer has a key usage), validity at the given instant, basic constraints and
 * path length. No revocation check: Microsoft's signer certificates live months, not years, and an
 * attestation lives hours.
 *
 * TRUST BOUNDARY: the signer certificate comes from the (untrusted) envelope; trust starts at the
 * configured roots, and the chain must pass through a configured intermediate, so a certificate some
 * other customer of a public root obtained is never enough.
 */

export interface TrustStore {
  roots: readonly CertificateInfo[]
  intermediates: readonly CertificateInfo[]
}

/** More than Microsoft uses (one) and enough for a cross-signed intermediate (two). */
const MAX_INTERMEDIATES = 3

/**
 * Returns the chain `[signer, ...intermediates, root]` or throws InvalidGrantError saying which link
 * failed.
 *
 * @example
 * const chain = verifyChain(signer, { roots, intermediates }, new Date(clock.now()))
 */
export function verifyChain(signer: CertificateInfo, trust: TrustStore, at: Date): CertificateInfo[] {
  checkUsable(signer, `the signer certificate ${quoteUntrusted(signer.label)}`, at)
  const issuers = trust.intermediates.filter((ca) => signer.x509.checkIssued(ca.x509))
  if (issuers.length === 0) {
    if (signer.x509.subject === signer.x509.issuer && signedBy(signer, signer)) {
      throw new InvalidGrantError(
        `the signer certificate ${quoteUntrusted(signer.label)} is self-signed, not issued by a configured Microsoft CA`,
        'certificate_untrusted',
      )
    }
    throw new InvalidGrantError(
      `the signer certificate was issued by ${quoteUntrusted(signer.issuerLabel)}, which is not a configured intermediate ` +
        '(add that CA certificate to intermediates; see keys/azure/README.md)',
      'certificate_untrusted',
    )
  }
  return firstChain(issuers, (ca) => climb([signer, ca], trust, at))
}

/** `path` ends with an intermediate that names the certificate before it as issued by it. */
function climb(path: CertificateInfo[], trust: TrustStore, at: Date): CertificateInfo[] {
  const ca = path.at(-1)!
  const child = path.at(-2)!
  const what = `intermediate ${JSON.stringify(ca.label)}`
  checkLink(child, ca, what, path.length - 2, at)
  const roots = trust.roots.filter((root) => ca.x509.checkIssued(root.x509))
  if (roots.length > 0) {
    return firstChain(roots, (root) => {
      checkLink(ca, root, `root ${JSON.stringify(root.label)}`, path.length - 1, at)
      return [...path, root]
    })
  }
  const next = trust.intermediates.filter((issuer) => !path.includes(issuer) && ca.x509.checkIssued(issuer.x509))
  if (next.length === 0 || path.length - 1 >= MAX_INTERMEDIATES) {
    throw new InvalidGrantError(
      `${what} was issued by ${JSON.stringify(ca.issuerLabel)}, which is not a configured root`,
      'certificate_untrusted',
    )
  }
  return firstChain(next, (issuer) => climb([...path, issuer], trust, at))
}

/** `issuer` signed `child`, is usable at `at`, and may have `intermediatesBelow` intermediates under it. */
function checkLink(child: CertificateInfo, issuer: CertificateInfo, what: string, intermediatesBelow: number, at: Date): void {
  if (!signedBy(child, issuer)) {
    throw new InvalidGrantError(
      `the signature of ${quoteUntrusted(child.label)} does not verify with the key of ${what}`,
      'certificate_untrusted',
    )
  }
  checkUsable(issuer, what, at)
  if (!issuer.isCa)
    throw new InvalidGrantError(
      `${what} is not a CA certificate (basic constraints), so it cannot issue certificates`,
      'certificate_untrusted',
    )
  if (issuer.pathLength !== undefined && intermediatesBelow > issuer.pathLength) {
    throw new InvalidGrantError(
      `${what} allows ${issuer.pathLength} intermediates below it, but the chain has ${intermediatesBelow}`,
      'certificate_untrusted',
    )
  }
}

/** Whether `issuer`'s key verifies `child`'s signature; never throws (an unknown algorithm is no match). */
function signedBy(child: CertificateInfo, issuer: CertificateInfo): boolean {
  try {
    return child.x509.verify(issuer.publicKey)
  } catch {
    return false
  }
}

function checkUsable(cert: CertificateInfo, what: string, at: Date): void {
  if (at < cert.notBefore)
    throw new InvalidGrantError(`${what} is not valid before ${cert.notBefore.toISOString()}`, 'certificate_not_yet_valid')
  if (at > cert.notAfter) throw new InvalidGrantError(`${what} expired at ${cert.notAfter.toISOString()}`, 'certificate_expired')
  if (cert.unknownCriticalExtensions.length > 0) {
    throw new InvalidGrantError(
      `${what} has critical extensions this service does not process (${clipUntrusted(cert.unknownCriticalExtensions.join(', '), 80)})`,
      'certificate_untrusted',
    )
  }
}

/** The first candidate that yields a chain; when none does, the first candidate's refusal. */
function firstChain(candidates: readonly CertificateInfo[], attempt: (candidate: CertificateInfo) => CertificateInfo[]): CertificateInfo[] {
  let refusal: unknown
  for (const candidate of candidates) {
    try {
      return attempt(candidate)
    } catch (error) {
      refusal ??= error
    }
  }
  throw refusal
}
