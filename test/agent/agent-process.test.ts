import { spawn, spawnSync } from 'node:child_process'
import { readFileSync, statSync, writeFileSync } from 'node:fs'
import { join } from 'node:path'
import { createLocalJWKSet, decodeJwt, jwtVerify, type JSONWebKeySet } from 'jose'
import t, { type Test } from 'tap'
import { readInATightLoop, scratchDirectory, startAgentProcess, type AgentProcess } from '../support/agent-process.js'
import { ADMIN_TOKEN, baseConfig, ready, start, type Started } from '../support/compiled-server.js'
import { eventually } from '../support/eventually.js'
import { freePort } from '../support/ports.js'
import { parseScrape, valueOf } from '../support/scrape.js'

/**
 * `sts agent` end to end: the compiled agent process against the compiled service on real Postgres
 * and Redis, with tokens living a few seconds (the grant's maxTtlSeconds) so that refreshes come fast.
 */

const admin = { authorization: `Bearer ${ADMIN_TOKEN}`, 'content-type': 'application/json' }

async function service(t: Test, maxTtlSeconds: number) {
  const { cluster, config } = await baseConfig(t)
  // No shedding on event-loop lag: two busy cores stall every process here now and then.
  const sts = await start(t, { ...config, overload: { maxEventLoopDelayMs: 0 } })
  await ready(t, sts)
  const response = await fetch(`${sts.url}/v1/grants`, {
    method: 'POST',
    headers: admin,
    body: JSON.stringify({
      subject: 'spiffe://example.org/k8s/prod/ns/payments/**',
      audiences: ['ledger-api'],
      scopes: ['ledger:read', 'ledger:write'],
      owner: 'team-payments',
      maxTtlSeconds,
    }),
  })
  t.equal(response.status, 201, 'grant created')
  const grant = (await response.json()) as { id: string }
  const attestation = await cluster.serviceAccountToken({ namespace: 'payments', serviceAccount: 'api' })
  return { sts, grant, attestation }
}

async function get(url: string): Promise<{ status: number; body: string }> {
  const response = await fetch(url)
  return { status: response.status, body: await response.text() }
}

const doneHooks = (agent: AgentProcess, file: string) =>
  agent.logs().filter((line) => line.msg === 'afterRefresh hook done' && line.file === file).length
const written = (agent: AgentProcess, file: string) =>
  agent.logs().filter((line) => line.msg === 'token file written' && line.file === file).length

async function verified(sts: Started, file: string) {
  const jwks = (await (await fetch(`${sts.url}/.well-known/jwks.json`)).json()) as JSONWebKeySet
  const { payload } = await jwtVerify(readFileSync(file, 'utf8'), createLocalJWKSet(jwks), {
    issuer: 'https://sts.test.example',
    audience: 'ledger-api',
    typ: 'at+jwt',
    // exp is whole seconds (iat rounded down, plus 3): up to a second before the agent's own measure
    // of the expiry, by which it refreshes. Freshness is /readyz's and the expiry gauge's to show.
    clockTolerance: 2,
  })
  return payload
}

/** An application that counts the SIGHUPs it is sent, its pid in a file. */
async function application(t: Test, dir: string) {
  const pidFile = join(dir, 'app.pid')
  const heard = join(dir, 'app.hups')
  writeFileSync(heard, '')
  const app = spawn(
    process.execPath,
    [
      '-e',
      `const fs = require('fs'); process.on('SIGHUP', () => fs.appendFileSync(process.argv[2], 'hup\\n'));
       fs.writeFileSync(process.argv[1], String(process.pid)); setInterval(() => {}, 1000)`,
      pidFile,
      heard,
    ],
    { stdio: 'ignore' },
  )
  t.teardown(() => app.kill('SIGKILL'))
  await eventually(t, () => readFileSync(pidFile, { encoding: 'utf8', flag: 'a+' }) !== '', { what: 'the application wrote its pid' })
  return { pidFile, hups: () => readFileSync(heard, 'utf8').split('\n').filter(Boolean).length }
}

