// `npm run build`, second step: the files the compiled server reads at run time that tsc does
// not emit (the dashboard's scripts and styles), copied beside the JavaScript that reads them.
import { cpSync } from 'node:fs'

for (const dir of ['src/http/dashboard/assets']) {
  cpSync(dir, `dist/${dir}`, { recursive: true })
}
