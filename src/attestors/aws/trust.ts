import { X509Certificate, type KeyObject } from 'node:crypto'
import { existsSync, readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import * as pkijs from 'pkijs'
import { ConfigError } from '../../config-error.js'
import { shippedPath } from '../../lib/package-root.js'

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
    const parsed: TrustedCertificate[] = []
    certificates.forEach((entry, index) => {
      const where = `${source}[${index}]`
      const x509s = typeof entry === 'string' ? pemCertificates(entry, where, problems) : [entry]
      for (const x509 of x509s) {
        try {
          parsed.push(describe(x509))
        } catch (error) {
          problems.push(`${where}: cannot read the certificate (${(error as Error).message})`)
        }
      }
    })
    if (parsed.length === 0 && problems.length === 0) problems.push(`${source}: no certificate is configured`)
    if (problems.length > 0) throw new ConfigError(problems)
    return new AwsTrustStore(parsed)
  }

  /** Reads PEM files (each may hold several certificates); every unreadable file is reported. */
  static fromFiles(paths: readonly string[], source = 'AWS certificates'): AwsTrustStore {
    const problems: string[] = []
    const texts = paths.flatMap((path) => {
      try {
        return [readFileSync(path, 'utf8')]
      } catch (error) {
        problems.push(`${source}: cannot read ${path} (${(error as Error).message})`)
        return []
      }
    })
    if (problems.length > 0) throw new ConfigError(problems)
    return AwsTrustStore.from(texts, source)
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

/** The `*.pem` files shipped in keys/aws/. Read when an attestor is built, never at import. */
export function defaultAwsCertificateFiles(): string[] {
  const certs = shippedPath('keys', 'aws')
  const files = existsSync(certs) ? readdirSync(certs).filter((name) => name.endsWith('.pem')).sort() : []
  if (files.length === 0) throw new ConfigError([`the shipped AWS certificates are missing: no *.pem in ${certs}; set certificates in the attestor configuration`])
  return files.map((name) => join(certs, name))
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/g

function pemCertificates(text: string, where: string, problems: string[]): X509Certificate[] {
  const blocks = text.match(PEM_CERTIFICATE) ?? []
  if (blocks.length === 0) problems.push(`${where}: no PEM certificate (-----BEGIN CERTIFICATE-----) found`)
  return blocks.flatMap((block) => {
    try {
      return [new X509Certificate(block)]
    } catch (error) {
      problems.push(`${where}: cannot parse a certificate (${(error as Error).message})`)
      return []
    }
  })
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