t.test('the agent keeps its token files fresh: always whole, mode 0600, a hook after each new token, health and metrics', async (t) => {
  const { sts, attestation } = await service(t, 3)
  const dir = scratchDirectory(t)
  writeFileSync(join(dir, 'sts-token'), attestation)
  const app = await application(t, dir)
  const files = {
    read: join(dir, 'tokens', 'read.token'),
    write: join(dir, 'tokens', 'write.token'),
    both: join(dir, 'tokens', 'both.token'),
  }
  const hookLog = join(dir, 'hook.log')
  writeFileSync(hookLog, '')
  // The hook records the expiry of the token it was run for, and the token it finds in the file. A shell,
  // asked for as the README says: it starts in a millisecond, where node on two busy cores may take
  // longer than a token lives.
  const recordToken = ['/bin/sh', '-c', 'echo "$STS_TOKEN_EXPIRES_AT $(cut -d. -f3 "$STS_TOKEN_FILE")" >> "$1"', 'record-token', hookLog]
  const port = await freePort()
  const agent = startAgentProcess(t, dir, {
    sts: sts.url,
    attestation: { kind: 'kubernetes', path: 'sts-token' },
    tokens: [
      {
        audience: 'ledger-api',
        scope: 'ledger:read',
        file: files.read,
        afterRefresh: { command: recordToken },
      },
      { audience: 'ledger-api', scope: 'ledger:write', file: files.write, afterRefresh: { signal: { pidFile: app.pidFile } } },
      {
        audience: 'ledger-api',
        scope: ['ledger:write', 'ledger:read'],
        file: files.both,
        afterRefresh: { signal: { pidFile: join(dir, 'gone.pid') } },
      },
    ],
    health: { host: '127.0.0.1', port },
    checkIntervalSeconds: 1,
  })
  const health = `http://127.0.0.1:${port}`
  const readiness = await eventually(t, () => get(`${health}/readyz`).catch(() => ({ status: 0, body: '' })), {
    until: (answer) => answer.status === 200,
    timeoutMs: 20_000,
    intervalMs: 100,
    what: `/readyz says ready (${agent.output()})`,
  })
  t.same(JSON.parse(readiness.body), {
    status: 'ready',
    tokens: [
      {
        file: files.read,
        audience: 'ledger-api',
        scope: 'ledger:read',
        ready: true,
        expiresAt: JSON.parse(readiness.body).tokens[0].expiresAt,
      },
      {
        file: files.write,
        audience: 'ledger-api',
        scope: 'ledger:write',
        ready: true,
        expiresAt: JSON.parse(readiness.body).tokens[1].expiresAt,
      },
      {
        file: files.both,
        audience: 'ledger-api',
        scope: 'ledger:read ledger:write',
        ready: true,
        expiresAt: JSON.parse(readiness.body).tokens[2].expiresAt,
      },
    ],
  })
  t.same(await get(`${health}/healthz`), { status: 200, body: '{"status":"ok"}\n' })

  // Tokens live 3 s and are replaced at about 2.4 s: a reader polling for 9 s sees several, each whole.
  const report = await readInATightLoop(files.read, 9_000)
  t.equal(report.partial, 0, 'no read saw a partial or empty file')
  t.equal(report.missing, 0, 'no read found the file missing')
  t.ok(report.signatures.length >= 3, `several tokens read (${report.signatures.length} in ${report.reads} reads)`)
  t.ok(report.reads >= 1000, `a tight loop (${report.reads} reads)`)

  for (const [scope, file] of [
    ['ledger:read', files.read],
    ['ledger:write', files.write],
    ['ledger:read ledger:write', files.both],
  ] as const) {
    const payload = await verified(sts, file)
    t.same({ sub: payload.sub, scope: payload.scope }, { sub: 'spiffe://example.org/k8s/prod/ns/payments/sa/api', scope }, file)
    t.ok(payload.exp! - payload.iat! === 3, 'a token of the grant lifetime')
    t.equal(statSync(file).mode & 0o777, 0o600, `${file} is 0600`)
  }

  // The command ran after new tokens were in the file, once per token in their order, and last for the
  // newest (a token written while it ran gets one more run after it, not one each); likewise the signal.
  const hooked = () => readFileSync(hookLog, 'utf8').split('\n').filter(Boolean)
  const runs = () => hooked().map((line) => ({ expiresAt: line.split(' ')[0], found: line.split(' ')[1] }))
  const writtenExpiries = () =>
    agent.logs().flatMap((line) => (line.msg === 'token file written' && line.file === files.read ? [line.expiresAt] : []))
  const newest = () => readFileSync(files.read, 'utf8').split('.')[2]
  await eventually(t, () => runs().at(-1)?.expiresAt === writtenExpiries().at(-1) && runs().at(-1)?.found === newest(), {
    what: 'the command ran last for the newest token, and found it in the file',
    timeoutMs: 15_000,
  })
  t.same(
    runs().filter(({ expiresAt }) => !writtenExpiries().includes(expiresAt)),
    [],
    'each run was for a token written',
  )
  t.ok(
    runs().every((run, i, all) => i === 0 || run.expiresAt > all[i - 1].expiresAt),
    'one run per token, in their order, never two for one',
  )
  t.ok(runs().length >= 3, `the command ran ${runs().length} times`)
  // What a hook did shows here before the agent's log line about it arrives: waited for, not raced.
  await eventually(t, () => hooked().length === doneHooks(agent, files.read), { what: 'each run logged' })
  await eventually(t, () => app.hups() === doneHooks(agent, files.write), { what: 'each signal logged' })
  t.ok(app.hups() >= 3, `the application was told ${app.hups()} times`)

  const samples = parseScrape((await get(`${health}/metrics`)).body)
  for (const scope of ['ledger:read', 'ledger:write', 'ledger:read ledger:write']) {
    const issued = valueOf(samples, 'sts_agent_refreshes_total', { audience: 'ledger-api', scope, outcome: 'issued' }) ?? 0
    t.ok(issued >= 3, `${issued} refreshes issued for ${scope}`)
    const left = valueOf(samples, 'sts_agent_token_expiry_seconds', { audience: 'ledger-api', scope })
    t.ok(left !== undefined && left > 0 && left <= 3, `${scope}: ${left} s left`)
  }
  const failures = valueOf(samples, 'sts_agent_hook_failures_total', {
    audience: 'ledger-api',
    scope: 'ledger:read ledger:write',
    hook: 'signal',
  })
  t.ok(
    failures !== undefined && failures >= 1 && failures <= written(agent, files.both),
    `${failures} signals to a pid file that is not there failed`,
  )
  t.equal(valueOf(samples, 'sts_agent_hook_failures_total', { audience: 'ledger-api', scope: 'ledger:read', hook: 'command' }), undefined)
  t.match(
    agent.logs().find((line) => line.msg === 'afterRefresh hook failed'),
    { level: 40, file: files.both, hook: 'signal', problem: new RegExp(`^cannot read the pid file ${join(dir, 'gone.pid')}: ENOENT`) },
  )

  const current = [files.read, files.write, files.both].map((file) => readFileSync(file, 'utf8'))
  for (const signature of [...report.signatures, ...current.map((token) => token.split('.')[2])]) {
    t.notOk(agent.output().includes(signature), 'no token in the log')
  }

  agent.child.kill('SIGTERM')
  t.equal(await agent.exited, 0, 'SIGTERM stops it cleanly')
  t.match(agent.logs().at(-1), { msg: 'stopped' })
  for (const file of [files.read, files.write]) {
    t.ok(doneHooks(agent, file) <= written(agent, file), `${file}: never more hooks than tokens written`)
  }
  // A refresh may land between the read of `current` and the signal: each file holds that token or a later one of its scope.
  const claimsOf = (token: string) =>
    JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { scope: string; iat: number }
  t.same(
    [files.read, files.write, files.both].map((file, i) => {
      const kept = claimsOf(readFileSync(file, 'utf8'))
      return { scope: kept.scope, notOlder: kept.iat >= claimsOf(current[i]!).iat }
    }),
    current.map((token) => ({ scope: claimsOf(token).scope, notOlder: true })),
    'the files stay for the next start',
  )
})

