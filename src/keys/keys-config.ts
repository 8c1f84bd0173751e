import { z } from 'zod'
import { Pkcs11Config } from './pkcs11/pkcs11-config.js'

/** 32 bytes in base64 (`openssl rand -base64 32`); surrounding white space, as a file has, is ignored. */
export const KeyEncryptionKeyText = z
  .string()
  .transform((text) => text.trim())
  .refine((text) => /^[A-Za-z0-9+/]{43}=$/.test(text) && Buffer.from(text, 'base64').length === 32, {
    message: 'must be 32 random bytes in base64 (44 characters, e.g. from `openssl rand -base64 32`)',
  })

/**
 * The `keys` section of the configuration (src/config.ts reads it, and the key-encryption key from the
 * environment or its file): the signing keys and their lifecycle (README, "Signing keys").
 */
export const KeysConfig = z
  .object({
    /** Where an earlier release kept its PEM signing keys: imported into the database once, on upgrade. */
    dir: z.string().default('keys'),
    /** What new keys are. */
    algorithm: z.enum(['ES256', 'EdDSA']).default('ES256'),
    /** Where new private keys are made and kept: sealed in the database (`software`), or inside a PKCS#11 token. */
    signer: z.enum(['software', 'pkcs11']).default('software'),
    /** The token, with signer `pkcs11`; also given with signer `software`, its keys go on signing (a move back). */
    pkcs11: Pkcs11Config.optional(),
    /** The key-encryption key, base64 of 32 bytes (STS_KEY_ENCRYPTION_KEY); or read from encryptionKeyFile. */
    encryptionKey: KeyEncryptionKeyText.optional(),
    /** A file holding the key-encryption key, base64 of 32 bytes (a mounted secret). */
    encryptionKeyFile: z.string().min(1).optional(),
    /**
     * During a rotation of the key-encryption key, the ones it replaces (STS_PREVIOUS_KEY_ENCRYPTION_KEYS,
     * comma-separated): keys sealed under them still open, and are re-sealed under the current one.
     * Drop them once sts_signing_keys_sealed_under_previous_kek is 0 everywhere.
     */
    previousEncryptionKeys: z.array(KeyEncryptionKeyText).max(8).default([]),
    /** The same, each in a file of its own (mounted secrets); read into previousEncryptionKeys. */
    previousEncryptionKeyFiles: z.array(z.string().min(1)).max(8).default([]),
    /**
     * The JWKS's Cache-Control max-age, and so part of the wait before a new key signs
     * (src/keys/key-lifecycle.ts): raise it when verifiers cache the JWKS longer than 300 s whatever it says.
     */
    jwksMaxAgeSeconds: z.number().int().min(1).max(86_400).default(300),
    /** A new signing key takes over every this many days; 0 rotates only on demand. */
    rotateEveryDays: z.number().nonnegative().max(3650).default(30),
    /** How often an instance reads the keys whatever the change feed says. */
    catchUpIntervalMs: z.number().int().positive().default(5000),
    /** Without reading the keys for longer than this, an instance neither signs nor serves the JWKS. */
    maxStalenessMs: z.number().int().positive().max(300_000).default(30_000),
    /** How often each instance runs the key upkeep (scheduled rotation, promotion, removal). */
    maintenanceIntervalSeconds: z.number().int().min(1).max(3600).default(30),
  })
  .strict()
  .default({
    dir: 'keys',
    algorithm: 'ES256',
    signer: 'software',
    previousEncryptionKeys: [],
    previousEncryptionKeyFiles: [],
    jwksMaxAgeSeconds: 300,
    rotateEveryDays: 30,
    catchUpIntervalMs: 5000,
    maxStalenessMs: 30_000,
    maintenanceIntervalSeconds: 30,
  })
  .refine((k) => k.encryptionKey === undefined || k.encryptionKeyFile === undefined, {
    message: 'give the key-encryption key once: encryptionKey (STS_KEY_ENCRYPTION_KEY) or encryptionKeyFile, not both',
  })
  .refine((k) => k.signer !== 'pkcs11' || k.pkcs11 !== undefined, {
    message: 'signer pkcs11 needs the token: keys.pkcs11 with module, tokenLabel (or slot) and the PIN',
    path: ['pkcs11'],
  })
  .refine((k) => k.catchUpIntervalMs < k.maxStalenessMs, {
    message: 'catchUpIntervalMs must be shorter than maxStalenessMs, or every pause between reads stops signing',
    path: ['catchUpIntervalMs'],
  })
export type KeysConfig = z.infer<typeof KeysConfig>
