/** How the PKCS#11 module's failures are told apart: what a reconnection may cure, what the operator must fix. */

/** The token answered with an error, or no longer holds what it held: a reconnection may cure it. */
export class TokenFault extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'TokenFault'
  }
}

/** The PIN, or the token named, was refused when the connection was first made: the configuration must change. */
export class TokenRefusal extends Error {
  constructor(
    message: string,
    readonly pinRefused: boolean,
  ) {
    super(message)
    this.name = 'TokenRefusal'
  }
}

/** An error of the module (pkcs11js raises Pkcs11Error with the CKR_ name, NativeError otherwise) or a TokenFault. */
export function isTokenFault(error: unknown): boolean {
  return error instanceof TokenFault || (error instanceof Error && (error.name === 'Pkcs11Error' || error.name === 'NativeError'))
}

/** The CK_RV of a module error, if it has one. */
export function codeOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown } | null)?.code
  return error instanceof Error && error.name === 'Pkcs11Error' && typeof code === 'number' ? code : undefined
}

/** `C_Sign: CKR_DEVICE_REMOVED`: the call and its result, never anything the call was given. */
export function describe(error: unknown): string {
  if (!(error instanceof Error)) return String(error)
  const method = (error as { method?: unknown }).method
  return typeof method === 'string' && method !== '' ? `${method}: ${error.message}` : error.message
}

/** Best effort: tearing down what is already broken, or a cosmetic step; its errors say nothing new. */
export function ignoring(action: () => unknown): void {
  try {
    action()
  } catch {
    // Nothing that follows depends on it.
  }
}
