import { z } from 'zod'

/**
 * A UUID in its canonical 8-4-4-4-12 form, either case: an id in our stores (grants, revocations,
 * admin tokens, ledger jtis) and the GUIDs Azure names things by. The one UUID check of the service.
 * Both cases spelt out rather than an `i` flag: JSON Schema patterns, and so the API description
 * generated from the schemas that use this, have no flags.
 */
export const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/

/**
 * A UUID spelt in lower case, as the service writes its ids (randomUUID, Postgres's uuid output).
 * Where a UUID is compared as text (a revocation's value against a token's jti or grant ids), only
 * this spelling can ever match, so another is refused rather than stored to match nothing.
 */
export function isLowerCaseUuid(value: string): boolean {
  return UUID_PATTERN.test(value) && value === value.toLowerCase()
}

/**
 * An id as the admin API accepts it. Strict on purpose: anything else (36 dashes, braces, an
 * over-long string) is refused here with a 400 rather than handed to Postgres, whose `uuid` type
 * would refuse it with a data error.
 */
export const Uuid = z
  .string()
  .regex(UUID_PATTERN, 'must be a UUID, e.g. 0b8f3c2e-0000-4000-8000-000000000000')
  // The API description says `format: uuid`, which is this pattern.
  .meta({ format: 'uuid' })
