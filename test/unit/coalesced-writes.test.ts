import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http'
import { type AddressInfo, connect } from 'node:net'
import { afterEach, describe, expect, it } from 'vitest'
import { coalesceWrites } from '../../src/http/coalesced-writes.ts'

type Handler = (req: IncomingMessage, res: ServerResponse) => void

let server: Server | undefined
afterEach(async () => {
  server?.closeAllConnections()
  await new Promise((resolve) => server?.close(resolve))
  server = undefined
})

async function serveWith(handler: Handler): Promise<string> {
  server = createServer(handler)
  coalesceWrites(server)
  await new Promise<void>((resolve) => server?.listen(0, '127.0.0.1', resolve))
  return `127.0.0.1:${(server.address() as AddressInfo).port}`
}

/** Writes raw bytes on one connection and collects what comes back until the server closes it. */
function exchange(address: string, raw: string): Promise<string> {
  const [host, port] = address.split(':')
  return new Promise((resolve, reject) => {
    const socket = connect(Number(port), host, () => socket.write(raw))
    let received = ''
    socket.setEncoding('utf8').on('data', (chunk: string) => {
      received += chunk
    })
    socket.on('end', () => resolve(received)).on('error', reject)
  })
}

describe('coalesceWrites', () => {
  it('holds an ended response until the end of the turn, then sends it', async () => {
    const seen: Array<{ buffered: number; afterTurn?: number }> = []
    const address = await serveWith((_req, res) => {
      res.end('hello')
      const socket = res.socket
      const entry: { buffered: number; afterTurn?: number } = {
        buffered: socket?.writableLength ?? -1,
      }
      seen.push(entry)
      setImmediate(() => {
        // The flush was scheduled first, so it has run by now.
        entry.afterTurn = socket?.writableLength ?? -1
      })
    })
    const answers = await Promise.all(
      Array.from({ length: 8 }, () => fetch(`http://${address}/`).then((r) => r.text())),
    )
    expect(answers).toEqual(Array(8).fill('hello'))
    expect(seen).toHaveLength(8)
    for (const entry of seen) {
      // Uncoalesced, end() would have written it to the kernel already.
      expect(entry.buffered).toBeGreaterThan(0)
      expect(entry.afterTurn).toBe(0)
    }
  })

  it('answers pipelined requests on one connection in order', async () => {
    const address = await serveWith((req, res) => {
      res.end(`answer to ${req.url}`)
    })
    const request = (path: string, last = false) =>
      `GET ${path} HTTP/1.1\r\nHost: x\r\n${last ? 'Connection: close\r\n' : ''}\r\n`
    const raw = await exchange(address, request('/1') + request('/2') + request('/3', true))
    const bodies = raw.match(/answer to \/\d/g)
    expect(bodies).toEqual(['answer to /1', 'answer to /2', 'answer to /3'])
    expect(raw.match(/HTTP\/1\.1 200 OK/g)).toHaveLength(3)
  })

  it('streams a large response that waits for drain, whole and in order', async () => {
    const chunk = 'x'.repeat(64 * 1024)
    const chunks = 64 // 4 MiB, far past the socket's high-water mark
    const address = await serveWith((_req, res) => {
      let sent = 0
      const more = () => {
        while (sent < chunks) {
          const ok = res.write(`${String(sent).padStart(8, '0')}${chunk}`)
          sent++
          if (!ok) return void res.once('drain', more)
        }
        res.end()
      }
      more()
    })
    const body = await (await fetch(`http://${address}/`)).text()
    expect(body.length).toBe(chunks * (8 + chunk.length))
    for (let i = 0; i < chunks; i++) {
      const at = i * (8 + chunk.length)
      expect(body.slice(at, at + 8)).toBe(String(i).padStart(8, '0'))
    }
  })

  it('survives a client that leaves before the flush, and keeps serving', async () => {
    let ended = 0
    let leave: (() => void) | undefined
    const address = await serveWith((req, res) => {
      if (req.url === '/leaving') {
        // The client is gone by the time this turn's flush runs.
        leave?.()
        res.socket?.destroy()
        res.end('too late')
      } else res.end('still here')
      ended++
    })
    const [host, port] = address.split(':')
    await new Promise<void>((resolve) => {
      const socket = connect(Number(port), host, () =>
        socket.write('GET /leaving HTTP/1.1\r\nHost: x\r\n\r\n'),
      )
      leave = () => socket.destroy()
      socket.on('close', () => resolve()).on('error', () => {})
    })
    expect(await (await fetch(`http://${address}/`)).text()).toBe('still here')
    expect(ended).toBe(2)
  })

  it('still closes a connection that asked for it, after its response', async () => {
    const address = await serveWith((_req, res) => {
      res.end('bye')
    })
    const raw = await exchange(address, 'GET / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n')
    expect(raw).toMatch(/^HTTP\/1\.1 200 OK/)
    expect(raw).toMatch(/Connection: close/i)
    expect(raw.endsWith('bye')).toBe(true)
  })
})
