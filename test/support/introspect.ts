import type { TestService } from './service.js'

/** RFC 7662 introspection of `token` through the admin token of the test service: the answer's JSON. */
export async function introspect(sts: TestService, token: string): Promise<Record<string, unknown>> {
  const response = await sts.app.inject({
    method: 'POST',
    url: '/oauth2/introspect',
    headers: { ...sts.admin, 'content-type': 'application/x-www-form-urlencoded' },
    payload: new URLSearchParams({ token }).toString(),
  })
  if (response.statusCode !== 200) throw new Error(`introspection failed: ${response.statusCode} ${response.body}`)
  return response.json()
}
