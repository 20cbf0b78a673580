/**
 * The public types, taken from the contract (openapi.yaml, via generated/openapi.ts) so that
 * `tsc` fails when the SDK and the server drift apart. Routes the contract does not list yet
 * have hand-written types in contract.ts, checked against the generated ones once they appear.
 */
import type { OrgEncryption, OrgUpdate, ReEncryptionJob, SetOrgEncryption } from './contract.ts'
import type { components, paths } from './generated/openapi.ts'

type Schemas = components['schemas']
type Operation<P extends keyof paths, M extends keyof paths[P]> = paths[P][M]
type BodyOf<P extends keyof paths, M extends keyof paths[P]> =
  Operation<P, M> extends { body: infer B } ? B : never
type QueryOf<P extends keyof paths, M extends keyof paths[P]> =
  Operation<P, M> extends { query: infer Q } ? Q : never
type ResponseOf<P extends keyof paths, M extends keyof paths[P], S extends number> =
  Operation<P, M> extends { responses: infer R } ? (S extends keyof R ? R[S] : never) : never

export type Problem = Schemas['Problem']

export type Key = Schemas['Key']
export type KeyValue = Schemas['KeyValue']
export type Mode = Schemas['Mode']
export type KeyVersion = Schemas['KeyVersion']
export type Provider = Key['provider']
export type CreateKeyParams = BodyOf<'/v1/keys', 'post'>
export type UpdateKeyParams = BodyOf<'/v1/keys/{ref}', 'patch'>
export type ListKeysParams = Omit<NonNullable<QueryOf<'/v1/keys', 'get'>>, 'cursor'>
export type KeyVersionList = ResponseOf<'/v1/keys/{ref}/versions', 'get', 200>

export type Token = Schemas['Token']
export type CreatedToken = Schemas['CreatedToken']
export type Scope = Token['scopes'][number]
export type Environment = NonNullable<Token['environment']>
export type CreateTokenParams = BodyOf<'/v1/tokens', 'post'>
export type ListTokensParams = Omit<NonNullable<QueryOf<'/v1/tokens', 'get'>>, 'cursor'>

export type Webhook = Schemas['Webhook']
export type CreatedWebhook = Schemas['CreatedWebhook']
export type RotatedWebhookSecret = Schemas['RotatedWebhookSecret']
export type WebhookDelivery = Schemas['WebhookDelivery']
export type WebhookAttempt = Schemas['WebhookAttempt']
export type EventType = Schemas['EventType']
export type CreateWebhookParams = BodyOf<'/v1/webhooks', 'post'>
export type UpdateWebhookParams = BodyOf<'/v1/webhooks/{id}', 'patch'>

export type Me = Schemas['Me']
export type Organization = Schemas['Organization']
export type { OrgEncryption, OrgUpdate, ReEncryptionJob, SetOrgEncryption }

/** A page of a list, as the server sends it. */
export interface PageData<T> {
  items: T[]
  nextCursor: string | null
}

/** How a value read was served when it did not come from the server just now. */
export interface CacheInfo {
  /** Age of the value when it was handed out. */
  ageMs: number
  /** True when served by `staleIfError` because the server could not be reached. */
  stale: boolean
}

/**
 * What `keys.getValue` returns: the server's answer, plus `cached` when the SDK's opt-in value
 * cache served it. In offline mock mode `mode.source` is `'offline'` (the SDK made the value up
 * without asking any server).
 */
export type GetValueResult = Omit<KeyValue, 'mode'> & {
  mode: Omit<Mode, 'source'> & { source: Mode['source'] | 'offline' }
  cached?: CacheInfo
}
