import { constants, createHash, verify } from 'node:crypto'
import * as asn1js from 'asn1js'
import * as pkijs from 'pkijs'
import { InvalidGrantError, type ErrorReason } from '../../errors.js'
import { clipUntrusted } from '../../lib/untrusted-text.js'
import { describeCertificate, validAt, type AwsTrustStore, type TrustedCertificate } from './trust.js'

/**
 * The PKCS#7 (CMS SignedData) forms of the instance identity document. pkijs only PARSES here (it
 * accepts the BER, indefinite-length envelopes AWS sends); every signature is checked by node:crypto,
 * because WebCrypto, which pkijs verifies with, has no DSA.
 *
 * Trust boundary: everything in the envelope is untrusted until the signature over the signed
 * attributes verifies with a certificate from the configured trust list. Certificates embedded in the
 * envelope are never read: AWS embeds none, and one that is there proves nothing.
 */

export interface Pkcs7Profile {
  /** The subject token field that carries this form. */
  form: 'pkcs7' | 'rsa2048'
  digestOid: string
  hash: 'sha1' | 'sha256'
  signatureOids: readonly string[]
  keyType: 'dsa' | 'rsa'
  minKeyBits: number
  label: string
}

const OID = {
  signedData: '1.2.840.113549.1.7.2',
  data: '1.2.840.113549.1.7.1',
  contentType: '1.2.840.113549.1.9.3',
  messageDigest: '1.2.840.113549.1.9.4',
  signingTime: '1.2.840.113549.1.9.5',
  algorithmProtection: '1.2.840.113549.1.9.52',
  sha1: '1.3.14.3.2.26',
  sha256: '2.16.840.1.101.3.4.2.1',
  dsa: '1.2.840.10040.4.1',
  dsaWithSha1: '1.2.840.10040.4.3',
  rsa: '1.2.840.113549.1.1.1',
  sha256WithRsa: '1.2.840.113549.1.1.11',
} as const

/**
 * Each field accepts exactly the algorithms AWS signs it with. SHA-1 is acceptable in the `pkcs7` form
 * only because the signer (AWS) chooses every byte it signs: forging needs a second preimage, not a
 * collision.
 */
export const PKCS7_PROFILES: Readonly<Record<Pkcs7Profile['form'], Pkcs7Profile>> = {
  pkcs7: {
    form: 'pkcs7',
    digestOid: OID.sha1,
    hash: 'sha1',
    signatureOids: [OID.dsaWithSha1, OID.dsa],
    keyType: 'dsa',
    minKeyBits: 1024,
    label: 'DSA with SHA-1',
  },
  rsa2048: {
    form: 'rsa2048',
    digestOid: OID.sha256,
    hash: 'sha256',
    signatureOids: [OID.sha256WithRsa, OID.rsa],
    keyType: 'rsa',
    minKeyBits: 2048,
    label: 'RSA with SHA-256',
  },
}

export interface VerifiedPkcs7 {
  /** The eContent: the document's exact signed bytes. */
  content: Buffer
  signer: TrustedCertificate
  signingTime?: Date
}

/** Refuses an oversized envelope before any parsing: AWS's are under 2 KiB. */
export const MAX_PKCS7_BYTES = 16_384

/**
 * @example
 * const { content } = verifyPkcs7(der, PKCS7_PROFILES.pkcs7, trust, new Date(), 60)
 */
