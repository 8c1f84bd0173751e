import type { Logger } from 'pino'
import type { PKCS11 } from 'pkcs11js'
import { ServiceUnavailableError } from '../../errors.js'
import {
  CKF_OS_LOCKING_OK,
  CKF_RW_SESSION,
  CKF_SERIAL_SESSION,
  CKR_CRYPTOKI_ALREADY_INITIALIZED,
  CKR_USER_ALREADY_LOGGED_IN,
  CKU_USER,
  PIN_REFUSALS,
} from './pkcs11-constants.js'
import { codeOf, describe, ignoring, isTokenFault, TokenRefusal } from './pkcs11-faults.js'

/** The description of every 503 of the token: the client learns that the HSM fails, not how. */
export const UNAVAILABLE = 'the HSM (PKCS#11 token) holding the signing keys cannot be used now'

export interface TokenOptions {
  /** The module's path, for messages. */
  module: string
  tokenLabel?: string
  slot?: number
  pin: string
  /** Sessions at most, each running one call at a time. */
  sessions: number
  /** A call slower than this answers 503; its session is closed once the call returns. */
  timeoutMs: number
  /** After a failed reconnection, calls answer 503 at once for this long before another is tried. */
  retryAfterMs?: number
  logger: Pick<Logger, 'info' | 'warn' | 'error'>
  monotonic?: () => number
}

interface Session {
  handle: Buffer
  /** The connection it was opened on: a session from before a reconnection is gone with it. */
  generation: number
}

/**
 * One PKCS#11 token, logged in once, with a small pool of sessions (a PKCS#11 session runs one
 * operation at a time; the login holds for every session of the process). Faults fail closed: a call
 * the token fails (a closed session, a removed device, a module finalized under us, a key it no
 * longer finds) marks the connection broken, and the call is tried once more on a new connection:
 * every session closed, the module finalized and initialized again, the token found again, logged in
 * again. That cures a session an HSM dropped without a 503. A connection that cannot be made again
 * answers 503 `signer_unavailable`, and is tried again at the next call after `retryAfterMs`. It is
 * never remade while a call is in the module: finalizing under a running call is undefined behaviour.
 * A PIN refused at a reconnection is never tried again (the token would lock it).
 */
export class Pkcs11Token {
  /** Bumped at each connection: object handles found on an earlier one are not valid on this one. */
  generation = 0
  private slot: Buffer = Buffer.alloc(0)
  private mechanismList = new Set<number>()
  private idle: Session[] = []
  private sessionsOpen = 0
  private inFlight = 0
  private waiters: { take: (session: Session) => void; fail: (error: Error) => void; timer: NodeJS.Timeout }[] = []
  /** Why the connection is broken; undefined while it works. */
  private broken: string | undefined
  /** Set when the PIN was refused after having been accepted: nothing is tried again. */
  private refused: string | undefined
  private lastReconnect = Number.NEGATIVE_INFINITY
  private closed = false
  private readonly monotonic: () => number

  /** The label of the token, as its key references name it. */
  label = ''

  /** Connects (throws TokenRefusal for a token not found or a PIN refused, or the module's error). */
  constructor(
    private readonly module: PKCS11,
    private readonly options: TokenOptions,
  ) {
    this.monotonic = options.monotonic ?? (() => performance.now())
    this.connect()
  }

  mechanisms(): ReadonlySet<number> {
    return this.mechanismList
  }

  /**
   * Runs `work` on a logged-in session of its own, within `timeoutMs`. A fault of the token (an error
   * of the module, or a TokenFault from `work`) is tried once more on a new connection; a second one,
   * or a connection that cannot be made now, throws ServiceUnavailableError (`signer_unavailable`).
   */
  async run<T>(what: string, work: (session: Buffer, module: PKCS11) => Promise<T> | T): Promise<T> {
    try {
      return await this.attempt(work)
    } catch (error) {
      if (!isTokenFault(error)) throw error
      this.markBroken(what, error)
    }
    try {
      return await this.attempt(work)
    } catch (error) {
      if (!isTokenFault(error)) throw error
      this.markBroken(what, error)
      throw this.unavailable(this.broken!, error)
    }
  }

