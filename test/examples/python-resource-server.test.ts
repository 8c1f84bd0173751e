import { spawn, spawnSync, type ChildProcess } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import t, { type Test } from 'tap'
import { ISSUER, JWT_TOKEN_TYPE, startTestService, TOKEN_EXCHANGE, TRUST_DOMAIN } from '../support/service.js'

/**
 * examples/python/: a resource server verifying our tokens with PyJWT (Debian's python3-jwt, hence
 * /usr/bin/python3: the system Python has the Debian packages), and a client reading the token file the
 * agent keeps. Run against the real service, listening, with tokens of the real clock (PyJWT checks
 * expiry against it).
 */
const PYTHON = '/usr/bin/python3'
const EXAMPLES = join(import.meta.dirname, '../../examples/python')
const AUDIENCE = 'ledger-api'

function startResourceServer(t: Test, env: Record<string, string>): Promise<{ url: string; child: ChildProcess }> {
  const child = spawn(PYTHON, [join(EXAMPLES, 'resource_server.py')], {
    env: { ...process.env, PORT: '0', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  })
  t.teardown(() => void child.kill())
  return new Promise((resolve, reject) => {
    child.once('exit', (code) => reject(new Error(`the resource server exited with ${code}`)))
    createInterface({ input: child.stdout! }).once('line', (line) => {
      const port = /^listening on (\d+)$/.exec(line)?.[1]
      if (port === undefined) reject(new Error(`unexpected first line: ${line}`))
      else resolve({ url: `http://127.0.0.1:${port}`, child })
    })
  })
}

t.test('PyJWT is there: the example needs Debian python3-jwt', async (t) => {
  const probe = spawnSync(PYTHON, ['-c', 'import jwt; print(jwt.__version__)'], { encoding: 'utf8' })
  t.equal(probe.status, 0, probe.stderr)
})

t.test('the Python resource server accepts our tokens and refuses the rest, as RFC 6750 says', async (t) => {
  const sts = await startTestService(t, { now: Date.now() })
  const address = await sts.app.listen({ host: '127.0.0.1', port: 0 })
  await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/**`,
    audiences: [AUDIENCE, 'other-api'],
    scopes: ['ledger:read', 'ledger:write'],
    owner: 'team-payments',
  })
  const issue = async (params: Record<string, string>) => {
    const answer = await sts.exchange({
      grant_type: TOKEN_EXCHANGE,
      subject_token: await sts.cluster.serviceAccountToken({ namespace: 'payments', serviceAccount: 'api' }),
      subject_token_type: JWT_TOKEN_TYPE,
      ...params,
    })
    t.equal(answer.statusCode, 200)
    return String(answer.body.access_token)
  }
  const server = await startResourceServer(t, {
    STS_ISSUER: ISSUER,
    STS_AUDIENCE: AUDIENCE,
    STS_JWKS_URL: `${address}/.well-known/jwks.json`,
    REQUIRED_SCOPE: 'ledger:write',
  })
  const call = async (authorization?: string) => {
    const answer = await fetch(`${server.url}/balances`, { headers: authorization === undefined ? {} : { authorization } })
    return { status: answer.status, challenge: answer.headers.get('www-authenticate'), body: (await answer.json()) as unknown }
  }

  const good = await issue({ audience: AUDIENCE, scope: 'ledger:read ledger:write' })
  t.same(await call(`Bearer ${good}`), {
    status: 200,
    challenge: null,
    body: { subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`, scopes: ['ledger:read', 'ledger:write'], path: '/balances' },
  })

  const readOnly = await issue({ audience: AUDIENCE, scope: 'ledger:read' })
  t.same(await call(`Bearer ${readOnly}`), {
    status: 403,
    challenge:
      'Bearer realm="example", error="insufficient_scope", error_description="the token lacks the scope ledger:write", scope="ledger:write"',
    body: { error: 'insufficient_scope' },
  })

  const otherAudience = await issue({ audience: 'other-api', scope: 'ledger:write' })
  const refused = await call(`Bearer ${otherAudience}`)
  t.same({ status: refused.status, body: refused.body }, { status: 401, body: { error: 'invalid_token' } })
  t.match(refused.challenge, /^Bearer realm="example", error="invalid_token", error_description="Invalid audience"$/)

  // A signature made over other claims: the header and payload of one token with the signature of another.
  const [header, payload] = good.split('.')
  const forged = `${header}.${payload?.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A'))}.${readOnly.split('.')[2]}`
  t.match(await call(`Bearer ${forged}`), { status: 401, body: { error: 'invalid_token' } })

  t.same(await call(), { status: 401, challenge: 'Bearer realm="example"', body: { error: 'unauthorized' } })
  t.same(await call(`Basic ${Buffer.from('a:b').toString('base64')}`), {
    status: 401,
    challenge: 'Bearer realm="example"',
    body: { error: 'unauthorized' },
  })

  await t.test('the client example reads the token file and calls with it', async (t) => {
    const dir = mkdtempSync(join(tmpdir(), 'sts-token-file-'))
    t.teardown(() => rmSync(dir, { recursive: true, force: true }))
    const tokenFile = join(dir, 'ledger-api.token')
    const run = () =>
      spawnSync(PYTHON, [join(EXAMPLES, 'call_with_token_file.py'), tokenFile, `${server.url}/balances`], { encoding: 'utf8' })
    writeFileSync(tokenFile, `${good}\n`)
    const accepted = run()
    t.same(
      { status: accepted.status, lines: accepted.stdout.trim().split('\n') },
      {
        status: 0,
        lines: [
          '200',
          JSON.stringify({
            subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`,
            scopes: ['ledger:read', 'ledger:write'],
            path: '/balances',
          })
            .replace(/,/g, ', ')
            .replace(/":/g, '": '),
        ],
      },
    )
    writeFileSync(tokenFile, readOnly)
    const refusedCall = run()
    t.same({ status: refusedCall.status, first: refusedCall.stdout.split('\n')[0] }, { status: 1, first: '403' })
  })
})
