import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto'
import { invalidCiphertext } from './errors.ts'

/**
 * The ciphertext blob: a header naming the key, then AES-256-GCM output.
 *
 *   'LKMS' | version (1) | account, region, key id (each: 1-byte length + ASCII) | IV (12) |
 *   tag (16) | ciphertext
 *
 * The header and the canonical encryption context are the AAD, so a blob opens only with the
 * exact context it was sealed with and an edited header (another key, account) fails. The key
 * id, not the ARN, names the key: a multi-Region replica shares it, so the replica's region can
 * open its primary's blobs.
 */
const magic = Buffer.from('LKMS')
const version = 1
const ivLength = 12
const tagLength = 16

export interface BlobHeader {
  accountId: string
  region: string
  keyId: string
}

export function sealBlob(
  header: BlobHeader,
  material: Buffer,
  plaintext: Buffer,
  context: Record<string, string>,
): Buffer {
  const head = encodeHeader(header)
  const iv = randomBytes(ivLength)
  const cipher = createCipheriv('aes-256-gcm', material, iv)
  cipher.setAAD(Buffer.concat([head, canonicalContext(context)]))
  const body = Buffer.concat([cipher.update(plaintext), cipher.final()])
  return Buffer.concat([head, iv, cipher.getAuthTag(), body])
}

/** Reads which key a blob names, without opening it. Throws InvalidCiphertextException. */
export function readBlobHeader(blob: Buffer): BlobHeader & { length: number } {
  if (blob.length < magic.length + 1 || !blob.subarray(0, magic.length).equals(magic)) {
    throw invalidCiphertext()
  }
  if (blob[magic.length] !== version) throw invalidCiphertext()
  let offset = magic.length + 1
  const field = () => {
    const length = blob[offset]
    if (length === undefined || offset + 1 + length > blob.length) throw invalidCiphertext()
    const value = blob.toString('ascii', offset + 1, offset + 1 + length)
    offset += 1 + length
    return value
  }
  const accountId = field()
  const region = field()
  const keyId = field()
  if (blob.length < offset + ivLength + tagLength) throw invalidCiphertext()
  return { accountId, region, keyId, length: offset }
}

export function openBlob(blob: Buffer, material: Buffer, context: Record<string, string>): Buffer {
  const { length } = readBlobHeader(blob)
  const iv = blob.subarray(length, length + ivLength)
  const tag = blob.subarray(length + ivLength, length + ivLength + tagLength)
  const decipher = createDecipheriv('aes-256-gcm', material, iv)
  decipher.setAAD(Buffer.concat([blob.subarray(0, length), canonicalContext(context)]))
  decipher.setAuthTag(tag)
  try {
    return Buffer.concat([
      decipher.update(blob.subarray(length + ivLength + tagLength)),
      decipher.final(),
    ])
  } catch {
    throw invalidCiphertext()
  }
}

export const newKeyMaterial = (): Buffer => randomBytes(32)

function encodeHeader({ accountId, region, keyId }: BlobHeader): Buffer {
  const parts = [accountId, region, keyId].map((value) => {
    const bytes = Buffer.from(value, 'ascii')
    return Buffer.concat([Buffer.from([bytes.length]), bytes])
  })
  return Buffer.concat([magic, Buffer.from([version]), ...parts])
}

/** Order-independent, and an empty context equals none, as in AWS. */
function canonicalContext(context: Record<string, string>): Buffer {
  const entries = Object.entries(context).sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0))
  return Buffer.from(JSON.stringify(entries), 'utf8')
}
