/**
 * What the log may say about an unexpected error: its class, code and where it was thrown,
 * but not its message, because messages of parsers and drivers can quote their input, and
 * input here can be a secret.
 */
export function loggableError(error: unknown): Record<string, unknown> {
  if (!(error instanceof Error)) return { type: typeof error }
  const frames = (error.stack ?? '')
    .split('\n')
    .filter((line) => line.trimStart().startsWith('at '))
  const code = (error as { code?: unknown }).code
  return {
    name: error.name,
    ...(typeof code === 'string' ? { code } : {}),
    stack: frames.slice(0, 12).map((frame) => frame.trim()),
    ...(error.cause !== undefined ? { cause: loggableError(error.cause) } : {}),
  }
}
