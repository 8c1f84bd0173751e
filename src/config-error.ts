/**
 * A configuration the service cannot start with, every problem named. In a module of its own so that
 * attestors, whose schemas config.ts imports, can throw it without an import cycle.
 */
export class ConfigError extends Error {
  constructor(readonly problems: string[]) {
    super(`invalid configuration:\n${problems.map((p) => `  - ${p}`).join('\n')}`)
    this.name = 'ConfigError'
  }
}
