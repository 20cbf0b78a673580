import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

let stack: Stack
let api: ReturnType<typeof client>
let owner: Awaited<ReturnType<typeof signup>>

beforeAll(async () => {
  stack = await startStack()
  api = client(stack.app)
  owner = await signup(api)
})
afterAll(() => stack?.close())

function expectValidationFailure(res: { status: number; body: any; headers: Headers }) {
  expect([res.status, res.body?.code]).toEqual([422, 'validation_failed'])
  expect(res.headers.get('content-type')).toBe('application/problem+json')
}

describe('inputs that used to be accepted and then mishandled', () => {
  it('refuses the key names . and .., which no URL can reach', async () => {
    for (const name of ['.', '..']) {
      expectValidationFailure(await api.post('/v1/keys', { name, value: 'v' }, owner.session))
    }
    const listed = await api.get('/v1/keys', owner.session)
    expect(listed.body.items.map((k: { name: string }) => k.name)).not.toContain('.')
    // Names that merely contain dots stay valid and reachable.
    expect((await api.post('/v1/keys', { name: '...', value: 'v' }, owner.session)).status).toBe(
      201,
    )
    expect((await api.get('/v1/keys/.../value', owner.session)).body.value).toBe('v')
  })

  it('refuses a value with a lone UTF-16 surrogate instead of storing U+FFFD', async () => {
    // JSON escapes reach the server as they are: JSON.stringify would keep them escaped too.
    for (const escaped of ['"a\\ud800b"', '"\\udc00"', '"x\\ud83d"']) {
      const body = `{"name":"surrogate-${escaped.length}","value":${escaped}}`
      expectValidationFailure(await api.post('/v1/keys', body, owner.session))
    }
    expect((await api.post('/v1/keys', { name: 'k', value: 'ok' }, owner.session)).status).toBe(201)
    expectValidationFailure(await api.put('/v1/keys/k/value', '{"value":"\\ud800"}', owner.session))
    expect((await api.get('/v1/keys/k/value', owner.session)).body.value).toBe('ok')
    // A well-formed pair (an emoji) is fine.
    const emoji = await api.put('/v1/keys/k/value', { value: 'key-😀' }, owner.session)
    expect(emoji.status).toBe(200)
    expect((await api.get('/v1/keys/k/value', owner.session)).body.value).toBe('key-😀')
  })

  it('refuses a KMS key ARN whose region is not a region with 422, not 503', async () => {
    for (const region of ['-x', 'x', 'us-east', '1']) {
      const res = await api.put(
        '/v1/org/encryption',
        { provider: 'aws-kms', keyArn: `arn:aws:kms:${region}:111122223333:key/abcd-1234` },
        owner.session,
      )
      expectValidationFailure(res)
    }
  })

  it('refuses credentials in the query string whatever their case', async () => {
    for (const query of ['token=x', 'Token=x', 'ACCESS_TOKEN=x', 'Api_Key=x']) {
      const res = await api.get(`/v1/keys?${query}`, owner.session)
      expect([res.status, res.body.code]).toEqual([401, 'unauthorized'])
    }
  })
})
