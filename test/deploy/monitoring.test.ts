import { execFileSync } from 'node:child_process'
import { readFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import t from 'tap'
import { parse } from 'yaml'
import { exposedNames } from '../support/scrape.js'
import { startTestService } from '../support/service.js'

/**
 * What ships for monitoring stays true to the service: the alert rules are valid Prometheus rules whose
 * unit tests pass (promtool, from Debian's `prometheus` package: never skipped), and every metric the
 * alerts, the Grafana dashboard and the README name is one a running service exposes.
 */

const root = (path: string) => fileURLToPath(new URL(`../../${path}`, import.meta.url))
const PROMETHEUS_DIR = root('deploy/prometheus')

function promtool(...args: string[]): string {
  try {
    return execFileSync('promtool', args, { cwd: PROMETHEUS_DIR, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] })
  } catch (error) {
    const failed = error as { code?: string; stdout?: string; stderr?: string }
    if (failed.code === 'ENOENT') throw new Error("promtool is not installed: apt-get install prometheus (Debian's package ships it)")
    throw new Error(`promtool ${args.join(' ')} failed:\n${failed.stdout ?? ''}${failed.stderr ?? ''}`)
  }
}

t.test('promtool accepts the alert rules, and their unit tests pass', async (t) => {
  t.match(promtool('check', 'rules', 'alerts.yaml'), /SUCCESS: \d+ rules found/)
  t.match(promtool('test', 'rules', 'alerts.test.yaml'), /SUCCESS/)
})

/** The metric names a PromQL expression reads: ours and the process metrics, outside quoted values. */
function metricNamesIn(expr: string): string[] {
  return [...expr.replace(/"(?:[^"\\]|\\.)*"/g, '""').matchAll(/\b(?:sts|process|nodejs)_[a-zA-Z0-9_:]*/g)].map((m) => m[0])
}

interface Panel {
  title?: string
  targets?: { expr: string }[]
}

t.test('the alerts, the dashboard and the README name only metrics the service exposes', async (t) => {
  const sts = await startTestService(t)
  const scrape = await sts.app.inject({ method: 'GET', url: '/metrics' })
  t.equal(scrape.statusCode, 200)
  const exposed = exposedNames(scrape.body)

  const rules = parse(readFileSync(root('deploy/prometheus/alerts.yaml'), 'utf8')) as {
    groups: { rules: { alert: string; expr: string }[] }[]
  }
  const dashboard = JSON.parse(readFileSync(root('deploy/grafana/seed-sts.json'), 'utf8')) as {
    panels: Panel[]
    templating: { list: { definition?: string }[] }
  }
  const exprs: [string, string][] = [
    ...rules.groups.flatMap((group) => group.rules.map((rule): [string, string] => [`alert ${rule.alert}`, rule.expr])),
    ...dashboard.panels.flatMap((panel) => (panel.targets ?? []).map((target): [string, string] => [`panel ${panel.title}`, target.expr])),
    ...dashboard.templating.list.flatMap((v): [string, string][] => (v.definition ? [['a dashboard variable', v.definition]] : [])),
  ]
  t.ok(exprs.length >= 30, `the expressions were found (${exprs.length})`)
  for (const [where, expr] of exprs) {
    const names = metricNamesIn(expr)
    t.ok(names.length > 0, `${where} reads a metric`)
    for (const name of names) t.ok(exposed.has(name), `${where}: ${name} is exposed`)
  }

  const readme = readFileSync(root('README.md'), 'utf8')
  const start = readme.indexOf('\n### Metrics\n')
  t.ok(start >= 0, 'the README has a Metrics section')
  const section = readme.slice(start, readme.slice(start + 1).search(/\n##(#)? /) + start + 1)
  for (const name of [...exposed].filter((n) => n.startsWith('sts_') && !/_(bucket|sum|count)$/.test(n)))
    t.ok(section.includes(`\`${name}\``), `README's Metrics section lists ${name}`)
  for (const group of rules.groups)
    for (const rule of group.rules) t.ok(section.includes(rule.alert), `README's Metrics section names the alert ${rule.alert}`)
})
