import { SpanKind, SpanStatusCode, type Tracer } from '@opentelemetry/api'
import type { SpanScope } from './span-scope.js'

export const REDIS_SPAN = 'redis.command'

/** An ioredis command, as far as a span needs it: its name (never its arguments) and its answer. */
interface SentCommand {
  name: string
  promise: Promise<unknown>
}

/** A connection whose commands all pass through `sendCommand` (ioredis's Redis and Cluster). */
export interface CommandSender {
  sendCommand(command: never, ...rest: never[]): unknown
}

/** Attaches command spans to a Redis connection as it is opened (src/lib/redis-connection.ts). */
export interface RedisCommandTracer {
  attach(connection: CommandSender): void
}

/**
 * A CLIENT span (`redis.command`) around each command sent inside a traced exchange: the budget per
 * identity, the single-use claim. ioredis has no hook for this, so the connection's own `sendCommand`
 * is wrapped (as OpenTelemetry's ioredis instrumentation patches its prototype, here one connection at a
 * time, and only when tracing is on). The span carries the command's name only: its arguments are
 * keys that name identities and attestations. Commands outside an exchange make no span. A command
 * auto-pipelined (the replay guard's) is sent from the batch it joined, so it may be shown under the
 * exchange whose command opened that batch.
 */
export function tracedRedisCommands(tracer: Tracer, scope: SpanScope): RedisCommandTracer {
  return {
    attach(connection) {
      const target = connection as unknown as { sendCommand: (command: SentCommand, ...rest: unknown[]) => unknown }
      const send = target.sendCommand.bind(target)
      target.sendCommand = (command, ...rest) => {
        const parent = scope.current()
        if (parent === undefined) return send(command, ...rest)
        const span = tracer.startSpan(
          REDIS_SPAN,
          {
            kind: SpanKind.CLIENT,
            attributes: { 'db.system': 'redis', 'db.system.name': 'redis', 'db.operation.name': command.name.toUpperCase() },
          },
          parent,
        )
        command.promise.then(
          () => span.end(),
          (error: unknown) => {
            span.setStatus({ code: SpanStatusCode.ERROR, message: error instanceof Error ? error.name : 'error' })
            span.end()
          },
        )
        return send(command, ...rest)
      }
    },
  }
}
