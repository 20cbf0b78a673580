import { type DestinationStream, type Logger, pino } from 'pino'

export type { Logger }

/**
 * Every field name that may carry a secret, at the top level and one or two levels down.
 * pino's redaction runs at every level, so a secret logged by mistake shows as `[redacted]`.
 * The first defence is still never to hand a secret to the logger at all.
 */
const secretFields = [
  'value',
  'values',
  'password',
  'newPassword',
  'token',
  'accessToken',
  'sessionToken',
  'authorization',
  'cookie',
  'secret',
  'plaintext',
  'Plaintext',
  'material',
  'keyMaterial',
  'rawKey',
  'privateKey',
  'dek',
  'SecretAccessKey',
  'SessionToken',
]

export const redactPaths = [
  ...secretFields,
  ...secretFields.map((f) => `*.${f}`),
  ...secretFields.map((f) => `*.*.${f}`),
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'headers.cookie',
]

export function createLogger(
  options: { level?: string; destination?: DestinationStream } = {},
): Logger {
  return pino(
    {
      level: options.level ?? 'info',
      base: { service: 'keystash' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths, censor: '[redacted]' },
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination,
  )
}
