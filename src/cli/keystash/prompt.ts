import type { Context } from './context.ts'
import { CliError, EXIT } from './errors.ts'

const MAX_STDIN_BYTES = 1024 * 1024
/** What a shell reports for a command ended by Ctrl-C (128 + SIGINT). */
const SIGINT_EXIT = 130

/** All of standard input (bounded: a value is at most 16 KiB, a .env file a few KiB). */
export async function readStdin(ctx: Context): Promise<string> {
  const chunks: Buffer[] = []
  let size = 0
  for await (const chunk of ctx.stdin) {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk) : (chunk as Buffer)
    size += buffer.length
    if (size > MAX_STDIN_BYTES) throw new CliError('standard input is larger than 1 MiB')
    chunks.push(buffer)
  }
  return Buffer.concat(chunks).toString('utf8')
}

/** `echo secret | ...` and files saved by editors end with a newline that is not the secret's. */
export const withoutFinalNewline = (text: string) => text.replace(/\r?\n$/, '')

/** A line typed on the terminal, echoed. */
export async function askLine(ctx: Context, question: string): Promise<string> {
  return readTerminal(ctx, question, true)
}

/** A secret typed on the terminal, not echoed. */
export async function askSecret(ctx: Context, question: string): Promise<string> {
  return readTerminal(ctx, question, false)
}

/**
 * Raw mode gives us each keystroke, so nothing is echoed unless we echo it. Ctrl-C aborts with
 * 130, as a shell would report SIGINT; Ctrl-D on an empty line aborts too.
 */
function readTerminal(ctx: Context, question: string, echo: boolean): Promise<string> {
  const { stdin, stderr } = ctx
  if (!stdin.isTTY) throw new CliError('no terminal to ask on', EXIT.usage)
  stderr.write(question)
  return new Promise((resolve, reject) => {
    let answer = ''
    const done = (error?: CliError) => {
      stdin.off('data', onData)
      stdin.setRawMode(false)
      stdin.pause()
      stderr.write('\n')
      if (error) reject(error)
      else resolve(answer)
    }
    const onData = (data: Buffer) => {
      for (const char of data.toString('utf8')) {
        if (char === '\r' || char === '\n') return done()
        if (char === '\u0003') return done(new CliError('aborted', SIGINT_EXIT))
        if (char === '\u0004' && answer === '') return done(new CliError('aborted', EXIT.error))
        if (char === '\u007f' || char === '\b') {
          if (answer.length > 0 && echo) stderr.write('\b \b')
          answer = [...answer].slice(0, -1).join('')
        } else if (char >= ' ') {
          answer += char
          if (echo) stderr.write(char)
        }
      }
    }
    stdin.setRawMode(true)
    stdin.resume()
    stdin.on('data', onData)
  })
}

/** Yes or no on the terminal; anything but y/yes is no. */
export async function confirm(ctx: Context, question: string): Promise<boolean> {
  const answer = await askLine(ctx, `${question} [y/N] `)
  return /^y(es)?$/i.test(answer.trim())
}
