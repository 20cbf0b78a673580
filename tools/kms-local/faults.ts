import { KmsError } from './errors.ts'

/**
 * Faults a test (or, over HTTP, a developer) switches on to see how callers cope with a slow,
 * throttled, failing or unreachable KMS. Each may be limited to one region and/or one key, and
 * to the next N matching calls.
 */
export interface FaultScope {
  region?: string
  /** A key id or key ARN. */
  keyId?: string
  /** Only the next N matching calls; every matching call when absent. */
  times?: number
}

export type FaultSpec =
  | ({ type: 'latency'; ms: number } & FaultScope)
  | ({ type: 'throttle' } & FaultScope)
  | ({ type: 'internalError' } & FaultScope)

export interface FaultController {
  /** Delays matching responses by `ms`. */
  latency(ms: number, scope?: FaultScope): void
  /** Answers ThrottlingException (HTTP 400; the SDK retries it). */
  throttle(scope?: FaultScope): void
  /** Answers KMSInternalException (HTTP 500; the SDK retries it). */
  internalError(scope?: FaultScope): void
  add(fault: FaultSpec): void
  /** The faults still in force. */
  readonly active: readonly FaultSpec[]
  clear(): void
  /** Stops listening and drops open connections: callers get ECONNREFUSED. */
  refuseConnections(): Promise<void>
  /** Listens again on the same port. */
  acceptConnections(): Promise<void>
}

export interface FaultOutcome {
  delayMs: number
  error?: KmsError
}

export function createFaults(listener: {
  stop(): Promise<void>
  start(): Promise<void>
}): FaultController & { decide(call: { region: string; keyIds: string[] }): FaultOutcome } {
  let faults: FaultSpec[] = []

  const add = (fault: FaultSpec) => {
    checkFault(fault)
    const keyId = fault.keyId?.replace(/^arn:aws:kms:[^:]*:\d*:key\//, '')
    faults.push({ ...fault, ...(keyId !== undefined && { keyId }) })
  }

  return {
    latency: (ms, scope = {}) => add({ type: 'latency', ms, ...scope }),
    throttle: (scope = {}) => add({ type: 'throttle', ...scope }),
    internalError: (scope = {}) => add({ type: 'internalError', ...scope }),
    add,
    get active() {
      return faults.map((f) => ({ ...f }))
    },
    clear: () => {
      faults = []
    },
    refuseConnections: () => listener.stop(),
    acceptConnections: () => listener.start(),

    decide({ region, keyIds }) {
      const outcome: FaultOutcome = { delayMs: 0 }
      for (const fault of faults) {
        const matches =
          (fault.region === undefined || fault.region === region) &&
          (fault.keyId === undefined || keyIds.includes(fault.keyId))
        if (!matches) continue
        if (fault.type !== 'latency' && outcome.error) continue
        if (fault.times !== undefined) fault.times -= 1
        if (fault.type === 'latency') outcome.delayMs += fault.ms
        else if (fault.type === 'throttle')
          outcome.error = new KmsError('ThrottlingException', 'Rate exceeded')
        else
          outcome.error = new KmsError('KMSInternalException', 'An internal error occurred.', 500)
      }
      faults = faults.filter((f) => f.times === undefined || f.times > 0)
      return outcome
    },
  }
}

/** Fails when the fault is set up, not when a call first meets it. */
function checkFault(fault: FaultSpec): void {
  if (!['latency', 'throttle', 'internalError'].includes(fault.type)) {
    throw new Error(`unknown fault type ${String(fault.type)}: latency, throttle or internalError`)
  }
  if (fault.type === 'latency' && !(Number.isFinite(fault.ms) && fault.ms >= 0)) {
    throw new Error('latency needs ms >= 0')
  }
  if (fault.times !== undefined && !(Number.isInteger(fault.times) && fault.times > 0)) {
    throw new Error('times must be a positive integer')
  }
}
