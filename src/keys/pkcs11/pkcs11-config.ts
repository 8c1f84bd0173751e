import { z } from 'zod'

/**
 * `keys.pkcs11`: the token (an HSM partition, a YubiHSM, SoftHSM2) that holds the signing keys with
 * `keys.signer: pkcs11` (README, "HSM (PKCS#11)"). src/config.ts reads the PIN from STS_PKCS11_PIN or
 * `pinFile` into `pin`; nothing else here is secret.
 */
export const Pkcs11Config = z
  .object({
    /** The vendor's PKCS#11 library, e.g. /usr/lib/softhsm/libsofthsm2.so. */
    module: z.string().min(1),
    /** The token by its label (what `softhsm2-util --show-slots` or `pkcs11-tool -L` print); or `slot`. */
    tokenLabel: z.string().min(1).max(32).optional(),
    /** The token by its slot id; a label survives re-plugging and re-numbering, so prefer it. */
    slot: z.number().int().nonnegative().optional(),
    /** The user PIN (STS_PKCS11_PIN); or read from `pinFile`. */
    pin: z.string().min(1).optional(),
    /** A file holding the user PIN (a mounted secret); surrounding white space is ignored. */
    pinFile: z.string().min(1).optional(),
    /** Sessions signing at once; each can have one operation in the module at a time. */
    sessions: z.number().int().min(1).max(16).default(2),
    /** A call to the token slower than this answers 503; the session it holds is not used again. */
    timeoutMs: z.number().int().min(100).max(60_000).default(5000),
  })
  .strict()
  .superRefine((section, ctx) => {
    if ((section.tokenLabel === undefined) === (section.slot === undefined))
      ctx.addIssue({ code: 'custom', message: 'name the token once: tokenLabel or slot' })
    if (section.pin !== undefined && section.pinFile !== undefined)
      ctx.addIssue({ code: 'custom', message: 'give the PIN once: pin (STS_PKCS11_PIN) or pinFile, not both' })
    if (section.pin === undefined && section.pinFile === undefined)
      ctx.addIssue({ code: 'custom', path: ['pin'], message: 'the token needs its user PIN: set STS_PKCS11_PIN, or keys.pkcs11.pinFile' })
  })
export type Pkcs11Config = z.infer<typeof Pkcs11Config>
