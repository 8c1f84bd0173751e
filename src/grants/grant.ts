import { z } from 'zod'
import { Uuid } from '../lib/ids.js'

/**
 * The grant model and its request schemas: the one source for admin API validation, the handler
 * types and the API description.
 */

/** RFC 6749 scope-token: printable ASCII except space, `"` and `\`. */
export const ScopeToken = z.string().regex(/^[\x21\x23-\x5B\x5D-\x7E]{1,128}$/, 'must be a scope token: printable ASCII, no spaces, quotes or backslashes')

const Glob = z.string().min(1).max(512)
const ClaimName = z.string().regex(/^[A-Za-z][A-Za-z0-9_]{0,63}$/, 'must be a claim name such as namespace or podName')

export const GrantConditions = z
  .record(ClaimName, z.union([Glob, z.array(Glob).min(1).max(50)]))
  .refine((c) => Object.keys(c).length <= 32, 'at most 32 conditions')

const Subject = Glob.regex(/^spiffe:\/\/[^/]+\/\S*$/, 'must be a SPIFFE ID or a glob of them, e.g. spiffe://example.org/k8s/prod/ns/payments/sa/*')
const Audiences = z.array(z.string().min(1).max(512)).min(1).max(100)
const Scopes = z.array(ScopeToken).max(100)
const MaxTtlSeconds = z.number().int().positive().max(86_400)
const Owner = z.string().trim().min(1).max(200)
const Description = z.string().max(2000)
const ExpiresAt = z.iso.datetime({ offset: true })

/** POST /v1/grants: what may be left out gets its default. */
export const GrantInput = z
  .object({
    subject: Subject,
    conditions: GrantConditions.default({}),
    audiences: Audiences,
    scopes: Scopes.default([]),
    maxTtlSeconds: MaxTtlSeconds.default(3600),
    owner: Owner,
    description: Description.default(''),
    /** Default: `grants.defaultLifetimeDays` ahead. */
    expiresAt: ExpiresAt.optional(),
    enabled: z.boolean().default(true),
  })
  .strict()

/**
 * PUT /v1/grants/{id}: a whole grant, nothing defaulted, so leaving out `conditions` or `enabled` can
 * never widen or re-enable a grant by accident. The read-only fields of a grant just read may be sent
 * back as they are and are ignored.
 */
export const GrantReplacement = z
  .object({
    subject: Subject,
    conditions: GrantConditions,
    audiences: Audiences,
    scopes: Scopes,
    maxTtlSeconds: MaxTtlSeconds,
    owner: Owner,
    description: Description,
    expiresAt: ExpiresAt,
    enabled: z.boolean(),
    id: Uuid.optional(),
    version: z.number().optional(),
    createdAt: z.string().max(64).optional(),
    updatedAt: z.string().max(64).optional(),
  })
  .strict()

export type GrantReplacement = z.infer<typeof GrantReplacement>
export type GrantInput = z.infer<typeof GrantInput>

export const GrantListQuery = z
  .object({
    owner: z.string().min(1).max(200).optional(),
    subject: z.string().min(1).max(512).optional(),
    cursor: z.string().max(512).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict()

export type GrantListQuery = z.infer<typeof GrantListQuery>

export interface Grant {
  id: string
  subject: string
  conditions: Record<string, string | string[]>
  audiences: string[]
  scopes: string[]
  maxTtlSeconds: number
  owner: string
  description: string
  expiresAt: Date
  enabled: boolean
  /** Bumped on every change; the admin API's ETag. */
  version: number
  createdAt: Date
  updatedAt: Date
}

/** What a grant looks like on the wire. */
export function grantToJson(grant: Grant) {
  return {
    id: grant.id,
    subject: grant.subject,
    conditions: grant.conditions,
    audiences: grant.audiences,
    scopes: grant.scopes,
    maxTtlSeconds: grant.maxTtlSeconds,
    owner: grant.owner,
    description: grant.description,
    expiresAt: grant.expiresAt.toISOString(),
    enabled: grant.enabled,
    version: grant.version,
    createdAt: grant.createdAt.toISOString(),
    updatedAt: grant.updatedAt.toISOString(),
  }
}
