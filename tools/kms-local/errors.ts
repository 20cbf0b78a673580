/**
 * Errors the local KMS answers with. `type` is the AWS error name sent as `__type`, so the SDK
 * builds its own error classes from it; `status` follows AWS (400 client fault, 500 server).
 * Messages must never carry key material or plaintext.
 */
export class KmsError extends Error {
  constructor(
    readonly type: string,
    message: string,
    readonly status = 400,
  ) {
    super(message)
    this.name = type
  }
}

export const notFound = (message: string) => new KmsError('NotFoundException', message)
export const validation = (message: string) => new KmsError('ValidationException', message)
export const invalidState = (message: string) => new KmsError('KMSInvalidStateException', message)
export const invalidCiphertext = () =>
  // AWS says nothing about why a ciphertext did not open; neither do we.
  new KmsError('InvalidCiphertextException', 'The ciphertext could not be decrypted.')
