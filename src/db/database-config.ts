import { z } from 'zod'

const SSL_MODES = ['disable', 'require', 'verify-ca', 'verify-full'] as const

/**
 * TLS to Postgres, as libpq's sslmode: `require` encrypts without checking the server, `verify-ca`
 * checks its certificate against `caFile` (or Node's public CAs), `verify-full` also its host name.
 */
const DatabaseSsl = z
  .object({
    mode: z.enum(SSL_MODES),
    /** PEM bundle of the CAs the server's certificate must chain to (a managed service's bundle). */
    caFile: z.string().min(1).optional(),
    /** A client certificate and its key (PEM), for servers that authenticate clients by certificate. */
    certFile: z.string().min(1).optional(),
    keyFile: z.string().min(1).optional(),
  })
  .strict()
  .superRefine((ssl, ctx) => {
    if ((ssl.certFile === undefined) !== (ssl.keyFile === undefined))
      ctx.addIssue({ code: 'custom', path: [ssl.certFile ? 'keyFile' : 'certFile'], message: 'certFile and keyFile go together' })
    if (ssl.mode === 'disable')
      for (const key of ['caFile', 'certFile', 'keyFile'] as const)
        if (ssl[key] !== undefined) ctx.addIssue({ code: 'custom', path: [key], message: 'not used with mode disable' })
    if (ssl.mode === 'verify-ca' && ssl.caFile === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['caFile'],
        message: 'verify-ca needs caFile, the CA that signed the server certificate (or use verify-full, which checks the host name too)',
      })
    if (ssl.mode === 'require' && ssl.caFile !== undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['caFile'],
        message: 'mode require does not check the server certificate: use verify-full (or verify-ca) to check it against caFile',
      })
  })

/** libpq's TLS parameters in database.url, which pg would let override database.ssl. */
const URL_SSL_PARAMETERS = ['sslmode', 'sslrootcert', 'sslcert', 'sslkey', 'ssl']

function urlSslParameters(url: string): string[] {
  try {
    const params = new URL(url).searchParams
    return URL_SSL_PARAMETERS.filter((name) => params.has(name))
  } catch {
    return []
  }
}

/**
 * The `database` section of the configuration (src/config.ts reads it, and DATABASE_URL from the
 * environment): Postgres at `url`, else the embedded PGlite in `dataDir`.
 */
export const DatabaseConfig = z
  .object({
    url: z.string().min(1).optional(),
    dataDir: z.string().default('data/ledger'),
    poolSize: z.number().int().positive().default(20),
    /** A statement running longer is cancelled (its request fails 503); migrations that need longer lift it themselves. */
    statementTimeoutMs: z.number().int().positive().max(3_600_000).default(5000),
    ssl: DatabaseSsl.optional(),
  })
  .strict()
  .superRefine((database, ctx) => {
    const inUrl = database.url === undefined ? [] : urlSslParameters(database.url)
    if (database.ssl && inUrl.length > 0)
      ctx.addIssue({
        code: 'custom',
        path: ['ssl'],
        message: `database.url (DATABASE_URL) has ${inUrl.join(', ')} too, which would override ssl: give TLS in one place`,
      })
    if (database.ssl && database.url === undefined)
      ctx.addIssue({
        code: 'custom',
        path: ['ssl'],
        message: 'only used with url (DATABASE_URL): the embedded PGlite has no connection',
      })
  })
  .default({ dataDir: 'data/ledger', poolSize: 20, statementTimeoutMs: 5000 })
