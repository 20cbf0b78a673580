// TypeScript, CommonJS side (nodenext resolves the package's `require` condition here).
import { Keystash, type MockOptions } from '@keystash/sdk'

import DefaultKeystash = require('@keystash/sdk')

const mock: MockOptions = { values: { openai: 'sk-test' } }
export const offline = new Keystash({ mock })
export const same: typeof Keystash = DefaultKeystash.Keystash
