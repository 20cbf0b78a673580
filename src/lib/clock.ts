/** Time as the server sees it: injectable so tests can move it instead of sleeping. */
export interface Clock {
  /** Milliseconds since the Unix epoch, like `Date.now()`. */
  now(): number
}

export const systemClock: Clock = { now: () => Date.now() }
