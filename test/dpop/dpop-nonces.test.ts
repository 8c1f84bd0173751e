import t from 'tap'
import { DpopNonces, dpopNonceKey } from '../../src/dpop/dpop-nonces.js'
import { FixedClock } from '../../src/lib/clock.js'

/** Stateless nonces: any instance with the same secret accepts them, for the current and the previous step. */

const NOW = Date.UTC(2026, 10, 23, 12, 0, 30)
const secret = Buffer.alloc(32, 9)

t.test('a nonce is accepted by another instance with the same secret, for its step and the next', async (t) => {
  const clock = new FixedClock(NOW)
  const a = new DpopNonces(dpopNonceKey(secret), 60, clock)
  const b = new DpopNonces(dpopNonceKey(secret), 60, clock)
  const nonce = a.current()
  t.equal(b.current(), nonce, 'both instances hand out the same nonce in one step')
  t.ok(b.accepts(nonce))
  clock.advance(60_000)
  t.not(a.current(), nonce, 'a new step, a new nonce')
  t.ok(b.accepts(nonce), 'the previous step is still accepted')
  clock.advance(60_000)
  t.notOk(b.accepts(nonce), 'two steps later it is not')
})

t.test('a nonce of another secret, or made up, is refused', async (t) => {
  const clock = new FixedClock(NOW)
  const ours = new DpopNonces(dpopNonceKey(secret), 60, clock)
  const theirs = new DpopNonces(dpopNonceKey(Buffer.alloc(32, 1)), 60, clock)
  t.notOk(ours.accepts(theirs.current()))
  t.notOk(ours.accepts(''))
  t.notOk(ours.accepts(`${ours.current()}x`))
  t.notOk(ours.accepts(ours.current().slice(0, -1)))
})

t.test('the nonce key is bound to its purpose: never the shared secret itself', async (t) => {
  t.not(dpopNonceKey(secret).toString('hex'), secret.toString('hex'))
  t.equal(dpopNonceKey(secret).length, 32)
})