export function verifyPkcs7(der: Uint8Array, profile: Pkcs7Profile, trust: AwsTrustStore, now: Date, skewSeconds: number): VerifiedPkcs7 {
  const signedData = parseSignedData(der)
  const { encapContentInfo } = signedData
  if (encapContentInfo.eContentType !== OID.data)
    throw refuse(`its content type ${encapContentInfo.eContentType} is not id-data`, 'attestation_malformed')
  if (!encapContentInfo.eContent) throw refuse('it carries no content (a detached signature)', 'attestation_malformed')
  const content = octetStringBytes(encapContentInfo.eContent, 0)
  if (signedData.signerInfos.length !== 1)
    throw refuse(`it has ${signedData.signerInfos.length} signers; exactly one is expected`, 'attestation_malformed')
  const signerInfo = signedData.signerInfos[0]

  const digestOid = signerInfo.digestAlgorithm.algorithmId
  const signatureOid = signerInfo.signatureAlgorithm.algorithmId
  if (digestOid !== profile.digestOid || !profile.signatureOids.includes(signatureOid)) {
    throw refuse(
      `it is signed with algorithms ${digestOid} and ${signatureOid}; the ${profile.form} form must be signed with ${profile.label}`,
      'algorithm_not_accepted',
    )
  }
  // The signature does not cover these; they are checked so that only envelopes shaped like AWS's pass.
  const digestAlgorithms = signedData.digestAlgorithms
  if (signedData.version !== 1 || signerInfo.version !== 1)
    throw refuse('its SignedData or SignerInfo version is not 1', 'attestation_malformed')
  if (
    digestAlgorithms.length !== 1 ||
    digestAlgorithms[0].algorithmId !== digestOid ||
    ![...digestAlgorithms, signerInfo.digestAlgorithm].every(hasNoParameters)
  ) {
    throw refuse('its digest algorithms do not match its signer', 'attestation_malformed')
  }
  if (!(signerInfo.sid instanceof pkijs.IssuerAndSerialNumber))
    throw refuse('its signer is not named by issuer and serial number', 'attestation_malformed')
  const signer = trust.findByIssuerAndSerial(
    Buffer.from(signerInfo.sid.issuer.valueBeforeDecode),
    Buffer.from(signerInfo.sid.serialNumber.valueBlock.valueHexView),
  )
  if (signer === undefined) {
    // As X509Certificate.serialNumber shows it: hex, without the sign byte DER may add.
    const serial = Buffer.from(signerInfo.sid.serialNumber.valueBlock.valueHexView)
      .toString('hex')
      .toUpperCase()
      .replace(/^(00)+(?=.)/, '')
    throw refuse(`its signer (serial ${clipUntrusted(serial, 40)}) is not a trusted AWS certificate`, 'certificate_untrusted')
  }
  if (signer.keyType !== profile.keyType || signer.keyBits < profile.minKeyBits) {
    throw refuse(
      `its signer ${describeCertificate(signer)} has a ${signer.keyBits}-bit ${signer.keyType} key, not the ${profile.label} key of the ${profile.form} form`,
      'algorithm_not_accepted',
    )
  }

  const signedAttributes = signerInfo.signedAttrs
  if (signedAttributes === undefined) throw refuse('it has no signed attributes', 'attestation_malformed')
  const signature = Buffer.from(signerInfo.signature.valueBlock.valueHexView)
  const key = profile.keyType === 'rsa' ? { key: signer.x509.publicKey, padding: constants.RSA_PKCS1_PADDING } : signer.x509.publicKey
  if (!safeVerify(profile.hash, signedAttributesAsSet(signedAttributes), key, signature))
    throw refuse('its signature is invalid', 'signature_invalid')

  // The attributes are authentic from here on; they bind the content, its type and the algorithms.
  const attributes = singleValuedAttributes(signedAttributes)
  const contentType = attributes.get(OID.contentType)
  if (!(contentType instanceof asn1js.ObjectIdentifier) || contentType.valueBlock.toString() !== OID.data) {
    throw refuse('its signed contentType attribute is missing or is not id-data', 'attestation_malformed')
  }
  const messageDigest = attributes.get(OID.messageDigest)
  if (!(messageDigest instanceof asn1js.OctetString) || messageDigest.idBlock.isConstructed)
    throw refuse('its signed messageDigest attribute is missing', 'attestation_malformed')
  if (!createHash(profile.hash).update(content).digest().equals(Buffer.from(messageDigest.valueBlock.valueHexView))) {
    throw refuse('its content does not match the signed messageDigest', 'signature_invalid')
  }
  const protection = attributes.get(OID.algorithmProtection)
  if (protection !== undefined) checkAlgorithmProtection(protection, digestOid, signatureOid)
  const signingTime = timeValue(attributes.get(OID.signingTime))

  // Which time the signer's certificate must be valid at. A document is signed once, when the instance
  // launches, and IMDS serves that same envelope for the instance's whole life, often years; AWS may
  // have re-issued its certificate since. So, as CMS verifiers usually do, the certificate must have
  // been valid when the envelope was signed (the signed signingTime), and only without one at the
  // current time. The signingTime is the signer's own word: a key whose certificate expired could
  // backdate it, which is why a retired or compromised key is removed from the trust list, not left
  // to expire. A signingTime in the future is refused outright.
  if (signingTime !== undefined && signingTime.getTime() > now.getTime() + skewSeconds * 1000) {
    throw refuse(`it was signed at ${signingTime.toISOString()}, which is in the future`, 'token_not_yet_valid')
  }
  const at = signingTime ?? now
  if (!validAt(signer, at)) {
    throw refuse(
      `its signing certificate ${describeCertificate(signer)} is not valid at ${at.toISOString()} ` +
        `(valid ${signer.notBefore.toISOString()} to ${signer.notAfter.toISOString()})`,
      at > signer.notAfter ? 'certificate_expired' : 'certificate_not_yet_valid',
    )
  }
  return signingTime === undefined ? { content, signer } : { content, signer, signingTime }
}

/** A digest AlgorithmIdentifier's parameters: absent or NULL (RFC 5754). */
function hasNoParameters(algorithm: pkijs.AlgorithmIdentifier): boolean {
  const parameters: unknown = algorithm.algorithmParams
  return parameters === undefined || parameters instanceof asn1js.Null
}

function refuse(why: string, reason: ErrorReason): InvalidGrantError {
  return new InvalidGrantError(`the instance identity PKCS#7 is refused: ${why}`, reason)
}

