/**
 * Every request the local KMS answered, in order, so a test can assert what reached KMS (and
 * what did not, e.g. "this key was never called again").
 */
export interface KmsCall {
  /** KMS operation name (`Decrypt`), or `AssumeRole` / `GetCallerIdentity` for STS. */
  operation: string
  /** Resolved key id (never an alias or ARN); for ReEncrypt the destination key. */
  keyId: string | undefined
  /** ReEncrypt only: the key the ciphertext was sealed under. */
  sourceKeyId?: string
  /** From the SigV4 credential scope; '' when the request had no usable authorization. */
  region: string
  /** The access key id that signed the request; '' when there was none. */
  caller: string
  /** 'ok' or the AWS error name the caller received. */
  outcome: string
  at: number
}

export interface CallFilter {
  operation?: string
  /** A key id or key ARN; matches the call's keyId or sourceKeyId. */
  keyId?: string
  region?: string
  caller?: string
  outcome?: string
}

/** An array of calls (index it, iterate it, filter it) with a few helpers. */
export class CallLog extends Array<KmsCall> {
  // Array methods (filter, map, slice) return plain arrays, not CallLogs.
  static override get [Symbol.species]() {
    return Array
  }

  /** Calls matching every given field. */
  matching(filter: CallFilter = {}): KmsCall[] {
    const keyId = filter.keyId?.replace(/^arn:aws:kms:[^:]*:\d*:key\//, '')
    return this.filter(
      (call) =>
        (filter.operation === undefined || call.operation === filter.operation) &&
        (keyId === undefined || call.keyId === keyId || call.sourceKeyId === keyId) &&
        (filter.region === undefined || call.region === filter.region) &&
        (filter.caller === undefined || call.caller === filter.caller) &&
        (filter.outcome === undefined || call.outcome === filter.outcome),
    )
  }

  count(filter: CallFilter = {}): number {
    return this.matching(filter).length
  }

  last(filter: CallFilter = {}): KmsCall | undefined {
    return this.matching(filter).at(-1)
  }

  reset(): void {
    this.length = 0
  }
}
