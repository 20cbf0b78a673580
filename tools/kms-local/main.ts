import { startLocalKms } from './server.ts'

/**
 * `npm run kms:local`: the local KMS as its own process (development mode starts it this way).
 * KMS_PORT (default 4599), KMS_HOST (default 127.0.0.1), KMS_PERSIST_PATH (optional state file).
 */
const port = Number(process.env.KMS_PORT ?? 4599)
if (!Number.isInteger(port) || port < 0 || port > 65535) {
  console.error(`KMS_PORT must be a port number, got ${process.env.KMS_PORT}`)
  process.exit(1)
}

const host = process.env.KMS_HOST ?? '127.0.0.1'
const kms = await startLocalKms({
  port,
  host,
  persistPath: process.env.KMS_PERSIST_PATH || undefined,
}).catch((error: unknown) => {
  console.error(`local KMS: cannot start on ${host}:${port}: ${(error as Error).message}`)
  process.exit(1)
})
console.log(`local KMS listening on ${kms.url}`)

let stopping = false
for (const signal of ['SIGINT', 'SIGTERM'] as const) {
  process.on(signal, () => {
    if (stopping) return
    stopping = true
    kms.close().then(
      () => process.exit(0),
      (error: unknown) => {
        console.error('local KMS: failed to stop cleanly:', error)
        process.exit(1)
      },
    )
  })
}
