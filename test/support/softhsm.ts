import { execFileSync } from 'node:child_process'
import { mkdirSync, mkdtempSync, renameSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { PKCS11 } from 'pkcs11js'
import type { Test } from 'tap'
import {
  CKA_CLASS,
  CKA_EXTRACTABLE,
  CKA_ID,
  CKA_LABEL,
  CKA_SENSITIVE,
  CKA_VALUE,
  CKF_OS_LOCKING_OK,
  CKF_RW_SESSION,
  CKF_SERIAL_SESSION,
  CKO_PRIVATE_KEY,
  CKR_CRYPTOKI_ALREADY_INITIALIZED,
  CKR_USER_ALREADY_LOGGED_IN,
  CKU_USER,
} from '../../src/keys/pkcs11/pkcs11-constants.js'

/** PKCS#11's own: set by the token, never by who makes the key (the binding's constants do not load under ESM). */
const CKA_ALWAYS_SENSITIVE = 0x165
const CKA_NEVER_EXTRACTABLE = 0x164

/** Debian's softhsm2 package puts its module here (.ci/run installs it). */
export const SOFTHSM_MODULE = '/usr/lib/softhsm/libsofthsm2.so'

export interface SoftHsmToken {
  module: string
  label: string
  pin: string
  /** SOFTHSM2_CONF for a process of its own (a compiled server). */
  conf: string
  /** `keys.pkcs11` for this token. */
  config: { module: string; tokenLabel: string; pin: string }
  /** Takes the token's files away, as a device pulled out would be: every call fails until `restore`. */
  remove(): void
  restore(): void
}

/**
 * A SoftHSM2 token of its own, initialized with `softhsm2-util` in a temporary directory: a
 * configuration file naming that directory as its token directory, made this process's SOFTHSM2_CONF
 * (SoftHSM reads it at each C_Initialize) until the test ends. Not skipped without SoftHSM2: the
 * tests that use it must run in CI.
 */
export function softHsmToken(t: Test, label = 'seed-sts', pin = '1234-5678'): SoftHsmToken {
  const dir = mkdtempSync(join(tmpdir(), 'sts-softhsm-'))
  const tokens = join(dir, 'tokens')
  mkdirSync(tokens)
  const conf = join(dir, 'softhsm2.conf')
  writeFileSync(conf, `directories.tokendir = ${tokens}\nobjectstore.backend = file\nlog.level = ERROR\nslots.removable = false\n`)
  execFileSync('softhsm2-util', ['--init-token', '--free', '--label', label, '--pin', pin, '--so-pin', 'so-pin-0000'], {
    env: { ...process.env, SOFTHSM2_CONF: conf },
    stdio: 'pipe',
  })
  const previous = process.env.SOFTHSM2_CONF
  process.env.SOFTHSM2_CONF = conf
  t.teardown(() => {
    if (previous === undefined) delete process.env.SOFTHSM2_CONF
    else process.env.SOFTHSM2_CONF = previous
    rmSync(dir, { recursive: true, force: true })
  })
  return {
    module: SOFTHSM_MODULE,
    label,
    pin,
    conf,
    config: { module: SOFTHSM_MODULE, tokenLabel: label, pin },
    remove: () => renameSync(tokens, `${tokens}.away`),
    restore: () => renameSync(`${tokens}.away`, tokens),
  }
}

/** What the token says of a private key, read through a session of the test's own (the module is shared in one process). */
export interface PrivateKeyFacts {
  /** CKA_VALUE: the key itself, or the error the token refuses it with. */
  value: string
  sensitive: boolean
  extractable: boolean
  alwaysSensitive: boolean
  neverExtractable: boolean
  label: string
}

export function privateKeyFacts(token: SoftHsmToken, id: Buffer): PrivateKeyFacts {
  return withSession(token, (module, session) => {
    module.C_FindObjectsInit(session, [
      { type: CKA_CLASS, value: CKO_PRIVATE_KEY },
      { type: CKA_ID, value: id },
    ])
    const found = module.C_FindObjects(session, 2)
    module.C_FindObjectsFinal(session)
    if (found.length !== 1) throw new Error(`${found.length} private keys have the CKA_ID ${id.toString('hex')}, not one`)
    const object = found[0]!
    let value: string
    try {
      value = module.C_GetAttributeValue(session, object, [{ type: CKA_VALUE }])[0]!.value.toString('hex')
    } catch (error) {
      value = (error as Error).message
    }
    const flags = [CKA_SENSITIVE, CKA_EXTRACTABLE, CKA_ALWAYS_SENSITIVE, CKA_NEVER_EXTRACTABLE]
    const [sensitive, extractable, alwaysSensitive, neverExtractable] = module
      .C_GetAttributeValue(
        session,
        object,
        flags.map((type) => ({ type })),
      )
      .map((attribute) => attribute.value[0] === 1)
    const label = module.C_GetAttributeValue(session, object, [{ type: CKA_LABEL }])[0]!.value.toString('utf8')
    return {
      value,
      sensitive: sensitive!,
      extractable: extractable!,
      alwaysSensitive: alwaysSensitive!,
      neverExtractable: neverExtractable!,
      label,
    }
  })
}

/** Deletes every private key with this CKA_ID, as an operator cleaning the token would. */
export function deletePrivateKey(token: SoftHsmToken, id: Buffer): void {
  withSession(token, (module, session) => {
    module.C_FindObjectsInit(session, [{ type: CKA_ID, value: id }])
    const objects = module.C_FindObjects(session, 10)
    module.C_FindObjectsFinal(session)
    for (const object of objects) module.C_DestroyObject(session, object)
  })
}

/** Finalizes the module under everyone in this process, as a library reset or another component would. */
export function finalizeModule(token: SoftHsmToken): void {
  const module = new PKCS11()
  module.load(token.module)
  module.C_Finalize()
}

/** The slot id SoftHSM gave the token (it numbers a token's slot at initialization). */
export function slotOf(token: SoftHsmToken): number {
  const { slot } = initialized(token)
  return Number(slot.readBigUInt64LE(0))
}

function initialized(token: SoftHsmToken): { module: PKCS11; slot: Buffer } {
  const module = new PKCS11()
  module.load(token.module)
  try {
    // With OS locking, as the signer initializes it: whichever of the two comes first sets how the module locks.
    module.C_Initialize({ flags: CKF_OS_LOCKING_OK })
  } catch (error) {
    if ((error as { code?: number }).code !== CKR_CRYPTOKI_ALREADY_INITIALIZED) throw error
  }
  const slot = module.C_GetSlotList(true).find((candidate) => module.C_GetTokenInfo(candidate).label.trimEnd() === token.label)
  if (!slot) throw new Error(`no token ${token.label}`)
  return { module, slot }
}

function withSession<T>(token: SoftHsmToken, work: (module: PKCS11, session: Buffer) => T): T {
  const { module, slot } = initialized(token)
  const session = module.C_OpenSession(slot, CKF_SERIAL_SESSION | CKF_RW_SESSION)
  try {
    try {
      module.C_Login(session, CKU_USER, token.pin)
    } catch (error) {
      if ((error as { code?: number }).code !== CKR_USER_ALREADY_LOGGED_IN) throw error
    }
    return work(module, session)
  } finally {
    // Its own session only: closing all would close the signer's too. (No C_Finalize either: the module is shared.)
    module.C_CloseSession(session)
  }
}