  /** Closes every session and finalizes the module, once no call is in it (at most `timeoutMs` later). */
  async close(): Promise<void> {
    this.closed = true
    for (const waiter of this.waiters.splice(0)) {
      clearTimeout(waiter.timer)
      waiter.fail(this.unavailable('the PKCS#11 signer is closed'))
    }
    const until = this.monotonic() + this.options.timeoutMs
    while (this.inFlight > 0 && this.monotonic() < until) await new Promise((resolve) => setTimeout(resolve, 10))
    // A call still hung in the module: finalizing under it could crash the process, which is exiting anyway.
    if (this.inFlight > 0) return
    this.disconnect()
    ignoring(() => this.module.close())
  }

  private async attempt<T>(work: (session: Buffer, module: PKCS11) => Promise<T> | T): Promise<T> {
    if (this.closed) throw this.unavailable('the PKCS#11 signer is closed')
    if (this.refused !== undefined) throw this.unavailable(this.refused)
    if (this.broken !== undefined) this.reconnect()
    const session = await this.acquire().catch((error: unknown) => {
      // A new session logs in again when every other was closed: a PIN refused now is refused for good.
      if (error instanceof TokenRefusal) this.refused = `${error.message}; it is not tried again: restart with the right PIN`
      throw this.refused === undefined ? error : this.unavailable(this.refused, error)
    })
    this.inFlight++
    let timedOut = false
    const call = (async () => {
      try {
        return await work(session.handle, this.module)
      } finally {
        this.inFlight--
        if (timedOut) this.discard(session)
        else this.release(session)
      }
    })()
    let timer: NodeJS.Timeout | undefined
    const timeout = new Promise<never>((_, reject) => {
      timer = setTimeout(() => {
        timedOut = true
        reject(this.unavailable(`the PKCS#11 token "${this.label}" did not answer within ${this.options.timeoutMs} ms`))
      }, this.options.timeoutMs)
    })
    // Whatever the call ends with after its time is up, nobody waits for it any more.
    call.catch(() => {})
    try {
      return await Promise.race([call, timeout])
    } finally {
      clearTimeout(timer)
    }
  }

  private async acquire(): Promise<Session> {
    const idle = this.idle.pop()
    if (idle) return idle
    if (this.sessionsOpen < this.options.sessions) return this.openSession()
    return new Promise<Session>((resolve, reject) => {
      const waiter = {
        take: resolve,
        fail: reject,
        timer: setTimeout(() => {
          this.waiters = this.waiters.filter((other) => other !== waiter)
          reject(
            this.unavailable(`the ${this.options.sessions} sessions of the PKCS#11 token stayed busy for ${this.options.timeoutMs} ms`),
          )
        }, this.options.timeoutMs),
      }
      this.waiters.push(waiter)
    })
  }

  private release(session: Session): void {
    if (session.generation !== this.generation || this.closed) return
    const waiter = this.waiters.shift()
    if (!waiter) return void this.idle.push(session)
    clearTimeout(waiter.timer)
    waiter.take(session)
  }

  /** A session whose call outlived its time: its state is unknown, so it is closed rather than used again. */
  private discard(session: Session): void {
    if (session.generation !== this.generation) return
    this.sessionsOpen--
    ignoring(() => this.module.C_CloseSession(session.handle))
  }

  private markBroken(what: string, error: unknown): void {
    const first = this.broken === undefined
    this.broken = `the PKCS#11 token "${this.label}" failed to ${what}: ${describe(error)}`
    if (first) this.options.logger.warn({ tokenLabel: this.label, fault: describe(error) }, `${this.broken}; reconnecting`)
  }

