import { serve } from '@hono/node-server'
import { Hono } from 'hono'

/**
 * The ceiling of the stack: Hono on @hono/node-server doing nothing but answering. Run by the
 * bench in its own process; listens on PORT and HOST.
 */
const app = new Hono()
app.get('/', (c) => c.text('Hello, world'))

serve({
  fetch: app.fetch,
  port: Number(process.env.PORT ?? 8788),
  hostname: process.env.HOST ?? '127.0.0.1',
})
