import { spawn } from 'node:child_process'
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createLocalJWKSet, jwtVerify } from 'jose'
import t, { type Test } from 'tap'
import { ISSUER, startTestService, TRUST_DOMAIN } from '../support/service.js'

/** examples/shell/sts-token-refresh.sh: the curl-and-jq client, against the real service and a stand-in. */
const SCRIPT = join(import.meta.dirname, '../../examples/shell/sts-token-refresh.sh')

function scratch(t: Test): string {
  const dir = mkdtempSync(join(tmpdir(), 'sts-shell-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return dir
}

/** Runs the script to its end. Not spawnSync: the service answering it runs in this process. */
function run(env: Record<string, string>): Promise<{ status: number | null; stderr: string }> {
  const child = spawn('sh', [SCRIPT], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'ignore', 'pipe'] })
  let stderr = ''
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const timer = setTimeout(() => child.kill(), 30_000)
  return new Promise((resolve) =>
    child.on('close', (status) => {
      clearTimeout(timer)
      resolve({ status, stderr })
    }),
  )
}

t.test('one exchange against the service: the token file holds a token it signed, mode 0600', async (t) => {
  const sts = await startTestService(t, { now: Date.now() })
  const address = await sts.app.listen({ host: '127.0.0.1', port: 0 })
  await sts.createGrant({
    subject: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/**`,
    audiences: ['ledger-api'],
    scopes: ['ledger:read', 'ledger:write'],
    owner: 'team-payments',
  })
  const dir = scratch(t)
  const attestation = join(dir, 'sts-token')
  const tokenFile = join(dir, 'ledger-api.token')
  writeFileSync(attestation, `${await sts.cluster.serviceAccountToken({ namespace: 'payments', serviceAccount: 'api' })}\n`)

  const done = await run({
    STS_URL: address,
    STS_AUDIENCE: 'ledger-api',
    STS_SCOPE: 'ledger:read ledger:write',
    TOKEN_FILE: tokenFile,
    ATTESTATION_FILE: attestation,
    ONCE: '1',
  })
  t.equal(done.status, 0, done.stderr)
  t.equal(statSync(tokenFile).mode & 0o777, 0o600)
  const jwks = (await (await fetch(`${address}/.well-known/jwks.json`)).json()) as Parameters<typeof createLocalJWKSet>[0]
  const { payload } = await jwtVerify(readFileSync(tokenFile, 'utf8'), createLocalJWKSet(jwks), {
    issuer: ISSUER,
    audience: 'ledger-api',
    typ: 'at+jwt',
    currentDate: new Date(),
  })
  t.same(
    { sub: payload.sub, scope: payload.scope },
    { sub: `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`, scope: 'ledger:read ledger:write' },
  )

  await t.test('a refusal stops the loop with the STS error, and leaves the token file alone', async (t) => {
    writeFileSync(attestation, await sts.cluster.serviceAccountToken({ namespace: 'search', serviceAccount: 'indexer' }))
    const before = readFileSync(tokenFile, 'utf8')
    const refused = await run({ STS_URL: address, STS_AUDIENCE: 'ledger-api', TOKEN_FILE: tokenFile, ATTESTATION_FILE: attestation })
    t.equal(refused.status, 1)
    t.match(refused.stderr, /the STS refused \(HTTP 400\): \{"error":"invalid_grant","error_description":"[^"]+"\}/)
    t.equal(readFileSync(tokenFile, 'utf8'), before)
  })
})

/** A stand-in STS: answers each request with the next of `answers` (the last one repeats). */
async function standIn(t: Test, answers: ((res: ServerResponse) => void)[]) {
  const requests: { at: number; body: string }[] = []
  const server = createServer((req: IncomingMessage, res) => {
    let body = ''
    req.on('data', (chunk: Buffer) => (body += chunk.toString()))
    req.on('end', () => {
      requests.push({ at: Date.now(), body })
      ;(answers[Math.min(requests.length - 1, answers.length - 1)] as (res: ServerResponse) => void)(res)
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { url: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests }
}

const token = (n: number, expiresIn: number) => (res: ServerResponse) => {
  res
    .writeHead(200, { 'content-type': 'application/json' })
    .end(JSON.stringify({ access_token: `token-${n}`, token_type: 'Bearer', expires_in: expiresIn }))
}

t.test('503 with Retry-After is waited out, then the token is written', async (t) => {
  const sts = await standIn(t, [
    (res) => res.writeHead(503, { 'retry-after': '2', 'content-type': 'application/json' }).end('{"error":"temporarily_unavailable"}'),
    token(1, 600),
  ])
  const dir = scratch(t)
  writeFileSync(join(dir, 'attestation'), 'eyJ.attestation.sig')
  const done = await run({
    STS_URL: sts.url,
    STS_AUDIENCE: 'ledger-api',
    TOKEN_FILE: join(dir, 'token'),
    ATTESTATION_FILE: join(dir, 'attestation'),
    ONCE: '1',
  })
  t.equal(done.status, 0, done.stderr)
  t.equal(readFileSync(join(dir, 'token'), 'utf8'), 'token-1')
  t.equal(sts.requests.length, 2)
  const [first, second] = sts.requests
  t.ok((second?.at ?? 0) - (first?.at ?? 0) >= 1900, 'Retry-After: 2 waited out')
  t.match(first?.body, /subject_token=eyJ.attestation.sig&audience=ledger-api$/)
})

t.test('the loop refreshes at about 80 % of the lifetime, re-reading the attestation, and replaces the file whole', async (t) => {
  const sts = await standIn(t, [token(1, 5), token(2, 5), token(3, 5)])
  const dir = scratch(t)
  const attestation = join(dir, 'attestation')
  writeFileSync(attestation, 'first-attestation')
  const loop = spawn('sh', [SCRIPT], {
    env: {
      PATH: process.env.PATH,
      STS_URL: sts.url,
      STS_AUDIENCE: 'ledger-api',
      TOKEN_FILE: join(dir, 'token'),
      ATTESTATION_FILE: attestation,
    },
    stdio: 'ignore',
  })
  t.teardown(() => void loop.kill())
  const seen = new Set<string>()
  const deadline = Date.now() + 15_000
  while (Date.now() < deadline && sts.requests.length < 3) {
    try {
      seen.add(readFileSync(join(dir, 'token'), 'utf8'))
    } catch {
      // Not written yet.
    }
    if (sts.requests.length === 1) writeFileSync(attestation, 'rotated-attestation')
    await new Promise((resolve) => setTimeout(resolve, 20))
  }
  t.equal(sts.requests.length, 3)
  const gaps = sts.requests.slice(1).map((r, i) => r.at - (sts.requests[i]?.at ?? 0))
  // expires_in 5: the next exchange at 80 % of it (4 s), less up to a tenth of it at random in whole seconds (none here).
  for (const gap of gaps) t.ok(gap >= 3_900 && gap <= 7_000, `refreshed after ${gap} ms`)
  t.match(sts.requests[1]?.body, /subject_token=rotated-attestation/)
  // Every read saw a whole token: never an empty or partial file.
  t.same(
    [...seen].filter((s) => !/^token-\d$/.test(s)),
    [],
  )
})
