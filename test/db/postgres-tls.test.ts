import { execFileSync } from 'node:child_process'
import { copyFileSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { ConfigError } from '../../src/config-error.js'
import type { Database } from '../../src/db/database.js'
import { createPostgresDatabase } from '../../src/db/postgres.js'
import { postgresTlsOptions, type PostgresTls } from '../../src/db/postgres-tls.js'
import { ServiceUnavailableError } from '../../src/errors.js'
import { postgresBinaries, startOwnPostgres, type OwnPostgres } from '../support/postgres-server.js'
import { freshPostgresDatabase } from '../support/servers.js'
import { startTestService } from '../support/service.js'

/**
 * database.ssl against a Postgres of the test's own with ssl = on, its certificate signed by a CA made
 * here with openssl for the name `localhost` only; it accepts TLS connections only (hostssl), and the
 * user `certuser` only with a client certificate signed by that CA.
 */

const binaries = postgresBinaries()
const skip = 'unavailable' in binaries ? `no Postgres of our own: ${binaries.unavailable}` : false

interface Pki {
  dir: string
  ca: string
  wrongCa: string
  clientCert: string
  clientKey: string
}

function openssl(dir: string, ...args: string[]): void {
  execFileSync('openssl', args, { cwd: dir, stdio: 'pipe' })
}

/** A CA, a server certificate for `localhost`, a client certificate for `certuser`, and an unrelated CA. */
function makePki(t: Test): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'sts-pki-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes']
  const selfSigned = (name: string, cn: string) =>
    openssl(dir, 'req', '-x509', ...ec, '-keyout', `${name}.key`, '-out', `${name}.crt`, '-days', '2', '-subj', `/CN=${cn}`)
  selfSigned('ca', 'sts-test-ca')
  selfSigned('wrong-ca', 'sts-test-ca')
  const signed = (name: string, cn: string, extensions: string) => {
    writeFileSync(join(dir, `${name}.ext`), extensions)
    openssl(dir, 'req', ...ec, '-keyout', `${name}.key`, '-out', `${name}.csr`, '-subj', `/CN=${cn}`)
    openssl(
      dir,
      'x509',
      '-req',
      '-in',
      `${name}.csr`,
      '-CA',
      'ca.crt',
      '-CAkey',
      'ca.key',
      '-CAcreateserial',
      '-out',
      `${name}.crt`,
      '-days',
      '2',
      '-extfile',
      `${name}.ext`,
    )
  }
  signed('server', 'localhost', 'subjectAltName=DNS:localhost\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n')
  signed('client', 'certuser', 'basicConstraints=CA:FALSE\nextendedKeyUsage=clientAuth\n')
  return {
    dir,
    ca: join(dir, 'ca.crt'),
    wrongCa: join(dir, 'wrong-ca.crt'),
    clientCert: join(dir, 'client.crt'),
    clientKey: join(dir, 'client.key'),
  }
}

async function startTlsPostgres(t: Test, pki: Pki): Promise<OwnPostgres> {
  return startOwnPostgres(t, (binaries as { bin: string }).bin, (dir) => {
    for (const file of ['server.crt', 'server.key', 'ca.crt']) copyFileSync(join(pki.dir, file), join(dir, file))
    return {
      conf: ['ssl = on', `ssl_cert_file = '${dir}/server.crt'`, `ssl_key_file = '${dir}/server.key'`, `ssl_ca_file = '${dir}/ca.crt'`],
      hba: [
        'local all all trust',
        'hostssl all certuser 127.0.0.1/32 cert',
        'hostssl all certuser ::1/128 cert',
        'hostssl all all 127.0.0.1/32 trust',
        'hostssl all all ::1/128 trust',
      ],
    }
  })
}

function open(
  t: Test,
  host: string,
  port: number,
  tls: PostgresTls | undefined,
  options: { user?: string; statementTimeoutMs?: number } = {},
): Database {
  const db = createPostgresDatabase({
    url: `postgres://${options.user ?? 'postgres'}@${host}:${port}/postgres`,
    poolSize: 2,
    ...(options.statementTimeoutMs !== undefined ? { statementTimeoutMs: options.statementTimeoutMs } : {}),
    ...(tls ? { ssl: postgresTlsOptions(tls) } : {}),
  })
  t.teardown(() => db.close())
  return db
}

const encrypted = async (db: Database) =>
  (await db.query<{ ssl: boolean; user: string }>('SELECT ssl, current_user AS user FROM pg_stat_ssl WHERE pid = pg_backend_pid()'))[0]

