import { grantToJson, type Grant } from '../grants/grant.js'

/**
 * The requests the least-privilege report suggests, ready to send to the admin API as they are:
 * `PUT /v1/grants/{id}` with `If-Match` and the whole grant (a replacement defaults nothing), `POST
 * /v1/grants` for a grant of its own, `DELETE /v1/grants/{id}` to disable one.
 */

/** A grant as `PUT /v1/grants/{id}` and `POST /v1/grants` both take it: every field, nothing left to a default. */
export interface GrantBody {
  subject: string
  conditions: Record<string, string | string[]>
  audiences: string[]
  scopes: string[]
  maxTtlSeconds: number
  owner: string
  description: string
  expiresAt: string
  enabled: boolean
  requireDpop: boolean
  mayAct: string[]
}

export type GrantChange =
  | { method: 'PUT'; path: string; ifMatch: string; body: GrantBody }
  | { method: 'POST'; path: '/v1/grants'; body: GrantBody }
  | { method: 'DELETE'; path: string }

const MAX_DESCRIPTION = 2000

/** The grant with only these audiences and scopes, at the version read (the `ETag` it was read with). */
export function narrowing(grant: Grant, audiences: readonly string[], scopes: readonly string[]): GrantChange {
  return {
    method: 'PUT',
    path: `/v1/grants/${grant.id}`,
    ifMatch: `"${grant.version}"`,
    body: { ...bodyOf(grant), audiences: [...audiences], scopes: [...scopes] },
  }
}

/** A grant of its own for one identity the grant's glob served, with what that identity used of it. */
export function splitOff(grant: Grant, subject: string, audiences: readonly string[], scopes: readonly string[]): GrantChange {
  const note = `(Split from grant ${grant.id} for ${subject} by the least-privilege report.)`
  const description = grant.description === '' ? note : `${grant.description} ${note}`
  return {
    method: 'POST',
    path: '/v1/grants',
    body: {
      ...bodyOf(grant),
      subject,
      audiences: [...audiences],
      scopes: [...scopes],
      // The original's own words are kept whole when the note does not fit.
      description: description.length <= MAX_DESCRIPTION ? description : grant.description,
    },
  }
}

export function disabling(grant: Grant): GrantChange {
  return { method: 'DELETE', path: `/v1/grants/${grant.id}` }
}

function bodyOf(grant: Grant): GrantBody {
  // The grant as the API shows it, less what the service keeps for itself; suggested enabled.
  const { id: _id, version: _version, createdAt: _createdAt, updatedAt: _updatedAt, ...body } = grantToJson(grant)
  return { ...body, enabled: true }
}
