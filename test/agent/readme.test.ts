import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { parseAgentConfig } from '../../src/agent/agent-config.js'
import { AgentMetrics } from '../../src/agent/agent-metrics.js'
import { readmeSection } from '../support/kubernetes-manifests.js'

/** README › The agent says what the agent does: its example configuration is accepted, its metrics are the ones listed. */
const section = readmeSection('### The agent')

t.test("the README's example configuration is one the agent accepts", async (t) => {
  const yaml = /```yaml\n([\s\S]*?)```/.exec(section)![1]
  const config = parseAgentConfig(parseYaml(yaml), '/etc/sts-agent')
  t.same(
    config.tokens.map((entry) => [entry.audience, entry.file, entry.afterRefresh?.command ?? entry.afterRefresh?.signal]),
    [
      ['ledger-api', '/var/run/sts/ledger-api.token', ['/app/bin/reload-token', '--quiet']],
      ['search-api', '/var/run/sts/search-api.token', { pidFile: '/var/run/app/app.pid', signal: 'SIGHUP' }],
    ],
  )
})

t.test('the metrics table lists every metric of the agent, and no other', async (t) => {
  const registry = new AgentMetrics(() => 0).registry
  const exposed = (await registry.getMetricsAsJSON()).map((metric) => metric.name).filter((name) => name.startsWith('sts_'))
  const listed = [...section.matchAll(/^ *\| `(sts_agent_[a-z_]+)` \|/gm)].map((match) => match[1])
  t.same(listed.sort(), exposed.sort())
})
