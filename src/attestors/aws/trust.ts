import { X509Certificate, type KeyObject } from 'node:crypto'
import * as pkijs from 'pkijs'
import { ConfigError } from '../../config-error.js'
import { certificatesInPem, loadCertificateFiles } from '../../lib/pem-certificates.js'

/**
 * AWS's published instance-identity certificates: the trust anchors, and the only certificates we ever
 * verify with. They are self-signed and have no chain; trusting one means trusting its key, so the list
 * is configuration (keys/aws/README.md says where each comes from), never something a message brings.
 */

export interface TrustedCertificate {
  readonly x509: X509Certificate
  /** DER of the issuer Name and of the serial INTEGER's contents: how a PKCS#7 SignerInfo names its signer. */
  readonly issuerDer: Buffer
  readonly serialDer: Buffer
  readonly notBefore: Date
  readonly notAfter: Date
  readonly keyType: string
  readonly keyBits: number
}

/** Certificates that carry the same public key; AWS re-wraps one key in a certificate per region. */
export interface TrustedKey {
  readonly key: KeyObject
  readonly certificates: readonly TrustedCertificate[]
}

export class AwsTrustStore {
  private constructor(readonly certificates: readonly TrustedCertificate[]) {}

  /**
   * @param certificates PEM text (one or several certificates each) or parsed certificates.
   * @param source names the configuration in error messages, e.g. `attestor prod-aws: certificates`.
   * @example
   * const trust = AwsTrustStore.from([readFileSync('keys/aws/aws-dsa-pkcs7-us-east-1.pem', 'utf8')])
   */
  static from(certificates: ReadonlyArray<string | X509Certificate>, source = 'AWS certificates'): AwsTrustStore {
    const problems: string[] = []
    const texts = certificates.map((entry, index) => ({
      name: `entry ${index + 1}`,
      text: typeof entry === 'string' ? entry : entry.toString(),
    }))
    const parsed = certificatesInPem(texts, source, problems, describe)
    if (parsed.length === 0 && problems.length === 0) problems.push(`${source}: no certificate is configured`)
    if (problems.length > 0) throw new ConfigError(problems)
    return new AwsTrustStore(parsed)
  }

  /** Reads PEM files, or directories of `*.pem` files (each file may hold several certificates); every problem is reported. */
  static fromFiles(paths: readonly string[], source = 'AWS certificates'): AwsTrustStore {
    return new AwsTrustStore(loadCertificateFiles(paths, source, describe))
  }

  /** The certificate a SignerInfo names; exact DER comparison, so a look-alike name never matches. */
  findByIssuerAndSerial(issuerDer: Buffer, serialDer: Buffer): TrustedCertificate | undefined {
    return this.certificates.find((c) => c.serialDer.equals(serialDer) && c.issuerDer.equals(issuerDer))
  }

  /** Distinct keys of one type, each with every certificate that carries it. */
  keys(keyType: string, minBits: number): TrustedKey[] {
    const bySpki = new Map<string, { key: KeyObject; certificates: TrustedCertificate[] }>()
    for (const certificate of this.certificates) {
      if (certificate.keyType !== keyType || certificate.keyBits < minBits) continue
      const spki = certificate.x509.publicKey.export({ type: 'spki', format: 'der' }).toString('base64')
      const entry = bySpki.get(spki) ?? { key: certificate.x509.publicKey, certificates: [] }
      entry.certificates.push(certificate)
      bySpki.set(spki, entry)
    }
    return [...bySpki.values()]
  }
}

/** Whether `certificate` is within its validity period at `at`. */
export function validAt(certificate: TrustedCertificate, at: Date): boolean {
  return certificate.notBefore.getTime() <= at.getTime() && at.getTime() <= certificate.notAfter.getTime()
}

/** `serial 96BA48D9E55E1A67 (O=Amazon Web Services LLC, ...)`, for error messages. */
export function describeCertificate(certificate: TrustedCertificate): string {
  return `serial ${certificate.x509.serialNumber} (${certificate.x509.subject.replaceAll('\n', ', ')})`
}

function describe(x509: X509Certificate): TrustedCertificate {
  // node:crypto does not expose the issuer's DER; pkijs parses the same bytes to get it.
  const parsed = pkijs.Certificate.fromBER(x509.raw)
  const details = x509.publicKey.asymmetricKeyDetails
  return {
    x509,
    issuerDer: Buffer.from(parsed.issuer.valueBeforeDecode),
    serialDer: Buffer.from(parsed.serialNumber.valueBlock.valueHexView),
    notBefore: parsed.notBefore.value,
    notAfter: parsed.notAfter.value,
    keyType: x509.publicKey.asymmetricKeyType ?? 'unknown',
    keyBits: details?.modulusLength ?? 0,
  }
}
