import { randomUUID } from 'node:crypto'
import t from 'tap'
import { uuidV7, uuidV7Millis } from '../../src/lib/uuid-v7.js'

const T0 = Date.UTC(2026, 10, 29, 12, 0, 0, 123)

t.test('a v7 UUID carries its time in its first 48 bits, then the version and variant (RFC 9562 5.7)', async (t) => {
  const id = uuidV7(T0, Buffer.alloc(10, 0xff))
  t.equal(id, `${T0.toString(16).padStart(12, '0').slice(0, 8)}-${T0.toString(16).padStart(12, '0').slice(8)}-7fff-bfff-ffffffffffff`)
  t.equal(uuidV7(T0, Buffer.alloc(10, 0)), `${id.slice(0, 13)}-7000-8000-000000000000`)
  t.equal(uuidV7Millis(id), T0)
})

t.test('the RFC 9562 example reads back its time', async (t) => {
  // Appendix A.6: 017F22E2-79B0-7CC3-98C4-DC0C0C07398F is Tuesday, February 22, 2022 2:22:22.00 PM GMT-05:00.
  t.equal(uuidV7Millis('017f22e2-79b0-7cc3-98c4-dc0c0c07398f'), Date.UTC(2022, 1, 22, 19, 22, 22))
})

t.test('ids made in later milliseconds sort after earlier ones, as text and as uuid', async (t) => {
  const ids = [T0, T0 + 1, T0 + 1000, T0 + 86_400_000].map((ms) => uuidV7(ms))
  t.same([...ids].reverse().sort(), ids)
  t.equal(new Set([uuidV7(T0), uuidV7(T0), uuidV7(T0)]).size, 3, 'random bits keep ids of one millisecond apart')
})

t.test('anything but a lower-case v7 UUID has no time', async (t) => {
  const v7 = uuidV7(T0)
  t.same([randomUUID(), v7.toUpperCase(), v7.slice(1), 'not-a-uuid', `${v7.slice(0, 19)}c${v7.slice(20)}`].map(uuidV7Millis), [
    undefined,
    undefined,
    undefined,
    undefined,
    undefined,
  ])
})

t.test('a time a v7 UUID cannot hold is a programming error', async (t) => {
  t.throws(() => uuidV7(-1), TypeError)
  t.throws(() => uuidV7(2 ** 48), TypeError)
  t.throws(() => uuidV7(1.5), TypeError)
  t.throws(() => uuidV7(T0, Buffer.alloc(9)), TypeError)
})
