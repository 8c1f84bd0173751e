import { X509Certificate } from 'node:crypto'
import { readdirSync, readFileSync, statSync } from 'node:fs'
import { join } from 'node:path'
import { ConfigError } from '../config-error.js'

/**
 * X.509 certificates from PEM: the trust material attestors are configured with. Every problem is
 * collected, each naming the configuration option and the file, so an operator fixes them all at once.
 */

/** PEM text, and what messages call it: a file's path, or an entry of a list. */
export interface PemText {
  name: string
  text: string
}

const PEM_CERTIFICATE = /-----BEGIN CERTIFICATE-----([A-Za-z0-9+/=\s]+)-----END CERTIFICATE-----/g

/** PEM files, or directories whose `*.pem` files are read in name order; unreadable paths go to `problems`. */
function readPemFiles(paths: readonly string[], option: string, problems: string[]): PemText[] {
  return paths.flatMap((path) => {
    try {
      const files = statSync(path).isDirectory()
        ? readdirSync(path)
            .filter((name) => name.endsWith('.pem'))
            .sort()
            .map((name) => join(path, name))
        : [path]
      return files.flatMap((file) => readText(file, option, problems))
    } catch (error) {
      problems.push(`${option}: cannot read ${path} (${(error as Error).message})`)
      return []
    }
  })
}

/**
 * Every certificate in `texts` (each may hold several), passed through `describe`, which throws for a
 * certificate it cannot use; texts without a certificate and certificates that fail go to `problems`.
 */
export function certificatesInPem<T>(
  texts: readonly PemText[],
  option: string,
  problems: string[],
  describe: (x509: X509Certificate) => T,
): T[] {
  return texts.flatMap(({ name, text }) => {
    const blocks = [...text.matchAll(PEM_CERTIFICATE)]
    if (blocks.length === 0) problems.push(`${option}: ${name} holds no PEM certificate`)
    return blocks.flatMap((block, index) => {
      try {
        return [describe(new X509Certificate(Buffer.from(block[1].replace(/\s+/g, ''), 'base64')))]
      } catch (error) {
        problems.push(`${option}: certificate ${index + 1} of ${name} cannot be parsed (${(error as Error).message})`)
        return []
      }
    })
  })
}

/**
 * The certificates of configured trust material: PEM files or directories of them. Throws ConfigError
 * with every problem, and when there is no certificate at all: trust material is checked once, at start-up.
 *
 * @example
 * const roots = loadCertificateFiles(['keys/azure/roots'], 'attestor azure: roots', (x509) => x509)
 */
export function loadCertificateFiles<T>(paths: readonly string[], option: string, describe: (x509: X509Certificate) => T): T[] {
  const problems: string[] = []
  // Path by path, so the problems are reported in the order the paths are configured.
  const certificates = paths.flatMap((path) => certificatesInPem(readPemFiles([path], option, problems), option, problems, describe))
  if (problems.length > 0) throw new ConfigError(problems)
  if (certificates.length === 0) throw new ConfigError([`${option}: no certificate found in ${paths.join(', ')}`])
  return certificates
}

function readText(file: string, option: string, problems: string[]): PemText[] {
  try {
    return [{ name: file, text: readFileSync(file, 'utf8') }]
  } catch (error) {
    problems.push(`${option}: cannot read ${file} (${(error as Error).message})`)
    return []
  }
}
