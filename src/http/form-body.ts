import type { FastifyInstance } from 'fastify'

/**
 * `application/x-www-form-urlencoded` as the OAuth endpoints need it: every value kept, so a
 * parameter sent twice can be refused (RFC 6749 section 3.2) instead of one copy winning silently.
 */
export function registerFormBodyParser(app: FastifyInstance): void {
  app.addContentTypeParser('application/x-www-form-urlencoded', { parseAs: 'string' }, (_request, body, done) => {
    const params = new Map<string, string[]>()
    for (const [name, value] of new URLSearchParams(body as string)) {
      const values = params.get(name)
      if (values) values.push(value)
      else params.set(name, [value])
    }
    done(null, params)
  })
}
