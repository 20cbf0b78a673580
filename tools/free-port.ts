import { createServer } from 'node:net'

/**
 * Asks the kernel for a port nobody listens on. Another process may take it between this call
 * and the moment the caller binds it, so callers that pick ports this way should retry on
 * "address in use".
 */
export function findFreePort(host = '127.0.0.1'): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer()
    server.unref()
    server.on('error', reject)
    server.listen(0, host, () => {
      const address = server.address()
      const port = typeof address === 'object' && address !== null ? address.port : 0
      server.close(() => (port > 0 ? resolve(port) : reject(new Error('No free port found'))))
    })
  })
}
