import { readdirSync, readFileSync } from 'node:fs'
import { dirname, join, relative, resolve } from 'node:path'
import { fileURLToPath } from 'node:url'
import { describe, expect, it } from 'vitest'
import { MOCK_FILES, renderCopy, sdkPath } from '../../sdk/scripts/copy-mock.ts'
import * as sdkFakes from '../../sdk/src/mock/fake-values.ts'
import * as serverFakes from '../../src/mock/fake-values.ts'

const root = fileURLToPath(new URL('../../', import.meta.url))

describe("the SDK's copy of the server's mock code", () => {
  it.each(MOCK_FILES)(
    'sdk/src/mock/%s is the server file as npm run sdk:mock copies it',
    (name) => {
      expect(readFileSync(join(root, sdkPath(name)), 'utf8')).toBe(renderCopy(name))
    },
  )

  it('holds the same providers, prefixes and values as the server', async () => {
    expect(sdkFakes.providers).toEqual(serverFakes.providers)
    expect(sdkFakes.KNOWN_PREFIXES).toEqual(serverFakes.KNOWN_PREFIXES)
    for (const provider of serverFakes.providers) {
      const input = { secret: 'a secret of sixteen+ bytes', tenantId: 't', keyId: 'k', version: 3 }
      expect(await sdkFakes.fakeValue({ ...input, provider })).toBe(
        await serverFakes.fakeValue({ ...input, provider }),
      )
    }
  })
})

describe('the sdk folder', () => {
  const SPECIFIER = /(?:import|export)\s[^'"]*?from\s+'([^']+)'|import\(\s*'([^']+)'\s*\)/g
  const sdk = join(root, 'sdk')
  const files = readdirSync(sdk, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && /\.[cm]?[jt]s$/.test(e.name))
    .map((e) => join(e.parentPath, e.name))
    .filter((file) => !/[/\\](node_modules|dist)[/\\]/.test(relative(sdk, file)))

  it('imports nothing outside sdk/ (relative imports stay inside; packages only from scripts)', () => {
    expect(files.length).toBeGreaterThan(15)
    for (const file of files) {
      const source = readFileSync(file, 'utf8')
      for (const match of source.matchAll(SPECIFIER)) {
        const specifier = match[1] ?? match[2] ?? ''
        if (specifier.startsWith('.')) {
          const target = relative(sdk, resolve(dirname(file), specifier))
          expect({ file, specifier, inside: !target.startsWith('..') }).toMatchObject({
            inside: true,
          })
        } else if (file.startsWith(join(sdk, 'src'))) {
          expect({ file, specifier }).toEqual({ file, specifier: 'never a package' })
        }
      }
    }
  })
})
