import { spawn } from 'node:child_process'
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import t, { type Test } from 'tap'
import { freePort } from '../support/ports.js'
import { ADMIN_TOKEN, startTestService, TRUST_DOMAIN, type TestService } from '../support/service.js'

/**
 * examples/agents/: the README's "Agents and delegation" story, run as a user runs it (node
 * examples/agents/run.mjs, importing @seed-sts/client as the workspace resolves it) against the real
 * service listening on a port, with the fake cluster's projected tokens in files. Each step's line is
 * asserted whole: the grant with mayAct, the delegated DPoP-bound token, the tool's answer naming the
 * actor, the copy refused without its key, and the revocation cutting both the token the agent holds
 * and its next exchange.
 */
const RUN = join(import.meta.dirname, '../../examples/agents/run.mjs')
const SERVICE = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/payments/sa/api`
const AGENT = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/agents/sa/assistant`
const AGENT_GLOB = `spiffe://${TRUST_DOMAIN}/k8s/prod/ns/agents/sa/*`
const TOOL_SERVER = join(import.meta.dirname, '../../examples/agents/tool-server.mjs')
const AGENT_MODULE = join(import.meta.dirname, '../../examples/agents/agent.mjs')

/** What the example modules export (plain JavaScript: typed here for the test). */
interface ToolServerModule {
  startToolServer(options: {
    sts: string
    subscribeToken: string
    trustedActors: string[]
  }): Promise<{ url: string; close(): Promise<void> }>
}
interface AgentModule {
  agentTokenSource(options: { sts: string; serviceToken: string; agentTokenFile: string }): { close(): void }
  callTool(source: unknown, toolUrl: string): Promise<{ status: number; body: unknown }>
}

/** Runs the script to its end. Not spawnSync: the service answering it runs in this process. */
function run(env: Record<string, string>): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [RUN], { env: { PATH: process.env.PATH, ...env }, stdio: ['ignore', 'pipe', 'pipe'] })
  let stdout = ''
  let stderr = ''
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()))
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()))
  const timer = setTimeout(() => child.kill(), 60_000)
  return new Promise((resolve) =>
    child.on('close', (status) => {
      clearTimeout(timer)
      resolve({ status, stdout, stderr })
    }),
  )
}

/**
 * The service listening on a port of its own, which is its issuer: the agent's DPoP proofs name its
 * token endpoint, and the tool server's verifier checks `iss` against it. Real time: the tool server
 * checks expiry with it. `dir` is a folder for the attestation files, removed afterwards.
 */
async function listeningService(t: Test): Promise<{ sts: TestService; port: number; dir: string }> {
  const port = await freePort()
  const sts = await startTestService(t, {
    now: Date.now(),
    config: { issuer: `http://127.0.0.1:${port}`, limits: { adminRequestsPerMinute: 0 } },
  })
  await sts.app.listen({ host: '127.0.0.1', port })
  const dir = mkdtempSync(join(tmpdir(), 'sts-agents-'))
  t.teardown(() => rmSync(dir, { recursive: true, force: true }))
  return { sts, port, dir }
}

t.test('an agent acts for a service with a DPoP-bound token, and revoking the agent cuts it', async (t) => {
  const { sts, port, dir } = await listeningService(t)
  const serviceTokenFile = join(dir, 'service-token')
  const agentTokenFile = join(dir, 'agent-token')
  writeFileSync(serviceTokenFile, await sts.cluster.serviceAccountToken({ namespace: 'payments', serviceAccount: 'api' }))
  writeFileSync(agentTokenFile, await sts.cluster.serviceAccountToken({ namespace: 'agents', serviceAccount: 'assistant' }))

  const done = await run({
    STS_URL: `http://127.0.0.1:${port}`,
    STS_ADMIN_TOKEN: ADMIN_TOKEN,
    SERVICE_ID: SERVICE,
    SERVICE_TOKEN_FILE: serviceTokenFile,
    AGENT_ID: AGENT,
    AGENT_TOKEN_FILE: agentTokenFile,
  })
  t.equal(done.status, 0, done.stderr)
  const lines = done.stdout.trimEnd().split('\n')
  const grantId = /^1\. platform team: grant (\S+) /.exec(lines[0] ?? '')?.[1]
  const grant = await sts.app.inject({ method: 'GET', url: `/v1/grants/${grantId}`, headers: sts.admin })
  t.match(grant.json(), { subject: SERVICE, audiences: ['tools'], scopes: ['tools:call'], mayAct: [AGENT] }, 'the grant the script made')
  t.same(lines, [
    `1. platform team: grant ${grantId} gives ${SERVICE} tools:call on tools, mayAct ${AGENT}`,
    `2. service: got its token (Bearer, sub ${SERVICE})`,
    '3. service calls the tool itself: 403 {"error":"actor_required"}',
    `4. agent: got a delegated token (DPoP, sub ${SERVICE}, act {"sub":"${AGENT}"})`,
    `5. agent calls the tool: 200 {"subject":"${SERVICE}","actors":["${AGENT}"]}`,
    "6. the agent's token copied and used without its key: 401 invalid_token",
    `7. responder: revoked ${AGENT}`,
    '8. agent calls the tool again: 401 invalid_token: the token is revoked (by subject)',
    `9. agent asks for a new token: invalid_grant (revoked): the identity ${AGENT} is revoked`,
  ])
  t.notMatch(done.stdout + done.stderr, /eyJ[\w-]{10,}\./, 'no token is printed')
})

t.test('the tool server refuses an actor it does not trust, even one a grant lets act', async (t) => {
  const { sts, port, dir } = await listeningService(t)
  const agentTokenFile = join(dir, 'agent-token')
  writeFileSync(agentTokenFile, await sts.cluster.serviceAccountToken({ namespace: 'agents', serviceAccount: 'runner' }))
  await sts.createGrant({ subject: SERVICE, audiences: ['tools'], scopes: ['tools:call'], owner: 'team-payments', mayAct: [AGENT_GLOB] })
  const subscriber = await sts.app.inject({
    method: 'POST',
    url: '/v1/admin-tokens',
    headers: sts.admin,
    payload: { name: 'tool-server', roles: ['revocations:subscribe'] },
  })
  const { startToolServer } = (await import(TOOL_SERVER)) as ToolServerModule
  const { agentTokenSource, callTool } = (await import(AGENT_MODULE)) as AgentModule
  const tools = await startToolServer({
    sts: `http://127.0.0.1:${port}`,
    subscribeToken: String(subscriber.json().token),
    trustedActors: [AGENT],
  })
  t.teardown(() => tools.close())
  const serviceToken = await sts.exchange({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: await sts.cluster.serviceAccountToken({ namespace: 'payments', serviceAccount: 'api' }),
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
    audience: 'tools',
  })
  const runner = agentTokenSource({ sts: `http://127.0.0.1:${port}`, serviceToken: String(serviceToken.body.access_token), agentTokenFile })
  t.teardown(() => runner.close())
  t.same(await callTool(runner, tools.url), {
    status: 403,
    body: { error: 'actor_not_trusted', actors: [`spiffe://${TRUST_DOMAIN}/k8s/prod/ns/agents/sa/runner`] },
  })
})
