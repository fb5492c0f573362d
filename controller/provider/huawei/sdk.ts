// The one place that loads the Huawei Cloud Node SDK (CommonJS) and builds its VPC client.
//
// Observed SDK behaviour this module works around (huaweicloud-sdk-vpc 3.1.173, core 3.1.211):
//  - The core requires `uuid` without declaring it: package.json declares uuid 9 (CommonJS).
//  - Without a customUserAgent, the builder writes ~/.huaweicloud/application_id: always set one.
//  - The core logs failed requests, Authorization header included: sdk-quiet.ts switches it off
//    (imported first, below).
//  - axios' timeout defaults to 0 (none): a timeout is always set here.
//  - The SDK's exceptions keep only httpStatusCode, errorMsg, errorCode and requestId, and read
//    the code only from `error_code` / `error.code`: the VPC v1 body {"code","message"} is lost,
//    and so is the raw response (the exception holds no reference to it). We therefore hook the
//    client's axios instance: a response transformer (which axios runs for error responses too,
//    with the body, the headers and the status) records them into an AsyncLocalStorage slot
//    that the caller opened around the SDK call, so concurrent calls never mix.
//  - The core sets axios' maxContentLength to Infinity: a 50 MB answer was read, parsed and held
//    whole (peak RSS 721 MiB against the chart's 384Mi limit). MAX_RESPONSE_BYTES caps it.
//  - A 2xx answer whose body is not JSON reaches the caller as success (the SDK builds an empty
//    response object from it): the capture says so (`unparsable`) for the provider to refuse it.

import './sdk-quiet.js';
import { AsyncLocalStorage } from 'node:async_hooks';
import { createRequire } from 'node:module';
import { silenceHuaweiSdkLogging } from './sdk-quiet.js';

// Loaded with require(): the packages are CommonJS with __esModule set, and a default import
// of them resolves differently under native ESM (module.exports) and under a loader that
// transpiles to CommonJS (exports.default, i.e. undefined). require() is the same everywhere.
const require = createRequire(import.meta.url);

type VpcPackage = typeof import('@huaweicloud/huaweicloud-sdk-vpc');
/** The classes of the VPC SDK this provider uses (nothing else of it is loaded). */
const VPC_CLASSES = [
  'AddRouteTableRoute',
  'AllowedAddressPair',
  'CreateSecurityGroupRuleOption',
  'CreateSecurityGroupRuleRequest',
  'CreateSecurityGroupRuleRequestBody',
  'DelRouteTableRoute',
  'ListPortsRequest',
  'ListRouteTablesRequest',
  'ListSecurityGroupRulesRequest',
  'ModRouteTableRoute',
  'NeutronCreateSecurityGroupRuleOption',
  'NeutronCreateSecurityGroupRuleRequest',
  'NeutronCreateSecurityGroupRuleRequestBody',
  'NeutronListPortsRequest',
  'NeutronListSecurityGroupRulesRequest',
  'NeutronUpdatePortOption',
  'NeutronUpdatePortRequest',
  'NeutronUpdatePortRequestBody',
  'RouteTableRouteAction',
  'ShowRouteTableRequest',
  'UpdatePortOption',
  'UpdatePortRequest',
  'UpdatePortRequestBody',
  'UpdateRouteTableReq',
  'UpdateRouteTableRequest',
  'UpdateRoutetableReqBody',
] as const;
type VpcSdk = Pick<VpcPackage, 'VpcClient' | (typeof VPC_CLASSES)[number]>;

// The package index loads every model of v2 and v3 (some 3,000 modules: megabytes of heap and
// seconds of start-up); v2/VpcClient loads its request classes, and each model used here is
// loaded from its own module. The package has no "exports" map, so its files are requirable.
function loadVpcSdk(): VpcSdk {
  const sdk: Record<string, unknown> = { VpcClient: (require('@huaweicloud/huaweicloud-sdk-vpc/v2/VpcClient') as Pick<VpcPackage, 'VpcClient'>).VpcClient };
  for (const name of VPC_CLASSES) sdk[name] = (require(`@huaweicloud/huaweicloud-sdk-vpc/v2/model/${name}`) as Record<string, unknown>)[name];
  for (const [name, value] of Object.entries(sdk)) if (typeof value !== 'function') throw new Error(`Huawei VPC SDK: ${name} not found in its module (SDK layout changed?)`);
  return sdk as unknown as VpcSdk;
}
const vpcSdk = loadVpcSdk();
const coreSdk = {
  BasicCredentials: (require('@huaweicloud/huaweicloud-sdk-core/auth/BasicCredentials') as Pick<typeof import('@huaweicloud/huaweicloud-sdk-core'), 'BasicCredentials'>).BasicCredentials,
};

