import { externalIdFor, type KekRecord } from '../kms/kek-records.ts'
import type { KekJob } from '../storage/kek-jobs.ts'

/**
 * What a tenant sees of its encryption settings: providers, versions, key ARNs and ids, never
 * key material. The platform key's id is the server's business and is not shown.
 */
export function describeKekVersion(record: KekRecord) {
  return {
    version: record.version,
    provider: record.provider,
    keyId: record.provider === 'platform' ? null : record.keyId,
    status: record.status,
    createdAt: record.createdAt || null,
    retiredAt: record.retiredAt ?? null,
  }
}

export function describeJob(job: KekJob) {
  return {
    id: job.jobId,
    kind: job.kind ?? 'reencrypt',
    status: job.status,
    targetVersion: job.targetVersion,
    total: job.total,
    done: job.done,
    failed: job.failed,
    failures: job.failures.map(({ keyId, version, code }) => ({ keyId, version, code })),
    pass: job.pass,
    createdAt: job.createdAt,
    startedAt: job.startedAt ?? null,
    finishedAt: job.finishedAt ?? null,
  }
}

export function describeEncryption(input: {
  tenantId: string
  active: KekRecord
  versions: KekRecord[]
  job: KekJob | undefined
  ttlInForce: number
  serverTtlSeconds: number
}) {
  const { active } = input
  const { version, retiredAt: _retiredAt, ...rest } = describeKekVersion(active)
  return {
    provider: rest.provider,
    kekVersion: version,
    keyId: rest.keyId,
    status: rest.status,
    createdAt: rest.createdAt,
    replicaArns: active.replicaArns ?? [],
    roleArn: active.roleArn ?? null,
    externalId: externalIdFor(input.tenantId),
    dataKeyCacheTtlSeconds: input.ttlInForce,
    serverDataKeyCacheTtlSeconds: input.serverTtlSeconds,
    versions: (input.versions.length ? input.versions : [active]).map(describeKekVersion),
    job: input.job ? describeJob(input.job) : null,
  }
}

export type EncryptionView = ReturnType<typeof describeEncryption>
export type JobView = ReturnType<typeof describeJob>
