import { randomBytes } from 'node:crypto'
import {
  authorize,
  type OpContext,
  requireEnabled,
  requireSymmetric,
  resolveKey,
} from './access.ts'
import { openBlob, readBlobHeader, sealBlob } from './crypto.ts'
import { invalidCiphertext, KmsError, notFound, validation } from './errors.ts'
import {
  encryptionContext,
  type Input,
  oneOf,
  optionalInteger,
  optionalString,
  requiredBlob,
  requiredString,
} from './input.ts'
import { type KmsKey, keyArn } from './keys.ts'

/** Cryptographic operations: everything that seals or opens a ciphertext blob. */
type Handler = (input: Input, ctx: OpContext) => Record<string, unknown>

const maxCiphertext = 6144
const b64 = (bytes: Buffer) => bytes.toString('base64')

function seal(key: KmsKey, plaintext: Buffer, context: Record<string, string>): Buffer {
  const material = Buffer.from(key.material ?? '', 'base64')
  return sealBlob(
    { accountId: key.accountId, region: key.region, keyId: key.keyId },
    material,
    plaintext,
    context,
  )
}

/**
 * The key a blob names, looked up in the caller's region: for a multi-Region key that is the
 * replica there. A blob from another region whose key has no replica here cannot be opened.
 */
export function keyOfBlob(ctx: OpContext, blob: Buffer): KmsKey {
  const header = readBlobHeader(blob)
  const key = ctx.store.getKey(header.accountId, ctx.caller.region, header.keyId)
  if (key) return key
  if (header.region !== ctx.caller.region) throw invalidCiphertext()
  throw notFound(`Key '${keyArn(header.region, header.accountId, header.keyId)}' does not exist`)
}

/** Decrypt's and ReEncrypt's optional key id must name the key the blob was sealed under. */
function checkNamedKey(ctx: OpContext, named: string | undefined, actual: KmsKey): void {
  if (named === undefined) return
  const key = resolveKey(ctx, named)
  if (key.keyId !== actual.keyId || key.accountId !== actual.accountId) {
    throw new KmsError(
      'IncorrectKeyException',
      'The key ID in the request does not identify a CMK that can perform this operation.',
    )
  }
}

function dataKey(input: Input, ctx: OpContext, operation: string) {
  const key = resolveKey(ctx, requiredString(input, 'KeyId'))
  const context = encryptionContext(input, 'EncryptionContext')
  const spec = oneOf(input, 'KeySpec', ['AES_256', 'AES_128'] as const)
  const bytes = optionalInteger(input, 'NumberOfBytes', 1, 1024)
  if ((spec === undefined) === (bytes === undefined)) {
    throw validation('Please specify either number of bytes or key spec.')
  }
  authorize(ctx, key, `kms:${operation}`, context)
  requireEnabled(key)
  requireSymmetric(key, operation)
  const plaintext = randomBytes(bytes ?? (spec === 'AES_128' ? 16 : 32))
  return { key, plaintext, blob: seal(key, plaintext, context) }
}

const GenerateDataKey: Handler = (input, ctx) => {
  const { key, plaintext, blob } = dataKey(input, ctx, 'GenerateDataKey')
  return { KeyId: key.arn, Plaintext: b64(plaintext), CiphertextBlob: b64(blob) }
}

const GenerateDataKeyWithoutPlaintext: Handler = (input, ctx) => {
  const { key, plaintext, blob } = dataKey(input, ctx, 'GenerateDataKeyWithoutPlaintext')
  plaintext.fill(0)
  return { KeyId: key.arn, CiphertextBlob: b64(blob) }
}

const Encrypt: Handler = (input, ctx) => {
  const key = resolveKey(ctx, requiredString(input, 'KeyId'))
  const plaintext = requiredBlob(input, 'Plaintext', 4096)
  const context = encryptionContext(input, 'EncryptionContext')
  const algorithm = optionalString(input, 'EncryptionAlgorithm') ?? 'SYMMETRIC_DEFAULT'
  authorize(ctx, key, 'kms:Encrypt', context)
  requireEnabled(key)
  requireSymmetric(key, 'Encrypt', algorithm)
  return {
    KeyId: key.arn,
    CiphertextBlob: b64(seal(key, plaintext, context)),
    EncryptionAlgorithm: algorithm,
  }
}