// The SDK is loaded now; make sure every logger it created is off (idempotent).
silenceHuaweiSdkLogging();

export { vpcSdk, coreSdk };
export type VpcClient = InstanceType<typeof vpcSdk.VpcClient>;

/** What the transport saw of one HTTP response, whatever the SDK made of it. */
export interface RawCapture {
  status?: number;
  requestId?: string;
  /** The parsed body (JSON), or the raw text when it is not JSON. */
  data?: unknown;
  /** The body was neither empty nor JSON. */
  unparsable?: boolean;
}

/**
 * The largest answer read from the cloud. A route table at its quota (a few thousand routes at
 * ~200 bytes each) is under 1 MiB; a bigger answer is broken or hostile, and reading it whole
 * would take the controller past its memory limit.
 */
export const MAX_RESPONSE_BYTES = 8 * 1024 * 1024;

const captureStore = new AsyncLocalStorage<RawCapture>();

/** Runs one SDK call; whatever response it gets is recorded into `capture`. */
export function withRawCapture<T>(capture: RawCapture, fn: () => Promise<T>): Promise<T> {
  return captureStore.run(capture, fn);
}

function headerValue(headers: unknown, name: string): string | undefined {
  if (!headers || typeof headers !== 'object') return undefined;
  const h = headers as { get?: (n: string) => unknown } & Record<string, unknown>;
  let v: unknown = typeof h.get === 'function' ? h.get(name) : undefined;
  if (v === undefined || v === null) v = h[name] ?? h[name.toLowerCase()];
  if (Array.isArray(v)) v = v[0];
  return typeof v === 'string' && v !== '' ? v : undefined;
}

/**
 * Replaces axios' default response transformer: parses JSON like the default does (silently
 * keeping non-JSON text) and records status, request id and body for the current call.
 */
export function captureResponse(data: unknown, headers?: unknown, status?: number): unknown {
  let parsed = data;
  let unparsable = false;
  if (typeof parsed === 'string' && parsed.trim() !== '') {
    try {
      parsed = JSON.parse(parsed);
    } catch {
      unparsable = true; // not JSON: keep the text
    }
  }
  const capture = captureStore.getStore();
  if (capture) {
    capture.status = status;
    capture.requestId = headerValue(headers, 'x-request-id') ?? headerValue(headers, 'x-openstack-request-id');
    capture.data = parsed;
    capture.unparsable = unparsable;
  }
  return parsed;
}

export interface VpcClientOptions {
  endpoint: string;
  projectId: string;
  ak: string;
  sk: string;
  securityToken?: string;
  timeoutMs: number;
  userAgent: string;
  /** Default MAX_RESPONSE_BYTES. */
  maxResponseBytes?: number;
}

/** Builds a v2 VpcClient (route tables, ports, security-group rules) with the safe options. */
export function createVpcClient(opts: VpcClientOptions): VpcClient {
  const cred = new coreSdk.BasicCredentials().withAk(opts.ak).withSk(opts.sk).withProjectId(opts.projectId);
  if (opts.securityToken) cred.withSecurityToken(opts.securityToken);
  return vpcSdk.VpcClient.newBuilder()
    .withCredential(cred)
    .withEndpoint(opts.endpoint)
    .withOptions({
      // Non-empty: keeps the builder from creating ~/.huaweicloud/application_id.
      customUserAgent: opts.userAgent,
      axiosRequestConfig: {
        timeout: opts.timeoutMs,
        transformResponse: [captureResponse],
        // axios stops reading and fails the request past this many bytes (the SDK's default is
        // Infinity); huawei-errors.ts turns that into a CloudError naming the cap.
        maxContentLength: opts.maxResponseBytes ?? MAX_RESPONSE_BYTES,
      },
    })
    .build();
}
