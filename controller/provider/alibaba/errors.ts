// Turns whatever an Alibaba Cloud call threw (the SDK's ClientError / ThrottlingError with
// `code`, `statusCode`, `data` = the error body {RequestId, HostId, Code, Message, Recommend}; or
// a network error) into one CloudError (../errors.ts). The same table classifies the per-entry
// `FailedCode` of a partly failed CreateRouteEntries / DeleteRouteEntries batch.

import { CloudError, type CloudErrorKind } from '../errors.js';
import { redactSecrets as redact } from '../redact.js';

/**
 * Alibaba's error codes → kind: the ONE table. Codes from the API reference and error center,
 * from the field (Terraform provider, cloud-controller-manager), and those of the project's
 * emulator (test/emulator/alibaba/errors.ts) where the reference names none. Unknown codes fall
 * back to prefixes, then to the HTTP status.
 */
export const ALIBABA_ERROR_CODE_KINDS: Readonly<Record<string, CloudErrorKind>> = Object.freeze({
  // Flow control.
  Throttling: 'throttled',
  'Throttling.User': 'throttled',
  'Throttling.Api': 'throttled',
  ServiceUnavailable: 'transient',
  InternalError: 'transient',
  UnknownError: 'transient',
  // A route task of the VPC is running, or the entry is still Pending: retry with backoff.
  TaskConflict: 'transient',
  OperationConflict: 'transient',
  IncorrectRouteEntryStatus: 'transient',
  'IncorrectStatus.RouteTableStatus': 'transient',
  'IncorrectStatus.VpcStatus': 'transient',
  // Credentials and permissions.
  'InvalidAccessKeyId.NotFound': 'auth',
  'InvalidAccessKeyId.Inactive': 'auth',
  InvalidAccessKeyId: 'auth',
  SignatureDoesNotMatch: 'auth',
  IncompleteSignature: 'auth',
  'InvalidSecurityToken.Expired': 'auth',
  'InvalidSecurityToken.Malformed': 'auth',
  'InvalidSecurityToken.MismatchWithAccessKey': 'auth',
  MissingSecurityToken: 'auth', // the emulator's code for an STS AccessKey sent without its token
  'Forbidden.RAM': 'auth',
  Forbidden: 'auth',
  'Forbidden.AccessKeyDisabled': 'auth',
  // The clock of this host is off by more than 15 minutes: not fixed by retrying as is.
  'InvalidTimeStamp.Expired': 'auth',
  // A replayed nonce means the same signed request went out twice: sign again and retry.
  SignatureNonceUsed: 'transient',
  // Destinations.
  'InvalidCIDRBlock.Duplicate': 'conflict',
  VPC_ROUTE_ENTRY_CIDR_BLOCK_DUPLICATE: 'conflict',
  'InvalidDestinationCidrBlock.OverlapVSwitch': 'conflict',
  'InvalidDestinationCidrBlock.Reserved': 'conflict',
  'InvalidDestinationCidrBlock.Malformed': 'invalid',
  'OperationDenied.SystemRouteEntry': 'conflict',
  // Quotas.
  'QuotaExceeded.RouteEntry': 'quota',
  'QuotaExceeded.Route': 'quota',
  QuotaExceeded: 'quota',
  // Missing things.
  'InvalidRouteTableId.NotFound': 'notFound',
  'InvalidRouteEntry.NotFound': 'notFound',
  VPC_ROUTER_ENTRY_NOT_EXIST: 'notFound',
  'InvalidNextHop.NotFound': 'notFound',
  'InvalidInstanceId.NotFound': 'notFound',
  'InvalidSecurityGroupId.NotFound': 'notFound',
  'InvalidRegionId.NotFound': 'invalid',
  'InvalidAction.NotFound': 'invalid',
});

const PREFIX_KINDS: readonly [RegExp, CloudErrorKind][] = [
  [/^Throttling/, 'throttled'],
  [/^QuotaExceeded/, 'quota'],
  [/^(InvalidAccessKeyId|InvalidSecurityToken|MissingSecurityToken|Forbidden)/, 'auth'],
  [/\.NotFound$|NOT_EXIST$/, 'notFound'],
  [/\.Duplicate$|DUPLICATE$|Conflict$/, 'conflict'],
  [/^IncorrectStatus/, 'transient'],
];

const NETWORK_ERROR = /timeout|timed out|ECONNRESET|ECONNREFUSED|ECONNABORTED|ETIMEDOUT|EPIPE|EHOSTUNREACH|ENETUNREACH|EAI_AGAIN|ENOTFOUND|socket hang up|network error|aborted/i;

/** The kind of an Alibaba error code (also a FailedRouteEntries FailedCode); undefined if unknown. */
export function kindOfCode(code: string | undefined): CloudErrorKind | undefined {
  if (!code) return undefined;
  const known = ALIBABA_ERROR_CODE_KINDS[code];
  if (known) return known;
  return PREFIX_KINDS.find(([re]) => re.test(code))?.[1];
}

function kindOfStatus(status: number | undefined): CloudErrorKind | undefined {
  if (status === undefined) return undefined;
  if (status === 429) return 'throttled';
  if (status >= 500) return 'transient';
  if (status === 401 || status === 403) return 'auth';
  if (status === 404) return 'notFound';
  if (status === 409) return 'conflict';
  if (status >= 400) return 'invalid';
  return undefined;
}

function str(v: unknown): string | undefined {
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * One CloudError for anything an SDK call threw. `secrets` (the AccessKey secret, an STS token)
 * are cut out of every message the error carries, whatever a proxy or the SDK echoed.
 */
export function toCloudError(err: unknown, operation: string, secrets: readonly (string | undefined)[] = []): CloudError {
  if (err instanceof CloudError) return err;
  const e = (err ?? {}) as { code?: unknown; statusCode?: unknown; data?: unknown; message?: unknown; requestId?: unknown };
  const data = e.data && typeof e.data === 'object' ? (e.data as Record<string, unknown>) : {};
  const code = str(data.Code) ?? str(e.code);
  const httpStatus = typeof e.statusCode === 'number' ? e.statusCode : undefined;
  const rawMessage = str(data.Message) ?? str(e.message) ?? String(err);
  const cloudMessage = redact(rawMessage, secrets).slice(0, 500);
  const requestId = str(data.RequestId) ?? str(e.requestId);
  let kind = kindOfCode(code) ?? kindOfStatus(httpStatus);
  if (kind === undefined) kind = httpStatus === undefined && NETWORK_ERROR.test(`${code ?? ''} ${rawMessage}`) ? 'transient' : httpStatus === undefined ? 'transient' : 'invalid';
  return new CloudError({
    kind,
    operation,
    ...(httpStatus !== undefined ? { httpStatus } : {}),
    ...(code !== undefined && !NETWORK_ERROR.test(code) ? { code } : {}),
    cloudMessage,
    ...(requestId !== undefined ? { requestId } : {}),
    cause: err,
  });
}

/** A per-entry failure of a batch as a CloudError (the host's condition carries code and message). */
export function failedEntryError(operation: string, failed: { FailedCode?: string; FailedMessage?: string; failedCode?: string; failedMessage?: string }): CloudError {
  const code = failed.FailedCode ?? failed.failedCode;
  const message = failed.FailedMessage ?? failed.failedMessage;
  return new CloudError({ kind: kindOfCode(code) ?? 'invalid', operation, ...(code ? { code } : {}), ...(message ? { cloudMessage: message } : {}) });
}
