// TypeScript, ESM side: compiled with `tsc --noEmit`, strict, skipLibCheck off.
import {
  type ClientOptions,
  type GetValueResult,
  type Key,
  Keystash,
  KeystashError,
  NotFoundError,
  type Scope,
} from '@keystash/sdk'

const options: ClientOptions = { baseUrl: 'http://127.0.0.1:8787', token: 'a token' }
const keystash = new Keystash(options)
const scopes: Scope[] = ['keys:read']

export async function read(ref: string): Promise<string> {
  try {
    const result: GetValueResult = await keystash.keys.getValue(ref)
    const mode: 'live' | 'mock' = result.mode.effective
    return `${result.value} (${mode})`
  } catch (error) {
    if (error instanceof NotFoundError) return `missing (${error.requestId ?? 'no request id'})`
    if (error instanceof KeystashError) return error.code ?? error.message
    throw error
  }
}

export async function names(): Promise<string[]> {
  const keys: Key[] = []
  for await (const key of keystash.keys.list({ limit: 10 })) keys.push(key)
  await keystash.tokens.create({ name: 'app', scopes, expiresIn: 60 })
  return keys.map((key) => key.name)
}
