import { randomBytes } from 'node:crypto'

/**
 * Time-ordered UUIDs (RFC 9562 section 5.7): the first 48 bits are the Unix time in milliseconds, so
 * a token's jti says when it was made and which ledger partition holds it. The other 74 bits are
 * random: jtis must be unique, not secret (every holder of the token sees it).
 */

const V7_PATTERN = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/

/** Milliseconds a v7 UUID's 48-bit field can hold. */
const MAX_MILLIS = 2 ** 48 - 1

/** A version 7 UUID for `millis`, in lower case. `random` (10 bytes) is for tests. */
export function uuidV7(millis: number, random: Buffer = randomBytes(10)): string {
  if (!Number.isInteger(millis) || millis < 0 || millis > MAX_MILLIS) throw new TypeError(`a v7 UUID cannot hold the time ${millis}`)
  if (random.length !== 10) throw new TypeError('a v7 UUID takes 10 random bytes')
  const bytes = Buffer.alloc(16)
  bytes.writeUIntBE(millis, 0, 6)
  random.copy(bytes, 6)
  bytes[6] = 0x70 | (bytes[6] & 0x0f) // version 7
  bytes[8] = 0x80 | (bytes[8] & 0x3f) // variant 10
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}

/**
 * The time a v7 UUID was made, in milliseconds; undefined for any other UUID or string (a v4 jti of
 * a token issued before the ledger was partitioned). Lower case only, as the service writes them.
 */
export function uuidV7Millis(value: string): number | undefined {
  if (!V7_PATTERN.test(value)) return undefined
  return parseInt(value.slice(0, 8) + value.slice(9, 13), 16)
}
