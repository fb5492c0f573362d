// Turns whatever a Huawei Cloud / OTC call threw into one CloudError (errors.ts).
//
// The SDK's exception is not enough on its own: it reads the error code only from `error_code`
// or `error.code`, so the VPC v1 body {"code":"VPC.xxxx","message":"..."} arrives with errorCode
// undefined and errorMsg "Request failed with status code 400". The raw body captured by
// huawei-sdk.ts (RawCapture) is therefore parsed first, the exception second.

import { CloudError, type CloudErrorKind } from '../errors.js';
import { MAX_RESPONSE_BYTES, type RawCapture } from './sdk.js';
import { redact } from './credentials.js';

/**
 * The cloud's error codes whose kind is not already clear from the HTTP status. This is the ONE
 * table of code → kind; statuses and message patterns are only consulted for codes not in it.
 * Keep it aligned with the local emulator (test/emulator) and docs/huaweicloud-vpc-api notes.
 */
export const HUAWEI_ERROR_CODE_KINDS: Readonly<Record<string, CloudErrorKind>> = Object.freeze({
  // API gateway: throttling (Huawei says: retry after 2-5 s).
  'APIG.0308': 'throttled',
  'APIGW.0308': 'throttled',
  // API gateway: signature / credential problems.
  'APIG.0301': 'auth',
  'APIGW.0301': 'auth',
  // VPC, public: tenant / token / permission problems.
  'VPC.0005': 'auth',
  'VPC.0007': 'auth',
  'VPC.0008': 'auth',
  'VPC.0009': 'auth',
  'VPC.0010': 'auth',
  'VPC.2201': 'auth',
  'VPC.2701': 'auth',
  // VPC, public: "VPC is not active, please try later" (a 400 that is really transient).
  'VPC.0004': 'transient',
  // VPC: system errors.
  'VPC.0106': 'transient',
  // VPC does not exist.
  'VPC.0003': 'notFound',
  // Quota: number of VPCs (documented, 409).
  'VPC.0114': 'quota',
  // Route tables. Seen in the field: VPC.2800, VPC.2812; in the docs: VPC.2808, VPC.2809,
  // VPC.2810. The others have no public list: they follow the project's emulator
  // (test/emulator/errors.ts); unknown codes still fall back to status + message patterns.
  'VPC.2800': 'invalid', // too many routes in one create call (create allows 5)
  'VPC.2801': 'quota', // routes per route table exceeded
  'VPC.2802': 'invalid', // destination is not an IPv4 CIDR network address
  'VPC.2803': 'notFound', // invalid next hop (server does not exist / not in the VPC)
  'VPC.2804': 'notFound', // route to modify / delete does not exist
  'VPC.2805': 'conflict', // destination is a system (local) route
  'VPC.2808': 'notFound', // route table does not exist
  'VPC.2809': 'conflict', // destination overlaps a system route / subnet CIDR
  'VPC.2810': 'quota', // the VPC cannot take more (custom) route tables
  'VPC.2812': 'conflict', // destination already exists in the table (or twice in the request)
  // Security-group rules: duplicate rule.
  'VPC.0602': 'conflict',
  // Neutron (OTC) error types.
  SecurityGroupRuleExists: 'conflict',
  PortNotFound: 'notFound',
  OverQuota: 'quota',
});

/** Patterns for codes the table does not know (4xx only); the first match wins. */
const MESSAGE_PATTERNS: readonly [RegExp, CloudErrorKind][] = [
  [/throttl|ratelimit|rate limit|too many requests/i, 'throttled'],
  [/quota|exceed(?:s|ed)? the (?:max|limit)|maximum number/i, 'quota'],
  [/overlap|conflict|already exist|duplicate/i, 'conflict'],
  [/not exist|not found|no such|does not exist|cannot be found/i, 'notFound'],
];

const NETWORK_ERROR = /timeout|timed out|ECONNRESET|ECONNREFUSED|ECONNABORTED|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ENOTFOUND|socket hang up|network error|aborted/i;

