// An agent acting for a service: the service hands it an access token of its own, and the agent
// exchanges that for a token that is still the service's (`sub`) but names the agent (`act`), bound to
// the agent's DPoP key, so nobody who copies it can use it.
import { accessTokenAttestation, fileAttestation, tokenSource } from '@seed-sts/client'
import { TOOL_AUDIENCE } from './tool-server.mjs'

/**
 * The agent's token source. `serviceToken`: the service's access token for the tools (a string, or a
 * function giving the current one). `agentTokenFile`: the agent's own attestation, its projected
 * Kubernetes service-account token.
 */
export function agentTokenSource({ sts, serviceToken, agentTokenFile }) {
  return tokenSource({
    sts,
    attestation: accessTokenAttestation(serviceToken), // for whom: the service
    actor: fileAttestation({ path: agentTokenFile }), // who acts: the agent itself
    dpop: true, // bound to a key only this process holds
  })
}

/** Calls the tool with the agent's token and a fresh DPoP proof of this very request. */
export async function callTool(source, toolUrl) {
  const url = `${toolUrl}/tools/lookup`
  const headers = await source.requestHeaders('POST', url, { audience: TOOL_AUDIENCE, scope: 'tools:call' })
  const response = await fetch(url, { method: 'POST', headers })
  return { status: response.status, body: await response.json() }
}
