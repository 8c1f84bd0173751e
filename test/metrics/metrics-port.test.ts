import { request as httpRequest } from 'node:http'
import t, { type Test } from 'tap'
import type { FakeCluster } from '../support/cluster.js'
import { eventually } from '../support/eventually.js'
import { freePort } from '../support/ports.js'
import { parseScrape, samplesOf, valueOf } from '../support/scrape.js'
import { baseConfig, exchangeOnce, ready, start, type Started } from '../support/compiled-server.js'

/**
 * The compiled server as production runs it: /metrics on the main port by default, only on
 * metrics.port when one is set; with workers, every scrape reports the whole process group.
 */

const ISSUED = { outcome: 'issued', error: 'none', reason: 'none', attestor_kind: 'kubernetes', attestor: 'prod' }

/** One request on a connection of its own, so that the cluster hands each to the next worker. */
function get(url: string, method = 'GET', body?: string): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const call = httpRequest(
      url,
      { method, agent: false, headers: body ? { 'content-type': 'application/x-www-form-urlencoded' } : {} },
      (response) => {
        let text = ''
        response.setEncoding('utf8')
        response.on('data', (chunk: string) => (text += chunk))
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body: text }))
      },
    )
    call.on('error', reject)
    call.end(body)
  })
}

async function exchangeOnNewConnection(started: Started, cluster: FakeCluster): Promise<number> {
  const form = new URLSearchParams({
    grant_type: 'urn:ietf:params:oauth:grant-type:token-exchange',
    subject_token: await cluster.serviceAccountToken(),
    subject_token_type: 'urn:ietf:params:oauth:token-type:jwt',
  })
  return (await get(`${started.url}/oauth2/token`, 'POST', form.toString())).status
}

async function issuedIn(url: string): Promise<number | undefined> {
  const scraped = await get(url)
  if (scraped.status !== 200) throw new Error(`${url} answered ${scraped.status}`)
  return valueOf(parseScrape(scraped.body), 'sts_token_exchanges_total', ISSUED)
}

async function stop(t: Test, started: Started): Promise<void> {
  started.child.kill('SIGTERM')
  t.equal(await started.exited, 0, 'stops cleanly')
}

/** Waits until every worker has said it is ready: /readyz answers as soon as one listens. */
async function workersReady(t: Test, started: Started, count: number): Promise<void> {
  const ready = () =>
    started
      .output()
      .split('\n')
      .filter((line) => line.includes('seed-sts is ready')).length
  await eventually(t, ready, { until: (n) => n >= count, intervalMs: 100, timeoutMs: 15_000, what: `${count} workers are ready` })
}

/** Two workers with metrics.port, both ready, after `tokens` tokens issued (the first through exchangeOnce). */
async function workersWithMetricsPort(t: Test, tokens: number) {
  const { cluster, config } = await baseConfig(t)
  const metricsPort = await freePort()
  const started = await start(t, { ...config, workers: 2, metrics: { port: metricsPort } })
  await ready(t, started)
  await workersReady(t, started, 2)
  await exchangeOnce(t, started, cluster)
  for (let i = 1; i < tokens; i++) t.equal(await exchangeOnNewConnection(started, cluster), 200)
  return { started, metricsPort }
}

t.test('with metrics.port, /metrics is served there and not on the main port', async (t) => {
  const { cluster, config } = await baseConfig(t)
  const metricsPort = await freePort()
  const started = await start(t, { ...config, metrics: { port: metricsPort } })
  await ready(t, started)
  await exchangeOnce(t, started, cluster)
  t.equal((await get(`${started.url}/metrics`)).status, 404, 'not on the main port')
  t.equal(await issuedIn(`http://127.0.0.1:${metricsPort}/metrics`), 1, 'on its own port')
  t.equal((await get(`http://127.0.0.1:${metricsPort}/oauth2/token`)).status, 404, 'nothing else is served there')
  await stop(t, started)
})

t.test('with workers: 2, a scrape of the main port reports every worker, whichever answers', async (t) => {
  const { cluster, config } = await baseConfig(t)
  const started = await start(t, { ...config, workers: 2 })
  await ready(t, started)
  await workersReady(t, started, 2)
  await exchangeOnce(t, started, cluster)
  for (let i = 0; i < 7; i++) t.equal(await exchangeOnNewConnection(started, cluster), 200)
  const servedBy = new Set(
    started
      .output()
      .split('\n')
      .filter((line) => line.includes('"token issued"'))
      .map((line) => JSON.parse(line).pid),
  )
  t.equal(servedBy.size, 2, 'both workers issued tokens')
  for (let i = 0; i < 4; i++) t.equal(await issuedIn(`${started.url}/metrics`), 8, `scrape ${i + 1} counts all 8`)
  await stop(t, started)
})

t.test('with workers: 2 and metrics.port, the primary answers there for the group', async (t) => {
  const { started, metricsPort } = await workersWithMetricsPort(t, 4)
  t.equal((await get(`${started.url}/metrics`)).status, 404, 'not on the main port')
  t.equal(await issuedIn(`http://127.0.0.1:${metricsPort}/metrics`), 4)
  await stop(t, started)
})

t.test('with workers: 2, a worker that does not answer leaves the scrape whole: its last answer, and how many answered', async (t) => {
  const { started, metricsPort } = await workersWithMetricsPort(t, 6)
  const pidsOf = (msg: string) =>
    started
      .logs()
      .filter((line) => line.msg === msg)
      .map((line) => line.pid as number)
  const [first, second] = pidsOf('seed-sts is ready')
  const issuedBy = (pid: number | undefined) => pidsOf('token issued').filter((p) => p === pid).length
  // Each is logged once its answer is sent: the last may be a moment behind the client.
  await eventually(t, () => issuedBy(first) + issuedBy(second), { until: (n) => n === 6, what: 'the 6 tokens are logged' })
  const stopped = new Set<number>()
  const pause = (pid: number) => (process.kill(pid, 'SIGSTOP'), stopped.add(pid))
  const resume = (pid: number) => (process.kill(pid, 'SIGCONT'), stopped.delete(pid))
  t.teardown(() => stopped.forEach(resume))
  const scrape = async () => {
    const scraped = await get(`http://127.0.0.1:${metricsPort}/metrics`)
    const samples = parseScrape(scraped.body)
    const workers = Object.fromEntries(samplesOf(samples, 'sts_metrics_workers').map(({ labels, value }) => [labels.answer, value]))
    return { status: scraped.status, issued: valueOf(samples, 'sts_token_exchanges_total', ISSUED) ?? 0, workers }
  }

  // Stopped before it ever answered: it is missing, and the scrape has the other's alone.
  pause(second!)
  t.same(await scrape(), { status: 200, issued: issuedBy(first), workers: { answered: 1, last_known: 0, missing: 1 } })
  resume(second!)
  t.same(await scrape(), { status: 200, issued: 6, workers: { answered: 2, last_known: 0, missing: 0 } })
  // Stopped after it answered: its last answer keeps its counts in, so no counter drops.
  pause(second!)
  t.same(await scrape(), { status: 200, issued: 6, workers: { answered: 1, last_known: 1, missing: 0 } })
  resume(second!)
  await stop(t, started)
})
