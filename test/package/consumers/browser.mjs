// The browser/edge entry that esbuild bundles: offline mock mode, no network, no Node APIs.
import { Keystash, providerForRef } from '@keystash/sdk'

const keystash = new Keystash({ mock: true })
const result = await keystash.keys.getValue('stripe')
console.log(JSON.stringify({ provider: providerForRef('stripe'), value: result.value }))
