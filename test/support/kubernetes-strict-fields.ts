import { join } from 'node:path'
import ts from 'typescript'
import { modelType, REPOSITORY, type KubeObject } from './kubernetes-manifests.js'

/**
 * Fields the API does not know (`livenesProbe`, a `port` one level too deep): the schemas' validators
 * accept any extra field, as the API server quietly drops them, so a misspelt field would pass. The
 * models' TypeScript declarations list every field of every type: each object is type-checked as an
 * object literal of its kind's interface, where an unknown field is an error (kubeconform's -strict).
 *
 * Returns, per object, the compiler's messages about it.
 */
export function unknownFieldProblems(objects: KubeObject[]): string[][] {
  // A file in the repository, so that `kubernetes-models/...` resolves to its node_modules.
  const file = join(REPOSITORY, 'test', 'deploy', '__manifests_as_typescript__.ts')
  const aliases = new Map<string, string>()
  const imports: string[] = []
  const statements = objects.map((object, index) => {
    const { module, name } = modelType(object)
    let alias = aliases.get(module)
    if (alias === undefined) {
      alias = `T${aliases.size}`
      aliases.set(module, alias)
      imports.push(`import type { ${name} as ${alias} } from '${module}'`)
    }
    return `export const object${index}: ${alias} = ${JSON.stringify(object, null, 2)}\n`
  })
  const header = imports.join('\n') + '\n'
  const source = header + statements.join('')
  // The line each object starts on, to give each message to its object.
  const starts: number[] = []
  let line = header.split('\n').length - 1
  for (const statement of statements) {
    starts.push(line)
    line += statement.split('\n').length - 1
  }

  const options: ts.CompilerOptions = {
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    target: ts.ScriptTarget.ES2022,
    strict: true,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  }
  const host = ts.createCompilerHost(options)
  const getSourceFile = host.getSourceFile.bind(host)
  host.getSourceFile = (name, version, ...rest) =>
    name === file ? ts.createSourceFile(name, source, version) : getSourceFile(name, version, ...rest)
  const fileExists = host.fileExists.bind(host)
  host.fileExists = (name) => name === file || fileExists(name)
  const readFile = host.readFile.bind(host)
  host.readFile = (name) => (name === file ? source : readFile(name))

  const program = ts.createProgram([file], options, host)
  const problems: string[][] = objects.map(() => [])
  for (const diagnostic of ts.getPreEmitDiagnostics(program)) {
    const message = ts.flattenDiagnosticMessageText(diagnostic.messageText, '\n')
    if (diagnostic.file?.fileName !== file || diagnostic.start === undefined) {
      // A module not found or a broken declaration: every object is in doubt.
      for (const list of problems) list.push(message)
      continue
    }
    const at = diagnostic.file.getLineAndCharacterOfPosition(diagnostic.start).line
    const index = starts.findLastIndex((start) => start <= at)
    problems[Math.max(index, 0)].push(`line ${at - starts[Math.max(index, 0)] + 1}: ${message}`)
  }
  return problems
}
