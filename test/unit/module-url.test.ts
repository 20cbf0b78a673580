import { describe, expect, it } from 'vitest'
import { isSource, moduleUrl, nodeArgs } from '../../src/module-url.ts'

describe('finding our own modules from sources or from the build', () => {
  const source = 'file:///app/src/audit/off-thread.ts'
  const built = 'file:///app/dist/src/audit/off-thread.js'

  it('names the .ts sibling from source and the .js sibling when compiled', () => {
    expect(isSource(source)).toBe(true)
    expect(isSource(built)).toBe(false)
    expect(moduleUrl('./audit-thread', source).href).toBe('file:///app/src/audit/audit-thread.ts')
    expect(moduleUrl('./audit-thread', built).href).toBe(
      'file:///app/dist/src/audit/audit-thread.js',
    )
  })

  it('starts node with tsx only from source', () => {
    expect(nodeArgs('../kms/main', source)).toEqual(['--import', 'tsx', '/app/src/kms/main.ts'])
    expect(nodeArgs('../kms/main', built)).toEqual(['/app/dist/src/kms/main.js'])
  })

  it('is not fooled by a folder or query that looks like TypeScript', () => {
    expect(isSource('file:///app/dist.ts/src/main.js')).toBe(false)
    expect(isSource('file:///app/src/main.ts?x=1')).toBe(true)
  })
})
