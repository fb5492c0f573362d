// The EC2 client of the AWS provider: region and optional endpoint from our flags, credentials
// from the SDK's default chain only (environment, shared config/credentials files, web identity
// for IRSA and EKS pod identity, container and instance metadata) — we read no key of our own.
//
// Retries: the SDK's own retry strategy is switched off (maxAttempts 1). The controller backs off
// itself, with jitter, per route and per kind of failure (CloudError.retryable /
// minRetryDelayMs, the auth backoff), and every call must be one request in the call counts: an
// SDK retrying RequestLimitExceeded three times inside one "call" would triple the load exactly
// when AWS asks for less, and hide it from the metrics and tests ("exactly one ReplaceRoute").
//
// Timeouts: a connect timeout and a whole-request timeout, so a silent endpoint ends in a
// 'transient' CloudError instead of a stuck reconcile. The request timeout must be told to throw
// (throwOnRequestTimeout): by default @smithy/node-http-handler only prints a warning.
//
// Logging: the SDK gets an explicit silent logger, so neither requests nor the credentials
// signing them reach our logs (its handlers fall back to the console for some warnings).
import { EC2Client, type EC2ClientConfig } from '@aws-sdk/client-ec2';
import { classifyAwsError } from './errors.js';

/** One EC2 request as it went out and came back: what metrics count (one per request, SDK retries are off). */
export interface Ec2CallRecord {
  /** The EC2 action, e.g. CreateRoute. */
  action: string;
  outcome: 'success' | 'error';
  /** AWS's error code (or the CloudError kind when there is none); absent on success. */
  code?: string;
  throttled: boolean;
  durationMs: number;
}

export const DEFAULT_REQUEST_TIMEOUT_MS = 15_000;
export const DEFAULT_CONNECT_TIMEOUT_MS = 5_000;

export interface AwsClientOptions {
  /** e.g. eu-central-1 (required: we never guess a region). */
  region: string;
  /** An EC2-compatible endpoint (VPC endpoint, a test peer); default: the region's public endpoint. */
  endpoint?: string;
  requestTimeoutMs?: number;
  connectTimeoutMs?: number;
  /**
   * For tests only: a fixed credential provider instead of the default chain. The controller's
   * flags never set it.
   */
  credentials?: EC2ClientConfig['credentials'];
  /** Called once per EC2 request (e.g. to count calls by action and outcome). Must not throw. */
  onCall?: (call: Ec2CallRecord) => void;
}

function dropped(): void {
  /* the SDK's log lines are dropped on purpose: requests carry signed credentials */
}
const SILENT = { trace: dropped, debug: dropped, info: dropped, warn: dropped, error: dropped };

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;

/** Throws an Error naming the bad value; changes nothing. */
export function validateAwsClientOptions(opts: AwsClientOptions): void {
  if (!REGION.test(opts.region)) throw new Error(`AWS region ${JSON.stringify(opts.region)} is not a region name like eu-central-1`);
  if (opts.endpoint !== undefined) {
    let url: URL;
    try {
      url = new URL(opts.endpoint);
    } catch {
      throw new Error(`AWS endpoint ${JSON.stringify(opts.endpoint)} is not a URL (like https://ec2.eu-central-1.amazonaws.com)`);
    }
    if (url.protocol !== 'https:' && url.protocol !== 'http:') throw new Error(`AWS endpoint ${JSON.stringify(opts.endpoint)} must be http(s)`);
    if (url.username || url.password) throw new Error('AWS endpoint must not carry credentials');
  }
  for (const [name, v] of [
    ['request timeout', opts.requestTimeoutMs],
    ['connect timeout', opts.connectTimeoutMs],
  ] as const) {
    if (v !== undefined && (!Number.isInteger(v) || v <= 0)) throw new Error(`AWS ${name} must be a positive number of milliseconds, got ${String(v)}`);
  }
}

export function createEc2Client(opts: AwsClientOptions): EC2Client {
  validateAwsClientOptions(opts);
  const client = new EC2Client({
    region: opts.region,
    ...(opts.endpoint !== undefined ? { endpoint: opts.endpoint } : {}),
    ...(opts.credentials !== undefined ? { credentials: opts.credentials } : {}),
    maxAttempts: 1,
    logger: SILENT,
    requestHandler: {
      requestTimeout: opts.requestTimeoutMs ?? DEFAULT_REQUEST_TIMEOUT_MS,
      connectionTimeout: opts.connectTimeoutMs ?? DEFAULT_CONNECT_TIMEOUT_MS,
      // Without this, smithy's handler only warns (on the console) when requestTimeout passes and
      // keeps waiting for the answer forever.
      throwOnRequestTimeout: true,
    },
  });
  const onCall = opts.onCall;
  if (onCall) {
    client.middlewareStack.add(
      (next, context) => async (args) => {
        const action = (context.commandName ?? 'Unknown').replace(/Command$/, '');
        const started = Date.now();
        try {
          const out = await next(args);
          onCall({ action, outcome: 'success', throttled: false, durationMs: Date.now() - started });
          return out;
        } catch (err) {
          const e = classifyAwsError(err, action);
          onCall({ action, outcome: 'error', code: e.code ?? e.kind, throttled: e.kind === 'throttled', durationMs: Date.now() - started });
          throw err;
        }
      },
      { step: 'initialize', name: 'hostnetCallRecorder' },
    );
  }
  return client;
}
