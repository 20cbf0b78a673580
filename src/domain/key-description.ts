import { AppError } from '../errors.ts'
import type { KeyRecord } from '../storage/key-items.ts'

export const MAX_VALUE_BYTES = 16 * 1024

/** What callers see of a key: never its value. */
export function describeKey(record: KeyRecord) {
  return {
    id: record.keyId,
    name: record.name,
    provider: record.provider,
    description: record.description ?? null,
    tags: record.tags,
    currentVersion: record.currentVersion,
    createdAt: record.createdAt,
    updatedAt: record.updatedAt,
    lastUsedAt: record.lastUsedAt ?? null,
    expiresAt: record.expiresAt ?? null,
    rotateEveryDays: record.rotateEveryDays ?? null,
    rotationDueAt: record.rotationDueAt ?? null,
    mockOverrides: Object.fromEntries(
      Object.entries(record.mockOverrides ?? {}).filter(([, setting]) => setting),
    ) as Partial<Record<'development' | 'staging' | 'production', 'mock' | 'live'>>,
  }
}

/** A value is 1 byte to 16 KiB of UTF-8; it is stored exactly as sent (never trimmed). */
export function checkValue(value: string): Uint8Array {
  const bytes = Buffer.from(value, 'utf8')
  if (bytes.length < 1 || bytes.length > MAX_VALUE_BYTES) {
    throw new AppError(
      'validation_failed',
      `A key value must be 1 to ${MAX_VALUE_BYTES} bytes of UTF-8.`,
      {
        extra: {
          errors: [{ field: 'value', message: `must be 1 to ${MAX_VALUE_BYTES} bytes` }],
          maxBytes: MAX_VALUE_BYTES,
        },
      },
    )
  }
  return bytes
}
