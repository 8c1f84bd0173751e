import { z } from 'zod'
import { UUID_PATTERN } from '../../lib/ids.js'

/**
 * The configuration of one `kind: 'azure'` attestor: which Azure subscriptions (and optionally which
 * VMs) may present IMDS attested data, which Microsoft certificates that data must chain to, and,
 * when `managedIdentity` is set, which Microsoft Entra tenants may present managed-identity tokens.
 *
 * Kept free of imports from src/config.ts so that file can import this one without a cycle.
 */

/** Azure subscription, tenant, VM and object ids are GUIDs; Azure writes them in lower case. */
const guid = z
  .string()
  .regex(UUID_PATTERN, 'must be a GUID, e.g. 05e8b285-4ce1-46a3-b4c9-f51ba67d6acc')
  .transform((id) => id.toLowerCase())

/** `metadata.azure.com`, or `*.metadata.azure.com` for one label in front of it. */
const signerName = z
  .string()
  .regex(
    /^(\*\.)?[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)+$/,
    'must be a lowercase DNS name, optionally starting with "*."',
  )

/** The key set Microsoft Entra signs every tenant's tokens with. */
export const ENTRA_JWKS_URI = 'https://login.microsoftonline.com/common/discovery/v2.0/keys'

/** Azure public cloud and Azure Government: the names IMDS signs attested data as. */
export const DEFAULT_SIGNER_NAMES = ['metadata.azure.com', '*.metadata.azure.com', 'metadata.azure.us', '*.metadata.azure.us'] as const

const ManagedIdentityConfig = z
  .object({
    /** The `aud` managed-identity tokens must carry (the resource they were requested for); defaults to the top-level `audience`. */
    audience: z.string().min(1).optional(),
    jwksUri: z.url({ protocol: /^https$/ }).default(ENTRA_JWKS_URI),
    jwksCacheSeconds: z.number().int().positive().default(3600),
    jwksRefreshCooldownSeconds: z.number().int().nonnegative().default(30),
    /** Managed-identity tokens live about 24 hours; anything longer is refused. */
    maxTokenLifetimeSeconds: z.number().int().positive().default(90_000),
    /** Off by default: IMDS hands a VM the same cached token for hours, so single use would refuse its second exchange. */
    singleUse: z.boolean().default(false),
  })
  .strict()

export const AzureAttestorConfig = z
  .object({
    kind: z.literal('azure'),
    name: z.string().regex(/^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$/, 'must be a DNS label (lowercase letters, digits, "-")'),
    /** Subscriptions whose VMs may attest. Required: without it every Azure customer's VM would be accepted. */
    subscriptions: z.array(guid).min(1, 'list at least one subscription id: every Azure VM in the world can produce attested data'),
    /** When given, only these VMs (by `vmId`) may attest. */
    vms: z.array(guid).min(1).optional(),
    /** PEM files or directories of `*.pem` files; default: the roots shipped in keys/azure/roots. */
    roots: z.array(z.string().min(1)).min(1).optional(),
    /** PEM files or directories of `*.pem` files; default: the intermediates shipped in keys/azure/intermediates. */
    intermediates: z.array(z.string().min(1)).min(1).optional(),
    /**
     * Each attested document (by its signed bytes) is accepted once within its six-hour life; a VM asks
     * IMDS again, with a new nonce, for each exchange. Turn off only if something re-sends the same one.
     */
    singleUse: z.boolean().default(true),
    /** Names the attested data's signer certificate must carry (SAN DNS names, or CN when it has none). */
    signerNames: z
      .array(signerName)
      .min(1)
      .default([...DEFAULT_SIGNER_NAMES]),
    /** Microsoft Entra tenants whose managed identities may attest; required with `managedIdentity`. */
    tenants: z.array(guid).min(1).optional(),
    managedIdentity: ManagedIdentityConfig.optional(),
  })
  .strict()
  .refine((a) => a.managedIdentity === undefined || a.tenants !== undefined, {
    message: 'managedIdentity needs tenants: the Microsoft Entra tenant ids whose managed identities may attest',
    path: ['tenants'],
  })
  .refine((a) => a.tenants === undefined || a.managedIdentity !== undefined, {
    message: 'tenants are only read for managed-identity tokens: add managedIdentity (managedIdentity: {} takes the defaults)',
    path: ['managedIdentity'],
  })

export type AzureAttestorConfig = z.infer<typeof AzureAttestorConfig>
export type AzureAttestorConfigInput = z.input<typeof AzureAttestorConfig>
