import { randomBytes } from 'node:crypto'
import { chmod, mkdir, readFile, rename, rm, writeFile } from 'node:fs/promises'
import { join } from 'node:path'
import { CliError, EXIT } from './errors.ts'

/** What `keystash login` keeps: a session token (never the password) and where it is valid. */
export interface Credentials {
  url: string
  token: string
  email: string
  expiresAt: string
}

export const credentialsPath = (configDir: string) => join(configDir, 'credentials.json')

export async function readCredentials(configDir: string): Promise<Credentials | undefined> {
  const path = credentialsPath(configDir)
  let text: string
  try {
    text = await readFile(path, 'utf8')
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined
    throw new CliError(`cannot read ${path}: ${(error as Error).message}`)
  }
  try {
    const parsed = JSON.parse(text) as Partial<Credentials>
    if (typeof parsed.url === 'string' && typeof parsed.token === 'string') {
      return {
        url: parsed.url,
        token: parsed.token,
        email: String(parsed.email ?? ''),
        expiresAt: String(parsed.expiresAt ?? ''),
      }
    }
  } catch {
    // Falls through: the file's content stays out of the message (it may hold a token).
  }
  throw new CliError(
    `${path} is not a Keystash credentials file: run \`keystash login\` again`,
    EXIT.authentication,
  )
}

/**
 * Written to a temporary file created with mode 0600 and renamed over the old one, so the token
 * is never readable by others, not even for a moment, and a crash leaves the old file whole.
 */
export async function writeCredentials(configDir: string, credentials: Credentials) {
  await mkdir(configDir, { recursive: true, mode: 0o700 })
  // mkdir's mode applies only to a directory it creates; ours must not stay open to others.
  await chmod(configDir, 0o700)
  const path = credentialsPath(configDir)
  const temporary = `${path}.${randomBytes(6).toString('hex')}.tmp`
  try {
    await writeFile(temporary, `${JSON.stringify(credentials, null, 2)}\n`, {
      mode: 0o600,
      flag: 'wx',
    })
    await rename(temporary, path)
  } catch (error) {
    await rm(temporary, { force: true })
    throw new CliError(`cannot write ${path}: ${(error as Error).message}`)
  }
  return path
}

/** True when there was a file to delete. */
export async function deleteCredentials(configDir: string): Promise<boolean> {
  const path = credentialsPath(configDir)
  try {
    await rm(path)
    return true
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return false
    throw new CliError(`cannot delete ${path}: ${(error as Error).message}`)
  }
}
