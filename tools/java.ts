import { spawn } from 'node:child_process'

const MIN_JAVA_MAJOR = 17

export class JavaMissingError extends Error {
  constructor(foundVersion?: string) {
    const found = foundVersion ? ` (found Java ${foundVersion})` : ''
    super(
      `Java 17 or newer is needed to run DynamoDB Local in development mode${found}: install it (for example \`apt-get install -y openjdk-17-jre-headless\`) or configure AWS (KEYSTASH_TABLE, AWS_REGION, KEYSTASH_KMS_KEY_ID) instead.`,
    )
    this.name = 'JavaMissingError'
  }
}

/** Resolves when `javaCommand` runs and is Java 17 or newer; JavaMissingError otherwise. */
export async function requireJava(
  javaCommand: string,
  env: NodeJS.ProcessEnv | undefined,
): Promise<void> {
  const { code, text } = await new Promise<{ code: number | null; text: string }>(
    (settle, reject) => {
      const child = spawn(javaCommand, ['-version'], { env, stdio: ['ignore', 'pipe', 'pipe'] })
      let text = ''
      child.stdout?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')))
      child.stderr?.on('data', (chunk: Buffer) => (text += chunk.toString('utf8')))
      child.once('error', (error: NodeJS.ErrnoException) =>
        reject(error.code === 'ENOENT' || error.code === 'EACCES' ? new JavaMissingError() : error),
      )
      child.once('close', (exitCode) => settle({ code: exitCode, text }))
    },
  )
  // `version "17.0.15"`, or `version "1.8.0_292"` for Java 8 and older.
  const match = /version "(\d+)(?:\.(\d+))?/.exec(text)
  if (!match) {
    // A stub such as macOS's /usr/bin/java exits non-zero when no JDK is installed.
    if (code !== 0) throw new JavaMissingError()
    return
  }
  const major = match[1] === '1' ? Number(match[2]) : Number(match[1])
  if (major < MIN_JAVA_MAJOR) throw new JavaMissingError(String(major))
}
