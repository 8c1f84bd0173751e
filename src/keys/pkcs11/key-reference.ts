/**
 * What the keys table holds for a key kept in a PKCS#11 token: not the key, a PKCS#11 URI (RFC 7512)
 * naming the token by its label and the private key by its CKA_ID, e.g.
 * `pkcs11:token=seed-sts;id=%5f%0a...;type=private`. An operator can paste it into p11tool or
 * pkcs11-tool to find the key.
 */
export interface Pkcs11KeyReference {
  /** The label of the token the key was made in. */
  token: string
  /** The CKA_ID of the private key. */
  id: Buffer
}

const PREFIX = 'pkcs11:'

export function encodeKeyReference(reference: Pkcs11KeyReference): Buffer {
  const id = [...reference.id].map((byte) => `%${byte.toString(16).padStart(2, '0')}`).join('')
  return Buffer.from(`${PREFIX}token=${encodeURIComponent(reference.token)};id=${id};type=private`)
}

/** Undefined when `stored` is not a reference this signer wrote (a sealed key of the software signer, say). */
export function decodeKeyReference(stored: Uint8Array): Pkcs11KeyReference | undefined {
  const text = Buffer.from(stored).toString('utf8')
  if (!text.startsWith(PREFIX)) return undefined
  const attributes = new Map<string, string>()
  for (const part of text.slice(PREFIX.length).split(';')) {
    const at = part.indexOf('=')
    if (at > 0) attributes.set(part.slice(0, at), part.slice(at + 1))
  }
  const token = attributes.get('token')
  const id = attributes.get('id')
  if (token === undefined || id === undefined || !/^(%[0-9a-f]{2})+$/i.test(id)) return undefined
  try {
    return { token: decodeURIComponent(token), id: Buffer.from(id.replaceAll('%', ''), 'hex') }
  } catch {
    return undefined
  }
}
