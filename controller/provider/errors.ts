// One error type for every cloud failure, classified once where it is caught (the provider) so
// the reconciler only has to ask "retry, and how soon?" and "what do I tell the user?".

export type CloudErrorKind =
  /** The cloud throttles (HTTP 429 or its own code): back off for at least minRetryDelayMs (2 s, with jitter). */
  | 'throttled'
  /** 5xx, timeouts, connection errors: retry with exponential backoff. */
  | 'transient'
  /** The table holds no more routes (quota). Final for the routes that do not fit. */
  | 'quota'
  /** The destination collides with something the cloud knows (subnet, local route, duplicate). */
  | 'conflict'
  /** 401/403: wrong or locked credentials, missing permission. Final until config changes. */
  | 'auth'
  /** The next hop or another referenced resource does not exist. */
  | 'notFound'
  /** Any other 4xx: the request itself is wrong. Final. */
  | 'invalid';

export interface CloudErrorInit {
  kind: CloudErrorKind;
  operation: string;
  httpStatus?: number;
  /** The cloud's own error code (e.g. Huawei's, see huawei/errors.ts). */
  code?: string;
  /** The cloud's own message, never containing credentials. */
  cloudMessage?: string;
  requestId?: string;
  /** The provider sends nothing for this long (auth backoff): when a retry can succeed at the earliest. */
  retryAfterMs?: number;
  cause?: unknown;
}

export class CloudError extends Error {
  readonly kind: CloudErrorKind;
  readonly operation: string;
  readonly httpStatus?: number;
  readonly code?: string;
  readonly cloudMessage?: string;
  readonly requestId?: string;
  readonly retryAfterMs?: number;

  constructor(init: CloudErrorInit) {
    super(CloudError.describe(init), { cause: init.cause });
    this.name = 'CloudError';
    this.kind = init.kind;
    this.operation = init.operation;
    this.httpStatus = init.httpStatus;
    this.code = init.code;
    this.cloudMessage = init.cloudMessage;
    this.requestId = init.requestId;
    this.retryAfterMs = init.retryAfterMs;
  }

  get retryable(): boolean {
    return this.kind === 'throttled' || this.kind === 'transient';
  }

  /** The smallest delay before the same call may go out again. */
  get minRetryDelayMs(): number {
    return this.kind === 'throttled' ? 2000 : 0;
  }

  /** "<operation>: HTTP <status> <code> <cloud message> (request <id>)" */
  static describe(init: CloudErrorInit): string {
    const parts = [`${init.operation}:`];
    if (init.httpStatus !== undefined) parts.push(`HTTP ${init.httpStatus}`);
    if (init.code) parts.push(init.code);
    parts.push(init.cloudMessage ?? init.kind);
    if (init.requestId) parts.push(`(request ${init.requestId})`);
    return parts.join(' ');
  }
}

export function isCloudError(err: unknown): err is CloudError {
  return err instanceof CloudError;
}
