import { spawnSync } from 'node:child_process'
import { readFileSync, statSync } from 'node:fs'
import { dirname, join, resolve } from 'node:path'
import { parseAllDocuments, parse as parseYaml } from 'yaml'

/** A Kubernetes object as read from YAML: what every one has, and the rest unchecked until validated. */
export interface KubeObject {
  apiVersion: string
  kind: string
  metadata: { name: string; namespace?: string; labels?: Record<string, string> }
  [field: string]: unknown
}

/** Every object of a YAML stream (`---`-separated), empty documents left out. */
export function readObjects(text: string, source: string): KubeObject[] {
  return parseAllDocuments(text).flatMap((document, index) => {
    if (document.errors.length > 0) throw new Error(`${source} document ${index}: ${document.errors[0].message}`)
    const value = document.toJS() as KubeObject | null
    return value === null ? [] : [value]
  })
}

interface Kustomization {
  resources?: string[]
  components?: string[]
}

/**
 * The YAML files a kustomization lists as resources, its components' included, through the
 * directories it names, as kustomize would read them (generated objects and patches are kustomize's:
 * renderKustomize has them).
 */
export function kustomizationFiles(dir: string): string[] {
  const kustomization = parseYaml(readFileSync(join(dir, 'kustomization.yaml'), 'utf8')) as Kustomization
  return [...(kustomization.resources ?? []), ...(kustomization.components ?? [])].flatMap((entry) => {
    const path = resolve(dir, entry)
    return statSync(path).isDirectory() ? kustomizationFiles(path) : [path]
  })
}

/** The objects of the resource files of a kustomization, as written. */
export function rawObjects(dir: string): KubeObject[] {
  return kustomizationFiles(dir).flatMap((file) => readObjects(readFileSync(file, 'utf8'), file))
}

/** `kubectl kustomize <dir>`'s objects, or why it could not run (no kubectl here). */
export function renderKustomize(dir: string): KubeObject[] | { skipped: string } {
  const result = spawnSync('kubectl', ['kustomize', dir], { encoding: 'utf8', timeout: 60_000 })
  if ((result.error as NodeJS.ErrnoException | undefined)?.code === 'ENOENT') {
    return { skipped: 'kubectl is not installed: the overlay is not rendered (its files are still validated one by one)' }
  }
  if (result.status !== 0) throw new Error(`kubectl kustomize ${dir} failed: ${result.stderr}`)
  return readObjects(result.stdout, `kubectl kustomize ${dir}`)
}

/** Where the model (class and schema) of an apiVersion and kind is: kubernetes-models, and its CRD packages. */
function modelModule(apiVersion: string, kind: string): string {
  if (apiVersion.startsWith('monitoring.coreos.com/')) return `@kubernetes-models/prometheus-operator/${apiVersion}/${kind}`
  return `kubernetes-models/${apiVersion}/${kind}`
}

type ModelClass = new (data: unknown) => { validate(): void }

/** The problems the Kubernetes API schema of its kind finds in `object` (types, required fields, enums, formats). */
export async function schemaProblems(object: KubeObject): Promise<string[]> {
  let model: ModelClass | undefined
  try {
    const loaded = (await import(modelModule(object.apiVersion, object.kind))) as Record<string, ModelClass | undefined>
    model = loaded[object.kind]
  } catch {
    model = undefined
  }
  if (!model) return [`no schema known for ${object.apiVersion} ${object.kind}`]
  try {
    new model(object).validate()
    return []
  } catch (error) {
    return [(error as Error).message]
  }
}

/** The TypeScript declaration module and interface of a kind, for the strict field check. */
export function modelType(object: KubeObject): { module: string; name: string } {
  return { module: modelModule(object.apiVersion, object.kind), name: `I${object.kind}` }
}

/** The repository, for paths in messages and for kubectl. */
export const REPOSITORY = resolve(dirname(new URL(import.meta.url).pathname), '..', '..')

/** The one object of `kind` (and `name`) among `objects`; throws when there is not exactly one. */
export function only<T>(objects: KubeObject[], kind: string, name?: string): T {
  const found = objects.filter((o) => o.kind === kind && (name === undefined || o.metadata.name === name))
  if (found.length !== 1) throw new Error(`expected one ${kind}${name ? ` ${name}` : ''}, found ${found.length}`)
  return found[0] as T
}

/** Whether a label selector's matchLabels all hold on `labels` (an empty selector is refused here). */
export function selects(
  selector: { matchLabels?: Record<string, string> } | undefined,
  labels: Record<string, string> | undefined,
): boolean {
  const wanted = Object.entries(selector?.matchLabels ?? {})
  return wanted.length > 0 && wanted.every(([key, value]) => labels?.[key] === value)
}

/** The text of a README section: from its heading line to the next heading of the same or a higher level. */
export function readmeSection(heading: string): string {
  const text = readFileSync(join(REPOSITORY, 'README.md'), 'utf8')
  const start = text.indexOf(`\n${heading}\n`)
  if (start < 0) throw new Error(`README.md has no "${heading}"`)
  const level = /^#+/.exec(heading)![0].length
  const rest = text.slice(start + heading.length + 2)
  const end = rest.search(new RegExp(`^#{1,${level}} `, 'm'))
  return end < 0 ? rest : rest.slice(0, end)
}

/** The Secrets the README's commands create: `kubectl ... create secret generic NAME --from-literal=KEY=... --from-file=FILE`. */
export function documentedSecrets(text: string): Map<string, Set<string>> {
  const secrets = new Map<string, Set<string>>()
  const commands = text.replace(/\\\n\s*/g, ' ').split('\n')
  for (const command of commands) {
    const name = /create secret generic (\S+)/.exec(command)?.[1]
    if (name === undefined) continue
    const keys = new Set<string>()
    for (const [, key] of command.matchAll(/--from-literal=([^=\s]+)=/g)) keys.add(key)
    for (const [, file] of command.matchAll(/--from-file=(\S+)/g))
      keys.add(file.includes('=') ? file.split('=')[0] : file.split('/').pop()!)
    secrets.set(name, keys)
  }
  return secrets
}
