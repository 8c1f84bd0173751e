import { appendFile } from 'node:fs/promises'

/** Where exported events go: a batch of JSON lines at a time; throws when they could not be written. */
export interface ExportSink {
  /** `file` or `webhook`: the metrics' label, and the log's. */
  readonly name: string
  write(lines: readonly string[]): Promise<void>
}

/** Appends the lines to a file (a SIEM's agent tails it). */
export class FileSink implements ExportSink {
  readonly name = 'file'
  constructor(private readonly path: string) {}

  write(lines: readonly string[]): Promise<void> {
    return appendFile(this.path, lines.map((line) => `${line}\n`).join(''), { mode: 0o640 })
  }
}

/** POSTs the lines as one application/x-ndjson body; anything but a 2xx is a failure. */
export class WebhookSink implements ExportSink {
  readonly name = 'webhook'
  constructor(
    private readonly url: string,
    private readonly timeoutMs: number,
    private readonly fetcher: typeof fetch = globalThis.fetch,
  ) {}

  async write(lines: readonly string[]): Promise<void> {
    const response = await this.fetcher(this.url, {
      method: 'POST',
      headers: { 'content-type': 'application/x-ndjson' },
      body: lines.map((line) => `${line}\n`).join(''),
      signal: AbortSignal.timeout(this.timeoutMs),
    })
    await response.body?.cancel()
    // The URL is left out: it may carry a secret.
    if (!response.ok) throw new Error(`the export webhook answered ${response.status}`)
  }
}
