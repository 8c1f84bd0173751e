import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace-base'
import t from 'tap'
import { createHttpJwksFetcher } from '../../src/jose/jwks-fetcher.js'
import { openTracing } from '../../src/tracing/tracing.js'

/** A key set fetched during an exchange carries the exchange's trace to the issuer; one fetched outside does not. */

t.test('the JWKS fetch is a child span, and the issuer receives it as traceparent', async (t) => {
  const received: IncomingHttpHeaders[] = []
  const server = createServer((request, response) => {
    received.push(request.headers)
    response.setHeader('content-type', 'application/json').end('{"keys":[]}')
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  t.teardown(() => server.close())
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks`
  const exporter = new InMemorySpanExporter()
  const tracing = openTracing({ endpoint: 'http://127.0.0.1:1/v1/traces', serviceName: 'test', exporter })
  t.teardown(() => tracing.shutdown())
  const fetchJwks = tracing.jwks(createHttpJwksFetcher(2000, undefined, tracing.outgoingHeaders))

  t.same(await fetchJwks(url), { keys: [] })
  t.equal(received[0]?.traceparent, undefined, 'outside an exchange: no traceparent')
  t.same(exporter.getFinishedSpans(), [], 'and no span')

  const observation = tracing.exchanges.begin({ traceparent: '00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01' })
  observation.phaseStarted('attest')
  await fetchJwks(url)
  observation.phaseEnded('attest')
  observation.finished({ outcome: 'issued', error: 'none', reason: 'none' })
  const fetch = exporter.getFinishedSpans().find((span) => span.name === 'jwks.fetch')
  const attest = exporter.getFinishedSpans().find((span) => span.name === 'sts.attest')
  t.equal(fetch?.parentSpanContext?.spanId, attest?.spanContext().spanId, 'a child of the phase')
  t.same(fetch?.attributes, { 'url.full': url })
  t.equal(
    received[1]?.traceparent,
    `00-4bf92f3577b34da6a3ce929d0e0e4736-${fetch?.spanContext().spanId}-01`,
    'the issuer sees the fetch span',
  )
})