/** Parses BER (indefinite lengths allowed) and refuses anything but one SignedData with nothing after it. */
function parseSignedData(der: Uint8Array): pkijs.SignedData {
  if (der.byteLength > MAX_PKCS7_BYTES) throw refuse(`it is larger than ${MAX_PKCS7_BYTES} bytes`, 'attestation_too_large')
  let contentInfo: pkijs.ContentInfo
  try {
    const parsed = asn1js.fromBER(der)
    if (parsed.offset === -1) throw refuse('it is not valid ASN.1', 'attestation_malformed')
    if (parsed.offset !== der.byteLength) throw refuse('it has data after its end', 'attestation_malformed')
    contentInfo = new pkijs.ContentInfo({ schema: parsed.result })
  } catch (error) {
    // A RangeError (stack depth) or pkijs's own schema errors: the input is malformed, nothing more.
    if (error instanceof InvalidGrantError) throw error
    throw refuse('it is not a well-formed PKCS#7 message', 'attestation_malformed')
  }
  if (contentInfo.contentType !== OID.signedData)
    throw refuse(`its content type ${contentInfo.contentType} is not signedData`, 'attestation_malformed')
  try {
    return new pkijs.SignedData({ schema: contentInfo.content })
  } catch {
    throw refuse('it is not a well-formed SignedData', 'attestation_malformed')
  }
}

/** An OCTET STRING's bytes; BER may split it into (nested) constructed pieces. */
function octetStringBytes(block: asn1js.AsnType, depth: number): Buffer {
  if (!(block instanceof asn1js.OctetString) || depth > 8) throw refuse('its content is not an OCTET STRING', 'attestation_malformed')
  if (!block.idBlock.isConstructed) return Buffer.from(block.valueBlock.valueHexView)
  return Buffer.concat(block.valueBlock.value.map((piece) => octetStringBytes(piece, depth + 1)))
}

/**
 * What the signature covers (RFC 5652, section 5.4): the DER encoding of the signed attributes with
 * the SET OF tag in place of the [0] IMPLICIT tag they are sent under. The bytes are the sender's;
 * a signer signs DER, so a non-DER (indefinite-length) encoding here cannot be what was signed.
 */
function signedAttributesAsSet(attributes: pkijs.SignedAndUnsignedAttributes): Buffer {
  // pkijs keeps the received bytes in encodedValue, with the tag already replaced by SET (0x31).
  const encoded = Buffer.from(attributes.encodedValue)
  if (encoded[0] !== 0x31 || encoded[1] === 0x80) throw refuse('its signed attributes are not DER-encoded', 'attestation_malformed')
  return encoded
}

/** The signed attributes we read; others (AWS sends none) are covered by the signature and ignored. */
const READ_ATTRIBUTES: ReadonlySet<string> = new Set([OID.contentType, OID.messageDigest, OID.signingTime, OID.algorithmProtection])

function singleValuedAttributes(signedAttributes: pkijs.SignedAndUnsignedAttributes): Map<string, asn1js.AsnType> {
  const byType = new Map<string, asn1js.AsnType>()
  for (const attribute of signedAttributes.attributes) {
    if (!READ_ATTRIBUTES.has(attribute.type)) continue
    if (byType.has(attribute.type) || attribute.values.length !== 1)
      throw refuse(`its signed attribute ${attribute.type} must have exactly one value`, 'attestation_malformed')
    byType.set(attribute.type, attribute.values[0] as asn1js.AsnType)
  }
  return byType
}

/** RFC 6211: the algorithms named inside the signature must be the ones the SignerInfo names outside it. */
function checkAlgorithmProtection(value: asn1js.AsnType, digestOid: string, signatureOid: string): void {
  const parts = value instanceof asn1js.Sequence ? value.valueBlock.value : []
  const oidIn = (block: asn1js.AsnType | undefined): string | undefined => {
    const first = block instanceof asn1js.Constructed ? block.valueBlock.value[0] : undefined
    return first instanceof asn1js.ObjectIdentifier ? first.valueBlock.toString() : undefined
  }
  const signatureBlock = parts[1]
  const signatureIsTagged = signatureBlock !== undefined && signatureBlock.idBlock.tagClass === 3 && signatureBlock.idBlock.tagNumber === 1
  if (parts.length !== 2 || oidIn(parts[0]) !== digestOid || !signatureIsTagged || oidIn(signatureBlock) !== signatureOid) {
    throw refuse('its CMSAlgorithmProtection attribute does not match its algorithms', 'attestation_malformed')
  }
}

function timeValue(value: asn1js.AsnType | undefined): Date | undefined {
  if (value === undefined) return undefined
  if (!(value instanceof asn1js.UTCTime || value instanceof asn1js.GeneralizedTime))
    throw refuse('its signingTime attribute is not a time', 'attestation_malformed')
  const time = value.toDate()
  if (Number.isNaN(time.getTime())) throw refuse('its signingTime attribute is not a valid time', 'attestation_malformed')
  return time
}

type VerifyKey = Parameters<typeof verify>[2]

/** crypto.verify throws on some malformed signatures (e.g. a DSA one that is not DER); that is a "no". */
export function safeVerify(hash: string, data: Uint8Array, key: VerifyKey, signature: Uint8Array): boolean {
  try {
    return verify(hash, data, key, signature)
  } catch {
    return false
  }
}
