import { isIP } from 'node:net'
import { InvalidGrantError } from '../../errors.js'
import { quoteUntrusted } from '../../lib/untrusted-text.js'

/**
 * The instance identity document: parsed only from bytes whose signature has been verified. Its values
 * still become part of a SPIFFE ID, source ids and grant conditions, so each is checked against the
 * shape AWS gives it. Fields AWS adds later are ignored; `null` is treated as absent (old documents
 * carry `"kernelId" : null` and the like).
 */
export interface InstanceIdentityDocument {
  accountId: string
  instanceId: string
  region: string
  /** When the instance was launched (or last started): NOT when the document was signed. */
  pendingTime: Date
  availabilityZone?: string
  instanceType?: string
  imageId?: string
  architecture?: string
  privateIp?: string
  version?: string
  marketplaceProductCodes?: string[]
}

const ACCOUNT_ID = /^[0-9]{12}$/
const INSTANCE_ID = /^i-[0-9a-f]{8,17}$/
/** us-east-1, us-gov-west-1, cn-north-1, eusc-de-east-1. */
const REGION = /^[a-z]{2,4}(-[a-z]+)+-[0-9]{1,2}$/
const PENDING_TIME = /^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,9})?Z$/
const INSTANCE_TYPE = /^[a-z0-9][a-z0-9.-]{0,63}$/
const IMAGE_ID = /^ami-[0-9a-f]{8,17}$/
const ARCHITECTURE = /^[a-z0-9_]{1,32}$/
const VERSION = /^[0-9]{4}-[0-9]{2}-[0-9]{2}$/
const PRODUCT_CODE = /^[A-Za-z0-9]{1,64}$/
/** us-east-1a, and Local and Wavelength Zones: us-west-2-lax-1a, us-east-1-wl1-bos-wlz-1. */
const ZONE_SUFFIX = /^(-[a-z0-9]+)*[a-z0-9]$/

const utf8 = new TextDecoder('utf-8', { fatal: true })

/**
 * @example
 * const document = parseInstanceIdentityDocument(verifiedBytes)
 * document.accountId // '121659014334'
 */
export function parseInstanceIdentityDocument(bytes: Uint8Array): InstanceIdentityDocument {
  let parsed: unknown
  try {
    parsed = JSON.parse(utf8.decode(bytes))
  } catch {
    throw new InvalidGrantError('the signed instance identity document is not JSON', 'attestation_malformed')
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    throw new InvalidGrantError('the signed instance identity document is not a JSON object', 'attestation_malformed')
  }
  const fields = parsed as Record<string, unknown>
  const required = (name: string, shape: RegExp): string => {
    const value = fields[name]
    if (typeof value !== 'string' || !shape.test(value)) {
      throw new InvalidGrantError(`the instance identity document ${name} ${quoteUntrusted(value)} is not valid`, 'claim_invalid')
    }
    return value
  }
  const optional = (name: string, valid: (value: string) => boolean): string | undefined => {
    const value = fields[name]
    if (value === undefined || value === null) return undefined
    if (typeof value !== 'string' || !valid(value)) {
      throw new InvalidGrantError(`the instance identity document ${name} ${quoteUntrusted(value)} is not valid`, 'claim_invalid')
    }
    return value
  }
  const region = required('region', REGION)
  const pendingTime = new Date(required('pendingTime', PENDING_TIME))
  if (Number.isNaN(pendingTime.getTime()))
    throw new InvalidGrantError(
      `the instance identity document pendingTime ${quoteUntrusted(fields.pendingTime)} is not valid`,
      'claim_invalid',
    )
  const document: InstanceIdentityDocument = {
    accountId: required('accountId', ACCOUNT_ID),
    instanceId: required('instanceId', INSTANCE_ID),
    region,
    pendingTime,
  }
  const values = {
    availabilityZone: optional(
      'availabilityZone',
      (zone) => zone.startsWith(region) && zone.length <= 64 && ZONE_SUFFIX.test(zone.slice(region.length)),
    ),
    instanceType: optional('instanceType', (type) => INSTANCE_TYPE.test(type)),
    imageId: optional('imageId', (id) => IMAGE_ID.test(id)),
    architecture: optional('architecture', (arch) => ARCHITECTURE.test(arch)),
    privateIp: optional('privateIp', (ip) => isIP(ip) !== 0),
    version: optional('version', (version) => VERSION.test(version)),
  }
  for (const [name, value] of Object.entries(values)) if (value !== undefined) document[name as keyof typeof values] = value
  const codes = fields.marketplaceProductCodes
  if (codes !== undefined && codes !== null) {
    if (!Array.isArray(codes) || codes.length > 64 || !codes.every((code) => typeof code === 'string' && PRODUCT_CODE.test(code))) {
      throw new InvalidGrantError('the instance identity document marketplaceProductCodes is not a list of product codes', 'claim_invalid')
    }
    document.marketplaceProductCodes = codes as string[]
  }
  return document
}
