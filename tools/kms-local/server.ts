import { randomUUID } from 'node:crypto'
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http'
import type { AddressInfo, Socket } from 'node:net'
import { handleAdmin } from './admin.ts'
import { CallLog } from './calls.ts'
import { dispatchKms, dispatchSts, type Reply } from './dispatch.ts'
import { createFaults, type FaultController } from './faults.ts'
import { type AccountDirectory, createAccountDirectory } from './identity.ts'
import { createKeyStore } from './keys.ts'
import { loadState } from './persistence.ts'
import { createSts, type RoleRegistry } from './sts.ts'

/**
 * A local stand-in for AWS KMS (JSON 1.1 protocol) and the bit of STS that goes with it, so the
 * unmodified AWS SDK runs end to end in development and tests. Never used in production.
 */
export interface LocalKmsOptions {
  /** 0 (the default) picks a free port. */
  port?: number
  /** Default 127.0.0.1. */
  host?: string
  /** JSON state file; keys survive restarts. In memory when absent. */
  persistPath?: string
  /** Account of callers not given one with `accounts.set`. Default 111122223333. */
  defaultAccountId?: string
}

export interface LocalKms {
  url: string
  port: number
  faults: FaultController
  calls: CallLog
  /** Which AWS account an access key id belongs to (a tenant's account, say). */
  accounts: AccountDirectory
  /** Roles that STS AssumeRole can hand out credentials for. */
  roles: RoleRegistry
  close(): Promise<void>
}

export type { CallFilter, KmsCall } from './calls.ts'
export type { FaultScope, FaultSpec } from './faults.ts'
export type { RoleDefinition } from './sts.ts'

const maxBodyBytes = 1024 * 1024

export async function startLocalKms(options: LocalKmsOptions = {}): Promise<LocalKms> {
  const { persistPath, host = '127.0.0.1' } = options
  const now = () => Date.now()
  const store = createKeyStore({
    persistPath,
    initial: persistPath ? loadState(persistPath) : undefined,
    now,
  })
  if (persistPath) store.flush()
  const accounts = createAccountDirectory(options.defaultAccountId ?? '111122223333')
  const sts = createSts(now)
  const calls = new CallLog()

  const server = createServer((req, res) => {
    handle(req, res).catch((error: unknown) => {
      console.error('local KMS: unexpected error:', error)
      if (!res.headersSent) res.writeHead(500)
      res.end()
    })
  })
  let port = options.port ?? 0
  let closed = false
  const sockets = new Set<Socket>()
  server.on('connection', (socket) => {
    sockets.add(socket)
    socket.once('close', () => sockets.delete(socket))
  })
  const listener = {
    async start() {
      if (closed) throw new Error('the local KMS is closed')
      if (server.listening) return
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject)
        server.listen(port, host, () => {
          server.off('error', reject)
          resolve()
        })
      })
      port = (server.address() as AddressInfo).port
    },
    /**
     * Stops listening at once (new connections are refused) and drops open connections, but
     * for `except`, which may finish its answer. Keep-alive sockets would otherwise go on
     * serving the SDK's pooled connections.
     */
    async stop(except?: Socket) {
      if (!server.listening) return
      const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
      for (const socket of sockets) if (socket !== except) socket.destroy()
      await stopped
      // Lets clients in this process (tests) see their pooled sockets close (read EOF, shut
      // down, close: a few turns of the event loop), so their next request opens a new
      // connection and meets ECONNREFUSED rather than a reset.
      for (let turn = 0; turn < 4; turn++) await new Promise((resolve) => setImmediate(resolve))
    },
  }
  const faults = createFaults(listener)
  const deps = { store, accounts, sts, calls, faults, now }

  async function handle(req: IncomingMessage, res: ServerResponse): Promise<void> {
    const body = await readBody(req)
    if (body === undefined)
      return send(res, { status: 413, contentType: 'text/plain', body: 'Request too large' })
    const url = new URL(req.url ?? '/', 'http://local')
    const path = url.pathname
    if (path.startsWith('/_local/')) {
      const method = req.method ?? 'GET'
      const query = url.searchParams
      return send(
        res,
        await handleAdmin({ method, path, query, body, faults, calls, listener, res }),
      )
    }
    if (req.method === 'POST' && req.headers['x-amz-target'] !== undefined) {
      return send(res, await dispatchKms(deps, req.headers, body))
    }
    if (req.method === 'POST' && /^Action=|&Action=/.test(body)) {
      return send(res, await dispatchSts(deps, req.headers, body))
    }
    send(res, { status: 404, contentType: 'text/plain', body: 'Not a KMS or STS request' })
  }

  await listener.start()
  return {
    url: `http://${host.includes(':') ? `[${host}]` : host}:${port}`,
    port,
    faults,
    calls,
    accounts,
    roles: sts.roles,
    async close() {
      faults.clear()
      await listener.stop()
      closed = true
    },
  }
}

/** The body as text, or undefined when it is larger than any KMS request can be. */
async function readBody(req: IncomingMessage): Promise<string | undefined> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of req) {
    size += (chunk as Buffer).length
    if (size <= maxBodyBytes) chunks.push(chunk as Buffer)
  }
  return size > maxBodyBytes ? undefined : Buffer.concat(chunks).toString('utf8')
}

function send(res: ServerResponse, reply: Reply): void {
  // A refused-connections fault may have dropped the socket while the reply was delayed.
  if (res.destroyed) return
  res.writeHead(reply.status, {
    'content-type': reply.contentType,
    'content-length': Buffer.byteLength(reply.body),
    'x-amzn-requestid': randomUUID(),
  })
  res.end(reply.body)
}