t.test(
  'Postgres over TLS: verify-full with the right CA connects, with a wrong CA or a wrong name refuses, naming why',
  { skip },
  async (t) => {
    const pki = makePki(t)
    const { port } = await startTlsPostgres(t, pki)

    const right = open(t, 'localhost', port, { mode: 'verify-full', caFile: pki.ca }, { statementTimeoutMs: 1234 })
    t.same(await encrypted(right), { ssl: true, user: 'postgres' }, 'verify-full, the right CA, the certificate’s name: connected over TLS')
    t.same(await right.query('SHOW statement_timeout'), [{ statement_timeout: '1234ms' }], 'with the configured statement timeout')

    const wrongCa = open(t, 'localhost', port, { mode: 'verify-full', caFile: pki.wrongCa })
    const refused = await wrongCa.query('SELECT 1').catch((error: unknown) => error)
    t.ok(refused instanceof ServiceUnavailableError, 'a certificate that does not verify is a 503 for the call, not a 500')
    t.match(
      (refused as Error).message,
      /^the database's TLS certificate is not trusted \((SELF_SIGNED_CERT_IN_CHAIN|UNABLE_TO_VERIFY_LEAF_SIGNATURE|UNABLE_TO_GET_ISSUER_CERT_LOCALLY): .+\): check database\.ssl \(mode, caFile\) against the server's certificate$/,
    )

    const wrongName = open(t, '127.0.0.1', port, { mode: 'verify-full', caFile: pki.ca })
    const misnamed = await wrongName.query('SELECT 1').catch((error: unknown) => error)
    t.match(
      (misnamed as Error).message,
      /^the database's TLS certificate is not trusted \(ERR_TLS_CERT_ALTNAME_INVALID: .*127\.0\.0\.1.*\)/,
      'verify-full checks the name',
    )

    const caOnly = open(t, '127.0.0.1', port, { mode: 'verify-ca', caFile: pki.ca })
    t.same(await encrypted(caOnly), { ssl: true, user: 'postgres' }, 'verify-ca checks the chain, not the name')
    const caOnlyWrong = open(t, '127.0.0.1', port, { mode: 'verify-ca', caFile: pki.wrongCa })
    t.match(
      await caOnlyWrong.query('SELECT 1').catch((error: unknown) => (error as Error).message),
      /not trusted/,
      'but the chain it does check',
    )

    const required = open(t, '127.0.0.1', port, { mode: 'require' })
    t.same(await encrypted(required), { ssl: true, user: 'postgres' }, 'require encrypts without checking')

    const plain = open(t, '127.0.0.1', port, { mode: 'disable' })
    t.match(
      await plain.query('SELECT 1').catch((error: unknown) => (error as Error).message),
      /no pg_hba\.conf entry .* no encryption/,
      'disable sends no TLS, which this server refuses',
    )
  },
)

t.test('Postgres over TLS: a client certificate from certFile and keyFile authenticates', { skip }, async (t) => {
  const pki = makePki(t)
  const { port } = await startTlsPostgres(t, pki)
  const admin = open(t, 'localhost', port, { mode: 'verify-full', caFile: pki.ca })
  await admin.exec('CREATE ROLE certuser LOGIN')

  const withCertificate = open(
    t,
    'localhost',
    port,
    { mode: 'verify-full', caFile: pki.ca, certFile: pki.clientCert, keyFile: pki.clientKey },
    { user: 'certuser' },
  )
  t.same(await encrypted(withCertificate), { ssl: true, user: 'certuser' })
  const without = open(t, 'localhost', port, { mode: 'verify-full', caFile: pki.ca }, { user: 'certuser' })
  t.match(await without.query('SELECT 1').catch((error: unknown) => (error as Error).message), /certificate/, 'refused without one')
})

t.test('a TLS file that cannot be read stops the start, naming its key and the file', async (t) => {
  const missing = join(tmpdir(), 'sts-no-such-dir', 'ca.pem')
  const error = t.throws(() => postgresTlsOptions({ mode: 'verify-full', caFile: missing })) as ConfigError
  t.same(error.problems, [`database.ssl.caFile: cannot read ${missing}: ENOENT`])
  t.same(postgresTlsOptions({ mode: 'disable' }), false)
  t.same(postgresTlsOptions({ mode: 'require' }), { rejectUnauthorized: false })
})

t.test("database.statementTimeoutMs is the service's pool's statement_timeout", async (t) => {
  const url = await freshPostgresDatabase(t)
  const sts = await startTestService(t, { databaseUrl: url, config: { database: { url, poolSize: 3, statementTimeoutMs: 2345 } } })
  const shown = await Promise.all([1, 2, 3].map(() => sts.services.database.query('SHOW statement_timeout')))
  t.same(
    shown,
    [1, 2, 3].map(() => [{ statement_timeout: '2345ms' }]),
    'on every connection of the pool',
  )
})
