// Node CommonJS: the package's `require` condition.
const sdk = require('@keystash/sdk')

const entry = require.resolve('@keystash/sdk')
import('./session.mjs')
  .then(({ session }) => session(sdk, 'node-cjs'))
  .then((result) => console.log(JSON.stringify({ entry, ...result })))
  .catch((error) => {
    console.error(error)
    process.exitCode = 1
  })
