import type { FastifyInstance, FastifyReply } from 'fastify'
import type { ConsoleFile, ConsoleFiles } from '../console/console-files.js'
import { NotFoundError } from '../errors.js'
import { consoleOperations } from './console-operations.js'

export interface ConsoleRoutesOptions {
  files: ConsoleFiles
}

/**
 * The policy of every console answer. The console is plain files from this origin: nothing inline,
 * nothing from elsewhere, so an injected string can run nothing, and the page cannot be framed
 * (clickjacking a "revoke" button) or post a form anywhere.
 */
export const CONSOLE_CSP = [
  "default-src 'none'",
  "script-src 'self'",
  "style-src 'self'",
  "connect-src 'self'",
  "img-src 'self'",
  "form-action 'none'",
  "frame-ancestors 'none'",
  "base-uri 'none'",
].join('; ')

const SECURITY_HEADERS: Record<string, string> = {
  'content-security-policy': CONSOLE_CSP,
  'x-content-type-options': 'nosniff',
  'referrer-policy': 'no-referrer',
  'x-frame-options': 'DENY',
  'cross-origin-opener-policy': 'same-origin',
  'cross-origin-resource-policy': 'same-origin',
}

/**
 * /console: the incident console's files, from the map read at start (console-files.ts). Register it
 * with the prefix `/console`: its 404s (any path under /console no file has) are its own, with the
 * same headers as its files.
 */
export async function consoleRoutes(app: FastifyInstance, options: ConsoleRoutesOptions): Promise<void> {
  const { files } = options
  const index = files.get('index.html')
  if (!index) throw new TypeError('the console files have no index.html')
  // Every answer of this scope: files, 304s, 404s and errors alike. Errors are not kept by caches.
  app.addHook('onSend', async (_request, reply, payload) => {
    reply.headers(SECURITY_HEADERS)
    if (!reply.hasHeader('cache-control')) reply.header('cache-control', 'no-store')
    return payload
  })
  app.setNotFoundHandler((request) => {
    throw new NotFoundError(`no route for ${request.method} ${request.url.split('?')[0]}`, 'route_not_found')
  })
  // The page's links are relative: at /console they would resolve against /.
  app.get('/', { prefixTrailingSlash: 'no-slash', schema: consoleOperations.redirect }, async (_request, reply) =>
    reply.redirect('/console/', 308),
  )
  app.get('/', { prefixTrailingSlash: 'slash', schema: consoleOperations.page }, async (request, reply) =>
    sendFile(reply, index, request.headers['if-none-match']),
  )
  app.get('/:file', { schema: consoleOperations.file }, async (request, reply) => {
    const { file: name } = request.params as { file: string }
    // Looked up by exact name in what was read at start: `..`, `%2F` or any other spelling is just a name no file has.
    const file = files.get(name)
    if (!file) throw new NotFoundError(`no route for GET ${request.url.split('?')[0]}`, 'route_not_found')
    return sendFile(reply, file, request.headers['if-none-match'])
  })
}

function sendFile(reply: FastifyReply, file: ConsoleFile, ifNoneMatch: string | undefined): FastifyReply {
  // Revalidated on every load: a new release's files are picked up at once, an unchanged one costs a 304.
  reply.header('cache-control', 'no-cache').header('etag', file.etag)
  if (ifNoneMatch !== undefined && ifNoneMatch.split(',').some((tag) => tag.trim() === file.etag)) return reply.code(304).send()
  return reply.type(file.contentType).send(file.body)
}