/** The cloud's code, message and request id, from any of the body shapes seen. */
export interface ParsedErrorBody {
  code?: string;
  message?: string;
  requestId?: string;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

function obj(v: unknown): Record<string, unknown> | undefined {
  return v && typeof v === 'object' && !Array.isArray(v) ? (v as Record<string, unknown>) : undefined;
}

/**
 * Reads an error body:
 *  - VPC v1: {"code":"VPC.0002","message":"..."}
 *  - API gateway: {"error_code":"APIG.0308","error_msg":"...","request_id":"..."}
 *  - nested: {"error":{"code":"...","message":"..."}}
 *  - Neutron: {"NeutronError":{"type":"SecurityGroupRuleExists","message":"...","detail":""}}
 *  - OpenStack style: {"badRequest":{"message":"...","code":400}} (code is a status: ignored)
 */
export function parseErrorBody(data: unknown): ParsedErrorBody {
  let body: unknown = data;
  if (typeof data === 'string') {
    try {
      body = JSON.parse(data);
    } catch {
      const text = data.trim();
      return text ? { message: text.slice(0, 300) } : {};
    }
  }
  const o = obj(body);
  if (!o) return {};
  const requestId = str(o.request_id) ?? str(o.requestId);
  if (str(o.error_code) || str(o.error_msg)) {
    return { code: str(o.error_code), message: str(o.error_msg), requestId };
  }
  if (str(o.code) || str(o.message)) {
    return { code: str(o.code), message: str(o.message), requestId };
  }
  const err = obj(o.error);
  if (err) return { code: str(err.code), message: str(err.message) ?? str(err.msg), requestId };
  const neutron = obj(o.NeutronError);
  if (neutron) return { code: str(neutron.type), message: str(neutron.message), requestId };
  // {"badRequest": {...}}, {"itemNotFound": {...}}, ...: one key holding a message.
  const keys = Object.keys(o);
  if (keys.length === 1) {
    const inner = obj(o[keys[0]!]);
    const message = inner && str(inner.message);
    if (message) return { message, requestId };
  }
  return { requestId };
}

/** The kind for an HTTP error, given the cloud's code and message (both optional). */
export function classifyHttpError(status: number, code?: string, message?: string): CloudErrorKind {
  if (code) {
    const known = HUAWEI_ERROR_CODE_KINDS[code];
    if (known) return known;
  }
  if (status === 429) return 'throttled';
  if (status === 401 || status === 403) return 'auth';
  if (status === 408) return 'transient';
  if (status >= 500) return 'transient';
  if (status === 404) return 'notFound';
  if (message) {
    for (const [re, kind] of MESSAGE_PATTERNS) if (re.test(message)) return kind;
  }
  if (status === 409) return 'conflict';
  return 'invalid';
}

interface SdkExceptionLike {
  httpStatusCode?: number;
  errorCode?: string;
  errorMsg?: string;
  requestId?: string;
}

function sdkException(err: unknown): SdkExceptionLike | undefined {
  const o = obj(err);
  if (!o) return undefined;
  // ClientRequestException / ServerResponseException / ServiceResponseException all have these.
  if ('httpStatusCode' in o || 'errorMsg' in o) return o as SdkExceptionLike;
  return undefined;
}

/**
 * What a successful answer of one operation must hold: undefined when it does, else what is
 * missing (e.g. "routetable.routes is not a list").
 */
export type ShapeCheck = (body: Record<string, unknown>) => string | undefined;

/**
 * A 2xx answer that cannot be believed: not JSON (a proxy's page, a body cut short), empty, or
 * JSON without what the operation returns. Treated like a timeout — `transient`, so the call is
 * retried and a write counts as ambiguous (the route writer re-reads the table before the next
 * write) — and never as success: an empty or truncated table read is not an empty table.
 * Undefined when the answer is fine, or when no answer was captured (nothing to judge).
 */
export function untrustworthySuccess(operation: string, raw: RawCapture, check?: ShapeCheck): CloudError | undefined {
  if (raw.status === undefined || raw.status < 200 || raw.status >= 300) return undefined;
  let problem: string | undefined;
  if (raw.unparsable) problem = `a body that is not JSON (${describeText(raw.data)})`;
  else if (raw.data === undefined || raw.data === null || raw.data === '') problem = 'an empty body';
  else if (!obj(raw.data)) problem = 'a body that is not a JSON object';
  else {
    const missing = check?.(obj(raw.data)!);
    if (missing) problem = `a body without the expected content: ${missing}`;
  }
  if (!problem) return undefined;
  return new CloudError({
    kind: 'transient',
    operation,
    httpStatus: raw.status,
    cloudMessage: `the cloud answered with ${problem}; not believed (retried, and a write is treated as possibly applied)`,
    requestId: raw.requestId,
  });
}

function describeText(data: unknown): string {
  const text = typeof data === 'string' ? data : '';
  const head = text.slice(0, 40).replace(/\s+/g, ' ');
  return `${text.length} characters, starting ${JSON.stringify(head)}`;
}

const TOO_LARGE = /maxContentLength size of (\d+) exceeded/;

/**
 * Classifies a failed call. `raw` is what the transport captured (may be empty: no response);
 * `secrets` are removed from every message that ends up in the CloudError.
 */
export function toCloudError(operation: string, err: unknown, raw: RawCapture = {}, secrets: readonly string[] = []): CloudError {
  if (err instanceof CloudError) return err;
  const sdk = sdkException(err);
  const status = raw.status ?? (typeof sdk?.httpStatusCode === 'number' ? sdk.httpStatusCode : undefined);
  const clean = (s: string | undefined): string | undefined => (s === undefined ? undefined : redact(s, secrets));

  if (status !== undefined && status >= 400) {
    const body = parseErrorBody(raw.data);
    const code = body.code ?? str(sdk?.errorCode);
    let message = body.message;
    if (!message && sdk?.errorMsg && !/^Request failed with status code \d+$/.test(sdk.errorMsg)) message = sdk.errorMsg;
    return new CloudError({
      kind: classifyHttpError(status, code, message),
      operation,
      httpStatus: status,
      code,
      cloudMessage: clean(message),
      requestId: raw.requestId ?? body.requestId ?? str(sdk?.requestId),
      cause: sdk ?? err,
    });
  }

  // No HTTP error status: the request never got an answer (timeout, refused, reset, DNS, ...).
  const message = sdk?.errorMsg ?? (err instanceof Error ? err.message : String(err));
  const tooLarge = TOO_LARGE.exec(message) ?? TOO_LARGE.exec(err instanceof Error ? err.message : '');
  if (tooLarge) {
    // axios stopped reading at the cap (huawei-sdk.ts): ambiguous like a reset — a write may
    // have been applied.
    const cap = Number(tooLarge[1]);
    return new CloudError({
      kind: 'transient',
      operation,
      httpStatus: raw.status,
      cloudMessage: `the answer is larger than the ${cap === MAX_RESPONSE_BYTES ? `${MAX_RESPONSE_BYTES / 1024 / 1024} MiB` : `${cap}-byte`} response cap; not read (a broken or hostile endpoint?)`,
      requestId: raw.requestId,
      cause: sdk ?? err,
    });
  }
  if (sdk || NETWORK_ERROR.test(message) || isNodeNetworkError(err)) {
    return new CloudError({
      kind: 'transient',
      operation,
      cloudMessage: clean(message || 'no response'),
      requestId: str(sdk?.requestId),
      cause: sdk ?? err,
    });
  }
  // Anything else failed before a request went out (a missing parameter, a bug): not retryable.
  return new CloudError({ kind: 'invalid', operation, cloudMessage: clean(message), cause: err });
}

function isNodeNetworkError(err: unknown): boolean {
  const code = obj(err)?.code;
  return typeof code === 'string' && NETWORK_ERROR.test(code);
}
