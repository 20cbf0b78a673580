import { AppError } from '../errors.ts'

/**
 * Pagination cursors are DynamoDB's LastEvaluatedKey, base64url-encoded. They are not secret
 * but they are hostile input: a decoded cursor must be a flat map of string attributes whose
 * partition key is the caller's own, or a caller could page through another tenant's items.
 */
export function encodeCursor(lastKey: Record<string, unknown> | undefined): string | null {
  if (!lastKey) return null
  return Buffer.from(JSON.stringify(lastKey), 'utf8').toString('base64url')
}

export function decodeCursor(
  cursor: string | undefined,
  expected: { pk: string; skPrefix: string; attributes?: readonly string[] },
): Record<string, string> | undefined {
  if (cursor === undefined || cursor === '') return undefined
  const invalid = () => new AppError('bad_request', 'The cursor is not valid for this list.')
  if (cursor.length > 2048 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid()
  let decoded: unknown
  try {
    decoded = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'))
  } catch {
    throw invalid()
  }
  if (!decoded || typeof decoded !== 'object' || Array.isArray(decoded)) throw invalid()
  const entries = Object.entries(decoded as Record<string, unknown>)
  const allowed = new Set(['pk', 'sk', ...(expected.attributes ?? [])])
  if (!entries.every(([k, v]) => allowed.has(k) && typeof v === 'string')) throw invalid()
  const key = decoded as Record<string, string>
  if (key.pk !== expected.pk || !key.sk?.startsWith(expected.skPrefix)) throw invalid()
  return key
}
