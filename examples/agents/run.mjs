// The agents-and-delegation story, step by step, against a running Seed STS:
//
//   STS_URL=https://sts.example.org STS_ADMIN_TOKEN=... \
//   SERVICE_ID=spiffe://example.org/k8s/prod/ns/payments/sa/api SERVICE_TOKEN_FILE=/path/to/service-token \
//   AGENT_ID=spiffe://example.org/k8s/prod/ns/agents/sa/assistant AGENT_TOKEN_FILE=/path/to/agent-token \
//   node examples/agents/run.mjs
//
// STS_URL is the STS's issuer (DPoP proofs name its token endpoint); the token files hold the two
// workloads' projected service-account tokens. Revoking the agent (step 7) lasts: run it again with
// another AGENT_ID, or delete the revocation.
import { randomUUID } from 'node:crypto'
import { fileAttestation, StsError, tokenSource } from '@seed-sts/client'
import { agentTokenSource, callTool } from './agent.mjs'
import { startToolServer, TOOL_AUDIENCE } from './tool-server.mjs'

const env = (name) => process.env[name] ?? fail(`${name} is not set`)
const sts = env('STS_URL').replace(/\/+$/, '')
const admin = { authorization: `Bearer ${env('STS_ADMIN_TOKEN')}`, 'content-type': 'application/json' }
const SERVICE_ID = env('SERVICE_ID')
const AGENT_ID = env('AGENT_ID')
const TOOL = { audience: TOOL_AUDIENCE, scope: 'tools:call' }

// The platform team lets the service call the tools, and the agent act for it.
const grant = await adminPost('/v1/grants', {
  subject: SERVICE_ID,
  audiences: [TOOL_AUDIENCE],
  scopes: ['tools:call'],
  owner: 'team-payments',
  mayAct: [AGENT_ID],
})
say(1, `platform team: grant ${grant.id} gives ${SERVICE_ID} tools:call on ${TOOL_AUDIENCE}, mayAct ${AGENT_ID}`)
// The tool server follows revocations with an admin token that may do nothing else.
const subscriber = await adminPost('/v1/admin-tokens', { name: `tool-server-${randomUUID()}`, roles: ['revocations:subscribe'] })
const tools = await startToolServer({ sts, subscribeToken: subscriber.token, trustedActors: [AGENT_ID] })

try {
  // The service gets its own token for the tools (useless to call the tool alone), and hands it to the agent.
  const service = tokenSource({ sts, attestation: fileAttestation({ path: env('SERVICE_TOKEN_FILE') }) })
  const serviceToken = await service.accessToken(TOOL)
  say(2, `service: got its token (${serviceToken.tokenType}, sub ${claimsOf(serviceToken.token).sub})`)
  const alone = await fetch(`${tools.url}/tools/lookup`, { method: 'POST', headers: { authorization: `Bearer ${serviceToken.token}` } })
  say(3, `service calls the tool itself: ${alone.status} ${JSON.stringify(await alone.json())}`)

  // The agent exchanges it for a token acting for the service, bound to the agent's key.
  const agentOptions = { sts, serviceToken: serviceToken.token, agentTokenFile: env('AGENT_TOKEN_FILE') }
  const agent = agentTokenSource(agentOptions)
  const delegated = await agent.accessToken(TOOL)
  const claims = claimsOf(delegated.token)
  say(4, `agent: got a delegated token (${delegated.tokenType}, sub ${claims.sub}, act ${JSON.stringify(claims.act)})`)
  const call = await callTool(agent, tools.url)
  say(5, `agent calls the tool: ${call.status} ${JSON.stringify(call.body)}`)
  const copied = await fetch(`${tools.url}/tools/lookup`, { method: 'POST', headers: { authorization: `Bearer ${delegated.token}` } })
  say(6, `the agent's token copied and used without its key: ${copied.status} ${(await copied.json()).error}`)

  // A responder revokes the agent: every token it holds, for anyone, stops working.
  await adminPost('/v1/revocations', { kind: 'subject', value: AGENT_ID, reason: 'agent misbehaving' })
  say(7, `responder: revoked ${AGENT_ID}`)
  const after = await untilRefused(() => callTool(agent, tools.url))
  say(8, `agent calls the tool again: ${after.status} ${describe(after.body)}`)
  // A new exchange (the agent restarted: the source above still holds its token) is refused too.
  const restarted = agentTokenSource(agentOptions)
  const refusal = await restarted.token(TOOL).then(
    () => 'issued',
    (error) => (error instanceof StsError ? `${error.error} (${error.reason}): ${error.description}` : Promise.reject(error)),
  )
  say(9, `agent asks for a new token: ${refusal}`)
  for (const source of [service, agent, restarted]) source.close()
} finally {
  await tools.close()
}

/** One line per step of the story. */
function say(step, text) {
  console.log(`${step}. ${text}`)
}

async function adminPost(path, body) {
  const response = await fetch(`${sts}${path}`, { method: 'POST', headers: admin, body: JSON.stringify(body) })
  if (response.status !== 201) fail(`POST ${path}: ${response.status} ${await response.text()}`)
  return response.json()
}

/**
 * The tool server hears a revocation through its stream, within moments; until it has, the call
 * still succeeds. Calls again (each with a new proof) for up to 10 s, then answers the last one.
 */
async function untilRefused(attempt) {
  const deadline = Date.now() + 10_000
  for (;;) {
    const answer = await attempt()
    if (answer.status !== 200 || Date.now() > deadline) return answer
    await new Promise((resolve) => setTimeout(resolve, 100))
  }
}

/** A refusal as `error: description`; anything else as it came. */
function describe(body) {
  return body.error_description === undefined ? JSON.stringify(body) : `${body.error}: ${body.error_description}`
}

/** A token's claims, read without verifying: only to show what was issued. */
function claimsOf(token) {
  return JSON.parse(Buffer.from(token.split('.')[1], 'base64url').toString())
}

function fail(message) {
  console.error(message)
  process.exit(1)
}
