import type { TestService } from './service.js'

/** Revokes through the admin API (`POST /v1/revocations`), as a responder does; throws unless it was made. */
export async function revoke(sts: TestService, kind: string, value: string): Promise<void> {
  const response = await sts.app.inject({
    method: 'POST',
    url: '/v1/revocations',
    headers: sts.admin,
    payload: { kind, value, reason: 'test' },
  })
  if (response.statusCode !== 201) throw new Error(`not revoked: ${response.statusCode} ${response.body}`)
}