const Decrypt: Handler = (input, ctx) => {
  const blob = requiredBlob(input, 'CiphertextBlob', maxCiphertext)
  const context = encryptionContext(input, 'EncryptionContext')
  const algorithm = optionalString(input, 'EncryptionAlgorithm') ?? 'SYMMETRIC_DEFAULT'
  const key = keyOfBlob(ctx, blob)
  checkNamedKey(ctx, optionalString(input, 'KeyId'), key)
  authorize(ctx, key, 'kms:Decrypt', context)
  requireEnabled(key)
  requireSymmetric(key, 'Decrypt', algorithm)
  const plaintext = openBlob(blob, Buffer.from(key.material ?? '', 'base64'), context)
  return { KeyId: key.arn, Plaintext: b64(plaintext), EncryptionAlgorithm: algorithm }
}

const ReEncrypt: Handler = (input, ctx) => {
  const blob = requiredBlob(input, 'CiphertextBlob', maxCiphertext)
  const sourceContext = encryptionContext(input, 'SourceEncryptionContext')
  const destinationContext = encryptionContext(input, 'DestinationEncryptionContext')
  const sourceAlgorithm = optionalString(input, 'SourceEncryptionAlgorithm') ?? 'SYMMETRIC_DEFAULT'
  const destinationAlgorithm =
    optionalString(input, 'DestinationEncryptionAlgorithm') ?? 'SYMMETRIC_DEFAULT'
  const source = keyOfBlob(ctx, blob)
  checkNamedKey(ctx, optionalString(input, 'SourceKeyId'), source)
  const destination = resolveKey(ctx, requiredString(input, 'DestinationKeyId'))
  authorize(ctx, source, 'kms:ReEncryptFrom', sourceContext)
  authorize(ctx, destination, 'kms:ReEncryptTo', destinationContext)
  for (const key of [source, destination]) requireEnabled(key)
  requireSymmetric(source, 'ReEncrypt', sourceAlgorithm)
  requireSymmetric(destination, 'ReEncrypt', destinationAlgorithm)
  const plaintext = openBlob(blob, Buffer.from(source.material ?? '', 'base64'), sourceContext)
  const resealed = seal(destination, plaintext, destinationContext)
  plaintext.fill(0)
  return {
    CiphertextBlob: b64(resealed),
    SourceKeyId: source.arn,
    KeyId: destination.arn,
    SourceEncryptionAlgorithm: sourceAlgorithm,
    DestinationEncryptionAlgorithm: destinationAlgorithm,
  }
}

export const cryptoOperations = {
  GenerateDataKey,
  GenerateDataKeyWithoutPlaintext,
  Encrypt,
  Decrypt,
  ReEncrypt,
} satisfies Record<string, Handler>

/** Best-effort: which keys a call is about, before it runs (for faults and the call log). */
export function callTargets(operation: string, input: Input, ctx: OpContext) {
  const quietly = (find: () => string) => {
    try {
      return find()
    } catch {
      return undefined
    }
  }
  const named = (member: string) => {
    const value = input[member]
    return typeof value === 'string' ? quietly(() => resolveKey(ctx, value).keyId) : undefined
  }
  const sealedUnder = () => {
    const value = input.CiphertextBlob
    return typeof value === 'string'
      ? quietly(() => readBlobHeader(Buffer.from(value, 'base64')).keyId)
      : undefined
  }
  if (operation === 'Decrypt') return { keyId: named('KeyId') ?? sealedUnder() }
  if (operation === 'ReEncrypt') {
    return { keyId: named('DestinationKeyId'), sourceKeyId: named('SourceKeyId') ?? sealedUnder() }
  }
  if (operation === 'CreateAlias') return { keyId: named('TargetKeyId') }
  return { keyId: named('KeyId') }
}
