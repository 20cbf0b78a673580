import type { Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { serve } from '@hono/node-server'
import { createApp } from '../../../src/app.ts'
import { coalesceWrites } from '../../../src/http/coalesced-writes.ts'
import { createAwsKmsProvider } from '../../../src/kms/aws-kms.ts'
import type { Clock } from '../../../src/lib/clock.ts'
import { createIdempotencyStore } from '../../../src/storage/idempotency.ts'
import { createEnvelopeResponseSealer } from '../../../src/storage/idempotency-sealer.ts'
import type { Stack } from '../../support/stack.ts'

/**
 * The stack's app with Idempotency-Key support wired in the way deps.ts should wire it: a
 * store on the stack's table and a sealer under the platform KMS key.
 */
export function idempotencyDeps(stack: Stack, clock: Clock = stack.deps.clock) {
  const platformKeyId = 'alias/keystash-platform'
  return {
    store: createIdempotencyStore({ doc: stack.aws.doc, table: stack.table.tableName, clock }),
    sealer: createEnvelopeResponseSealer(
      createAwsKmsProvider({
        client: stack.aws.kms,
        keyId: platformKeyId,
        kek: { provider: 'platform', keyId: platformKeyId, version: 1 },
      }),
    ),
  }
}

export function idempotentApp(stack: Stack, clock?: Clock) {
  return createApp({ ...stack.deps, idempotency: idempotencyDeps(stack, clock) })
}

/** Serves an app on a real port (0: any free one), so clients exercise a real fetch. */
export async function listen(app: { fetch: (request: Request) => Response | Promise<Response> }) {
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
    // As src/main.ts serves.
    coalesceWrites(s as Server)
  })
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve, reject) => {
        ;(server as { closeAllConnections?: () => void }).closeAllConnections?.()
        server.close((error) => (error ? reject(error) : resolve()))
      }),
  }
}
