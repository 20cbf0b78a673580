import { randomUUID } from 'node:crypto'
import type { Clock } from '../lib/clock.ts'
import type { Logger } from '../logger.ts'
import { type KekJobStore, LeaseLost } from '../storage/kek-jobs.ts'
import type { RunJob } from './reencrypt.ts'

export interface JobRunnerOptions {
  jobs: Pick<KekJobStore, 'claim' | 'listOpen' | 'release'>
  run: RunJob
  clock: Clock
  logger: Logger
  leaseMs: number
  /** How often `start()` looks for open jobs whose instance has gone (their lease ran out). */
  pollMs: number
}

/**
 * Runs re-encryption jobs in the background of a server instance. A job starts at once on
 * the instance where the KEK changed (`kick`); `start()` also resumes, at start-up and then
 * every `pollMs`, any open job whose lease has run out, which is how a job outlives the
 * instance that started it. Claiming takes the job's lease in DynamoDB, so two instances never
 * run one job together (see storage/kek-jobs.ts).
 */
export function createJobRunner({ jobs, run, clock, logger, leaseMs, pollMs }: JobRunnerOptions) {
  const owner = randomUUID()
  const running = new Map<
    string,
    { tenantId: string; jobId: string; controller: AbortController; done: Promise<void> }
  >()
  let timer: NodeJS.Timeout | undefined
  let polling = false

  function claimAndRun(tenantId: string, jobId: string): Promise<void> {
    const id = `${tenantId}/${jobId}`
    const existing = running.get(id)
    if (existing) return existing.done
    const controller = new AbortController()
    const done = (async () => {
      const job = await jobs.claim(tenantId, jobId, owner, clock.now(), leaseMs)
      if (!job || controller.signal.aborted) return
      logger.info({ tenantId, jobId, pass: job.pass }, 're-encryption job claimed')
      await run(job, owner, controller.signal)
    })()
      .catch((error: unknown) => {
        if (error instanceof LeaseLost)
          logger.warn({ tenantId, jobId }, 're-encryption job lease lost')
        else
          logger.error(
            { tenantId, jobId, error: (error as Error).message },
            're-encryption job error',
          )
      })
      .finally(() => running.delete(id))
    running.set(id, { tenantId, jobId, controller, done })
    return done
  }

  async function resume(): Promise<void> {
    const open = await jobs.listOpen()
    await Promise.all(open.map(({ tenantId, jobId }) => claimAndRun(tenantId, jobId)))
  }

  return {
    owner,
    /** Starts a job now, in the background. */
    kick(tenantId: string, jobId: string): void {
      void claimAndRun(tenantId, jobId)
    },

    /** Claims and runs every open job whose lease is free; resolves when they have ended. */
    resume,

    /** Resumes open jobs now and then every `pollMs` (the timer does not hold the process). */
    start(): void {
      if (timer) return
      const poll = () => {
        if (polling) return
        polling = true
        resume()
          .catch((error: unknown) =>
            logger.warn(
              { error: (error as Error).message },
              'looking for open re-encryption jobs failed',
            ),
          )
          .finally(() => {
            polling = false
          })
      }
      poll()
      timer = setInterval(poll, pollMs)
      timer.unref()
    },

    /** Resolves once no job runs on this instance. */
    async idle(): Promise<void> {
      while (running.size > 0) await Promise.all([...running.values()].map((r) => r.done))
    },

    /**
     * Stops every job at the next record boundary, like a crash would (the page in progress is
     * not saved). The leases are left to run out, unless `release` gives them up at once so
     * another instance can take over without waiting.
     */
    async stop({ release = false }: { release?: boolean } = {}): Promise<void> {
      if (timer) clearInterval(timer)
      timer = undefined
      const stopping = [...running.values()]
      for (const { controller } of stopping) controller.abort()
      await Promise.all(stopping.map((r) => r.done))
      if (!release) return
      await Promise.all(
        stopping.map((r) =>
          jobs.release(r.tenantId, r.jobId, owner).catch((error: unknown) => {
            logger.warn({ jobId: r.jobId, error: (error as Error).message }, 'lease not released')
          }),
        ),
      )
    },
  }
}

export type JobRunner = ReturnType<typeof createJobRunner>
