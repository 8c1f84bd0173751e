import { execFileSync } from 'node:child_process'
import { cpSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'
import t from 'tap'

/**
 * The package as a user gets it: built from its sources, packed by `npm pack`, installed into a
 * scratch project, and used only through its public entry point, from JavaScript and from
 * TypeScript. The repository's own dist/ is left alone: the build goes to a scratch copy.
 */

const PACKAGE = fileURLToPath(new URL('..', import.meta.url))
const ROOT = join(PACKAGE, '..', '..')
const TSC = join(ROOT, 'node_modules', 'typescript', 'bin', 'tsc')

const run = (command: string, args: string[], cwd: string): string =>
  execFileSync(command, args, { cwd, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })

/** A user's script: a token source against a local token endpoint, by the package's name only. */
const MAIN = `
import { createServer } from 'node:http'
import * as client from '@seed-sts/client'
const { tokenSource, StsError } = client

let served = 0
let request
const server = createServer((req, res) => {
  let body = ''
  req.on('data', (chunk) => (body += chunk))
  req.on('end', () => {
    request = Object.fromEntries(new URLSearchParams(body))
    served++
    res.setHeader('content-type', 'application/json')
    if (request.audience === 'denied') {
      res.statusCode = 400
      res.end(JSON.stringify({ error: 'invalid_grant', error_description: 'no grant', error_reason: 'not_granted' }))
    } else res.end(JSON.stringify({ access_token: 'access-token-' + served, token_type: 'Bearer', expires_in: 300 }))
  })
})
await new Promise((resolve) => server.listen(0, '127.0.0.1', resolve))
const source = tokenSource({
  sts: 'http://127.0.0.1:' + server.address().port,
  attestation: async () => ({ subjectToken: 'attestation', subjectTokenType: client.JWT_TOKEN_TYPE }),
})
const token = await source.token({ audience: 'ledger-api', scope: 'ledger:read' })
const tokenRequest = request
const cached = await source.token({ audience: 'ledger-api', scope: ['ledger:read'] })
const error = await source.token({ audience: 'denied' }).catch((caught) => caught)
let deepImport
try {
  await import('@seed-sts/client/dist/token-source/token-source.js')
  deepImport = 'importable'
} catch (caught) {
  deepImport = caught.code
}
source.close()
server.close()
// The verifier and its adapters, by their public names (the adapters need no framework to load).
const verifier = client.createVerifier({ issuer: 'https://sts.example.org', audience: 'ledger-api', revocations: false })
const refused = await verifier.verify('not a token').catch((caught) => caught)
const { accessTokenPlugin } = await import('@seed-sts/client/fastify')
const { accessTokenMiddleware } = await import('@seed-sts/client/express')
console.log(JSON.stringify({
  exports: Object.keys(client).sort(),
  token,
  cached,
  request: tokenRequest,
  refusal: { name: error.name, isStsError: error instanceof StsError, error: error.error, reason: error.reason, status: error.status },
  deepImport,
  verifierRefusal: { isTokenRefusedError: refused instanceof client.TokenRefusedError, code: refused.code, error: refused.error, status: refused.status },
  adapters: [typeof accessTokenPlugin, typeof accessTokenMiddleware],
}))
`

/** A user's TypeScript, written against the public types. */
const TYPED = `
import { tokenSource, fileAttestation, StsError, type AccessToken, type TokenSource, type TokenSourceEvent } from '@seed-sts/client'
import { createVerifier, TokenRefusedError, type Verifier, type VerifiedToken } from '@seed-sts/client'
import { accessTokenMiddleware, type RequestWithWorkload } from '@seed-sts/client/express'

const events: TokenSourceEvent[] = []
const source: TokenSource = tokenSource({
  sts: 'https://sts.example.org',
  attestation: fileAttestation({ path: '/var/run/secrets/tokens/sts-token' }),
  onEvent: (event) => events.push(event),
})
export async function call(): Promise<string> {
  try {
    const issued: AccessToken = await source.accessToken({ audience: 'ledger-api', scope: ['ledger:read'] })
    return issued.expiresAt.toISOString() + issued.token
  } catch (error) {
    if (error instanceof StsError) return error.error + (error.reason ?? '') + String(error.status)
    throw error
  }
}

const verifier: Verifier = createVerifier({
  issuer: 'https://sts.example.org',
  audience: 'ledger-api',
  revocations: { subscribeToken: () => 'sts_admin_x', onStreamLost: { refuseAfterMs: 30_000 } },
})
export async function subjectOf(token: string): Promise<string> {
  try {
    const verified: VerifiedToken = await verifier.verify(token, { scopes: ['ledger:read'] })
    return verified.subject + verified.grants.join(',')
  } catch (error) {
    if (error instanceof TokenRefusedError) return error.code + (error.revokedBy ?? '')
    throw error
  }
}
export const middleware = accessTokenMiddleware(verifier, { scopes: ['ledger:read'] })
export const workloadOf = (req: RequestWithWorkload): string | undefined => req.workload?.subject
`

t.test('the package builds, packs, installs into a scratch project and works through its entry point alone', async (t) => {
  const scratch = mkdtempSync(join(tmpdir(), 'sts-client-pack-'))
  t.teardown(() => rmSync(scratch, { recursive: true, force: true }))

  // What npm pack reads: package.json, README.md and the compiled dist/.
  const staged = join(scratch, 'package')
  mkdirSync(staged)
  cpSync(join(PACKAGE, 'package.json'), join(staged, 'package.json'))
  cpSync(join(PACKAGE, 'README.md'), join(staged, 'README.md'))
  run(process.execPath, [TSC, '-p', join(PACKAGE, 'tsconfig.build.json'), '--outDir', join(staged, 'dist')], PACKAGE)
  const [packed] = JSON.parse(run('npm', ['pack', '--json', '--pack-destination', scratch], staged)) as {
    filename: string
    files: { path: string }[]
  }[]
  const files = packed!.files.map((file) => file.path)
  t.ok(
    files.includes('dist/index.js') && files.includes('dist/index.d.ts') && files.includes('README.md') && files.includes('package.json'),
    'the entry point, its types and the README are packed',
  )
  t.same(
    files.filter((file) => !file.startsWith('dist/') && !['README.md', 'package.json'].includes(file)),
    [],
    'and nothing else: no sources, no tests',
  )

  const app = join(scratch, 'app')
  mkdirSync(app)
  writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'scratch-app', private: true, type: 'module' }))
  run('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--ignore-scripts', join(scratch, packed!.filename)], app)
  t.same(readdirSync(join(app, 'node_modules', '@seed-sts')), ['client'])

  writeFileSync(join(app, 'main.mjs'), MAIN)
  const { exports, ...used } = JSON.parse(run(process.execPath, ['main.mjs'], app))
  t.same(used, {
    token: 'access-token-1',
    cached: 'access-token-1',
    request: {
      grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
      subject_token: 'attestation',
      subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
      audience: 'ledger-api',
      scope: 'ledger:read',
    },
    refusal: { name: 'StsError', isStsError: true, error: 'invalid_grant', reason: 'not_granted', status: 400 },
    deepImport: 'ERR_PACKAGE_PATH_NOT_EXPORTED',
    verifierRefusal: { isTokenRefusedError: true, code: 'token_malformed', error: 'invalid_token', status: 401 },
    adapters: ['function', 'function'],
  })
  const tokenSourceApi = [
    'ACCESS_TOKEN_TYPE',
    'AWS_INSTANCE_IDENTITY_TOKEN_TYPE',
    'AZURE_ATTESTED_DATA_TOKEN_TYPE',
    'AttestationError',
    'JWT_TOKEN_TYPE',
    'StsError',
    'accessTokenAttestation',
    'awsInstanceIdentity',
    'azureAttestedData',
    'azureManagedIdentity',
    'customAttestation',
    'fileAttestation',
    'gcpIdentityToken',
    'githubActions',
    'tokenSource',
  ]
  t.same(
    tokenSourceApi.filter((name) => !(exports as string[]).includes(name)),
    [],
    'the token source API is exported from the entry point',
  )
  t.same(
    ['TokenRefusedError', 'VerifierUnavailableError', 'createVerifier'].filter((name) => !(exports as string[]).includes(name)),
    [],
    'and the verifier API',
  )

  // A TypeScript user type-checks against the shipped declarations (strict, NodeNext).
  writeFileSync(join(app, 'typed.ts'), TYPED)
  writeFileSync(
    join(app, 'tsconfig.json'),
    JSON.stringify({
      compilerOptions: {
        module: 'nodenext',
        moduleResolution: 'nodenext',
        target: 'es2022',
        strict: true,
        noEmit: true,
        types: ['node'],
        typeRoots: [join(ROOT, 'node_modules', '@types')],
      },
      files: ['typed.ts'],
    }),
  )
  t.equal(run(process.execPath, [TSC, '-p', 'tsconfig.json'], app), '', 'the declarations type-check a user’s code')
})
