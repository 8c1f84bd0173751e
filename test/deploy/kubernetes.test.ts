import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs'
import { tmpdir } from 'node:os'
import { join, posix } from 'node:path'
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment'
import type { IHorizontalPodAutoscaler } from 'kubernetes-models/autoscaling/v2/HorizontalPodAutoscaler'
import type { INetworkPolicy } from 'kubernetes-models/networking.k8s.io/v1/NetworkPolicy'
import type { IPodDisruptionBudget } from 'kubernetes-models/policy/v1/PodDisruptionBudget'
import type { IConfigMap } from 'kubernetes-models/v1/ConfigMap'
import type { IContainer } from 'kubernetes-models/v1/Container'
import type { IService } from 'kubernetes-models/v1/Service'
import type { IServiceMonitor } from '@kubernetes-models/prometheus-operator/monitoring.coreos.com/v1/ServiceMonitor'
import t, { type Test } from 'tap'
import { loadConfig, type Config } from '../../src/config.js'
import { numericUser, readRuntimeStage } from '../support/dockerfile.js'
import {
  documentedSecrets,
  only,
  rawObjects,
  readmeSection,
  renderKustomize,
  REPOSITORY,
  selects,
  type KubeObject,
} from '../support/kubernetes-manifests.js'

/**
 * What matters of the Seed STS objects, checked on the base as written (with base/config.yaml) and on
 * what `kubectl kustomize` renders of the base and of the example overlay (with the ConfigMap it
 * generates): probes on the right paths and port, non-root and read-only, a shutdown that fits the
 * drain, no secret value anywhere, every Secret reference documented, the config valid for the service.
 */
const KUBERNETES = join(REPOSITORY, 'deploy', 'kubernetes')
const image = readRuntimeStage(join(REPOSITORY, 'Dockerfile'))
/** server.ts: once the drain time is up, closing may take 3 s more before the process exits anyway. */
const EXIT_AFTER_DRAIN_SECONDS = 3
/** Environment names the service reads a credential from: only ever from a Secret. */
const CREDENTIALS = ['DATABASE_URL', 'REDIS_URL', 'STS_ADMIN_TOKEN', 'STS_KEY_ENCRYPTION_KEY', 'STS_SOURCE_HASH_KEY']
const README = readmeSection('### Kubernetes')

/** The configuration file as the service reads it (the pods have DATABASE_URL, REDIS_URL and STS_KEY_ENCRYPTION_KEY from the Secret). */
function serviceConfig(text: string): Config {
  const dir = mkdtempSync(join(tmpdir(), 'sts-kube-config-'))
  try {
    writeFileSync(join(dir, 'config.yaml'), text)
    const env = {
      DATABASE_URL: 'postgres://placeholder/sts',
      REDIS_URL: 'redis://placeholder:6379',
      STS_KEY_ENCRYPTION_KEY: Buffer.alloc(32).toString('base64'),
      STS_SOURCE_HASH_KEY: Buffer.alloc(32, 1).toString('base64'),
    }
    return loadConfig({ file: join(dir, 'config.yaml'), env }).config
  } finally {
    rmSync(dir, { recursive: true, force: true })
  }
}

interface Deployed {
  name: string
  objects: KubeObject[]
  configText: string
}

const deployments: Deployed[] = [
  {
    name: 'base as written',
    objects: rawObjects(join(KUBERNETES, 'base')),
    configText: readFileSync(join(KUBERNETES, 'base', 'config.yaml'), 'utf8'),
  },
]
let skipRendered: string | false = false
for (const dir of ['base', 'overlays/example']) {
  const rendered = renderKustomize(join(KUBERNETES, dir))
  if ('skipped' in rendered) {
    skipRendered = rendered.skipped
    continue
  }
  const configMap = only<IConfigMap>(rendered, 'ConfigMap')
  deployments.push({ name: `kubectl kustomize ${dir}`, objects: rendered, configText: configMap.data!['config.yaml'] })
}

function container(deployment: IDeployment): IContainer {
  const containers = deployment.spec!.template.spec!.containers
  return containers.find((c) => c.name === 'seed-sts')!
}

function portNumber(c: IContainer, port: number | string | undefined): number | undefined {
  return typeof port === 'number' ? port : c.ports?.find((p) => p.name === port)?.containerPort
}

