import t from 'tap'
import { Drain } from '../../src/lib/drain.js'

t.test('settled waits for the drain to begin and for every request in flight', async (t) => {
  const drain = new Drain()
  const first = drain.track()
  const second = drain.track()
  let settled = false
  const waiting = drain.settled().then(() => (settled = true))
  first()
  await Promise.resolve()
  t.notOk(settled, 'no drain yet')
  const began: string[] = []
  drain.onBegin(() => began.push('stream'))
  drain.begin()
  drain.begin()
  t.same(began, ['stream'], 'listeners run once')
  t.equal(drain.draining, true)
  t.equal(drain.requestsInFlight, 1)
  second()
  second()
  await waiting
  t.equal(drain.requestsInFlight, 0, 'a request is counted off once')
  drain.onBegin(() => began.push('late'))
  t.same(began, ['stream', 'late'], 'a listener added after the drain began runs at once')
})

t.test('an unsubscribed listener is not called', async (t) => {
  const drain = new Drain()
  let called = false
  const unsubscribe = drain.onBegin(() => (called = true))
  unsubscribe()
  drain.begin()
  t.notOk(called)
  await drain.settled()
  t.pass('settles at once with nothing in flight')
})
