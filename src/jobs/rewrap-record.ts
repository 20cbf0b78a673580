import { AppError } from '../errors.ts'
import type { KekProvider } from '../kms/kek-provider.ts'
import type { KekRef } from '../kms/key-provider.ts'
import { rewrapDataKey } from '../kms/kms-kek.ts'
import type { RewrapStore, SealedCopy } from '../storage/rewrap-store.ts'

export type RewrapOutcome = 'rewrapped' | 'current' | 'gone'

export interface RewrapRecordDeps {
  rewraps: Pick<RewrapStore, 'read' | 'commit'>
  forRecord(tenantId: string, kek: KekRef): Promise<KekProvider>
}

const MAX_ATTEMPTS = 5

/**
 * Moves one key version's data key to `destination`: the `KEYVER#` item and, when it is the
 * key's current version, the copy in the key's two items, in one conditional transaction.
 * A copy that changed between read and write (a concurrent new version, a deletion, another
 * job) makes the transaction write nothing; the record is then read again and retried, and
 * a copy already under the destination is left alone, so running this twice wraps nothing
 * twice.
 */
export async function rewrapRecord(
  deps: RewrapRecordDeps,
  { tenantId, keyId, version }: { tenantId: string; keyId: string; version: number },
  destination: KekProvider,
): Promise<RewrapOutcome> {
  const target = destination.kek.version
  const stale = (copy: SealedCopy | undefined): copy is SealedCopy =>
    copy !== undefined && copy.kek.version !== target

  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const state = await deps.rewraps.read(tenantId, keyId, version)
    if (!state.version && !state.current) return 'gone'
    // Both copies normally hold the same wrapped key: re-wrap it once and write it to both.
    const made = new Map<string, SealedCopy>()
    const moved = async (old: SealedCopy): Promise<SealedCopy> => {
      const id = Buffer.from(old.wrappedDek).toString('base64')
      const done = made.get(id)
      if (done) return done
      const source = await deps.forRecord(tenantId, old.kek)
      const wrappedDek = await rewrapDataKey(source, destination, old.wrappedDek, {
        tenantId,
        keyId,
      })
      const copy = { wrappedDek, kek: { ...destination.kek } }
      made.set(id, copy)
      return copy
    }
    const writes: Parameters<RewrapStore['commit']>[3] = {}
    if (stale(state.version)) writes.version = [state.version, await moved(state.version)]
    if (stale(state.current)) {
      writes.current = [state.current, await moved(state.current), state.current.name]
    }
    if (!writes.version && !writes.current) return 'current'
    if (await deps.rewraps.commit(tenantId, keyId, version, writes)) return 'rewrapped'
  }
  throw new AppError('conflict', 'The record kept changing while it was being re-wrapped.')
}