for (const deployed of deployments) {
  const { objects } = deployed
  const deployment = only<IDeployment>(objects, 'Deployment', 'seed-sts')
  const pod = deployment.spec!.template
  const sts = container(deployment)

  t.test(`${deployed.name}: the configuration passes the service's own validation and holds no secret`, async (t) => {
    const config = serviceConfig(deployed.configText)
    t.equal(config.attestors[0]?.kind, 'kubernetes', 'a Kubernetes attestor')
    t.match(config.issuer, /^https:\/\//, 'an https issuer')
    t.notMatch(deployed.configText, /^\s*(token|url|password):/m, 'no admin token, database or Redis URL in the file')
    const env = Object.fromEntries((sts.env ?? []).map((e) => [e.name, e]))
    const file = env.STS_CONFIG?.value
    const mount = sts.volumeMounts?.find((m) => file?.startsWith(`${m.mountPath}/`))
    const volume = pod.spec!.volumes?.find((v) => v.name === mount?.name)
    t.ok(volume?.configMap, 'STS_CONFIG is a file of a ConfigMap volume')
    t.equal(posix.basename(file ?? ''), 'config.yaml')
    if (deployed.name !== 'base as written') t.equal(volume?.configMap?.name, only<IConfigMap>(objects, 'ConfigMap').metadata!.name)
  })

  t.test(`${deployed.name}: probes on /healthz and /readyz at the port the service listens on`, async (t) => {
    const config = serviceConfig(deployed.configText)
    const http = sts.ports?.find((p) => p.name === 'http')
    t.equal(http?.containerPort, config.port, 'the container port `http` is the configured port')
    for (const [probe, path] of [
      [sts.livenessProbe, '/healthz'],
      [sts.readinessProbe, '/readyz'],
      [sts.startupProbe, '/healthz'],
    ] as const) {
      t.equal(probe?.httpGet?.path, path)
      t.equal(portNumber(sts, probe?.httpGet?.port), config.port)
    }
    t.ok(sts.startupProbe!.periodSeconds! * sts.startupProbe!.failureThreshold! >= 120, 'migrations get minutes before liveness')
  })

  t.test(`${deployed.name}: the pod stops within its grace period, after the preStop and the drain`, async (t) => {
    const config = serviceConfig(deployed.configText)
    const command = sts.lifecycle?.preStop?.exec?.command ?? []
    t.equal(command[0], 'sleep')
    const preStop = Number(command[1])
    t.ok(preStop >= 3, 'the preStop leaves time for the endpoint removal to reach every node')
    t.ok(
      pod.spec!.terminationGracePeriodSeconds! >= preStop + config.shutdown.drainSeconds + EXIT_AFTER_DRAIN_SECONDS + 1,
      `terminationGracePeriodSeconds (${pod.spec!.terminationGracePeriodSeconds}) covers the preStop (${preStop}), ` +
        `shutdown.drainSeconds (${config.shutdown.drainSeconds}) and the ${EXIT_AFTER_DRAIN_SECONDS} s to exit`,
    )
  })

  t.test(`${deployed.name}: non-root as the image's user, read-only root filesystem, nothing more than needed`, async (t) => {
    const podSecurity = pod.spec!.securityContext!
    const security = sts.securityContext!
    t.equal(podSecurity.runAsNonRoot, true)
    t.equal(podSecurity.runAsUser, numericUser(image.user).uid, "the Dockerfile's USER")
    t.equal(podSecurity.seccompProfile?.type, 'RuntimeDefault')
    t.equal(security.readOnlyRootFilesystem, true)
    t.equal(security.allowPrivilegeEscalation, false)
    t.same(security.capabilities?.drop, ['ALL'])
    t.same(security.capabilities?.add, undefined)
    t.equal(pod.spec!.automountServiceAccountToken, false, 'no Kubernetes API credentials')
    t.same(
      [
        sts.resources?.requests?.cpu !== undefined,
        sts.resources?.requests?.memory !== undefined,
        sts.resources?.limits?.memory !== undefined,
      ],
      [true, true, true],
      'resources requested and memory bounded',
    )
    // Where the service writes: PGlite's directory (resolved from the image's WORKDIR) and /tmp, on emptyDirs.
    const config = serviceConfig(deployed.configText)
    const emptyDirs = new Set(pod.spec!.volumes!.filter((v) => v.emptyDir).map((v) => v.name))
    const writable = sts.volumeMounts!.filter((m) => emptyDirs.has(m.name)).map((m) => m.mountPath)
    const dataDir = posix.resolve(image.workdir, config.database.dataDir)
    t.ok(
      writable.some((path) => dataDir.startsWith(`${path}/`)),
      `${dataDir} is on an emptyDir`,
    )
    t.ok(writable.includes('/tmp'), '/tmp is an emptyDir')
    const keys = sts.volumeMounts!.find((m) => m.mountPath === config.keys.dir)
    t.equal(keys?.readOnly, true, 'keys.dir is a read-only mount')
    t.ok(pod.spec!.volumes!.find((v) => v.name === keys?.name)?.secret, 'of a Secret: the PEM keys of an earlier release, to import')
  })

  t.test(`${deployed.name}: no secret value in any object, every Secret reference documented in the README`, async (t) => {
    t.same(
      objects.filter((o) => o.kind === 'Secret'),
      [],
      'no Secret object',
    )
    const documented = documentedSecrets(README)
    for (const env of sts.env ?? []) {
      if (CREDENTIALS.includes(env.name)) t.ok(env.valueFrom?.secretKeyRef, `${env.name} comes from a Secret`)
      if (env.value !== undefined) t.notMatch(env.value, /:\/\/[^/\s]*:[^@/\s]*@|TOKEN|PASSWORD|SECRET/i, `${env.name} holds no credential`)
      const ref = env.valueFrom?.secretKeyRef
      if (!ref) continue
      t.ok(documented.get(ref.name!)?.has(ref.key), `${env.name}: secret ${ref.name} key ${ref.key} is created in README's step`)
      t.equal(ref.optional ?? false, false, `${env.name} is not optional`)
    }
    t.same(
      CREDENTIALS.filter((name) => !(sts.env ?? []).some((e) => e.name === name)),
      [],
      'every credential is referenced',
    )
    for (const volume of pod.spec!.volumes!.filter((v) => v.secret)) {
      t.ok(
        documented.has(volume.secret!.secretName!),
        `volume ${volume.name}: secret ${volume.secret!.secretName} is created in README's step`,
      )
    }
  })

  t.test(`${deployed.name}: three replicas, spread, one disruption at a time, autoscaled within the database's connections`, async (t) => {
    const config = serviceConfig(deployed.configText)
    const labels = pod.metadata!.labels
    t.ok(deployment.spec!.replicas! >= 3)
    t.equal(deployment.spec!.strategy?.rollingUpdate?.maxUnavailable, 0, 'a rollout never loses a serving replica')
    t.ok(selects(deployment.spec!.selector, labels))
    const spread = pod.spec!.topologySpreadConstraints ?? []
    t.same(spread.map((s) => s.topologyKey).sort(), ['kubernetes.io/hostname', 'topology.kubernetes.io/zone'])
    t.ok(
      spread.every((s) => selects(s.labelSelector, labels)),
      'the spread counts these pods',
    )
    const budget = only<IPodDisruptionBudget>(objects, 'PodDisruptionBudget')
    t.ok(selects(budget.spec!.selector, labels))
    t.equal(budget.spec!.maxUnavailable, 1)
    const autoscaler = only<IHorizontalPodAutoscaler>(objects, 'HorizontalPodAutoscaler')
    t.same(autoscaler.spec!.scaleTargetRef, { apiVersion: 'apps/v1', kind: 'Deployment', name: deployment.metadata!.name })
    t.equal(autoscaler.spec!.minReplicas, deployment.spec!.replicas)
    const surge = Number(deployment.spec!.strategy?.rollingUpdate?.maxSurge ?? 1)
    t.ok(
      (autoscaler.spec!.maxReplicas + surge) * config.database.poolSize <= 97,
      "every replica's pool fits Postgres's default max_connections (100, 3 reserved)",
    )
  })

  t.test(`${deployed.name}: the Service, the metrics port, the NetworkPolicy and the ServiceMonitor find the pods`, async (t) =>
    checkTraffic(t, objects),
  )
}

function checkTraffic(t: Test, objects: KubeObject[]): void {
  const deployment = only<IDeployment>(objects, 'Deployment', 'seed-sts')
  const labels = deployment.spec!.template.metadata!.labels
  const sts = container(deployment)
  const service = only<IService>(objects, 'Service', 'seed-sts')
  t.ok(selects({ matchLabels: service.spec!.selector }, labels))
  t.same(
    service.spec!.ports!.map((p) => [p.name, p.port, portNumber(sts, p.targetPort)]),
    [
      ['http', 8080, 8080],
      ['metrics', 9464, 9464],
    ],
  )
  const policy = only<INetworkPolicy>(objects, 'NetworkPolicy')
  t.ok(selects(policy.spec!.podSelector, labels))
  t.same(policy.spec!.policyTypes, ['Ingress', 'Egress'])
  const open = policy.spec!.ingress!.find((rule) => rule.from === undefined)
  t.same(
    open?.ports?.map((p) => p.port),
    ['http'],
    'token requests from anywhere; nothing else',
  )
  const metrics = policy.spec!.ingress!.find((rule) => rule.ports?.some((p) => p.port === 'metrics'))
  t.ok(metrics?.from?.length, 'metrics only from where the rule says')
  t.ok(
    policy.spec!.egress!.some((rule) => rule.ports?.some((p) => p.port === 53)),
    'DNS allowed',
  )
  const monitors = objects.filter((o) => o.kind === 'ServiceMonitor') as unknown as IServiceMonitor[]
  for (const monitor of monitors) {
    t.ok(selects(monitor.spec.selector, service.metadata!.labels))
    t.same(
      monitor.spec.endpoints?.map((e) => [e.port, e.path]),
      [['metrics', '/metrics']],
    )
  }
}

t.test(
  'the example overlay: its namespace everywhere, a pinned image, the restricted Pod Security Standard, a ServiceMonitor',
  { skip: skipRendered },
  async (t) => {
    const objects = deployments.find((d) => d.name === 'kubectl kustomize overlays/example')!.objects
    const namespace = only<KubeObject>(objects, 'Namespace')
    t.equal(namespace.metadata.labels?.['pod-security.kubernetes.io/enforce'], 'restricted')
    t.same(
      objects.filter((o) => o.kind !== 'Namespace' && o.metadata.namespace !== namespace.metadata.name).map((o) => o.kind),
      [],
    )
    const image = container(only<IDeployment>(objects, 'Deployment')).image!
    t.match(image, /^[^:]+\/seed-sts:[\w.-]+$|@sha256:/, 'a registry and a tag or digest')
    t.notMatch(image, /:latest$/)
    t.equal(objects.filter((o) => o.kind === 'ServiceMonitor').length, 1)
  },
)
