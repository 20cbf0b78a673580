import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { seedKeys, tenantItems } from '../support/seed-keys.ts'
import { client, type Stack, signup, startStack } from '../support/stack.ts'

// Both instances read this clock: tests move it by days instead of waiting.
const clock = { offset: 0, now: () => Date.now() + clock.offset }
const DAY = 86_400_000

let stack: Stack
let api: ReturnType<typeof client>
beforeAll(async () => {
  stack = await startStack({ clock, env: { KEYSTASH_RECORD_CACHE_MS: '0' } })
  api = client(stack.app)
})
afterAll(() => stack?.close())

/** A fresh session at the clock's current time (the sign-up session expires as days pass). */
async function login(account: { email: string; password: string }) {
  const res = await api.post('/v1/auth/login', { email: account.email, password: account.password })
  expect(res.status).toBe(200)
  return res.body.session.token as string
}

// The clock only moves forward: a job filed at a later time waits for that time to come.
describe('scheduled re-keying', () => {
  it('fires once when due, across two instances ticking together', async () => {
    const second = stack.anotherInstance()
    const account = await signup(api)
    const { session, tenantId } = account
    await seedKeys(stack, tenantId, 5)
    const view = (await api.get('/v1/org/encryption', session)).body
    expect(view.rekey).toMatchObject({ periodDays: 365, lastRekeyAt: null, job: null })
    const dueAt = Date.parse(view.rekey.nextDueAt)
    expect(dueAt - Date.now()).toBeGreaterThan(364 * DAY)

    // A day early: nothing starts anywhere.
    clock.offset = dueAt - Date.now() - DAY
    const early = await Promise.all([
      stack.deps.rekeying.startDue(),
      second.deps.rekeying.startDue(),
    ])
    expect(early.flat()).toEqual([])

    // Due: two instances tick at the same moment; exactly one files the job.
    clock.offset = dueAt - Date.now() + 1000
    const ticks = await Promise.all([
      stack.deps.rekeying.startDue(),
      second.deps.rekeying.startDue(),
      stack.deps.rekeying.startDue(),
      second.deps.rekeying.startDue(),
    ])
    const started = ticks.flat().filter((job) => job.tenantId === tenantId)
    expect(started).toHaveLength(1)
    expect(started[0]).toMatchObject({ kind: 'rekey' })
    const jobs = await tenantItems(stack, tenantId, 'KEKJOB#')
    expect(jobs).toHaveLength(1)

    // Ticks later in the same period start nothing more.
    clock.offset += 3600_000
    const later = await Promise.all([
      stack.deps.rekeying.startDue(),
      second.deps.rekeying.startDue(),
    ])
    expect(later.flat().filter((job) => job.tenantId === tenantId)).toEqual([])

    await Promise.all([stack.deps.reencryption.idle(), second.deps.reencryption.idle()])
    const after = (await api.get('/v1/org/encryption', await login(account))).body
    expect(after.rekey.job).toMatchObject({ id: started[0]?.jobId, status: 'finished', done: 5 })
    expect(Date.parse(after.rekey.nextDueAt) - Date.parse(after.rekey.lastRekeyAt)).toBe(365 * DAY)
    for (const item of await tenantItems(stack, tenantId, 'KEYVER#')) {
      expect(item.recordVersion).toBe(2)
    }
  }, 120_000)

  it('never fires with a period of 0, and a shorter period brings the date forward', async () => {
    const account = await signup(api)
    const { tenantId } = account
    const monthly = await api.put('/v1/org/encryption/rekey', { periodDays: 30 }, account.session)
    expect(monthly.status).toBe(200)
    const [schedule] = await tenantItems(stack, tenantId, 'REKEY')
    expect(Date.parse(monthly.body.nextDueAt) - Date.parse(schedule?.periodStart)).toBe(30 * DAY)
    const off = await api.put('/v1/org/encryption/rekey', { periodDays: 0 }, account.session)
    expect(off.body).toMatchObject({ periodDays: 0, nextDueAt: null })

    clock.offset += 5000 * DAY
    const mine = (jobs: Array<{ tenantId: string }>) => jobs.filter((j) => j.tenantId === tenantId)
    expect(mine(await stack.deps.rekeying.startDue())).toEqual([])

    // Back on, the period counts from its start: long past, so due at the next tick.
    const session = await login(account)
    expect((await api.put('/v1/org/encryption/rekey', { periodDays: 30 }, session)).status).toBe(
      200,
    )
    expect(mine(await stack.deps.rekeying.startDue())).toHaveLength(1)
    expect(mine(await stack.deps.rekeying.startDue())).toEqual([])
    await stack.deps.reencryption.idle()
  }, 60_000)
})
