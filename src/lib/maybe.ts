/**
 * A value that is either at hand or on its way. The caches answer from memory synchronously
 * and return a promise only when they must load, so a chain of stages built with `andThen`
 * below runs without a single promise hop when every stage is warm, and waits only at the
 * stages that are not.
 */
export type Maybe<T> = T | Promise<T>

/**
 * `next(value)` now when `value` is at hand, else once it arrives. (Not named `then`: a module
 * exporting `then` is a thenable, and `await import()` of it would call it.)
 */
export function andThen<T, U>(value: Maybe<T>, next: (value: T) => Maybe<U>): Maybe<U> {
  return value instanceof Promise ? value.then(next) : next(value)
}

/** `work()` with a synchronous throw turned into a rejection, for callers that only await. */
export function settle<T>(work: () => Maybe<T>): Promise<T> {
  try {
    return Promise.resolve(work())
  } catch (error) {
    return Promise.reject(error)
  }
}
