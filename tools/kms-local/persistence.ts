import { chmodSync, existsSync, mkdirSync, readFileSync, renameSync, writeFileSync } from 'node:fs'
import { dirname } from 'node:path'
import type { KmsAlias, KmsKey } from './keys.ts'

/**
 * The state file. It holds key material in the clear (this is a development tool), so it is
 * written with mode 0600, and atomically (temp file + rename) so a crash mid-write never leaves
 * half a file that would lose every key.
 */
export interface PersistedState {
  keys: KmsKey[]
  aliases: KmsAlias[]
}

const format = 'keystash-local-kms'
const version = 1

export function loadState(path: string): PersistedState {
  if (!existsSync(path)) return { keys: [], aliases: [] }
  let doc: unknown
  try {
    doc = JSON.parse(readFileSync(path, 'utf8'))
  } catch {
    // Refuse rather than start empty: starting empty would overwrite every stored key.
    throw new Error(`local KMS state file ${path} is not valid JSON; move it away to start afresh`)
  }
  const state = doc as { format?: unknown; version?: unknown } & Partial<PersistedState>
  if (state.format !== format || state.version !== version) {
    throw new Error(`local KMS state file ${path} is not a ${format} v${version} file`)
  }
  return { keys: state.keys ?? [], aliases: state.aliases ?? [] }
}

export function saveState(path: string, state: PersistedState): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 })
  const temp = `${path}.${process.pid}.tmp`
  writeFileSync(temp, `${JSON.stringify({ format, version, ...state }, null, 2)}\n`, {
    mode: 0o600,
  })
  // writeFileSync keeps the mode of a leftover temp file; make sure it is ours.
  chmodSync(temp, 0o600)
  renameSync(temp, path)
}
