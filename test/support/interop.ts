import { existsSync } from 'node:fs'
import { join } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * Real attestation samples published by others, copied into this repository with their sources and
 * licences (test/fixtures/interop/README.md), so a clone of the repository alone runs every test.
 */
export const INTEROP_DIR = fileURLToPath(new URL('../fixtures/interop/', import.meta.url)).replace(/\/$/, '')

/**
 * The folder of one kind of sample, with a trailing separator. Missing samples are a failure, never a
 * skip: without them a test file would pass while testing nothing.
 */
export function interopDir(kind: string): string {
  const dir = join(INTEROP_DIR, kind)
  if (!existsSync(dir)) throw new Error(`the interop samples are missing: expected them in ${dir}`)
  return `${dir}/`
}
