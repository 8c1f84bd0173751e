/**
 * The PKCS#11 numbers this signer uses (PKCS#11 3.0, pkcs11t.h), named here rather than read from the
 * binding: the binding is loaded only when a token is configured, and it lacks the EdDSA ones.
 */
export const CKO_PRIVATE_KEY = 3

export const CKK_EC = 0x3
export const CKK_EC_EDWARDS = 0x40

export const CKA_CLASS = 0x0
export const CKA_TOKEN = 0x1
export const CKA_PRIVATE = 0x2
export const CKA_LABEL = 0x3
export const CKA_VALUE = 0x11
export const CKA_KEY_TYPE = 0x100
export const CKA_ID = 0x102
export const CKA_SENSITIVE = 0x103
export const CKA_DECRYPT = 0x105
export const CKA_UNWRAP = 0x107
export const CKA_SIGN = 0x108
export const CKA_VERIFY = 0x10a
export const CKA_DERIVE = 0x10c
export const CKA_EXTRACTABLE = 0x162
export const CKA_EC_PARAMS = 0x180
export const CKA_EC_POINT = 0x181

export const CKM_EC_KEY_PAIR_GEN = 0x1040
export const CKM_ECDSA = 0x1041
export const CKM_EC_EDWARDS_KEY_PAIR_GEN = 0x1055
export const CKM_EDDSA = 0x1057

export const CKU_USER = 1
export const CKF_RW_SESSION = 0x2
export const CKF_SERIAL_SESSION = 0x4
/** C_Initialize: the module locks with the OS's primitives, so sessions may be used from several threads at once. */
export const CKF_OS_LOCKING_OK = 0x2

export const CKR_USER_ALREADY_LOGGED_IN = 0x100
export const CKR_CRYPTOKI_ALREADY_INITIALIZED = 0x191
/** The PIN refusals: trying again with the same PIN only brings the token closer to locking it. */
export const PIN_REFUSALS: ReadonlySet<number> = new Set([
  0xa0, // CKR_PIN_INCORRECT
  0xa1, // CKR_PIN_INVALID
  0xa2, // CKR_PIN_LEN_RANGE
  0xa3, // CKR_PIN_EXPIRED
  0xa4, // CKR_PIN_LOCKED
])

/** DER of the curve OIDs, as CKA_EC_PARAMS takes them: P-256 (1.2.840.10045.3.1.7) and Ed25519 (1.3.101.112, RFC 8410). */
export const P256_PARAMS = Buffer.from('06082a8648ce3d030107', 'hex')
export const ED25519_PARAMS = Buffer.from('06032b6570', 'hex')
