import { fileURLToPath } from 'node:url'
import { SERVER_NODE_FLAGS } from '../../../src/node-flags.ts'
import { runHttpLoad } from '../http-load.ts'
import type { BenchContext, Scenario } from '../scenario.ts'
import { type ServerProcess, startServerProcess } from '../server-process.ts'

const entry = fileURLToPath(new URL('../servers/hello.ts', import.meta.url))

export function createHonoHelloScenario(): Scenario {
  let context: BenchContext | undefined
  let server: ServerProcess | undefined
  return {
    name: 'hono-hello',
    description: 'GET / on a Hono hello-world (@hono/node-server, own process), autocannon',
    baseline: 'ceiling',
    async setup(benchContext) {
      context = benchContext
      // With the server's own Node flags: the ceiling of the same runtime.
      server = await startServerProcess(entry, {
        env: benchContext.env,
        nodeFlags: SERVER_NODE_FLAGS,
      })
    },
    run(concurrency) {
      if (!context || !server) throw new Error('hono-hello: run() before setup()')
      const { seconds, warmupSeconds } = context
      const probes = [context.cpuProbe({ server: server.pid })]
      return runHttpLoad({ url: `${server.url}/` }, { concurrency, seconds, warmupSeconds, probes })
    },
    async teardown() {
      await server?.stop()
    },
  }
}
