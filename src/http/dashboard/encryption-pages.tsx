import type { Hono } from 'hono'
import { z } from 'zod'
import { clientOf } from '../client.ts'
import { parseInput } from '../router.ts'
import { PutEncryptionBody } from '../routes/encryption.ts'
import type { DashboardDeps, PageKit } from './deps.ts'
import type { DashboardEnv } from './env.ts'
import { formOf, listField } from './form.ts'
import { EncryptionPage } from './pages/encryption.tsx'
import { frameOf, render } from './render.ts'
import { requireRecentCheck } from './step-up.ts'

/** `/encryption`: the tenant's key-encryption key, its change, and the re-encryption job. */
export function registerEncryptionPages(
  router: Hono<DashboardEnv>,
  { encryption, clock }: DashboardDeps,
  { session }: PageKit,
) {
  router.get('/encryption', session, async (c) => {
    const view = await encryption.describe(c.get('principal'))
    return render(c, <EncryptionPage frame={frameOf(c)} view={view} />)
  })

  // Same validation as PUT /v1/org/encryption; the service audits it.
  router.post('/encryption', session, async (c) => {
    requireRecentCheck(c.get('sessionToken'), clock.now())
    const form = await formOf(c)
    const provider = form.get('provider') ?? ''
    const replicas = listField(form.get('replicaArns'))
    const input = parseInput(PutEncryptionBody, {
      provider,
      ...(provider === 'aws-kms'
        ? {
            keyArn: form.get('keyArn')?.trim() ?? '',
            ...(form.get('roleArn')?.trim() ? { roleArn: form.get('roleArn')?.trim() } : {}),
            ...(replicas.length ? { replicaArns: replicas } : {}),
          }
        : {}),
      ...(provider === 'raw' ? { material: form.get('material') ?? '' } : {}),
    })
    const { address, userAgent } = clientOf(c)
    await encryption.configure(c.get('principal'), input, {
      requestId: c.get('requestId'),
      client: { address: address ?? null, userAgent: userAgent ?? null },
    })
    return c.redirect('/encryption', 303)
  })

  // The progress bar's source: the job, with its rate and the time left.
  router.get('/encryption/jobs/:id', session, async (c) => {
    const id = parseInput(z.string().max(64), c.req.param('id'))
    const job = await encryption.job(c.get('principal'), id)
    const startedMs = job.startedAt ? Date.parse(job.startedAt) : undefined
    const endMs = job.finishedAt ? Date.parse(job.finishedAt) : clock.now()
    const seconds = startedMs === undefined ? 0 : (endMs - startedMs) / 1000
    const rate = seconds > 0 ? job.done / seconds : 0
    const left = Math.max(0, job.total - job.done)
    return c.json({ ...job, rate, etaSeconds: rate > 0 ? left / rate : null })
  })
}
