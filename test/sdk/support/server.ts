import { type ClientOptions, Keystash } from '../../../sdk/src/index.ts'
import { client, type Stack, signup, startStack } from '../../support/stack.ts'
import { idempotentApp, listen } from './app.ts'

export interface SdkServer {
  stack: Stack
  url: string
  /** A new organization and its session token. */
  signup(): Promise<{ session: string; tenantId: string }>
  /** A client for this server, with fast retries unless told otherwise. */
  client(token: string, options?: ClientOptions): Keystash
  close(): Promise<void>
}

/** The real app (with Idempotency-Key support) on a real port, for the SDK to talk to. */
export async function startSdkServer(env: Record<string, string> = {}): Promise<SdkServer> {
  const stack = await startStack({ env })
  const app = idempotentApp(stack)
  const server = await listen(app)
  return {
    stack,
    url: server.url,
    signup: () => signup(client(app)),
    client: (token, options = {}) =>
      new Keystash({
        baseUrl: server.url,
        token,
        backoff: { initialDelayMs: 10, maxDelayMs: 50 },
        ...options,
      }),
    close: async () => {
      await server.close()
      await stack.close()
    },
  }
}
