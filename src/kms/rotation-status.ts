import { GetKeyRotationStatusCommand } from '@aws-sdk/client-kms'
import type { Logger } from '../logger.ts'
import { translateKmsError } from './errors.ts'
import type { KekRecord } from './kek-records.ts'
import { type KmsClientPool, parseKeyArn } from './kms-clients.ts'

/**
 * A tenant's AWS KMS key's own automatic rotation (new key material inside KMS, under the same
 * key ARN), as `GetKeyRotationStatus` reports it. The key policy in docs/byok.md need not
 * allow that call, so a refusal, or any other failure, is `unknown`: it never fails the
 * encryption view.
 */
export interface KmsRotationStatus {
  automatic: 'enabled' | 'disabled' | 'unknown'
  rotationPeriodInDays: number | null
  nextRotationAt: string | null
  /** Why it is unknown: the error code the call ended with (`kek_access_denied`, ...). */
  unknownBecause: string | null
}

export async function kmsRotationStatus(
  clients: Pick<KmsClientPool, 'clientFor'>,
  record: Pick<KekRecord, 'tenantId' | 'keyId' | 'roleArn' | 'externalId'>,
  logger: Logger,
): Promise<KmsRotationStatus> {
  const region = parseKeyArn(record.keyId)?.region
  const role = record.roleArn
    ? {
        roleArn: record.roleArn,
        externalId: record.externalId ?? '',
        sessionName: `keystash-${record.tenantId}`,
      }
    : undefined
  try {
    if (!region) throw new Error('not a key ARN')
    const answer = await clients
      .clientFor(region, role)
      .send(new GetKeyRotationStatusCommand({ KeyId: record.keyId }))
    const enabled = answer.KeyRotationEnabled === true
    return {
      automatic: enabled ? 'enabled' : 'disabled',
      rotationPeriodInDays: enabled ? (answer.RotationPeriodInDays ?? null) : null,
      nextRotationAt:
        enabled && answer.NextRotationDate ? answer.NextRotationDate.toISOString() : null,
      unknownBecause: null,
    }
  } catch (error) {
    const code = translateKmsError(error).code
    if (code !== 'kek_access_denied') {
      logger.warn({ tenantId: record.tenantId, code }, 'KMS key rotation status not read')
    }
    return {
      automatic: 'unknown',
      rotationPeriodInDays: null,
      nextRotationAt: null,
      unknownBecause: code,
    }
  }
}
