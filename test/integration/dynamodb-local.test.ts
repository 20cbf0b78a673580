import { spawn } from 'node:child_process'
import { once } from 'node:events'
import { chmod, mkdtemp, readdir, readFile, rm, writeFile } from 'node:fs/promises'
import { connect } from 'node:net'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { createInterface } from 'node:readline'
import {
  DescribeTableCommand,
  DescribeTimeToLiveCommand,
  GetItemCommand,
  PutItemCommand,
} from '@aws-sdk/client-dynamodb'
import { GetCommand, PutCommand } from '@aws-sdk/lib-dynamodb'
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest'
import { ensureTable } from '../../src/storage/table.ts'
import {
  createLocalDynamoClient,
  type DynamoDbLocal,
  JavaMissingError,
  startDynamoDbLocal,
} from '../../tools/dynamodb-local.ts'
import { createTestTable, type TestTable } from '../support/dynamo.ts'

describe('ensureTable against DynamoDB Local', () => {
  let table: TestTable
  beforeAll(async () => {
    table = await createTestTable()
  })
  afterAll(() => table.client.destroy())

  it('creates the table with its keys, the gsi1 index and TTL on `ttl`', async () => {
    const { Table } = await table.client.send(
      new DescribeTableCommand({ TableName: table.tableName }),
    )
    expect(Table?.TableStatus).toBe('ACTIVE')
    expect(Table?.KeySchema).toEqual([
      { AttributeName: 'pk', KeyType: 'HASH' },
      { AttributeName: 'sk', KeyType: 'RANGE' },
    ])
    const gsi = Table?.GlobalSecondaryIndexes ?? []
    expect(gsi.map((index) => index.IndexName)).toEqual(['gsi1'])
    expect(gsi[0]?.KeySchema).toEqual([
      { AttributeName: 'gsi1pk', KeyType: 'HASH' },
      { AttributeName: 'gsi1sk', KeyType: 'RANGE' },
    ])
    expect(gsi[0]?.Projection?.ProjectionType).toBe('ALL')
    const ttl = await table.client.send(
      new DescribeTimeToLiveCommand({ TableName: table.tableName }),
    )
    expect(ttl.TimeToLiveDescription).toMatchObject({
      AttributeName: 'ttl',
      TimeToLiveStatus: 'ENABLED',
    })
  })

  it('is idempotent: a second call reports "exists" and keeps the items', async () => {
    const item = { pk: 'ORG#idempotent', sk: 'ORG', name: 'kept' }
    await table.doc.send(new PutCommand({ TableName: table.tableName, Item: item }))
    expect(await ensureTable(table.client, table.tableName)).toBe('exists')
    const { Item } = await table.doc.send(
      new GetCommand({ TableName: table.tableName, Key: { pk: item.pk, sk: item.sk } }),
    )
    expect(Item).toEqual(item)
  })

  it('gives each caller its own table', async () => {
    const other = await createTestTable()
    try {
      expect(other.tableName).not.toBe(table.tableName)
      expect(other.endpoint).toBe(table.endpoint)
    } finally {
      other.client.destroy()
    }
  })
})

