import { readdirSync, readFileSync } from 'node:fs'
import { join } from 'node:path'
import t from 'tap'
import { rawObjects, readObjects, renderKustomize, REPOSITORY, schemaProblems, type KubeObject } from '../support/kubernetes-manifests.js'
import { unknownFieldProblems } from '../support/kubernetes-strict-fields.js'

/**
 * Every object of deploy/kubernetes (each resource file of the base, the component and the overlay, each
 * example workload in examples/, and what `kubectl kustomize` renders of the base and the overlay) is what the
 * Kubernetes API accepts: its kind's schema (kubernetes-models; the Prometheus Operator's models for
 * the ServiceMonitor), and no field the API does not know.
 */
const KUBERNETES = join(REPOSITORY, 'deploy', 'kubernetes')
const EXAMPLES = join(KUBERNETES, 'examples')

const sources: { source: string; objects: KubeObject[] }[] = [
  {
    source: 'resource files of overlays/example (with the base and the component)',
    objects: rawObjects(join(KUBERNETES, 'overlays', 'example')),
  },
  ...readdirSync(EXAMPLES)
    .filter((name) => name.endsWith('.yaml'))
    .map((name) => ({
      source: `examples/${name}`,
      objects: readObjects(readFileSync(join(EXAMPLES, name), 'utf8'), join(EXAMPLES, name)),
    })),
]
const skipped: string[] = []
for (const dir of ['base', 'overlays/example']) {
  const rendered = renderKustomize(join(KUBERNETES, dir))
  if ('skipped' in rendered) skipped.push(rendered.skipped)
  else sources.push({ source: `kubectl kustomize ${dir}`, objects: rendered })
}

t.test('every object validates against the API schema of its kind', async (t) => {
  t.same(
    sources.filter((s) => s.source.startsWith('examples/')).map((s) => s.source),
    ['examples/agent-sidecar.yaml'],
    'every example is checked',
  )
  for (const { source, objects } of sources) {
    for (const object of objects) t.same(await schemaProblems(object), [], `${source}: ${object.kind} ${object.metadata.name}`)
  }
  t.same(
    sources.map((s) => s.objects.length > 0),
    sources.map(() => true),
    'every source has objects',
  )
})

t.test('no object has a field the API does not know', async (t) => {
  const all = sources.flatMap(({ source, objects }) => objects.map((object) => ({ source, object })))
  const problems = unknownFieldProblems(all.map((a) => a.object))
  all.forEach(({ source, object }, index) => t.same(problems[index], [], `${source}: ${object.kind} ${object.metadata.name}`))
})

t.test('the overlay is rendered by kubectl kustomize', { skip: skipped[0] ?? false }, async (t) => {
  const kinds = sources.find((s) => s.source === 'kubectl kustomize overlays/example')!.objects.map((o) => o.kind)
  t.same(kinds.sort(), [
    'ConfigMap',
    'Deployment',
    'HorizontalPodAutoscaler',
    'Namespace',
    'NetworkPolicy',
    'PodDisruptionBudget',
    'Service',
    'ServiceAccount',
    'ServiceMonitor',
  ])
})

// The checks above could not fail if the validators accepted anything: they do not.
t.test('the checks find a wrong type, a missing required field and a misspelt field', async (t) => {
  const deployment = structuredClone(sources[0].objects.find((o) => o.kind === 'Deployment')!) as KubeObject & {
    spec: { template: { spec: { containers: Record<string, unknown>[] } } }
  }
  const container = deployment.spec.template.spec.containers[0]
  const wrongType = structuredClone(deployment)
  ;(wrongType.spec.template.spec.containers[0].ports as { containerPort: unknown }[])[0].containerPort = 'http'
  t.same(await schemaProblems(wrongType), ['data/spec/template/spec/containers/0/ports/0/containerPort must be integer'])
  const missing = structuredClone(deployment)
  delete missing.spec.template.spec.containers[0].name
  t.same(await schemaProblems(missing), ['data/spec/template/spec/containers/0 must have required property name'])
  const misspelt = structuredClone(deployment)
  misspelt.spec.template.spec.containers[0] = { ...container, livenesProbe: container.livenessProbe }
  t.same(await schemaProblems(misspelt), [], 'the schema alone lets a misspelt field through')
  t.match(unknownFieldProblems([misspelt])[0], [/'"livenesProbe"' does not exist in type 'IContainer'/])
  t.match(await schemaProblems({ apiVersion: 'example.org/v1', kind: 'Widget', metadata: { name: 'w' } }), [/no schema known/])
})
