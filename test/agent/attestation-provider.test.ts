import { createServer, type IncomingMessage } from 'node:http'
import type { AddressInfo } from 'node:net'
import t, { type Test } from 'tap'
import type { AgentAttestationConfig } from '../../src/agent/agent-config.js'
import { attestationFor } from '../../src/agent/attestation-provider.js'

/** Each configured attestation kind becomes the client's provider for it, with the options as written. */

const JWT = 'eyJhbGciOiJSUzI1NiJ9.eyJzdWIiOiJ2bSJ9.c2lnbmF0dXJl'

/** A metadata endpoint that answers every request with a JWT and remembers what it was asked. */
async function metadataStandIn(t: Test) {
  const requests: { url: string; headers: IncomingMessage['headers'] }[] = []
  const server = createServer((req, res) => {
    requests.push({ url: req.url ?? '', headers: req.headers })
    res
      .writeHead(200, { 'content-type': 'application/json' })
      .end(req.url?.includes('oauth2/token') ? JSON.stringify({ access_token: JWT }) : JWT)
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => new Promise<void>((resolve) => server.close(() => resolve())))
  return { endpoint: `http://127.0.0.1:${(server.address() as AddressInfo).port}`, requests }
}

const ask = (config: AgentAttestationConfig) => attestationFor(config).subjectToken({ signal: AbortSignal.timeout(5_000), now: Date.now })

t.test('every kind maps to its provider', async (t) => {
  const configs: AgentAttestationConfig[] = [
    { kind: 'kubernetes', path: '/var/run/secrets/tokens/sts-token' },
    { kind: 'file', path: '/run/token' },
    { kind: 'aws', noncePath: '/var/lib/sts/nonce' },
    { kind: 'gcp', audience: 'sts.example.org' },
    { kind: 'azure' },
    { kind: 'azure', managedIdentity: { resource: 'api://seed-sts' } },
    { kind: 'github', audience: 'sts.example.org', requestUrl: 'https://actions.example/token', requestToken: 'job' },
  ]
  t.same(
    configs.map((config) => attestationFor(config).kind),
    ['file', 'file', 'aws', 'gcp', 'azure-attested-data', 'azure-managed-identity', 'github-actions'],
  )
})

t.test('a GCP attestation asks the configured endpoint for the configured account, audience and licences', async (t) => {
  const metadata = await metadataStandIn(t)
  const token = await ask({
    kind: 'gcp',
    audience: 'sts.example.org',
    serviceAccount: 'agent@p.iam',
    licenses: true,
    endpoint: metadata.endpoint,
  })
  t.same(token, { subjectToken: JWT, subjectTokenType: 'urn:ietf:params:oauth:token-type:jwt' })
  t.same(
    metadata.requests.map((r) => r.url),
    ['/computeMetadata/v1/instance/service-accounts/agent%40p.iam/identity?audience=sts.example.org&format=full&licenses=TRUE'],
  )
})

t.test('an Azure managed identity asks for the configured resource and identity', async (t) => {
  const metadata = await metadataStandIn(t)
  await ask({ kind: 'azure', managedIdentity: { resource: 'api://seed-sts', clientId: 'c-1' }, endpoint: metadata.endpoint })
  const url = new URL(metadata.requests[0].url, metadata.endpoint)
  t.same(
    [url.pathname, url.searchParams.get('resource'), url.searchParams.get('client_id')],
    ['/metadata/identity/oauth2/token', 'api://seed-sts', 'c-1'],
  )
})
