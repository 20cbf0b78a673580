// What every consumer does, in plain JavaScript any runtime runs: sign up against the live
// server in KEYSTASH_URL, store a key, mint a production token, read the value back through
// the SDK, then read a fake from offline mock mode (no network). Prints one JSON line.
export async function session({ Keystash, NotFoundError }, runtime) {
  const baseUrl = globalThis.process?.env?.KEYSTASH_URL ?? globalThis.Deno?.env.get('KEYSTASH_URL')
  const res = await fetch(`${baseUrl}/v1/auth/signup`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({
      email: `${runtime}-${Date.now()}-${Math.random()}@example.com`,
      password: 'correct horse battery staple',
    }),
  })
  if (res.status !== 201) throw new Error(`sign-up answered ${res.status}`)
  const { session } = await res.json()

  const owner = new Keystash({ baseUrl, token: session.token })
  const value = `sk-proj-${runtime}-consumer-value-0123456789abcdef`
  await owner.keys.create({ name: 'openai', value, provider: 'openai' })
  const { token } = await owner.tokens.create({
    name: `${runtime}-app`,
    scopes: ['keys:read'],
    environment: 'production',
    expiresIn: 600,
  })

  const app = new Keystash({ baseUrl, token })
  const live = await app.keys.getValue('openai')
  let missing = 'no error'
  try {
    await app.keys.getValue('absent')
  } catch (error) {
    missing = error instanceof NotFoundError ? `NotFoundError ${error.status}` : String(error)
  }

  const offline = await new Keystash({ mock: true }).keys.getValue('openai')
  return {
    runtime,
    live: { matches: live.value === value, mode: live.mode.effective },
    missing,
    offline: { value: offline.value, source: offline.mode.source },
  }
}
