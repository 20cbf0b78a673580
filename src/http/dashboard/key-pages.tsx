import type { Hono } from 'hono'
import { z } from 'zod'
import { describeKey } from '../../domain/key-description.ts'
import { AppError } from '../../errors.ts'
import { providers } from '../../mock/fake-values.ts'
import { valueReadEntry } from '../../reads/answer.ts'
import { audited } from '../audit.ts'
import { parseInput } from '../router.ts'
import {
  DescriptionSchema,
  KeyNameSchema,
  keyTarget,
  REF_PATTERN,
  TagsSchema,
} from '../routes/key-schemas.ts'
import type { DashboardDeps, PageKit } from './deps.ts'
import type { DashboardEnv } from './env.ts'
import { formOf, listField, wantsJson } from './form.ts'
import { allKeys } from './lists.ts'
import { KeyPage, KeysPage, RevealedPage } from './pages/keys.tsx'
import { frameOf, render } from './render.ts'
import { requireRecentCheck } from './step-up.ts'

const NewKey = z.object({
  name: KeyNameSchema,
  value: z.string().min(1),
  provider: z.enum(providers).optional(),
  description: DescriptionSchema.optional(),
  tags: TagsSchema,
})
const KeyRef = z.string().regex(REF_PATTERN, 'not a key id')

/** Keys: list and search, create, one key's page, reveal, add a version, delete. */
export function registerKeyPages(
  router: Hono<DashboardEnv>,
  { keyService, reveal, audit, clock }: DashboardDeps,
  { session }: PageKit,
) {
  router.get('/keys', session, async (c) => {
    const filter = {
      q: (c.req.query('q') ?? '').trim().slice(0, 200),
      provider: c.req.query('provider') ?? '',
      tag: c.req.query('tag') ?? '',
    }
    const all = (await allKeys(keyService, c.get('principal'))).map(describeKey)
    const needle = filter.q.toLowerCase()
    const keys = all.filter(
      (k) =>
        (!needle ||
          k.name.toLowerCase().includes(needle) ||
          (k.description ?? '').toLowerCase().includes(needle)) &&
        (!filter.provider || k.provider === filter.provider) &&
        (!filter.tag || k.tags.includes(filter.tag)),
    )
    const tags = [...new Set(all.flatMap((k) => k.tags))].sort()
    return render(c, <KeysPage frame={frameOf(c)} keys={keys} filter={filter} tags={tags} />)
  })

  router.post('/keys', session, async (c) => {
    const form = await formOf(c)
    const input = parseInput(NewKey, {
      name: form.get('name')?.trim() ?? '',
      value: form.get('value') ?? '',
      provider: form.get('provider') || undefined,
      description: form.get('description')?.trim() || undefined,
      tags: listField(form.get('tags')),
    })
    const record = await audited(
      c,
      audit,
      (created) => ({
        action: 'key.create',
        target: keyTarget(created),
        details: { provider: created.provider, version: 1 },
      }),
      () => keyService.create(c.get('principal'), input),
      { action: 'key.create', target: { type: 'key', id: input.name, name: input.name } },
    )
    return c.redirect(`/keys/${record.keyId}`, 303)
  })

  router.get('/keys/:id', session, async (c) => {
    const id = parseInput(KeyRef, c.req.param('id'))
    const { record, versions } = await keyService.versions(c.get('principal'), id)
    return render(
      c,
      <KeyPage
        frame={frameOf(c)}
        keyView={describeKey(record)}
        versions={versions.map((v) => ({
          version: v.version,
          createdAt: v.createdAt,
          kek: `${v.sealed.kek.provider} key, version ${v.sealed.kek.version}`,
        }))}
      />,
    )
  })

  // A value leaves the server only here, after the person's click, with a recent password
  // check, audited like an API read, and never cached.
  router.post('/keys/:id/reveal', session, async (c) => {
    const id = parseInput(KeyRef, c.req.param('id'))
    requireRecentCheck(c.get('sessionToken'), clock.now())
    const revealed = await audited(
      c,
      audit,
      valueReadEntry,
      () => reveal(c.get('principal'), c.get('organization'), id),
      { action: 'key.value.read', target: { type: 'key', id, name: null } },
    )
    if (wantsJson(c)) {
      return c.json({
        value: revealed.value,
        version: revealed.version,
        mode: revealed.mode.effective,
      })
    }
    return render(
      c,
      <RevealedPage
        frame={frameOf(c)}
        keyView={describeKey(revealed.record)}
        version={revealed.version}
        value={revealed.value}
      />,
    )
  })

  router.post('/keys/:id/versions', session, async (c) => {
    const id = parseInput(KeyRef, c.req.param('id'))
    const value = parseInput(z.string().min(1), (await formOf(c)).get('value') ?? '')
    const record = await audited(
      c,
      audit,
      (updated) => ({
        action: 'key.version.create',
        target: keyTarget(updated),
        details: { version: updated.currentVersion },
      }),
      () => keyService.addVersion(c.get('principal'), id, value),
      { action: 'key.version.create', target: { type: 'key', id, name: null } },
    )
    return c.redirect(`/keys/${record.keyId}`, 303)
  })

  router.post('/keys/:id/delete', session, async (c) => {
    const id = parseInput(KeyRef, c.req.param('id'))
    const confirm = (await formOf(c)).get('confirm') ?? ''
    const principal = c.get('principal')
    const record = await keyService.get(principal, id)
    if (confirm !== record.name) {
      throw new AppError('validation_failed', 'Type the key’s exact name to delete it.', {
        extra: { errors: [{ field: 'confirm', message: 'must be the key’s name' }] },
      })
    }
    await audited(
      c,
      audit,
      (deleted) => ({
        action: 'key.delete',
        target: keyTarget(deleted),
        details: { versions: deleted.currentVersion },
      }),
      () => keyService.delete(principal, record.keyId),
      { action: 'key.delete', target: keyTarget(record) },
    )
    return c.redirect('/keys', 303)
  })
}
