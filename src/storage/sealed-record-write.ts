import { type DynamoDBDocumentClient, TransactWriteCommand } from '@aws-sdk/lib-dynamodb'
import { writeIf } from './conditional-write.ts'
import { itemKey } from './keys.ts'

/**
 * Attributes to set on one copy of a key version's sealed record, by path from where the copy
 * sits (`sealed`, `sealedAt`, `sealed.wrappedDek`, ...), provided the copy still holds
 * `oldWrappedDek`, the wrapped data key it was read with.
 */
export interface SealedCopyWrite {
  oldWrappedDek: Uint8Array
  set: Record<string, unknown>
}

/** `a.b` -> `#a.#b`, each segment named, since several are reserved words (`current`, ...). */
const namedPath = (prefix: string[], path: string) =>
  [...prefix, ...path.split('.')].map((segment) => `#${segment}`).join('.')

function copyUpdate(
  table: string,
  key: Record<string, string>,
  prefix: string[],
  write: SealedCopyWrite,
  condition: { expression: string; values: Record<string, unknown> } = {
    expression: '',
    values: {},
  },
) {
  const paths = Object.keys(write.set)
  const names: Record<string, string> = {}
  for (const path of [...paths, 'sealed.wrappedDek']) {
    for (const segment of [...prefix, ...path.split('.')]) names[`#${segment}`] = segment
  }
  return {
    Update: {
      TableName: table,
      Key: key,
      UpdateExpression: `SET ${paths.map((path, i) => `${namedPath(prefix, path)} = :v${i}`).join(', ')}`,
      ConditionExpression: `${condition.expression}${namedPath(prefix, 'sealed.wrappedDek')} = :old`,
      ExpressionAttributeNames: names,
      ExpressionAttributeValues: {
        ...Object.fromEntries(paths.map((path, i) => [`:v${i}`, write.set[path]])),
        ':old': write.oldWrappedDek,
        ...condition.values,
      },
    },
  }
}

/**
 * Writes new copies of a key version's sealed record in one transaction: in its `KEYVER#`
 * item, and (`current`) in the key's two items while it is still the key's current version.
 * False, with nothing written, when any copy changed meanwhile: the caller reads again.
 */
export function writeSealedCopies<Copy>(
  doc: DynamoDBDocumentClient,
  table: string,
  { tenantId, keyId, version }: { tenantId: string; keyId: string; version: number },
  /** Each copy as it was read, and as it is to be; `current` with the key's name. */
  writes: { version?: [Copy, Copy]; current?: [Copy, Copy, string] },
  /** What to set on a copy, and which wrapped data key it must still hold. */
  toWrite: (old: Copy, next: Copy) => SealedCopyWrite,
): Promise<boolean> {
  const items: ReturnType<typeof copyUpdate>[] = []
  if (writes.version) {
    const write = toWrite(...writes.version)
    items.push(copyUpdate(table, itemKey.keyVersion(tenantId, keyId, version), [], write))
  }
  if (writes.current) {
    const [old, next, name] = writes.current
    const write = toWrite(old, next)
    const onlyWhileCurrent = {
      expression: 'keyId = :keyId AND currentVersion = :version AND ',
      values: { ':keyId': keyId, ':version': version },
    }
    for (const key of [itemKey.key(tenantId, keyId), itemKey.keyName(tenantId, name)]) {
      items.push(copyUpdate(table, key, ['current'], write, onlyWhileCurrent))
    }
  }
  if (items.length === 0) return Promise.resolve(true)
  // Any cancellation, a conflicting transaction too, means another writer got there first.
  return writeIf(doc, new TransactWriteCommand({ TransactItems: items }), { anyCancellation: true })
}
