import { z } from 'zod'
import { prose } from '../lib/prose.js'

export const SIGNING_ALGORITHMS = ['ES256', 'EdDSA'] as const
export type SigningAlgorithm = (typeof SIGNING_ALGORITHMS)[number]

/**
 * Where a key is in its life. `next`: published, not signing yet. `current`: signs (one at most).
 * `retired`: no longer signs, published until its tokens have expired. `removed`: past that, no longer
 * published. `revoked`: withdrawn in an emergency, its tokens refused.
 */
export const KEY_STATES = ['next', 'current', 'retired', 'removed', 'revoked'] as const
export type KeyState = (typeof KEY_STATES)[number]

/** The states whose public key the JWKS serves. */
export const PUBLISHED_STATES: readonly KeyState[] = ['next', 'current', 'retired']

/** A public JWK as published at /.well-known/jwks.json. */
export interface PublicJwk {
  kty: string
  kid: string
  alg: string
  use: 'sig'
  [member: string]: unknown
}

/** One signing key as the keys table holds it. `privateKey` is what its signer signs with: sealed, never clear. */
export interface SigningKey {
  kid: string
  alg: SigningAlgorithm
  state: KeyState
  publicJwk: PublicJwk
  /** Which signer holds the private key (`software`: sealed in `privateKey` with the KEK; `pkcs11`: in a token, `privateKey` its URI). */
  signer: string
  /** Null once the key is removed or revoked. */
  privateKey: Buffer | null
  /** The id of the key-encryption key that sealed `privateKey`, for the software signer. */
  kekId: string | null
  origin: 'generated' | 'imported'
  createdAt: Date
  /** From when the JWKS serves it: the start of the wait before it may sign. */
  publishedAt: Date
  activatedAt: Date | null
  retiredAt: Date | null
  /** A retired key is published until then: every token it signed has expired by this time. */
  removeAfter: Date | null
  removedAt: Date | null
  revokedAt: Date | null
  revokedBy: string | null
  revokeReason: string | null
}

const Instant = z.iso.datetime()

/** What a key looks like on the wire: never its private half. */
export const SigningKeyJson = z
  .object({
    kid: z.string().describe("The key's id, its RFC 7638 thumbprint: the `kid` of the tokens it signs."),
    alg: z.enum(SIGNING_ALGORITHMS),
    state: z.enum(KEY_STATES).describe(prose`
      \`next\`: published, signing from \`activatesAt\`; \`current\`: signs; \`retired\`: published until
      \`removeAfter\`; \`removed\`: no longer published; \`revoked\`: withdrawn, its tokens refused.
    `),
    published: z.boolean().describe('Whether the JWKS serves it now.'),
    signer: z.string().describe('Where its private key is kept: `software` (encrypted in the database) or `pkcs11` (inside an HSM token).'),
    kekId: z.string().nullable().describe(prose`
      For a \`software\` key, the id of the key-encryption key its private key is sealed under (the
      service logs the ids of its current and previous ones at start); a key sealed under a previous one
      is re-sealed under the current one within a maintenance interval, or by \`POST /v1/keys/reseal\`.
      Null once the private key is gone (removed, revoked), and for a \`pkcs11\` key (kept in its token).
    `),
    origin: z.enum(['generated', 'imported']).describe('`imported` from the PEM files of an earlier release.'),
    createdAt: Instant,
    publishedAt: Instant,
    activatesAt: Instant.nullable().describe('For a `next` key: the earliest time it signs. Null in the other states.'),
    activatedAt: Instant.nullable(),
    retiredAt: Instant.nullable(),
    removeAfter: Instant.nullable().describe('For a `retired` key: until when it stays published.'),
    removedAt: Instant.nullable(),
    revokedAt: Instant.nullable(),
    revokedBy: z.string().nullable(),
    revokeReason: z.string().nullable(),
    publicJwk: z.record(z.string(), z.unknown()).describe('The public JWK, as the JWKS serves it.'),
  })
  .strict()
  .meta({ id: 'SigningKey', description: 'A signing key and its life, without its private half.' })
export type SigningKeyJson = z.infer<typeof SigningKeyJson>

export function signingKeyToJson(key: SigningKey, activatesAt: Date | null): SigningKeyJson {
  const iso = (at: Date | null) => at?.toISOString() ?? null
  return {
    kid: key.kid,
    alg: key.alg,
    state: key.state,
    published: PUBLISHED_STATES.includes(key.state),
    signer: key.signer,
    kekId: key.kekId,
    origin: key.origin,
    createdAt: key.createdAt.toISOString(),
    publishedAt: key.publishedAt.toISOString(),
    activatesAt: key.state === 'next' ? iso(activatesAt) : null,
    activatedAt: iso(key.activatedAt),
    retiredAt: iso(key.retiredAt),
    removeAfter: iso(key.removeAfter),
    removedAt: iso(key.removedAt),
    revokedAt: iso(key.revokedAt),
    revokedBy: key.revokedBy,
    revokeReason: key.revokeReason,
    publicJwk: key.publicJwk,
  }
}
