import { InvalidGrantError } from '../../errors.js'
import { UUID_PATTERN } from '../../lib/ids.js'
import { quoteUntrusted } from '../../lib/untrusted-text.js'

/**
 * The attested data JSON, parsed. Call only on bytes whose signature and chain were verified: the
 * values are then Microsoft's word, but still become SPIFFE IDs, source ids and grant claims, so each
 * is checked for form here. `nonce` is chosen by whoever asked IMDS, so it is only bounded.
 *
 * Fields by IMDS api-version: vmId, nonce, plan, timeStamp (2018-10-01); subscriptionId (2019-04-30);
 * sku (2019-11-01); licenseType (2020-09-01).
 */

export interface AttestedDocument {
  vmId: string
  /** Absent before api-version 2019-04-30. */
  subscriptionId?: string
  sku?: string
  licenseType?: string
  nonce?: string
  plan?: { name?: string; product?: string; publisher?: string }
  createdOn: Date
  expiresOn: Date
}

/** Printable ASCII, bounded: enough for every SKU, license type, plan and nonce Azure produces. */
const TEXT = /^[\x20-\x7e]{0,128}$/
/** `MM/DD/YY HH:MM:SS -0000`, as IMDS writes `timeStamp.createdOn` and `expiresOn`. */
const TIMESTAMP = /^(\d{2})\/(\d{2})\/(\d{2}) (\d{2}):(\d{2}):(\d{2}) ([+-])(\d{2})(\d{2})$/

export function parseAttestedDocument(content: Buffer): AttestedDocument {
  let value: unknown
  try {
    value = JSON.parse(content.toString('utf8'))
  } catch {
    throw new InvalidGrantError('the attested data is not valid JSON', 'attestation_malformed')
  }
  const document = asObject(value)
  if (document === undefined) throw new InvalidGrantError('the attested data is not a JSON object', 'attestation_malformed')
  const vmId = guidField(document, 'vmId')
  if (vmId === undefined) throw new InvalidGrantError('the attested data has no "vmId"', 'claim_missing')
  const timeStamp = asObject(document.timeStamp)
  if (timeStamp === undefined)
    throw new InvalidGrantError('the attested data has no "timeStamp", so its freshness cannot be checked', 'claim_missing')
  const plan = document.plan === undefined ? undefined : asObject(document.plan)
  if (document.plan !== undefined && plan === undefined)
    throw new InvalidGrantError('the attested data "plan" is not an object', 'claim_invalid')
  return {
    vmId,
    subscriptionId: guidField(document, 'subscriptionId'),
    sku: textField(document, 'sku'),
    licenseType: textField(document, 'licenseType'),
    nonce: textField(document, 'nonce'),
    plan: plan && {
      name: textField(plan, 'name', 'plan.'),
      product: textField(plan, 'product', 'plan.'),
      publisher: textField(plan, 'publisher', 'plan.'),
    },
    createdOn: parseAzureTimestamp(timeStamp.createdOn, 'timeStamp.createdOn'),
    expiresOn: parseAzureTimestamp(timeStamp.expiresOn, 'timeStamp.expiresOn'),
  }
}

/** Parses `MM/DD/YY HH:MM:SS +HHMM` (years 2000-2099); throws InvalidGrantError naming `field`. */
export function parseAzureTimestamp(value: unknown, field: string): Date {
  const match = typeof value === 'string' ? TIMESTAMP.exec(value) : null
  if (match === null)
    throw new InvalidGrantError(
      `the attested data "${field}" ${quoteUntrusted(value, 40)} is not a time like "06/25/26 18:56:45 -0000"`,
      'claim_invalid',
    )
  const [month, day, year, hour, minute, second, sign, offsetHours, offsetMinutes] = match
    .slice(1)
    .map((part, i) => (i === 6 ? part : Number(part))) as [number, number, number, number, number, number, string, number, number]
  const local = Date.UTC(2000 + year, month - 1, day, hour, minute, second)
  const check = new Date(local)
  // Date.UTC rolls 02/30 over into March: a date that does not round-trip does not exist.
  if (check.getUTCMonth() !== month - 1 || check.getUTCDate() !== day || hour > 23 || minute > 59 || second > 59 || offsetMinutes > 59) {
    throw new InvalidGrantError(`the attested data "${field}" ${quoteUntrusted(value, 40)} is not a valid time`, 'claim_invalid')
  }
  const offset = (sign === '-' ? -1 : 1) * (offsetHours * 60 + offsetMinutes) * 60_000
  return new Date(local - offset)
}

function asObject(value: unknown): Record<string, unknown> | undefined {
  return typeof value === 'object' && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined
}

function guidField(object: Record<string, unknown>, name: string): string | undefined {
  const value = object[name]
  if (value === undefined || value === '') return undefined
  if (typeof value !== 'string' || !UUID_PATTERN.test(value)) {
    throw new InvalidGrantError(`the attested data "${name}" ${quoteUntrusted(value)} is not a GUID`, 'claim_invalid')
  }
  return value.toLowerCase()
}

/** A string field; empty strings (IMDS writes `"licenseType":""`) count as absent. */
function textField(object: Record<string, unknown>, name: string, prefix = ''): string | undefined {
  const value = object[name]
  if (value === undefined || value === '') return undefined
  if (typeof value !== 'string' || !TEXT.test(value)) {
    throw new InvalidGrantError(
      `the attested data "${prefix}${name}" ${quoteUntrusted(value)} is not printable text of at most 128 characters`,
      'claim_invalid',
    )
  }
  return value
}
