import { z } from 'zod'
import { SigningKeyJson } from '../../keys/signing-key.js'
import { prose } from '../../lib/prose.js'
import { RevocationOutcome } from './revocation-operations.js'
import { operation } from '../openapi/operation.js'
import { PayloadTooLarge, problemResponse, UnsupportedMediaType, ValidationProblem } from '../problem-responses.js'
import { ADMIN_FAILURES } from './admin-responses.js'

/** The path of one key: its kid (an RFC 7638 thumbprint, base64url). */
export const KeyIdParams = z.object({
  kid: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,128}$/, "must be a key's kid, as the JWKS and the tokens' headers show it")
    .describe("The key's `kid`."),
})

export const KeyRevokeInput = z
  .object({
    reason: z
      .string()
      .trim()
      .min(1, 'say why the key is revoked: responders after you will ask')
      .max(2000)
      .describe('Why, for the responders after you. Surrounding spaces are trimmed; it must not be empty.'),
  })
  .strict()
  .meta({ id: 'KeyRevokeInput', description: 'Why a signing key is revoked, as sent to `POST /v1/keys/{kid}/revoke`.' })

const KeyList = z
  .object({ keys: z.array(SigningKeyJson).describe('Every key, oldest first, removed and revoked ones included.') })
  .strict()
  .meta({ id: 'SigningKeyList' })

export const KeyRotated = z
  .object({
    key: SigningKeyJson,
    alreadyPending: z.boolean().describe('True when a `next` key was waiting already: it is answered, and no other was made.'),
  })
  .strict()
  .meta({ id: 'KeyRotated' })
export type KeyRotated = z.infer<typeof KeyRotated>

export const KeyRevoked = z
  .object({
    key: SigningKeyJson,
    alreadyRevoked: z.boolean().describe('True when the key was revoked already.'),
    replacement: SigningKeyJson.optional().describe('The key that signs in its place, when the revoked key was the current one.'),
    revocation: RevocationOutcome.describe('The `key` revocation that refuses every token it signed.'),
  })
  .strict()
  .meta({ id: 'KeyRevoked' })
export type KeyRevoked = z.infer<typeof KeyRevoked>

export const KeysResealed = z
  .object({
    kekId: z
      .string()
      .nullable()
      .describe(
        'The key-encryption key the keys are sealed under once re-sealed: the current one of the instance that answered. Null when its signer seals no key with one.',
      ),
    resealed: z
      .number()
      .int()
      .nonnegative()
      .describe('Keys this call re-sealed under it (each recorded on the audit log as `key.reseal`).'),
    remaining: z
      .number()
      .int()
      .nonnegative()
      .describe(
        'Keys still sealed under another key-encryption key: one this instance does not hold (listed in `remainingKeys`). At 0 on every instance, the previous key-encryption keys may be dropped.',
      ),
    remainingKeys: z
      .array(z.object({ kid: z.string(), kekId: z.string().nullable() }).strict())
      .describe('Those keys, and the key-encryption key each is sealed under.'),
  })
  .strict()
  .meta({ id: 'KeysResealed', description: 'What a re-seal of the signing keys under the current key-encryption key did.' })
export type KeysResealed = z.infer<typeof KeysResealed>

export const keyOperations = {
  list: operation({
    tags: ['keys'],
    operationId: 'listKeys',
    summary: 'List the signing keys and their states',
    description: prose`
      Every signing key, oldest first: \`next\` (published, signing from \`activatesAt\`), \`current\`
      (signing), \`retired\` (published until \`removeAfter\`), \`removed\`, \`revoked\`. Never a private key.
    `,
    responses: {
      200: { description: 'All of them, in one answer.', content: { 'application/json': { schema: KeyList } } },
      ...ADMIN_FAILURES,
    },
  }),
  rotate: operation({
    tags: ['keys'],
    operationId: 'rotateKeys',
    summary: 'Start a rotation: make the next signing key',
    description: prose`
      Makes a new key and publishes it as \`next\`. It starts signing at \`activatesAt\`, once every
      verifier can have fetched it (the JWKS cache lifetime, plus the time replicas take to hear of
      it), and the current key is then retired, published until every token it signed has expired.
      With a \`next\` key waiting already, that one is answered (200) and no other is made. Recorded
      on the audit log as \`key.create\`; the later steps as \`key.activate\`, \`key.retire\`, \`key.remove\`.
    `,
    responses: {
      201: { description: 'The next key, made.', content: { 'application/json': { schema: KeyRotated } } },
      200: { description: 'A next key was waiting already: that one.', content: { 'application/json': { schema: KeyRotated } } },
      ...ADMIN_FAILURES,
    },
  }),
  reseal: operation({
    tags: ['keys'],
    operationId: 'resealKeys',
    summary: 'Re-seal the signing keys under the current key-encryption key',
    description: prose`
      For a rotation of the key-encryption key (README, "Rotating the key-encryption key"): every
      private key still sealed under a previous key-encryption key (\`keys.previousEncryptionKeys\`) is
      opened with it and sealed again under the current one. The key upkeep of every instance does the
      same within \`keys.maintenanceIntervalSeconds\`; this does it now and says what is left. Safe to
      repeat and to run on several instances at once: each key is re-sealed once. Recorded on the audit
      log as \`key.reseal\`, one entry per key. Nothing is published or signed differently.
    `,
    responses: {
      200: { description: 'Done: how many were re-sealed, how many remain.', content: { 'application/json': { schema: KeysResealed } } },
      ...ADMIN_FAILURES,
    },
  }),
  revoke: operation({
    tags: ['keys'],
    operationId: 'revokeKey',
    summary: 'Revoke a signing key in an emergency',
    description: prose`
      For a key that may be compromised. At once, on every instance: the key leaves the JWKS and its
      private key is erased; a \`key\` revocation (value: the kid) refuses every token it signed, on
      introspection and for every verifier that follows the revocation stream; and if it was the
      current key, another signs in its place at once (the \`next\` key, or a new one). That
      replacement has not been published for the JWKS cache lifetime: verifiers that cached the JWKS
      before it appeared fetch it again when they meet its kid (as jose does), or when their cache
      expires. Recorded on the audit log as \`key.revoke\` and \`revocation.create\`. Revoking a
      revoked key answers 200 with the standing revocation.
    `,
    parameters: { path: KeyIdParams },
    requestBody: { mediaType: 'application/json', schema: KeyRevokeInput, example: { reason: 'key material exposed (INC-1234)' } },
    responses: {
      201: { description: 'Revoked.', content: { 'application/json': { schema: KeyRevoked } } },
      200: { description: 'Revoked already.', content: { 'application/json': { schema: KeyRevoked } } },
      400: ValidationProblem,
      404: problemResponse('No signing key has this kid.'),
      409: problemResponse('The key was removed: it is no longer published, and every token it signed has expired.'),
      413: PayloadTooLarge,
      415: UnsupportedMediaType,
      ...ADMIN_FAILURES,
    },
  }),
}
