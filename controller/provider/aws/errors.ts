// AWS EC2 errors → the project's CloudError kinds (controller/provider/errors.ts), in one place.
// Pure: no I/O. Codes from the EC2 API reference's error list; messages are AWS's own (they
// never carry credentials), extended with the ids we sent so a condition names what is wrong.
import { CloudError, type CloudErrorKind } from '../errors.js';

/** What the failed call was about, so the error can name it. */
export interface AwsCallContext {
  tableId?: string;
  destination?: string;
  instanceId?: string;
  eniId?: string;
  groupId?: string;
}

const THROTTLED = new Set(['RequestLimitExceeded', 'Throttling', 'ThrottlingException', 'RequestThrottled', 'TooManyRequestsException']);
const AUTH = new Set([
  'AuthFailure',
  'UnauthorizedOperation',
  'InvalidClientTokenId',
  'SignatureDoesNotMatch',
  'IncompleteSignature',
  'ExpiredToken',
  'RequestExpired',
  'OptInRequired',
  'Blocked',
  'CredentialsProviderError',
]);
const NOT_FOUND = new Set([
  'InvalidInstanceID.NotFound',
  'InvalidNetworkInterfaceID.NotFound',
  'InvalidRouteTableID.NotFound',
  'InvalidRoute.NotFound',
  'InvalidGroup.NotFound',
  'InvalidVpcID.NotFound',
]);
const TRANSIENT_SERVICE = new Set(['InternalError', 'InternalFailure', 'ServiceUnavailable', 'Unavailable', 'RequestTimeout']);
/** Node / smithy failures below HTTP: the request may or may not have reached AWS. */
const NETWORK = new Set(['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT', 'EAI_AGAIN', 'ENOTFOUND', 'EHOSTUNREACH', 'ENETUNREACH', 'ECONNABORTED']);

interface SdkErrorLike {
  name?: string;
  code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number; requestId?: string };
}

/** True when the route named in the call does not exist (DeleteRoute, or ReplaceRoute's "Use CreateRoute instead"). */
export function isMissingRoute(err: unknown): boolean {
  if (!(err instanceof CloudError)) return false;
  if (err.code === 'InvalidRoute.NotFound') return true;
  return err.operation === 'ReplaceRoute' && err.code === 'InvalidParameterValue' && /CreateRoute|no route|does not exist/i.test(err.cloudMessage ?? '');
}

function kindOf(operation: string, code: string | undefined, status: number | undefined, message: string): CloudErrorKind {
  if (code && THROTTLED.has(code)) return 'throttled';
  if (code && AUTH.has(code)) return 'auth';
  if (code === 'RouteLimitExceeded') return 'quota';
  if (code === 'RouteAlreadyExists' || code === 'InvalidPermission.Duplicate') return 'conflict';
  if (code && NOT_FOUND.has(code)) return 'notFound';
  // ReplaceRoute of a destination the table does not hold: AWS answers InvalidParameterValue
  // ("There is no route defined for … Use CreateRoute instead.").
  if (operation === 'ReplaceRoute' && code === 'InvalidParameterValue' && /CreateRoute|no route|does not exist/i.test(message)) return 'notFound';
  if (code && TRANSIENT_SERVICE.has(code)) return 'transient';
  if (status === 401 || status === 403) return 'auth';
  if (status === 429) return 'throttled';
  if (status !== undefined && status >= 500) return 'transient';
  if (status !== undefined && status >= 400) return 'invalid';
  return 'transient';
}

/** Says which of our ids the error is about (the condition message a user reads). */
function subject(code: string | undefined, kind: CloudErrorKind, ctx: AwsCallContext): string | undefined {
  switch (code) {
    case 'InvalidInstanceID.NotFound':
    case 'InvalidInstanceID':
    case 'InvalidInstanceID.Malformed':
      return ctx.instanceId && `instance ${ctx.instanceId}`;
    case 'InvalidNetworkInterfaceID.NotFound':
    case 'InvalidNetworkInterfaceID.Malformed':
      return ctx.eniId && `network interface ${ctx.eniId}`;
    case 'InvalidRouteTableID.NotFound':
    case 'RouteLimitExceeded':
      return ctx.tableId && `route table ${ctx.tableId}`;
    case 'InvalidGroup.NotFound':
      return ctx.groupId && `security group ${ctx.groupId}`;
    default:
      if (kind === 'conflict' || kind === 'notFound') return ctx.destination && ctx.tableId && `route ${ctx.destination} in ${ctx.tableId}`;
      return undefined;
  }
}

/** Classifies anything an EC2 call threw. A CloudError passes through unchanged. */
export function classifyAwsError(err: unknown, operation: string, ctx: AwsCallContext = {}): CloudError {
  if (err instanceof CloudError) return err;
  const e = (typeof err === 'object' && err !== null ? err : { message: String(err) }) as SdkErrorLike;
  const status = e.$metadata?.httpStatusCode;
  const requestId = e.$metadata?.requestId;
  const nodeCode = typeof e.code === 'string' ? e.code : undefined;
  // Below HTTP: timeouts and broken connections (no status, or the SDK's own names for them).
  if (status === undefined && (e.name === 'TimeoutError' || e.name === 'AbortError' || (nodeCode !== undefined && NETWORK.has(nodeCode)))) {
    return new CloudError({
      kind: 'transient',
      operation,
      code: nodeCode ?? e.name,
      cloudMessage: e.name === 'TimeoutError' ? 'no answer within the request timeout' : `connection failed (${nodeCode ?? e.name})`,
      cause: err,
    });
  }
  const isService = e.$fault !== undefined && status !== undefined;
  const code = isService ? e.name : undefined;
  const message = e.message ?? '';
  if (!isService && status !== undefined && status < 300) {
    // A 2xx the SDK could not read (cut short, not XML): the call may have happened; re-read and retry.
    return new CloudError({ kind: 'transient', operation, httpStatus: status, cloudMessage: `unreadable answer: ${message}`, requestId, cause: err });
  }
  const kind = kindOf(operation, code, status, message);
  const about = subject(code, kind, ctx);
  const cloudMessage = about ? `${about}: ${message}` : message || kind;
  return new CloudError({
    kind,
    operation,
    ...(status !== undefined ? { httpStatus: status } : {}),
    ...(code ? { code } : {}),
    cloudMessage,
    ...(requestId ? { requestId } : {}),
    cause: err,
  });
}