t.test(
  '/readyz follows the files: not before the first token, and not once a refused token has expired; the last good file stays',
  async (t) => {
    const { sts, grant, attestation } = await service(t, 4)
    const dir = scratchDirectory(t)
    const file = join(dir, 'ledger.token')
    const port = await freePort()
    // No attestation yet: the kubelet has not mounted the projected token.
    const agent = startAgentProcess(t, dir, {
      sts: sts.url,
      attestation: { kind: 'kubernetes', path: join(dir, 'sts-token') },
      tokens: [{ audience: 'ledger-api', scope: 'ledger:read', file }],
      health: { host: '127.0.0.1', port },
      checkIntervalSeconds: 1,
    })
    const health = `http://127.0.0.1:${port}`
    const waiting = await eventually(t, () => get(`${health}/readyz`).catch(() => ({ status: 0, body: '' })), {
      until: (answer) => answer.status !== 0,
      timeoutMs: 20_000,
      intervalMs: 100,
      what: 'the health endpoint answers',
    })
    t.same(waiting, {
      status: 503,
      body: `${JSON.stringify({ status: 'not ready', tokens: [{ file, audience: 'ledger-api', scope: 'ledger:read', ready: false }] })}\n`,
    })
    t.equal((await get(`${health}/healthz`)).status, 200, 'alive all the same')

    writeFileSync(join(dir, 'sts-token'), attestation)
    await eventually(t, async () => (await get(`${health}/readyz`)).status, {
      until: (s) => s === 200,
      timeoutMs: 30_000,
      intervalMs: 100,
      what: 'ready once the attestation is there',
    })
    t.equal(statSync(file).mode & 0o777, 0o600)

    const disabled = await fetch(`${sts.url}/v1/grants/${grant.id}`, { method: 'DELETE', headers: { authorization: admin.authorization } })
    t.equal(disabled.status, 200, 'grant disabled')
    const refusal = await eventually(t, () => agent.logs().find((line) => line.msg?.toString().startsWith('the STS refused')), {
      timeoutMs: 10_000,
      intervalMs: 100,
      what: 'the refusal is logged',
    })
    t.match(refusal, {
      level: 50,
      audience: 'ledger-api',
      scope: 'ledger:read',
      error: 'invalid_grant',
      status: 400,
      reason: 'not_granted',
    })
    const last = readFileSync(file, 'utf8')
    const expiresAt = decodeJwt(last).exp! * 1000

    const notReady = await eventually(t, () => get(`${health}/readyz`), {
      until: (answer) => answer.status === 503,
      timeoutMs: 10_000,
      intervalMs: 100,
      what: 'not ready once it expired',
    })
    t.ok(Date.now() >= expiresAt - 1000, 'not before the token expired')
    t.match(JSON.parse(notReady.body), { status: 'not ready', tokens: [{ file, ready: false, expiresAt: String }] })
    t.equal(readFileSync(file, 'utf8'), last, 'the last good token stayed in the file')
    await eventually(t, () => agent.logs().some((line) => line.msg === 'the token in the file has expired and no new one could be had'), {
      what: 'the expiry is logged',
    })
    const samples = parseScrape((await get(`${health}/metrics`)).body)
    t.ok(
      (valueOf(samples, 'sts_agent_refreshes_total', { audience: 'ledger-api', scope: 'ledger:read', outcome: 'refused' }) ?? 0) >= 1,
      'the refusal is counted',
    )
    t.ok(
      (valueOf(samples, 'sts_agent_token_expiry_seconds', { audience: 'ledger-api', scope: 'ledger:read' }) ?? 0) <= 0,
      'and the expiry seen',
    )
    t.equal(agent.child.exitCode, null, 'the agent is still running')
    t.notOk(agent.output().includes(last.split('.')[2]), 'no token in the log')
    agent.child.kill('SIGINT')
    t.equal(await agent.exited, 0, 'SIGINT stops it cleanly')
  },
)

