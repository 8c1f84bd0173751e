import { readFileSync } from 'node:fs'

/** A sample of test/fixtures (see its README for where each comes from), exactly as published. */
export function fixture(name: string): string {
  return readFileSync(new URL(`../fixtures/${name}`, import.meta.url), 'utf8')
}
