import { execFileSync } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'

/**
 * A certificate authority of our own, made with the openssl CLI, for the chain cases no real sample
 * covers. openssl 3.0 cannot backdate, so every certificate starts "now" (real time) and lasts
 * `days`: tests put their clock a little after `createdAt`, or days later to see something expire.
 */

export interface TestPki {
  dir: string
  /** Real time when the certificates were made (ms). */
  createdAt: number
  /** A CA certificate: issues with `issue`. Paths to its PEM and key. */
  ca(name: string, options?: CertOptions): Issued
  issue(name: string, issuer: Issued | null, options: CertOptions): Issued
  /** A PKCS#7 SignedData over `content` by `signer`, base64, as IMDS serves it (no signed attributes unless asked). */
  sign(content: string, signer: Issued, options?: { signedAttributes?: boolean }): string
  /** `openssl cms -sign` over `content` with these signer arguments; base64 DER. */
  signWith(content: string, signerArgs: string[]): string
  cleanup(): void
}

export interface Issued {
  name: string
  pem: string
  key: string
  /** Its subject, e.g. `/CN=Test Root`. */
  subject: string
}

export interface CertOptions {
  subject?: string
  days?: number
  /** Extension lines of an openssl config section; default a CA with keyCertSign. */
  extensions?: string[]
  bits?: number
  /** Reuse this key file (RSA key generation is the slow part); a new key otherwise. */
  key?: string
}

export const CA_EXTENSIONS = [
  'basicConstraints = critical,CA:TRUE',
  'keyUsage = critical,keyCertSign,cRLSign',
  'subjectKeyIdentifier = hash',
]
export const INTERMEDIATE_EXTENSIONS = [
  'basicConstraints = critical,CA:TRUE,pathlen:0',
  'keyUsage = critical,keyCertSign,cRLSign',
  'subjectKeyIdentifier = hash',
  'authorityKeyIdentifier = keyid',
]
export function signerExtensions(...dnsNames: string[]): string[] {
  return [
    'basicConstraints = critical,CA:FALSE',
    'keyUsage = critical,digitalSignature,keyEncipherment',
    'extendedKeyUsage = serverAuth',
    'authorityKeyIdentifier = keyid',
    ...(dnsNames.length > 0 ? [`subjectAltName = ${dnsNames.map((n) => `DNS:${n}`).join(',')}`] : []),
  ]
}

let serial = 1000

export function createTestPki(): TestPki {
  const dir = mkdtempSync(join(tmpdir(), 'sts-azure-pki-'))
  const openssl = (...args: string[]): void => {
    execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] })
  }
  const makeKey = (name: string, bits: number): string => {
    const key = join(dir, `${name}.key`)
    openssl('genpkey', '-algorithm', 'RSA', '-pkeyopt', `rsa_keygen_bits:${bits}`, '-out', key)
    return key
  }
  const writeConfig = (name: string, extensions: string[]): string => {
    const file = join(dir, `${name}.cnf`)
    writeFileSync(file, ['[req]', 'distinguished_name = dn', '[dn]', '[ext]', ...extensions, ''].join('\n'))
    return file
  }
  const pki: TestPki = {
    dir,
    createdAt: Date.now(),
    ca(name, options = {}) {
      return pki.issue(name, null, { extensions: CA_EXTENSIONS, ...options })
    },
    issue(name, issuer, options) {
      const subject = options.subject ?? `/CN=${name}`
      const key = options.key ?? makeKey(name, options.bits ?? 2048)
      const config = writeConfig(name, options.extensions ?? CA_EXTENSIONS)
      const pem = join(dir, `${name}.pem`)
      const days = String(options.days ?? 30)
      const set = String(serial++)
      if (issuer === null) {
        openssl(
          'req',
          '-x509',
          '-new',
          '-key',
          key,
          '-subj',
          subject,
          '-days',
          days,
          '-set_serial',
          set,
          '-config',
          config,
          '-extensions',
          'ext',
          '-sha256',
          '-out',
          pem,
        )
      } else {
        const csr = join(dir, `${name}.csr`)
        openssl('req', '-new', '-key', key, '-subj', subject, '-config', config, '-out', csr)
        openssl(
          'x509',
          '-req',
          '-in',
          csr,
          '-CA',
          issuer.pem,
          '-CAkey',
          issuer.key,
          '-set_serial',
          set,
          '-days',
          days,
          '-extfile',
          config,
          '-extensions',
          'ext',
          '-sha256',
          '-out',
          pem,
        )
      }
      return { name, pem, key, subject }
    },
    sign(content, signer, options = {}) {
      return pki.signWith(content, ['-signer', signer.pem, '-inkey', signer.key, ...(options.signedAttributes ? [] : ['-noattr'])])
    },
    signWith(content, signerArgs) {
      const input = join(dir, 'content.json')
      const output = join(dir, 'signed.der')
      writeFileSync(input, content)
      openssl('cms', '-sign', '-binary', '-nodetach', '-md', 'sha256', '-in', input, ...signerArgs, '-outform', 'DER', '-out', output)
      return readFileSync(output).toString('base64')
    },
    cleanup() {
      rmSync(dir, { recursive: true, force: true })
    },
  }
  return pki
}
