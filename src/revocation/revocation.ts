import { z } from 'zod'
import { isLowerCaseUuid } from '../lib/ids.js'

/** What can be revoked: a token (its jti), a subject (or a glob of them), a grant, an attestation source. */
export const REVOCATION_KINDS = ['token', 'subject', 'grant', 'source'] as const
export type RevocationKind = (typeof REVOCATION_KINDS)[number]

export interface RevocationTarget {
  kind: RevocationKind
  value: string
}

/** A revocation and its whole life: in force until lifted or expired. */
export interface Revocation extends RevocationTarget {
  id: string
  reason: string
  createdAt: Date
  createdBy: string
  /** After this it no longer matters (a revoked token has expired anyway); null: never. */
  expiresAt: Date | null
  liftedAt: Date | null
  liftedBy: string | null
  liftReason: string | null
  /** Position in the stream of changes; a lift moves it to the end. A bigint: positions keep every digit. */
  seq: bigint
}

export function inForce(revocation: Revocation, nowMillis: number): boolean {
  return revocation.liftedAt === null && (revocation.expiresAt === null || revocation.expiresAt.getTime() > nowMillis)
}

/** POST /v1/revocations. */
export const RevocationInput = z
  .object({
    kind: z.enum(REVOCATION_KINDS),
    value: z.string().min(1).max(512),
    reason: z.string().trim().min(1, 'say why: responders after you will ask').max(2000),
    expiresAt: z.iso.datetime({ offset: true }).optional(),
  })
  .strict()
  .superRefine((input, ctx) => {
    const problem =
      (input.kind === 'token' || input.kind === 'grant') && !isLowerCaseUuid(input.value)
        ? `a ${input.kind} is named by its id, a UUID`
        : input.kind === 'subject' && !/^spiffe:\/\/[^/]+\/\S*$/.test(input.value)
          ? 'a subject is a SPIFFE ID or a glob of them, e.g. spiffe://example.org/k8s/prod/ns/payments/**'
          : undefined
    if (problem) ctx.addIssue({ code: 'custom', path: ['value'], message: problem })
  })

export type RevocationInput = z.infer<typeof RevocationInput>

/** DELETE /v1/revocations/{id}. */
export const LiftInput = z.object({ reason: z.string().trim().min(1, 'say why the revocation is lifted').max(2000) }).strict()

export const RevocationListQuery = z
  .object({
    kind: z.enum(REVOCATION_KINDS).optional(),
    value: z.string().min(1).max(512).optional(),
    active: z.enum(['true', 'false']).transform((v) => v === 'true').optional(),
    /** Changes after this position (a `cursor` from an earlier answer); for polling. */
    since: z.string().regex(/^\d{1,18}$/, 'a cursor from an earlier answer').optional(),
    cursor: z.string().regex(/^\d{1,18}$/, 'a cursor from an earlier answer').optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict()

export function revocationToJson(revocation: Revocation) {
  return {
    id: revocation.id,
    kind: revocation.kind,
    value: revocation.value,
    reason: revocation.reason,
    createdAt: revocation.createdAt.toISOString(),
    createdBy: revocation.createdBy,
    expiresAt: revocation.expiresAt?.toISOString() ?? null,
    liftedAt: revocation.liftedAt?.toISOString() ?? null,
    liftedBy: revocation.liftedBy,
    liftReason: revocation.liftReason,
    cursor: String(revocation.seq),
  }
}

export function revocationFromJson(json: ReturnType<typeof revocationToJson>): Revocation {
  return {
    id: json.id,
    kind: json.kind,
    value: json.value,
    reason: json.reason,
    createdAt: new Date(json.createdAt),
    createdBy: json.createdBy,
    expiresAt: json.expiresAt === null ? null : new Date(json.expiresAt),
    liftedAt: json.liftedAt === null ? null : new Date(json.liftedAt),
    liftedBy: json.liftedBy,
    liftReason: json.liftReason,
    seq: BigInt(json.cursor),
  }
}
