import t from 'tap'
import { EventStreamParser } from '../../src/verifier/sse.js'

t.test('events are parsed as the STS sends them, whatever the chunks', async (t) => {
  const stream =
    'retry: 1000\n: stream of revocations after 41\n\n' +
    'id: 42\nevent: revoked\ndata: {"id":"x"}\n\n' +
    ': keep-alive\n\n' +
    'event: shutdown\ndata: {"reason":"bye","cursor":"42"}\n\n'
  const expected = [
    { id: '42', event: 'revoked', data: '{"id":"x"}' },
    { id: undefined, event: 'shutdown', data: '{"reason":"bye","cursor":"42"}' },
  ]
  t.same(new EventStreamParser().push(stream), expected, 'in one chunk')
  for (const size of [1, 2, 3, 7]) {
    const parser = new EventStreamParser()
    const events = []
    for (let i = 0; i < stream.length; i += size) events.push(...parser.push(stream.slice(i, i + size)))
    t.same(events, expected, `in chunks of ${size}`)
  }
})

t.test('CRLF and CR end lines (a CRLF split across chunks too); data lines join; no data, no event', async (t) => {
  const parser = new EventStreamParser()
  t.same(parser.push('id: 1\r\nevent: lifted\r\ndata: a\r'), [])
  t.same(parser.push('\ndata:b\r\r\n'), [{ id: '1', event: 'lifted', data: 'a\nb' }])
  t.same(parser.push('\r\n'), [], 'a blank line with nothing gathered dispatches nothing')
  t.same(parser.push('event: x\n\ndata\n\n'), [{ id: undefined, event: 'message', data: '' }], 'an event without data is not dispatched')
})
