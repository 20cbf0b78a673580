import type { SealedRecord, ValuePlace } from '../crypto/record.ts'
import { AppError } from '../errors.ts'
import type { RekeyCopy, RekeyStore } from '../storage/rekey-store.ts'

export type RekeyOutcome = 'rekeyed' | 'current' | 'gone'

export interface RekeyRecordDeps {
  records: Pick<RekeyStore, 'read' | 'commit'>
  /** Opens a sealed value; the caller zeroes the buffer. */
  open(place: ValuePlace, sealed: SealedRecord): Promise<Buffer>
  /** Seals under the tenant's active KEK with a data key generated for this call. */
  seal(place: ValuePlace, plaintext: Uint8Array): Promise<SealedRecord>
  /** Called with each wrapped data key that left the table, so caches can let it go. */
  replaced?(tenantId: string, wrappedDek: Uint8Array): void
}

const MAX_ATTEMPTS = 5

/**
 * Gives one key version's value a fresh data key: opens it, seals it again for the same place
 * (so the same AAD), and writes the new record over the old in the `KEYVER#` item and, when it
 * is the key's current version, in the key's two items, in one conditional transaction. A
 * record changed meanwhile (a concurrent re-wrap, a deletion, a new current version) makes the
 * transaction write nothing; it is then read again. A record sealed at or after `before` is
 * left alone, so a resumed job re-seals nothing twice.
 */
export async function rekeyRecord(
  deps: RekeyRecordDeps,
  place: ValuePlace,
  { before, now }: { before: string; now: () => string },
): Promise<RekeyOutcome> {
  for (let attempt = 1; attempt <= MAX_ATTEMPTS; attempt++) {
    const state = await deps.records.read(place.tenantId, place.keyId, place.version)
    if (!state.version && !state.current) return 'gone'
    const stale = (copy: RekeyCopy | undefined): copy is RekeyCopy =>
      copy !== undefined && copy.sealedAt < before
    if (!stale(state.version) && !stale(state.current)) return 'current'

    // Both copies normally hold the same record: re-seal it once and write it to both.
    const made = new Map<string, RekeyCopy>()
    const resealed = async (old: RekeyCopy): Promise<RekeyCopy> => {
      const id = Buffer.from(old.sealed.wrappedDek).toString('base64')
      const done = made.get(id)
      if (done) return done
      const plaintext = await deps.open(place, old.sealed)
      try {
        const copy = {
          sealed: await deps.seal(place, plaintext),
          recordVersion: old.recordVersion + 1,
          sealedAt: now(),
        }
        made.set(id, copy)
        return copy
      } finally {
        plaintext.fill(0)
      }
    }
    const writes: Parameters<RekeyStore['commit']>[3] = {}
    if (stale(state.version)) writes.version = [state.version, await resealed(state.version)]
    if (stale(state.current)) {
      writes.current = [state.current, await resealed(state.current), state.current.name]
    }
    if (await deps.records.commit(place.tenantId, place.keyId, place.version, writes)) {
      for (const write of [writes.version, writes.current]) {
        if (write) deps.replaced?.(place.tenantId, write[0].sealed.wrappedDek)
      }
      return 'rekeyed'
    }
  }
  throw new AppError('conflict', 'The record kept changing while it was being re-keyed.')
}
