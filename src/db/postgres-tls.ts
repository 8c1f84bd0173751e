import { readFileSync } from 'node:fs'
import type { ConnectionOptions } from 'node:tls'
import { ConfigError } from '../config-error.js'

/** `database.ssl`: TLS to Postgres, as libpq's sslmode names the levels. */
export interface PostgresTls {
  mode: 'disable' | 'require' | 'verify-ca' | 'verify-full'
  caFile?: string | undefined
  certFile?: string | undefined
  keyFile?: string | undefined
}

/**
 * pg's `ssl` option for `tls`, the files read now so a missing one stops the start naming its key:
 * `require` encrypts but believes any certificate (as libpq's without a root certificate); `verify-ca`
 * checks the chain to `caFile` and not the host name; `verify-full` checks both, against `caFile` or,
 * without one, Node's public CAs.
 *
 * @example postgresTlsOptions({ mode: 'verify-full', caFile: '/etc/sts/rds-global-bundle.pem' })
 */
export function postgresTlsOptions(tls: PostgresTls): ConnectionOptions | false {
  if (tls.mode === 'disable') return false
  if (tls.mode === 'require') return { rejectUnauthorized: false, ...clientCertificate(tls) }
  const ca = tls.caFile === undefined ? {} : { ca: read(tls.caFile, 'caFile') }
  return {
    rejectUnauthorized: true,
    ...ca,
    ...clientCertificate(tls),
    // verify-ca: the certificate must chain to the CA; whichever name it carries is accepted.
    ...(tls.mode === 'verify-ca' ? { checkServerIdentity: () => undefined } : {}),
  }
}

function clientCertificate(tls: PostgresTls): ConnectionOptions {
  if (tls.certFile === undefined || tls.keyFile === undefined) return {}
  return { cert: read(tls.certFile, 'certFile'), key: read(tls.keyFile, 'keyFile') }
}

function read(file: string, key: string): string {
  try {
    return readFileSync(file, 'utf8')
  } catch (error) {
    throw new ConfigError([
      `database.ssl.${key}: cannot read ${file}: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}`,
    ])
  }
}
