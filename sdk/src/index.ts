export { type ClientOptions, Keystash, Keystash as default } from './client.ts'
export {
  type MockOptions,
  OFFLINE_MOCK_SECRET,
  type OfflineMock,
  providerForRef,
} from './core/offline-mock.ts'
export { Page, PagedList } from './core/pagination.ts'
export type { BackoffOptions } from './core/retry.ts'
export type { Fetch, RequestOptions } from './core/transport.ts'
export type { StaleIfErrorOptions, ValueCacheOptions } from './core/value-cache.ts'
export {
  fromCallback,
  fromGitHubActions,
  fromTokenFile,
  type GitHubActionsOptions,
  inGitHubActions,
  type SubjectTokenSource,
} from './credentials/subject-tokens.ts'
export type { WorkloadIdentityOptions } from './credentials/token-exchange.ts'
export * from './errors.ts'
export type { GetValueOptions } from './resources/keys.ts'
export type * from './types.ts'
