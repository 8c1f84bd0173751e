import { z } from 'zod'

/**
 * An instance registration as operators see it (the admin API, the `sts` CLI), and its request
 * schemas: the one source for validation, the handler types and the API description.
 */
export interface Registration {
  /** The attestor's name: registrations are per attestor. */
  attestor: string
  /** E.g. the EC2 instance id, the Azure vmId. */
  instance: string
  /** True when later attestations must bring the nonce registered first (`reattestation: nonce`). */
  nonceBound: boolean
  firstSeen: Date
  /** The last attestation admitted: what the tidy compares with `registrations.tidyAfterDays`. */
  lastSeen: Date
  lastAddress: string | null
  /** Attestations admitted, the first included. */
  attestations: number
}

export interface RegistrationFilter {
  attestor?: string
  /** Exactly, or a glob (`*`, `?`, `**`) over the whole instance id. */
  instance?: string
  lastSeenBefore?: Date
  lastSeenAfter?: Date
}

const Instant = z.iso.datetime({ offset: true })
const LastSeen = z.object({ lastSeenBefore: Instant.optional(), lastSeenAfter: Instant.optional() })

export const RegistrationListQuery = z
  .object({
    attestor: z.string().min(1).max(63).optional(),
    // Printable ASCII: instance ids are, and it keeps `?` one character in both JavaScript and Postgres regexes.
    instance: z.string().max(256).regex(/^[\x21-\x7E]+$/, 'an instance id, or a glob of them such as i-0abc*').optional(),
    lastSeenBefore: Instant.optional(),
    lastSeenAfter: Instant.optional(),
    cursor: z.string().max(1024).optional(),
    limit: z.coerce.number().int().min(1).max(500).default(100),
  })
  .strict()
  .refine((q) => q.lastSeenBefore === undefined || q.lastSeenAfter === undefined || Date.parse(q.lastSeenBefore) > Date.parse(q.lastSeenAfter), {
    path: ['lastSeenBefore'],
    message: 'must be after lastSeenAfter',
    // Also when other parameters are wrong, so every problem is reported at once.
    when: ({ value }) => LastSeen.safeParse(value).success,
  })

export type RegistrationListQuery = z.infer<typeof RegistrationListQuery>

/** DELETE /v1/registrations/{attestor}/{instance}. */
export const ForgetInput = z.object({ reason: z.string().trim().min(1, 'say why the registration is forgotten').max(2000) }).strict()

export function registrationToJson(registration: Registration) {
  return {
    attestor: registration.attestor,
    instance: registration.instance,
    nonceBound: registration.nonceBound,
    firstSeen: registration.firstSeen.toISOString(),
    lastSeen: registration.lastSeen.toISOString(),
    lastAddress: registration.lastAddress,
    attestations: registration.attestations,
  }
}

/** The audit log's name for a registration. */
export function registrationId(attestor: string, instance: string): string {
  return `${attestor}/${instance}`
}