t.test('a wrong command line or configuration exits 2 with every problem named', async (t) => {
  const dir = scratchDirectory(t)
  const agent = startAgentProcess(
    t,
    dir,
    'sts: http://127.0.0.1:1\nattestation: { kind: kubernetes }\ntokens:\n  - { audience: ledger-api, file: "" }\nhealth: { port: -1 }\n',
  )
  t.equal(await agent.exited, 2)
  t.equal(
    agent.output(),
    `sts agent: ${join(dir, 'agent.yaml')}: invalid configuration:\n  - tokens.0.file: must be a path\n  - health.port: Too small: expected number to be >=0\n`,
  )
})

t.test('sts agent without --config is a usage error; --help says how to use it', async (t) => {
  // spawnSync is fine here: no service runs in this process.
  const sts = (...argv: string[]) =>
    spawnSync(process.execPath, [new URL('../../dist/src/cli/main.js', import.meta.url).pathname, 'agent', ...argv], {
      env: { PATH: process.env.PATH },
      encoding: 'utf8',
      timeout: 20_000,
    })
  const bare = sts()
  t.same(
    [bare.status, bare.stdout, bare.stderr],
    [2, '', 'sts agent: --config <file> is required\nusage: sts agent --config <agent.yaml>\n'],
  )
  const unknown = sts('--config', 'a.yaml', '--verbose')
  t.same([unknown.status, unknown.stderr], [2, "sts agent: Unknown option '--verbose'\nusage: sts agent --config <agent.yaml>\n"])
  const help = sts('--help')
  t.equal(help.status, 0)
  t.match(help.stdout, /^usage: sts agent --config <agent.yaml>\n[^]*\nexit codes:\n/)
})
