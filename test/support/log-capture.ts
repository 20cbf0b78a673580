import { Writable } from 'node:stream'
import { createLogger, type Logger } from '../../src/logger.ts'

/** A real pino logger at the given level whose lines are kept in memory for assertions. */
export function captureLogs(level = 'debug'): {
  logger: Logger
  lines: () => Record<string, unknown>[]
  text: () => string
} {
  const chunks: string[] = []
  const destination = new Writable({
    write(chunk, _encoding, callback) {
      chunks.push(chunk.toString())
      callback()
    },
  })
  const logger = createLogger({ level, destination })
  const text = () => chunks.join('')
  const lines = () =>
    text()
      .split('\n')
      .filter((line) => line.trim() !== '')
      .map((line) => JSON.parse(line) as Record<string, unknown>)
  return { logger, lines, text }
}
