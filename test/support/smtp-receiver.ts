import type { AddressInfo } from 'node:net'
import { SMTPServer } from 'smtp-server'

export interface ReceivedMail {
  to: string[]
  from: string
  /** The raw message (headers and body) as the server sent it. */
  raw: string
  /** The body with its quoted-printable encoding undone (the links are whole again). */
  text: string
}

/**
 * A real SMTP receiver on 127.0.0.1 (the `smtp-server` package) for tests of outgoing mail:
 * plain SMTP, no authentication, every message kept in order.
 */
export async function startSmtpReceiver() {
  const received: ReceivedMail[] = []
  const waiting: Array<() => void> = []
  const server = new SMTPServer({
    authOptional: true,
    disabledCommands: ['STARTTLS', 'AUTH'],
    logger: false,
    onData(stream, session, callback) {
      const chunks: Buffer[] = []
      stream.on('data', (chunk: Buffer) => chunks.push(chunk))
      stream.on('end', () => {
        const raw = Buffer.concat(chunks).toString('utf8')
        received.push({
          to: session.envelope.rcptTo.map((r) => r.address),
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          raw,
          text: decodeQuotedPrintable(raw.slice(raw.indexOf('\r\n\r\n') + 4)),
        })
        for (const wake of waiting.splice(0)) wake()
        callback()
      })
    },
  })
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve))
  const { port } = server.server.address() as AddressInfo
  return {
    url: `smtp://127.0.0.1:${port}`,
    received,
    /** The next message to `to` (one already received counts), awaited without polling. */
    async mailTo(to: string): Promise<ReceivedMail> {
      for (;;) {
        const found = received.find((m) => m.to.includes(to))
        if (found) return found
        await new Promise<void>((resolve) => waiting.push(resolve))
      }
    },
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}

export type SmtpReceiver = Awaited<ReturnType<typeof startSmtpReceiver>>

function decodeQuotedPrintable(body: string): string {
  return body
    .replace(/=\r?\n/g, '')
    .replace(/=([0-9A-F]{2})/g, (_, hex: string) => String.fromCharCode(Number.parseInt(hex, 16)))
}

/** The first link to `path` in a message, with its fragment. */
export function linkIn(mail: ReceivedMail, path: string): string {
  const match = new RegExp(`https?://[^\\s]+${path.replace(/\//g, '\\/')}#[\\w.-]+`).exec(mail.text)
  if (!match) throw new Error(`no ${path} link in the message`)
  return match[0]
}
