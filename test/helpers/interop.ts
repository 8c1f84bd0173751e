import { existsSync } from 'node:fs'
import { join, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'

/**
 * The team's real attestation samples (shared/interop, with a README of where each came from): from
 * STS_INTEROP_DIR when set (.ci/run sets it for a clone that is not beside shared/), else
 * ../shared/interop beside this repository.
 */
export const INTEROP_DIR = resolve(process.env.STS_INTEROP_DIR ?? fileURLToPath(new URL('../../../shared/interop/', import.meta.url)))

/**
 * The folder of one kind of sample, with a trailing separator. Missing samples are a failure, never a
 * skip: without them a test file would pass while testing nothing.
 */
export function interopDir(kind: string): string {
  const dir = join(INTEROP_DIR, kind)
  if (!existsSync(dir)) throw new Error(`the interop samples are missing: expected them in ${dir} (set STS_INTEROP_DIR to the shared/interop folder)`)
  return `${dir}/`
}
