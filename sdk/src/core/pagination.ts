import type { PageData } from '../types.ts'

export type FetchPage<T> = (cursor: string | undefined) => Promise<PageData<T>>

/** One page of a list, and the way to the next. */
export class Page<T> implements PageData<T> {
  readonly items: T[]
  readonly nextCursor: string | null
  readonly #fetchPage: FetchPage<T>

  constructor(data: PageData<T>, fetchPage: FetchPage<T>) {
    this.items = data.items
    this.nextCursor = data.nextCursor
    this.#fetchPage = fetchPage
  }

  hasNextPage(): boolean {
    return this.nextCursor !== null
  }

  /** The following page, or null after the last one. */
  async nextPage(): Promise<Page<T> | null> {
    if (this.nextCursor === null) return null
    return new Page(await this.#fetchPage(this.nextCursor), this.#fetchPage)
  }
}

/**
 * A list that fetches its pages lazily. `for await (const item of list)` walks every item of
 * every page; `.page()` fetches just the first page (or the one at `cursor`); `.pages()`
 * walks page by page. Each fetch is one request with the client's retries and timeout.
 */
export class PagedList<T> implements AsyncIterable<T> {
  readonly #fetchPage: FetchPage<T>
  readonly #cursor: string | undefined

  constructor(fetchPage: FetchPage<T>, cursor?: string) {
    this.#fetchPage = fetchPage
    this.#cursor = cursor
  }

  async page(): Promise<Page<T>> {
    return new Page(await this.#fetchPage(this.#cursor), this.#fetchPage)
  }

  async *pages(): AsyncGenerator<Page<T>, void, undefined> {
    for (let page: Page<T> | null = await this.page(); page; page = await page.nextPage()) {
      yield page
    }
  }

  async *[Symbol.asyncIterator](): AsyncGenerator<T, void, undefined> {
    for await (const page of this.pages()) yield* page.items
  }

  /** Every item of every page, in one array. Mind the size of what you list. */
  async toArray(): Promise<T[]> {
    const items: T[] = []
    for await (const item of this) items.push(item)
    return items
  }
}
