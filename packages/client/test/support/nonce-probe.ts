/**
 * One process of the race in test/attestations/aws-nonce.test.ts. It says "ready", waits for the
 * starting signal (a file appearing), then prints the nonce it ends up with: every process starts
 * within a few milliseconds of the others, whatever each took to load.
 */
import { existsSync } from 'node:fs'
import { setTimeout as sleep } from 'node:timers/promises'
import { readOrCreateNonce } from '../../src/attestations/aws-nonce.js'

const [path, go] = process.argv.slice(2)
if (path === undefined || go === undefined) throw new Error('usage: nonce-probe.ts <nonce path> <go file>')
console.log('ready')
while (!existsSync(go)) await sleep(1)
console.log(await readOrCreateNonce(path))