describe('startDynamoDbLocal', () => {
  let scratch: string
  beforeAll(async () => {
    scratch = await mkdtemp(join(tmpdir(), 'keystash-dynamodb-local-'))
  })
  afterAll(() => rm(scratch, { recursive: true, force: true }))

  it('persists items under dbPath across stop() and a new start, leaving no process behind', async () => {
    const dbPath = join(scratch, 'db')
    const key = { pk: { S: 'ORG#persisted' }, sk: { S: 'ORG' } }
    const first = await startDynamoDbLocal({ dbPath })
    const firstClient = createLocalDynamoClient(first.endpoint)
    try {
      await ensureTable(firstClient, 'keystash')
      await firstClient.send(
        new PutItemCommand({ TableName: 'keystash', Item: { ...key, name: { S: 'survivor' } } }),
      )
    } finally {
      firstClient.destroy()
      await first.stop()
    }
    await expectGone(first)
    expect(await readdir(dbPath)).toContain('shared-local-instance.db')

    const second = await startDynamoDbLocal({ dbPath })
    const secondClient = createLocalDynamoClient(second.endpoint)
    try {
      expect(await ensureTable(secondClient, 'keystash')).toBe('exists')
      const { Item } = await secondClient.send(
        new GetItemCommand({ TableName: 'keystash', Key: key }),
      )
      expect(Item?.name).toEqual({ S: 'survivor' })
    } finally {
      secondClient.destroy()
      await second.stop()
    }
  })

  it('stops the jar when its parent process is killed with SIGKILL', async () => {
    const launcher = new URL('../../tools/dynamodb-local.ts', import.meta.url).href
    const script = `import { startDynamoDbLocal } from ${JSON.stringify(launcher)}
const local = await startDynamoDbLocal()
console.log(JSON.stringify({ pid: local.pid }))`
    const parent = spawn(
      process.execPath,
      ['--import', 'tsx', '--input-type=module', '-e', script],
      {
        stdio: ['ignore', 'pipe', 'ignore'],
      },
    )
    const [line] = (await Promise.race([
      once(createInterface({ input: parent.stdout }), 'line'),
      once(parent, 'exit').then(() => {
        throw new Error('the parent exited before starting DynamoDB Local')
      }),
    ])) as [string]
    const { pid } = JSON.parse(line) as { pid: number }
    try {
      expect(await isRunning(pid)).toBe(true)
      parent.kill('SIGKILL')
      await vi.waitFor(async () => expect(await isRunning(pid)).toBe(false), {
        timeout: 10_000,
        interval: 100,
      })
    } finally {
      parent.kill('SIGKILL')
      if (await isRunning(pid)) process.kill(pid, 'SIGKILL')
    }
  })

  it('raises JavaMissingError when java is not on PATH', async () => {
    const emptyDir = await mkdtemp(join(scratch, 'no-java-'))
    const attempt = startDynamoDbLocal({ env: { PATH: emptyDir } })
    await expect(attempt).rejects.toBeInstanceOf(JavaMissingError)
    await expect(attempt).rejects.toThrow(/Java 17 or newer.*openjdk-17-jre-headless.*AWS/)
  })

  it('raises JavaMissingError, naming the version, when java is older than 17', async () => {
    const binDir = await mkdtemp(join(scratch, 'old-java-'))
    const fakeJava = join(binDir, 'java')
    await writeFile(fakeJava, `#!/bin/sh\necho 'openjdk version "11.0.22" 2024-01-16' >&2\n`)
    await chmod(fakeJava, 0o755)
    await expect(startDynamoDbLocal({ env: { PATH: binDir } })).rejects.toThrow(
      /^Java 17 or newer .* \(found Java 11\)/,
    )
  })
})

/** Linux: a zombie still answers kill(pid, 0), so read the process state instead. */
async function isRunning(pid: number): Promise<boolean> {
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8')
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z'
  } catch {
    return false
  }
}

async function expectGone(local: DynamoDbLocal): Promise<void> {
  expect(await isRunning(local.pid)).toBe(false)
  const portFlag = `-port\0${local.port}\0`
  const javaOnPort = []
  for (const entry of await readdir('/proc')) {
    if (!/^\d+$/.test(entry)) continue
    const cmdline = await readFile(`/proc/${entry}/cmdline`, 'utf8').catch(() => '')
    if (cmdline.includes('DynamoDBLocal.jar') && cmdline.includes(portFlag)) javaOnPort.push(entry)
  }
  expect(javaOnPort).toEqual([])
  const socket = connect(local.port, '127.0.0.1')
  const [error] = (await once(socket, 'error')) as [NodeJS.ErrnoException]
  expect(error.code).toBe('ECONNREFUSED')
}
