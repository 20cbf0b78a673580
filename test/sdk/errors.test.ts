import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import * as errors from '../../sdk/src/errors.ts'
import {
  AuthenticationError,
  ConflictError,
  ConnectionError,
  KeystashError,
  NotFoundError,
  PermissionDeniedError,
  ServerError,
  TimeoutError,
  ValidationError,
} from '../../sdk/src/index.ts'
import { type SdkServer, startSdkServer } from './support/server.ts'

type Errors = typeof errors
/** This copy's exports, as an object to index by class name. */
const local: Errors = { ...errors }

const ALL = [
  'KeystashError',
  'AuthenticationError',
  'PermissionDeniedError',
  'NotFoundError',
  'ConflictError',
  'ValidationError',
  'RateLimitError',
  'ServerError',
  'KeyUnavailableError',
  'ConnectionError',
  'TimeoutError',
  'AbortError',
] as const

describe('error classes from server answers', () => {
  let server: SdkServer
  beforeAll(async () => {
    server = await startSdkServer()
  })
  afterAll(() => server?.close())

  it.each([
    [401, AuthenticationError, 'invalid_token'],
    [403, PermissionDeniedError, 'insufficient_scope'],
    [404, NotFoundError, 'not_found'],
    [409, ConflictError, 'conflict'],
    [422, ValidationError, 'validation_failed'],
  ] as const)(
    '%i is a %o with status, code, requestId and the problem',
    async (status, Class, code) => {
      const { session } = await server.signup()
      const owner = server.client(session, { maxRetries: 0 })
      const { token } = await owner.tokens.create({
        name: 'reader',
        scopes: ['keys:read'],
        expiresIn: 600,
      })
      await owner.keys.create({ name: 'taken', value: 'sk-secret-value-1' })
      const calls: Record<number, () => Promise<unknown>> = {
        401: () => server.client('not.a.token', { maxRetries: 0 }).me(),
        403: () => server.client(token, { maxRetries: 0 }).keys.list().page(),
        404: () => owner.keys.get('missing'),
        409: () => owner.keys.create({ name: 'taken', value: 'sk-secret-value-2' }),
        422: () => owner.keys.create({ name: 'bad name!', value: 'sk-secret-value-3' }),
      }
      const error: any = await (calls[status] as () => Promise<unknown>)().catch((e: any) => e)
      expect(error).toBeInstanceOf(Class)
      expect(error).toBeInstanceOf(KeystashError)
      expect(error).toBeInstanceOf(Error)
      for (const other of [AuthenticationError, NotFoundError, ConflictError, ServerError]) {
        if (other !== Class) expect(error).not.toBeInstanceOf(other)
      }
      expect(error).toMatchObject({ status, code })
      expect(error.requestId).toMatch(/^req_/)
      expect(error.requestId).toBe(error.headers.get('x-request-id'))
      expect(error.problem).toMatchObject({ status, code, requestId: error.requestId })
      expect(error.message).toContain(String(status))
      expect(`${error.message} ${error.stack}`).not.toContain('sk-secret-value')
    },
  )
})

describe('instanceof across duplicate copies of the package', () => {
  let copy: Errors
  beforeAll(async () => {
    // A query string makes Vite load the file again as another module: a second copy of
    // every class, as two bundles or two installed versions would have.
    const url = '../../sdk/src/errors.ts?copy=2'
    copy = (await import(/* @vite-ignore */ url)) as Errors
  })

  it('really is a second copy', () => {
    expect(copy.NotFoundError).not.toBe(errors.NotFoundError)
  })

  it.each(ALL)('recognises a %s made by the other copy, both ways', (name) => {
    const theirs = new copy[name]('from copy 2')
    const ours = new local[name]('from copy 1')
    expect(theirs).toBeInstanceOf(local[name])
    expect(ours).toBeInstanceOf(copy[name])
    expect(theirs).toBeInstanceOf(errors.KeystashError)
    expect(theirs.name).toBe(name)
  })

  it('keeps the hierarchy, and nothing more', () => {
    const timeout = new copy.TimeoutError('slow')
    expect(timeout).toBeInstanceOf(errors.ConnectionError)
    expect(timeout).not.toBeInstanceOf(errors.ServerError)
    const kek = new copy.KeyUnavailableError('kek')
    expect(kek).toBeInstanceOf(errors.ServerError)
    expect(new copy.NotFoundError('x')).not.toBeInstanceOf(errors.ConflictError)
    expect(new copy.KeystashError('x')).not.toBeInstanceOf(errors.NotFoundError)
  })

  it('goes by the brand: plain objects carrying it count, a newer unknown class is a KeystashError', () => {
    const brand = Symbol.for('keystash.error')
    expect({ [brand]: 'NotFoundError' }).toBeInstanceOf(NotFoundError)
    expect({ [brand]: 'TimeoutError' }).toBeInstanceOf(ConnectionError)
    const future = { [brand]: 'SomeFutureError' }
    expect(future).toBeInstanceOf(KeystashError)
    expect(future).not.toBeInstanceOf(NotFoundError)
    expect({ [brand]: 42 }).not.toBeInstanceOf(KeystashError)
    expect(new Error('plain')).not.toBeInstanceOf(KeystashError)
    expect(null).not.toBeInstanceOf(KeystashError)
    expect(new TimeoutError('t')).toBeInstanceOf(TimeoutError)
  })
})

describe('errorClassFor', () => {
  it.each([
    [400, undefined, 'ValidationError'],
    [413, 'payload_too_large', 'ValidationError'],
    [415, 'unsupported_media_type', 'ValidationError'],
    [429, 'rate_limited', 'RateLimitError'],
    [429, 'login_locked', 'RateLimitError'],
    [500, 'internal', 'ServerError'],
    [503, 'storage_unavailable', 'ServerError'],
    [500, 'decryption_failed', 'KeyUnavailableError'],
    [503, 'kek_pending_deletion', 'KeyUnavailableError'],
    [503, 'kms_throttled', 'KeyUnavailableError'],
    [405, 'method_not_allowed', 'KeystashError'],
  ] as const)('maps %i %s to %s', (status, code, name) => {
    expect(errors.errorClassFor(status, code).brand).toBe(name)
  })
})
