import { fromBER, OctetString } from 'asn1js'
import { Certificate, ContentInfo, IssuerAndSerialNumber, SignedData, id_ContentType_Data, id_ContentType_SignedData } from 'pkijs'
import { InvalidGrantError } from '../../errors.js'
import { describeCertificate, type CertificateInfo } from './certificates.js'

/**
 * Reads the PKCS#7 SignedData envelope of Azure IMDS attested data with pkijs, for its structure only.
 * Azure's envelope embeds its signer certificate, has no signed attributes (the RSA signature covers the
 * eContent bytes themselves) and names sha256WithRSAEncryption as the DIGEST algorithm, which CMS
 * verifiers reject; so nothing here verifies: the caller checks the signature with node:crypto.
 *
 * Everything returned is UNTRUSTED until that signature and the signer's chain are checked.
 */

export interface AttestedDataEnvelope {
  /** The eContent: the attested data JSON, exactly the bytes the signature covers. */
  content: Buffer
  signature: Buffer
  /** The embedded certificate the SignerInfo names. */
  signer: CertificateInfo
}

const SHA256 = '2.16.840.1.101.3.4.2.1'
const SHA256_WITH_RSA = '1.2.840.113549.1.1.11'
const RSA_ENCRYPTION = '1.2.840.113549.1.1.1'
/** RFC 5652 names sha256 here; Azure writes sha256WithRSAEncryption. Both mean SHA-256 with RSA below. */
const DIGEST_ALGORITHMS = new Set([SHA256, SHA256_WITH_RSA])
const SIGNATURE_ALGORITHMS = new Set([RSA_ENCRYPTION, SHA256_WITH_RSA])

/** Parses the DER (or BER) envelope; throws InvalidGrantError saying what is wrong with it. */
export function parseAttestedDataEnvelope(der: Buffer): AttestedDataEnvelope {
  const signedData = readSignedData(der)
  const { encapContentInfo, signerInfos } = signedData
  const { eContent } = encapContentInfo
  if (encapContentInfo.eContentType !== id_ContentType_Data || !(eContent instanceof OctetString)) {
    throw new InvalidGrantError('the attested data envelope does not carry its data (no eContent of type id-data)', 'attestation_malformed')
  }
  if (signerInfos.length !== 1)
    throw new InvalidGrantError(`the attested data envelope has ${signerInfos.length} signers, not one`, 'attestation_malformed')
  const signerInfo = signerInfos[0]
  // With signed attributes the signature would cover them, not the data: not Azure's form, so refused.
  if (signerInfo.signedAttrs !== undefined)
    throw new InvalidGrantError('the attested data envelope has signed attributes, which Azure never sends', 'attestation_malformed')
  const digest = signerInfo.digestAlgorithm.algorithmId
  const scheme = signerInfo.signatureAlgorithm.algorithmId
  if (!DIGEST_ALGORITHMS.has(digest) || !SIGNATURE_ALGORITHMS.has(scheme)) {
    throw new InvalidGrantError(
      `the attested data is signed with ${shortOid(digest)} / ${shortOid(scheme)}, not RSA with SHA-256`,
      'algorithm_not_accepted',
    )
  }
  const sid: unknown = signerInfo.sid
  if (!(sid instanceof IssuerAndSerialNumber))
    throw new InvalidGrantError('the attested data signer is not named by issuer and serial number', 'attestation_malformed')
  const embedded = (signedData.certificates ?? []).filter((c): c is Certificate => c instanceof Certificate)
  const certificate = embedded.find((c) => c.issuer.isEqual(sid.issuer) && c.serialNumber.isEqual(sid.serialNumber))
  if (certificate === undefined)
    throw new InvalidGrantError('the attested data envelope does not embed the certificate that signed it', 'attestation_malformed')
  let signer: CertificateInfo
  try {
    signer = describeCertificate(certificate)
  } catch {
    throw new InvalidGrantError('the attested data signer certificate cannot be parsed', 'attestation_malformed')
  }
  return {
    content: Buffer.from(eContent.getValue()),
    signature: Buffer.from(signerInfo.signature.getValue()),
    signer,
  }
}

function readSignedData(der: Buffer): SignedData {
  const asn1 = fromBER(der)
  if (asn1.offset === -1) throw new InvalidGrantError('the attested data is not a PKCS#7 envelope (not valid DER)', 'attestation_malformed')
  let signedData: SignedData
  try {
    const contentInfo = new ContentInfo({ schema: asn1.result })
    if (contentInfo.contentType !== id_ContentType_SignedData) throw new Error('not SignedData')
    signedData = new SignedData({ schema: contentInfo.content })
  } catch {
    // pkijs throws plain Errors about schema mismatches: never shown, never a 500.
    throw new InvalidGrantError('the attested data is not a PKCS#7 SignedData envelope', 'attestation_malformed')
  }
  if (asn1.offset !== der.length)
    throw new InvalidGrantError('the attested data envelope is followed by unexpected bytes', 'attestation_malformed')
  return signedData
}

function shortOid(oid: unknown): string {
  return typeof oid === 'string' && /^[0-9.]{1,64}$/.test(oid) ? oid : '(unreadable algorithm)'
}
