import { readFileSync } from 'node:fs'
import { join } from 'node:path'
import type { IDeployment } from 'kubernetes-models/apps/v1/Deployment'
import type { IContainer } from 'kubernetes-models/v1/Container'
import type { IService } from 'kubernetes-models/v1/Service'
import type { IServiceAccount } from 'kubernetes-models/v1/ServiceAccount'
import t from 'tap'
import { parse as parseYaml } from 'yaml'
import { parseConfig } from '../../src/config.js'
import { only, rawObjects, readmeSection, readObjects, REPOSITORY } from '../support/kubernetes-manifests.js'

/**
 * The example workload gets its token the way the README says, from the STS the overlay deploys: its
 * projected token carries the configured audience, it posts the README's token request to the
 * Service's address, and the identity the README grants is the one it will have.
 */
const KUBERNETES = join(REPOSITORY, 'deploy', 'kubernetes')
const FILE = join(KUBERNETES, 'examples', 'token-client.yaml')
const example = readObjects(readFileSync(FILE, 'utf8'), FILE)
const deployment = only<IDeployment>(example, 'Deployment')
const pod = deployment.spec!.template.spec!
const sidecar = pod.initContainers!.find((c) => c.name === 'sts-token')!
const script = sidecar.args!.join('\n')
const overlay = join(KUBERNETES, 'overlays', 'example')
const config = parseConfig(parseYaml(readFileSync(join(overlay, 'config.yaml'), 'utf8')))
const namespace = (parseYaml(readFileSync(join(overlay, 'kustomization.yaml'), 'utf8')) as { namespace: string }).namespace

t.test('the projected service-account token is for the STS audience, and is the token the script presents', async (t) => {
  const volume = pod.volumes!.find((v) => v.projected)!
  const token = volume.projected!.sources!.find((s) => s.serviceAccountToken)!.serviceAccountToken!
  t.equal(token.audience, config.audience, "the configuration's audience")
  t.equal(token.audience, parseConfig(parseYaml(readFileSync(join(KUBERNETES, 'base', 'config.yaml'), 'utf8'))).audience)
  const attestor = config.attestors[0]
  t.equal(attestor.kind, 'kubernetes')
  const longest = attestor.kind === 'kubernetes' ? attestor.maxTokenLifetimeSeconds : 0
  t.ok(token.expirationSeconds! >= 600 && token.expirationSeconds! <= longest, 'a lifetime Kubernetes allows and the attestor accepts')
  const mount = sidecar.volumeMounts!.find((m) => m.name === volume.name)!
  t.match(script, `--data-urlencode subject_token@${mount.mountPath}/${token.path}`)
  t.equal(mount.readOnly, true)
})

t.test("the script sends README's token request to the Service the overlay deploys", async (t) => {
  const request = /```sh\n(curl -s http:\/\/localhost:8080\/oauth2\/token[\s\S]*?)```/.exec(readmeSection('### The token request'))![1]
  for (const parameter of [
    'grant_type=urn:ietf:params:oauth:grant-type:token-exchange',
    'subject_token_type=urn:ietf:params:oauth:token-type:jwt',
  ]) {
    t.match(request, `-d ${parameter}`, 'in the README')
    t.match(script, `-d ${parameter}`, 'in the script')
  }
  const service = only<IService>(rawObjects(join(KUBERNETES, 'base')), 'Service')
  const port = service.spec!.ports!.find((p) => p.name === 'http')!.port
  const url = sidecar.env!.find((e) => e.name === 'STS_TOKEN_URL')!.value
  t.equal(url, `http://${service.metadata!.name}.${namespace}.svc.cluster.local:${port}/oauth2/token`)
  t.match(script, '"$STS_TOKEN_URL"')
})

t.test('the identity the README grants is the one the workload gets', async (t) => {
  const account = only<IServiceAccount>(example, 'ServiceAccount')
  t.equal(pod.serviceAccountName, account.metadata!.name)
  const identity = `spiffe://${config.trustDomain}/k8s/${config.attestors[0].name}/ns/demo/sa/${account.metadata!.name}`
  t.match(readmeSection('### Kubernetes'), `"subject":"${identity}"`)
  t.match(readFileSync(FILE, 'utf8'), identity, 'and the file says which')
})

t.test('the workload runs as a non-root user on a read-only root filesystem, with no API credentials', async (t) => {
  t.equal(pod.securityContext?.runAsNonRoot, true)
  t.not(pod.securityContext?.runAsUser, 0)
  t.equal(pod.securityContext?.seccompProfile?.type, 'RuntimeDefault')
  t.equal(pod.automountServiceAccountToken, false)
  const containers: IContainer[] = [...pod.initContainers!, ...pod.containers]
  for (const c of containers) {
    t.equal(c.securityContext?.readOnlyRootFilesystem, true, c.name)
    t.equal(c.securityContext?.allowPrivilegeEscalation, false, c.name)
    t.same(c.securityContext?.capabilities?.drop, ['ALL'], c.name)
  }
  t.equal(sidecar.restartPolicy, 'Always', 'a native sidecar: it keeps the token current')
  t.same(sidecar.startupProbe?.exec?.command, ['test', '-s', '/var/run/sts/access-token'], 'the application starts once there is a token')
  t.notMatch(script, /echo[^\n]*\$token/, 'the token is never printed')
})
