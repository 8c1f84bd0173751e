import { z } from 'zod'

/** An id in our stores (grants, revocations, admin tokens): a UUID, in its canonical 8-4-4-4-12 form. */
export const UUID_PATTERN = /^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$/

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
