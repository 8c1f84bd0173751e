import type { Logger } from 'pino'
import type { KeysConfig } from './keys-config.js'
import { openPkcs11Signer } from './pkcs11/pkcs11-signer.js'
import { RoutingSigner } from './routing-signer.js'
import type { Signer } from './signer.js'
import type { SoftwareSigner } from './software-signer.js'

/**
 * The signers `keys` configures: the software one when there is a key-encryption key (made by the
 * composition root, which also hands it to the re-seal of a KEK rotation), the PKCS#11 one
 * when there is a `keys.pkcs11` token (its native binding is loaded only then); new keys made by the
 * one `keys.signer` names. Throws ConfigError when the token cannot be used as configured.
 */
export async function openSigner(
  keys: KeysConfig,
  software: SoftwareSigner | undefined,
  logger: Pick<Logger, 'info' | 'warn' | 'error'>,
): Promise<RoutingSigner> {
  const signers: Signer[] = software ? [software] : []
  if (keys.pkcs11) signers.push(await openPkcs11Signer(keys.pkcs11, keys.algorithm, logger))
  const making = signers.find((signer) => signer.name === keys.signer)
  // The configuration schema and the composition root see to it: a `software` signer has its KEK, a `pkcs11` one its token.
  if (!making) throw new TypeError(`keys.signer ${keys.signer} is not configured`)
  return new RoutingSigner(making, signers)
}
