// A tool server: one tool, behind Seed STS access tokens (DPoP-bound ones with their proof), that
// answers only an agent acting for someone, and only an agent it trusts.
//
//   STS_URL=https://sts.example.org STS_SUBSCRIBE_TOKEN=... \
//   TRUSTED_ACTORS='spiffe://example.org/k8s/prod/ns/agents/sa/*' PORT=8443 node examples/agents/tool-server.mjs
import { pathToFileURL } from 'node:url'
import Fastify from 'fastify'
import { createVerifier } from '@seed-sts/client'
import { accessTokenPlugin } from '@seed-sts/client/fastify'
import { compileGlob } from '@seed-sts/client/glob'

export const TOOL_AUDIENCE = 'tools'

/**
 * Starts the tool server. `trustedActors`: SPIFFE ID globs of the agents it answers (every actor of
 * the chain must match one). `subscribeToken`: an admin token with the role revocations:subscribe, so
 * the verifier follows revocations as they are made (a revoked agent is refused at once).
 */
export async function startToolServer({ sts, subscribeToken, trustedActors, port = 0, host = '127.0.0.1' }) {
  const verifier = createVerifier({
    issuer: sts,
    audience: TOOL_AUDIENCE,
    revocations: { subscribeToken, onStreamLost: { refuseAfterMs: 30_000 } },
  })
  await verifier.ready()
  const trusted = trustedActors.map((glob) => compileGlob(glob))
  const isTrusted = (actor) => trusted.some((glob) => glob.matches(actor))

  const app = Fastify()
  // Every route needs a valid token: signature, audience, expiry, revocations (the subject, every
  // actor of its act chain, every token it came from), and the DPoP proof of a bound token.
  await app.register(accessTokenPlugin, { verifier, realm: TOOL_AUDIENCE })
  app.post('/tools/lookup', { config: { sts: { scopes: ['tools:call'] } } }, async (request, reply) => {
    const { subject, actors } = request.workload
    // This tool is for agents acting for a service: the service's own token, or an agent we do not
    // know anywhere in the chain, gets nothing.
    if (actors.length === 0) return reply.code(403).send({ error: 'actor_required' })
    const untrusted = actors.filter((actor) => !isTrusted(actor))
    if (untrusted.length > 0) return reply.code(403).send({ error: 'actor_not_trusted', actors: untrusted })
    return { subject, actors }
  })
  app.addHook('onClose', () => verifier.close())

  const address = await app.listen({ port, host })
  return { url: address, close: () => app.close() }
}

if (import.meta.url === pathToFileURL(process.argv[1] ?? '').href) {
  const server = await startToolServer({
    sts: process.env.STS_URL,
    subscribeToken: process.env.STS_SUBSCRIBE_TOKEN,
    trustedActors: (process.env.TRUSTED_ACTORS ?? '').split(',').filter((glob) => glob !== ''),
    port: Number(process.env.PORT ?? 8443),
    host: process.env.HOST ?? '127.0.0.1',
  })
  console.log(`tool server listening on ${server.url}`)
  process.once('SIGTERM', () => void server.close())
}
