import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment'
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap'
import type { IContainer } from 'kubernetes-models/v1/Container'
import type { IService } from 'kubernetes-models/v1/Service'
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount'
import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { parseAgentConfig } from '../../src/agent/agent-config.js'
import { parseConfig } from '../../src/config.js'
import { only, rawObjects, readmeSection, readObjects, REPOSITORY } from '../support/kubernetes-manifests.js'

/**
 * The agent sidecar example: its configuration is one the agent accepts, and it says what the pod
 * gives it: the projected token where the kubelet mounts it, the token files in the volume the
 * application reads, the health port its probes ask, the STS the overlay deploys, the image it builds.
 */
const KUBERNETES = join(REPOSITORY, 'deploy', 'kubernetes')
const FILE = join(KUBERNETES, 'examples', 'agent-sidecar.yaml')
const example = readObjects(readFileSync(FILE, 'utf8'), FILE)
const deployment = only<IDeployment>(example, 'Deployment')
const pod = deployment.spec!.template.spec!
const agent = pod.initContainers!.find((c) => c.name === 'sts-agent')!
const app = pod.containers.find((c) => c.name === 'app')!
const configMap = only<IConfigMap>(example, 'ConfigMap')
const configVolume = pod.volumes!.find((v) => v.configMap?.name === configMap.metadata!.name)!
const configMount = agent.volumeMounts!.find((m) => m.name === configVolume.name)!
const agentConfig = parseAgentConfig(parseYaml(configMap.data!['agent.yaml']), configMount.mountPath)
const overlay = join(KUBERNETES, 'overlays', 'example')
const stsConfig = parseConfig(parseYaml(readFileSync(join(overlay, 'config.yaml'), 'utf8')))
const kustomization = parseYaml(readFileSync(join(overlay, 'kustomization.yaml'), 'utf8')) as {
  namespace: string
  images: { name: string; newName: string; newTag: string }[]
}

t.test('the agent runs the image the overlay deploys, on the configuration in the ConfigMap', async (t) => {
  const image = kustomization.images.find((i) => i.name === 'seed-sts')!
  t.equal(agent.image, `${image.newName}:${image.newTag}`)
  const bin = (JSON.parse(readFileSync(join(REPOSITORY, 'package.json'), 'utf8')) as { bin: { sts: string } }).bin.sts
  t.same(agent.command, ['node', bin, 'agent', '--config', `${configMount.mountPath}/agent.yaml`])
  t.equal(configMount.readOnly, true)
  t.equal(agent.restartPolicy, 'Always', 'a native sidecar: it keeps the tokens current while the application runs')
})

t.test('the attestation is the projected token for the STS audience, where the kubelet mounts it', async (t) => {
  const volume = pod.volumes!.find((v) => v.projected)!
  const token = volume.projected!.sources!.find((s) => s.serviceAccountToken)!.serviceAccountToken!
  t.equal(token.audience, stsConfig.audience, "the STS configuration's audience")
  const attestor = stsConfig.attestors[0]
  const longest = attestor.kind === 'kubernetes' ? attestor.maxTokenLifetimeSeconds : 0
  t.ok(token.expirationSeconds! >= 600 && token.expirationSeconds! <= longest, 'a lifetime Kubernetes allows and the attestor accepts')
  const mount = agent.volumeMounts!.find((m) => m.name === volume.name)!
  t.equal(mount.readOnly, true)
  t.same(agentConfig.attestation, { kind: 'kubernetes', path: `${mount.mountPath}/${token.path}` })
})

t.test('the agent asks the STS Service the overlay deploys', async (t) => {
  const service = only<IService>(rawObjects(join(KUBERNETES, 'base')), 'Service')
  const port = service.spec!.ports!.find((p) => p.name === 'http')!.port
  t.equal(agentConfig.sts, `http://${service.metadata!.name}.${kustomization.namespace}.svc.cluster.local:${port}`)
})

t.test('every token file is in the in-memory volume the application reads, and the application reads it', async (t) => {
  const volume = pod.volumes!.find((v) => v.emptyDir)!
  t.equal(volume.emptyDir!.medium, 'Memory', 'tokens never reach a disk')
  const agentMount = agent.volumeMounts!.find((m) => m.name === volume.name)!
  const appMount = app.volumeMounts!.find((m) => m.name === volume.name)!
  t.not(agentMount.readOnly, true, 'the agent writes there')
  t.equal(appMount.readOnly, true, 'the application only reads')
  t.ok(agentConfig.tokens.length > 0)
  for (const { file } of agentConfig.tokens) {
    t.match(file, new RegExp(`^${agentMount.mountPath}/[^/]+$`), `${file} is in the shared volume`)
    t.match(app.args!.join('\n'), file.replace(agentMount.mountPath, appMount.mountPath), 'and the application reads it')
  }
})

t.test('the probes ask the agent health endpoint: started and ready once every file holds a token', async (t) => {
  const port = agent.ports!.find((p) => p.name === 'agent-health')!
  t.same(agentConfig.health, { host: '0.0.0.0', port: port.containerPort }, 'listening where the kubelet reaches it')
  t.same(agent.startupProbe?.httpGet, { path: '/readyz', port: 'agent-health' })
  t.same(agent.readinessProbe?.httpGet, { path: '/readyz', port: 'agent-health' })
  t.same(agent.livenessProbe?.httpGet, { path: '/healthz', port: 'agent-health' })
})

t.test(
  'both containers run as one non-root user (the files are 0600), on read-only root filesystems, with no API credentials',
  async (t) => {
    t.equal(pod.securityContext?.runAsNonRoot, true)
    t.ok((pod.securityContext?.runAsUser ?? 0) > 0)
    t.same(
      [agent, app].map((c) => c.securityContext?.runAsUser),
      [undefined, undefined],
      'neither overrides the pod user',
    )
    t.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault')
    t.equal(pod.automountServiceAccountToken, false)
    const containers: IContainer[] = [agent, app]
    for (const c of containers) {
      t.equal(c.securityContext?.readOnlyRootFilesystem, true, c.name)
      t.equal(c.securityContext?.allowPrivilegeEscalation, false, c.name)
      t.same(c.securityContext?.capabilities?.drop, ['ALL'], c.name)
    }
  },
)

t.test('the file names the identity the workload gets, and the grant it needs', async (t) => {
  const account = only<IServiceAccount>(example, 'ServiceAccount')
  t.equal(pod.serviceAccountName, account.metadata!.name)
  const identity = `spiffe://${stsConfig.trustDomain}/k8s/${stsConfig.attestors[0].name}/ns/demo/sa/${account.metadata!.name}`
  const text = readFileSync(FILE, 'utf8')
  const [entry] = agentConfig.tokens
  t.match(text, `sts grants create --subject ${identity} \\\n#     --audience ${entry.audience} --scope ${entry.scope}`)
  const steps = readmeSection('### Kubernetes')
  t.match(steps, `kubectl -n demo apply -f deploy/kubernetes/examples/agent-sidecar.yaml`, "README's step-by-step runs this example")
  t.match(steps, `logs deployment/${deployment.metadata!.name} -c ${agent.name}`, 'and reads its agent log')
  t.match(steps, `--subject ${identity} \\\n     --audience ${entry.audience} --scope ${entry.scope}`, 'and grants what it needs')
})
