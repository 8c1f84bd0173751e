import { createConnection } from 'node:net'
import { AbstractConnector } from 'ioredis'
import type { RedisOptions } from 'ioredis'

type ConnectorClass = NonNullable<RedisOptions['Connector']>

/**
 * An ioredis connector that connects to the next of `nodes` every time it is asked: the connection it
 * serves reconnects (by its retry strategy) to another node after each drop, so a node that failed is
 * left behind. For a subscription on a Cluster, where any node hears every classic PUBLISH.
 */
export function nodeRotatingConnector(nodes: readonly { host: string; port: number }[]): ConnectorClass {
  if (nodes.length === 0) throw new TypeError('nodeRotatingConnector needs at least one node')
  let next = 0
  return class NodeRotatingConnector extends AbstractConnector {
    constructor(options: unknown) {
      super((options as RedisOptions).disconnectTimeout ?? 2000)
    }

    connect(): Promise<typeof this.stream> {
      const node = nodes[next++ % nodes.length]
      this.connecting = true
      // As ioredis's own connector: the stream is made on the next tick, unless disconnected meanwhile.
      return new Promise((resolve, reject) => {
        process.nextTick(() => {
          if (!this.connecting) {
            reject(new Error('Connection is closed.'))
            return
          }
          this.stream = createConnection({ host: node.host, port: node.port })
          this.stream.once('error', (error: Error) => {
            this.firstError = error
          })
          resolve(this.stream)
        })
      })
    }
  }
}
