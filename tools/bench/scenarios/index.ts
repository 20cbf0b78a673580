import type { Scenario } from '../scenario.ts'
import { createDynamoGetItemScenario } from './dynamodb-get-item.ts'
import { createHonoHelloScenario } from './hono-hello.ts'

/** Every scenario, in run order: the two baselines first, so every later row has its ratios. */
export function allScenarios(): Scenario[] {
  return [createHonoHelloScenario(), createDynamoGetItemScenario()]
}
