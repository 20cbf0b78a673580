import { writeFileSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { generateOpenApi } from './openapi-document.ts'

const target = fileURLToPath(new URL('../openapi.yaml', import.meta.url))
writeFileSync(target, generateOpenApi().yaml)
process.stdout.write(`wrote ${target}\n`)
