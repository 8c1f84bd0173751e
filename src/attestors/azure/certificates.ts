import { X509Certificate, type KeyObject } from 'node:crypto'
import { AltName, BasicConstraints, Certificate } from 'pkijs'
import { loadCertificateFiles } from '../../lib/pem-certificates.js'

/**
 * X.509 certificates as the Azure attestor needs them: parsed once (pkijs reads the extensions node
 * does not expose, such as the path length), checked with node:crypto. Also loads the configured trust
 * material: PEM files, or directories of `*.pem` files, each file holding one or more certificates.
 */

export interface CertificateInfo {
  x509: X509Certificate
  /** Read once: node throws on a key it cannot decode, so a certificate we describe always has one. */
  publicKey: KeyObject
  notBefore: Date
  notAfter: Date
  /** basicConstraints cA: only a CA may issue the next certificate down the chain. */
  isCa: boolean
  /** basicConstraints pathLenConstraint: how many intermediates may follow this CA. */
  pathLength?: number
  /** SAN DNS names, or the subject CN when the certificate has no SAN DNS name (RFC 6125). */
  dnsNames: string[]
  /** The subject CN (or the whole subject when it has no CN), for messages. */
  label: string
  /** The issuer CN (or the whole issuer), for messages. */
  issuerLabel: string
  /** Critical extensions this code does not understand: such a certificate cannot be relied on. */
  unknownCriticalExtensions: string[]
}

const COMMON_NAME = '2.5.4.3'
const SUBJECT_ALT_NAME = '2.5.29.17'
const BASIC_CONSTRAINTS = '2.5.29.19'
const DNS_NAME = 2
/** Key usage, basic constraints, SAN, EKU, policies, SKI, AKI: everything Microsoft's chains mark critical. */
const UNDERSTOOD_EXTENSIONS = new Set([
  '2.5.29.15',
  BASIC_CONSTRAINTS,
  SUBJECT_ALT_NAME,
  '2.5.29.37',
  '2.5.29.32',
  '2.5.29.14',
  '2.5.29.35',
])

/** Describes a parsed certificate; throws (a plain Error) when it cannot be read. */
export function describeCertificate(cert: Certificate): CertificateInfo {
  const der = Buffer.from(cert.toSchema().toBER())
  const x509 = new X509Certificate(der)
  const extensions = cert.extensions ?? []
  // pkijs types parsed extension values as any: each is narrowed by instanceof below.
  const constraints: unknown = extensions.find((e) => e.extnID === BASIC_CONSTRAINTS)?.parsedValue
  const altNames: unknown = extensions.find((e) => e.extnID === SUBJECT_ALT_NAME)?.parsedValue
  const sanDnsNames =
    altNames instanceof AltName
      ? altNames.altNames.filter((n) => n.type === DNS_NAME && typeof n.value === 'string').map((n) => n.value as string)
      : []
  const commonNames = cert.subject.typesAndValues.filter((tv) => tv.type === COMMON_NAME).map((tv) => String(tv.value.valueBlock.value))
  const pathLength = constraints instanceof BasicConstraints ? constraints.pathLenConstraint : undefined
  return {
    x509,
    publicKey: x509.publicKey,
    notBefore: cert.notBefore.value,
    notAfter: cert.notAfter.value,
    isCa: constraints instanceof BasicConstraints && constraints.cA,
    pathLength: typeof pathLength === 'number' ? pathLength : pathLength?.valueBlock.valueDec,
    dnsNames: (sanDnsNames.length > 0 ? sanDnsNames : commonNames).map((name) => name.toLowerCase()),
    label: labelOf(x509.subject),
    issuerLabel: labelOf(x509.issuer),
    unknownCriticalExtensions: extensions.filter((e) => e.critical && !UNDERSTOOD_EXTENSIONS.has(e.extnID)).map((e) => e.extnID),
  }
}

function labelOf(name: string): string {
  const lines = name.split('\n')
  const cn = lines.find((line) => line.startsWith('CN='))
  return cn !== undefined ? cn.slice(3) : lines.join(', ')
}

/** Whether `name` (from a certificate) matches `pattern`: equal, or `*.rest` for one label in front of `rest`. */
export function nameMatches(name: string, pattern: string): boolean {
  if (name === pattern) return true
  if (!pattern.startsWith('*.')) return false
  const suffix = pattern.slice(1)
  const label = name.slice(0, -suffix.length)
  return name.endsWith(suffix) && /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(label)
}

/**
 * Reads every certificate in `paths` (PEM files, or directories whose `*.pem` files are read).
 * Throws ConfigError naming `option` and the file for anything unreadable: trust material is checked
 * once, at start-up.
 */
export function loadCertificates(paths: readonly string[], option: string): CertificateInfo[] {
  return loadCertificateFiles(paths, option, (x509) => describeCertificate(Certificate.fromBER(x509.raw)))
}
