import { createServer, type IncomingHttpHeaders } from 'node:http'
import type { AddressInfo } from 'node:net'

export interface ReceivedWebhook {
  headers: IncomingHttpHeaders
  body: string
}

/** What the receiver does with the next request: answer with a status, or never answer. */
export type ReceiverAnswer = number | 'hang'

/**
 * A real HTTP receiver on 127.0.0.1 for webhook tests. It answers 200 unless told otherwise
 * (`answers` is consumed one per request) and remembers every request, in order.
 */
export async function startWebhookReceiver() {
  const received: ReceivedWebhook[] = []
  const answers: ReceiverAnswer[] = []
  const waiting: Array<() => void> = []
  const hanging = new Set<() => void>()
  let abandoned = 0
  const server = createServer((req, res) => {
    const chunks: Buffer[] = []
    req.on('data', (chunk: Buffer) => chunks.push(chunk))
    req.on('end', () => {
      received.push({ headers: req.headers, body: Buffer.concat(chunks).toString('utf8') })
      for (const wake of waiting.splice(0)) wake()
      const answer = answers.shift() ?? 200
      if (answer === 'hang') {
        const release = () => res.writeHead(200).end()
        hanging.add(release)
        // The sender gave up (its timeout) before we answered.
        res.on('close', () => {
          if (hanging.delete(release)) abandoned++
        })
        return
      }
      // A redirect points where a sender must never be led: the cloud metadata service.
      const redirect = answer >= 300 && answer < 400
      res
        .writeHead(answer, {
          'content-type': 'text/plain',
          ...(redirect ? { location: 'http://169.254.169.254/latest/meta-data/' } : {}),
        })
        .end('ok')
    })
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.address() as AddressInfo
  return {
    url: `http://127.0.0.1:${port}/hooks`,
    received,
    answers,
    /** Requests the sender gave up on while the receiver was hanging. */
    get abandoned() {
      return abandoned
    },
    get hanging() {
      return hanging.size
    },
    /** Resolves once at least `count` requests have arrived. */
    async waitFor(count: number): Promise<void> {
      while (received.length < count) await new Promise<void>((wake) => waiting.push(wake))
    },
    async close(): Promise<void> {
      for (const release of hanging) release()
      hanging.clear()
      server.closeAllConnections()
      await new Promise<void>((resolve) => server.close(() => resolve()))
    },
  }
}

export type WebhookReceiver = Awaited<ReturnType<typeof startWebhookReceiver>>