  /** A new connection, when none is being used and the last try is far enough behind; else 503. */
  private reconnect(): void {
    const broken = this.broken!
    if (this.inFlight > 0) throw this.unavailable(`${broken}; reconnecting once the calls still in the module end`)
    const wait = this.lastReconnect + (this.options.retryAfterMs ?? 1000) - this.monotonic()
    if (wait > 0) throw this.unavailable(`${broken}; reconnecting in ${Math.ceil(wait)} ms`)
    this.lastReconnect = this.monotonic()
    this.disconnect()
    try {
      this.connect()
    } catch (error) {
      if (error instanceof TokenRefusal && error.pinRefused)
        this.refused = `${error.message}; it is not tried again: restart with the right PIN`
      this.broken = `the PKCS#11 token "${this.label}" cannot be reconnected: ${describe(error)}`
      this.options.logger.error({ tokenLabel: this.label, fault: describe(error) }, this.refused ?? this.broken)
      throw this.unavailable(this.refused ?? this.broken, error)
    }
    this.broken = undefined
    this.options.logger.info({ tokenLabel: this.label, generation: this.generation }, 'reconnected to the PKCS#11 token')
  }

  private connect(): void {
    try {
      this.module.C_Initialize({ flags: CKF_OS_LOCKING_OK })
    } catch (error) {
      // Another user of the module in this process initialized it (PKCS#11 modules are process-wide).
      if (codeOf(error) !== CKR_CRYPTOKI_ALREADY_INITIALIZED) throw error
    }
    this.generation++
    this.slot = this.findSlot()
    this.mechanismList = new Set(this.module.C_GetMechanismList(this.slot))
    this.idle.push(this.openSession())
  }

  private disconnect(): void {
    this.idle = []
    this.sessionsOpen = 0
    this.generation++
    if (this.slot.length > 0) ignoring(() => this.module.C_CloseAllSessions(this.slot))
    ignoring(() => this.module.C_Finalize())
  }

  private openSession(): Session {
    const handle = this.module.C_OpenSession(this.slot, CKF_RW_SESSION | CKF_SERIAL_SESSION)
    try {
      this.module.C_Login(handle, CKU_USER, this.options.pin)
    } catch (error) {
      const code = codeOf(error)
      if (code !== CKR_USER_ALREADY_LOGGED_IN) {
        ignoring(() => this.module.C_CloseSession(handle))
        if (code !== undefined && PIN_REFUSALS.has(code)) {
          throw new TokenRefusal(`the PKCS#11 token "${this.label}" refused the PIN (${describe(error)})`, true)
        }
        throw error
      }
    }
    this.sessionsOpen++
    return { handle, generation: this.generation }
  }

  /** The slot of the token named by label or slot id; several tokens with one label are refused. */
  private findSlot(): Buffer {
    const present = this.module.C_GetSlotList(true).map((slot) => ({
      slot,
      id: slotId(slot),
      label: this.module.C_GetTokenInfo(slot).label.trimEnd(),
    }))
    const { tokenLabel, slot } = this.options
    const matches = present.filter((token) => (tokenLabel !== undefined ? token.label === tokenLabel : token.id === BigInt(slot!)))
    const found = present.map((token) => `"${token.label}" (slot ${token.id})`).join(', ') || 'none'
    const named = tokenLabel !== undefined ? `labelled "${tokenLabel}"` : `in slot ${slot}`
    if (matches.length === 0) throw new TokenRefusal(`no token ${named} in ${this.options.module}; the tokens present: ${found}`, false)
    if (matches.length > 1) throw new TokenRefusal(`several tokens are ${named} (${found}): name one by keys.pkcs11.slot`, false)
    this.label = matches[0].label
    return matches[0].slot
  }

  /** What the client is told stays general; the detail (the token, the call, its CKR_ code) is the cause, which the log shows. */
  private unavailable(detail: string, cause?: unknown): ServiceUnavailableError {
    return new ServiceUnavailableError(UNAVAILABLE, 'signer_unavailable', new Error(detail, { cause }))
  }
}

function slotId(slot: Buffer): bigint {
  return slot.length >= 8 ? slot.readBigUInt64LE(0) : BigInt(slot.readUInt32LE(0))
}
