import type { IncomingHttpHeaders } from 'node:http'
import { setTimeout as sleep } from 'node:timers/promises'
import type { OpContext } from './access.ts'
import type { CallLog, KmsCall } from './calls.ts'
import { KmsError } from './errors.ts'
import type { FaultOutcome } from './faults.ts'
import { type AccountDirectory, type Caller, identifyCaller, readSignedScope } from './identity.ts'
import type { Input } from './input.ts'
import type { KeyStore } from './keys.ts'
import { aliasOperations } from './ops-aliases.ts'
import { callTargets, cryptoOperations } from './ops-crypto.ts'
import { keyOperations } from './ops-keys.ts'
import { rotationOperations } from './ops-rotation.ts'
import { type Sts, StsError, stsErrorXml } from './sts.ts'

/**
 * Turns one KMS (JSON 1.1) or STS (query) request into a response, logging it in the call
 * log and applying any fault in force.
 */
export interface Reply {
  status: number
  contentType: string
  body: string
}

export interface DispatchDeps {
  store: KeyStore
  accounts: AccountDirectory
  sts: Sts
  calls: CallLog
  faults: { decide(call: { region: string; keyIds: string[] }): FaultOutcome }
  now(): number
}

const handlers: Record<string, (input: Input, ctx: OpContext) => Record<string, unknown>> = {
  ...keyOperations,
  ...aliasOperations,
  ...cryptoOperations,
  ...rotationOperations,
}
const jsonType = 'application/x-amz-json-1.1'

export async function dispatchKms(
  deps: DispatchDeps,
  headers: IncomingHttpHeaders,
  body: string,
): Promise<Reply> {
  const target = String(headers['x-amz-target'])
  const operation = target.replace(/^TrentService\./, '')
  const call = logCall(deps, operation)
  try {
    const caller = authenticate(deps, headers, 'kms', call)
    const handler = target.startsWith('TrentService.') ? handlers[operation] : undefined
    if (!handler) throw new KmsError('UnknownOperationException', `Unknown operation ${target}`)
    const input = parseInput(body)
    const ctx: OpContext = { caller, store: deps.store, now: deps.now }
    Object.assign(call, callTargets(operation, input, ctx))
    const keyIds = [call.keyId, call.sourceKeyId].filter((id): id is string => id !== undefined)
    const fault = deps.faults.decide({ region: caller.region, keyIds })
    if (fault.delayMs > 0) await sleep(fault.delayMs)
    if (fault.error) throw fault.error
    const result = handler(input, ctx)
    // CreateKey and ReplicateKey name their key only in the answer.
    const metadata = (result.KeyMetadata ?? result.ReplicaKeyMetadata) as
      | { KeyId?: string }
      | undefined
    call.keyId ??= metadata?.KeyId
    return { status: 200, contentType: jsonType, body: JSON.stringify(result) }
  } catch (error) {
    const failure = asKmsError(error)
    call.outcome = failure.type
    const payload = { __type: failure.type, message: failure.message }
    return { status: failure.status, contentType: jsonType, body: JSON.stringify(payload) }
  }
}

export async function dispatchSts(
  deps: DispatchDeps,
  headers: IncomingHttpHeaders,
  body: string,
): Promise<Reply> {
  const params = new URLSearchParams(body)
  const call = logCall(deps, params.get('Action') ?? '')
  try {
    const caller = authenticate(deps, headers, 'sts', call)
    const { xml } = deps.sts.handle(params, caller)
    return { status: 200, contentType: 'text/xml', body: xml }
  } catch (error) {
    const failure =
      error instanceof StsError
        ? error
        : error instanceof KmsError
          ? new StsError(stsCode(error.type), error.message, error.status)
          : new StsError('InternalFailure', 'An internal error occurred.', 500)
    if (!(error instanceof StsError || error instanceof KmsError)) reportUnexpected(error)
    call.outcome = failure.code
    return { status: failure.status, contentType: 'text/xml', body: stsErrorXml(failure) }
  }
}

function logCall(deps: DispatchDeps, operation: string): KmsCall {
  const call: KmsCall = {
    operation,
    keyId: undefined,
    region: '',
    caller: '',
    outcome: 'ok',
    at: deps.now(),
  }
  deps.calls.push(call)
  return call
}

function authenticate(
  deps: DispatchDeps,
  headers: IncomingHttpHeaders,
  service: string,
  call: KmsCall,
): Caller {
  const scope = readSignedScope(headers)
  call.region = scope.region
  call.caller = scope.accessKeyId
  if (scope.service !== service) {
    throw new KmsError(
      'InvalidSignatureException',
      `Credential should be scoped to correct service: '${service}'.`,
    )
  }
  const token = headers['x-amz-security-token']
  const sessionToken = typeof token === 'string' ? token : undefined
  return identifyCaller(
    scope,
    sessionToken,
    { accounts: deps.accounts, findSession: deps.sts.findSession },
    deps.now(),
  )
}

function parseInput(body: string): Input {
  if (body.trim() === '') return {}
  try {
    const input: unknown = JSON.parse(body)
    if (typeof input === 'object' && input !== null && !Array.isArray(input)) return input as Input
  } catch {}
  throw new KmsError('SerializationException', 'The request body is not a JSON object.')
}

function asKmsError(error: unknown): KmsError {
  if (error instanceof KmsError) return error
  reportUnexpected(error)
  return new KmsError('KMSInternalException', 'An internal error occurred.', 500)
}

/** A bug in the local KMS, not a modelled failure: say so on stderr (never with key material). */
function reportUnexpected(error: unknown): void {
  console.error('local KMS: unexpected error:', error instanceof Error ? error.stack : error)
}

const stsCodes: Record<string, string> = {
  UnrecognizedClientException: 'InvalidClientTokenId',
  MissingAuthenticationTokenException: 'MissingAuthenticationToken',
  ExpiredTokenException: 'ExpiredToken',
}
const stsCode = (type: string) => stsCodes[type] ?? type.replace(/Exception$/, '')
