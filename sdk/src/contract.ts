/**
 * Types for routes agreed in the issue but not yet in openapi.yaml. Each is used only while
 * the contract lacks its route: as soon as `npm run sdk:types` brings the route in, `Prefer`
 * switches to the generated type, and any SDK code that relied on a different shape stops
 * compiling. Nothing here needs deleting by hand for the switch to happen.
 */
import type { paths } from './generated/openapi.ts'

type ModeSetting = 'mock' | 'live'
type KekProvider = 'platform' | 'aws-kms' | 'raw'

/** The generated type of a route's body or response, or `never` while the route is missing. */
type Generated<
  P extends string,
  M extends string,
  Part extends 'body' | 200,
> = P extends keyof paths
  ? M extends keyof paths[P]
    ? Part extends 'body'
      ? paths[P][M] extends { body: infer B }
        ? B
        : never
      : paths[P][M] extends { responses: { 200: infer R } }
        ? R
        : never
    : never
  : never
type Prefer<G, Draft> = [G] extends [never] ? Draft : G

/** PATCH /v1/org */
export type OrgUpdate = Prefer<
  Generated<'/v1/org', 'patch', 'body'>,
  {
    mockDefaults?: { development?: ModeSetting; staging?: ModeSetting; production?: ModeSetting }
  }
>

/** GET /v1/org/encryption: which key-encryption key protects the organization's values. */
export type OrgEncryption = Prefer<
  Generated<'/v1/org/encryption', 'get', 200>,
  {
    provider: KekProvider
    kekVersion: number
    /** Key ARN, or raw key id; null: platform. */
    keyId: string | null
    status: 'active' | 'retiring' | 'retired'
    /** What Keystash passes to sts:AssumeRole. */
    externalId: string
    dataKeyCacheTtlSeconds: number
    /** The re-encryption job moving data keys to the current KEK, if one runs. */
    job: ReEncryptionJob | null
    [member: string]: unknown
  }
>

/** PUT /v1/org/encryption: bring (or give back) the organization's own key. */
export type SetOrgEncryption = Prefer<
  Generated<'/v1/org/encryption', 'put', 'body'>,
  | { provider: 'platform'; dataKeyCacheTtlSeconds?: number | null }
  | {
      provider: 'aws-kms'
      keyArn: string
      replicaArns?: string[]
      roleArn?: string
      dataKeyCacheTtlSeconds?: number | null
    }
  | { provider: 'raw'; material: string; dataKeyCacheTtlSeconds?: number | null }
>

/** GET /v1/org/encryption/jobs/{id} */
export type ReEncryptionJob = Prefer<
  Generated<'/v1/org/encryption/jobs/{id}', 'get', 200>,
  {
    id: string
    status: 'pending' | 'running' | 'finished' | 'failed' | 'superseded'
    total: number
    done: number
    failed: number
    [member: string]: unknown
  }
>
