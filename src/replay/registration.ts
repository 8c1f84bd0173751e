import { z } from 'zod'
import { prose } from '../lib/prose.js'

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
    attestor: z.string().min(1).max(63).optional().describe("Only this attestor's registrations."),
    // Printable ASCII: instance ids are, and it keeps `?` one character in both JavaScript and Postgres regexes.
    instance: z
      .string()
      .max(256)
      .regex(/^[\x21-\x7E]+$/, 'an instance id, or a glob of them such as i-0abc*')
      .optional().describe(prose`
        Only this instance, or a glob of them: \`*\` any run of characters but \`/\`, \`**\` any run,
        \`?\` one character but \`/\`; the whole instance must match, e.g. \`111122223333/eu-west-1/*\`.
      `),
    lastSeenBefore: Instant.optional().describe('Only instances whose last admitted attestation was before this time (RFC 3339).'),
    lastSeenAfter: Instant.optional().describe(
      'Only instances that attested at or after this time (RFC 3339); before `lastSeenBefore` when both are sent.',
    ),
    cursor: z.string().max(1024).optional().describe('The `nextCursor` of the previous page.'),
    limit: z.coerce.number().int().min(1).max(500).default(100).describe('Page size.'),
  })
  .strict()
  .refine(
    (q) => q.lastSeenBefore === undefined || q.lastSeenAfter === undefined || Date.parse(q.lastSeenBefore) > Date.parse(q.lastSeenAfter),
    {
      path: ['lastSeenBefore'],
      message: 'must be after lastSeenAfter',
      // Also when other parameters are wrong, so every problem is reported at once.
      when: ({ value }) => LastSeen.safeParse(value).success,
    },
  )

export type RegistrationListQuery = z.infer<typeof RegistrationListQuery>

/** DELETE /v1/registrations/{attestor}/{instance}. */
export const ForgetInput = z
  .object({
    reason: z
      .string()
      .trim()
      .min(1, 'say why the registration is forgotten')
      .max(2000)
      .describe('Surrounding spaces are trimmed; it must not be empty.'),
  })
  .strict()
  .meta({ id: 'ForgetInput', description: 'Why a registration is forgotten, as sent to `DELETE /v1/registrations/{attestor}/{instance}`.' })

/** What a registration looks like on the wire. */
export const RegistrationJson = z
  .object({
    attestor: z.string(),
    instance: z.string().describe('An AWS instance is `<account>/<region>/<instance id>`.'),
    nonceBound: z
      .boolean()
      .describe(
        'True when later attestations must bring the nonce registered first (`reattestation: nonce`). The nonce itself is never shown.',
      ),
    firstSeen: z.iso.datetime(),
    lastSeen: z.iso
      .datetime()
      .describe('The last attestation admitted; the tidy forgets registrations unused for `registrations.tidyAfterDays`.'),
    lastAddress: z.string().nullable().describe('The client address of that attestation.'),
    attestations: z.number().int().min(1).describe('Attestations admitted, the first included.'),
  })
  .strict()
  .meta({ id: 'Registration', description: 'An instance registered at its first attestation.' })
export type RegistrationJson = z.infer<typeof RegistrationJson>

export function registrationToJson(registration: Registration): RegistrationJson {
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
