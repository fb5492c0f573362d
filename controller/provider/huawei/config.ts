// Configuration of the Huawei Cloud / Open Telekom Cloud provider, and its validation.

import type { HuaweiCredentials } from './credentials.js';

export type HuaweiFlavor = 'huaweicloud' | 'otc';

export interface HuaweiProviderConfig {
  flavor: HuaweiFlavor;
  /**
   * VPC endpoint, e.g. https://vpc.eu-de.otc.t-systems.com. Required for OTC; for Huawei Cloud
   * either this or `region` (then https://vpc.{region}.myhuaweicloud.com).
   */
  endpoint?: string;
  region?: string;
  /** Required: without it the SDK sends a literal %7Bproject_id%7D (or asks IAM for one). */
  projectId: string;
  /** Every route table of this VPC is programmed, unless routeTableIds narrows the set. */
  vpcId?: string;
  routeTableIds?: string[];
  credentials: HuaweiCredentials;
  /** Per-request timeout (default 10000; the SDK's own default is none). */
  timeoutMs?: number;
  /** Client-side rate limit of the writes (defaults 5 per second, burst 10). */
  qps?: number;
  burst?: number;
  /**
   * Client-side rate limit of the reads (List*, Show*; default 20 per second, the same burst):
   * a bucket of their own, so reads never take the write budget (the API gateway limits each
   * API on its own, not reads and writes together).
   */
  readQps?: number;
  /** Appended to the SDK's User-Agent (default "hostnet-controller"). Never empty. */
  userAgent?: string;
  /** Page size for listing route tables (default 100). */
  pageSize?: number;
}

export interface ResolvedHuaweiConfig {
  flavor: HuaweiFlavor;
  endpoint: string;
  projectId: string;
  vpcId?: string;
  routeTableIds?: string[];
  credentials: HuaweiCredentials;
  timeoutMs: number;
  qps: number;
  burst: number;
  readQps: number;
  userAgent: string;
  pageSize: number;
}

export const HUAWEI_DEFAULTS = Object.freeze({
  timeoutMs: 10_000,
  qps: 5,
  burst: 10,
  readQps: 20,
  userAgent: 'hostnet-controller',
  pageSize: 100,
});

export class HuaweiConfigError extends Error {
  readonly problems: string[];
  constructor(problems: string[]) {
    super(`invalid Huawei Cloud provider configuration: ${problems.join('; ')}`);
    this.name = 'HuaweiConfigError';
    this.problems = problems;
  }
}

const ID = /^[A-Za-z0-9][A-Za-z0-9_-]*$/;
const REGION = /^[a-z]{2,}(-[a-z0-9]+)+$/;

/** The VPC endpoint of a Huawei Cloud region. */
export function huaweiVpcEndpoint(region: string): string {
  return `https://vpc.${region}.myhuaweicloud.com`;
}

function normalizeEndpoint(raw: string, problems: string[]): string | undefined {
  let url: URL;
  try {
    url = new URL(raw);
  } catch {
    problems.push(`endpoint "${raw}" is not a URL`);
    return undefined;
  }
  if (url.protocol !== 'https:' && url.protocol !== 'http:') {
    problems.push(`endpoint "${raw}" must be http(s)`);
    return undefined;
  }
  if (url.search || url.hash || url.username || url.password) {
    problems.push(`endpoint "${raw}" must not carry a query, fragment or user info`);
    return undefined;
  }
  return url.toString().replace(/\/+$/, '');
}

function positiveInt(name: string, v: number | undefined, dflt: number, problems: string[], min = 1): number {
  if (v === undefined) return dflt;
  if (!Number.isInteger(v) || v < min) {
    problems.push(`${name} must be an integer >= ${min}, got ${String(v)}`);
    return dflt;
  }
  return v;
}

/** Validates and completes a configuration; throws HuaweiConfigError listing every problem. */
export function resolveHuaweiConfig(cfg: HuaweiProviderConfig): ResolvedHuaweiConfig {
  const problems: string[] = [];
  const flavor = cfg.flavor;
  if (flavor !== 'huaweicloud' && flavor !== 'otc') problems.push(`flavor must be "huaweicloud" or "otc", got "${String(flavor)}"`);

  let endpoint: string | undefined;
  if (cfg.endpoint) {
    endpoint = normalizeEndpoint(cfg.endpoint, problems);
  } else if (flavor === 'otc') {
    problems.push('endpoint is required for OTC (e.g. https://vpc.eu-de.otc.t-systems.com): the SDK knows no OTC regions');
  } else if (cfg.region) {
    if (REGION.test(cfg.region)) endpoint = huaweiVpcEndpoint(cfg.region);
    else problems.push(`region "${cfg.region}" is not a region name like "ap-southeast-1"`);
  } else if (flavor === 'huaweicloud') {
    problems.push('either endpoint or region is required');
  }

  if (!cfg.projectId) problems.push('projectId is required');
  else if (!ID.test(cfg.projectId)) problems.push(`projectId "${cfg.projectId}" is malformed`);

  const routeTableIds = cfg.routeTableIds?.map((s) => s.trim()).filter((s) => s !== '');
  if (cfg.vpcId !== undefined && !ID.test(cfg.vpcId)) problems.push(`vpcId "${cfg.vpcId}" is malformed`);
  for (const id of routeTableIds ?? []) if (!ID.test(id)) problems.push(`route table id "${id}" is malformed`);
  if (!cfg.vpcId && !routeTableIds?.length) problems.push('vpcId or routeTableIds is required');

  if (!cfg.credentials?.ak) problems.push('credentials: access key (ak) is missing');
  if (!cfg.credentials?.sk) problems.push('credentials: secret key (sk) is missing');

  let timeoutMs: number = HUAWEI_DEFAULTS.timeoutMs;
  if (cfg.timeoutMs !== undefined) {
    if (typeof cfg.timeoutMs !== 'number' || !Number.isFinite(cfg.timeoutMs) || cfg.timeoutMs < 1) problems.push(`timeoutMs must be a number >= 1, got ${String(cfg.timeoutMs)}`);
    else timeoutMs = Math.round(cfg.timeoutMs);
  }
  const burst = positiveInt('burst', cfg.burst, HUAWEI_DEFAULTS.burst, problems);
  const pageSize = positiveInt('pageSize', cfg.pageSize, HUAWEI_DEFAULTS.pageSize, problems);
  let qps: number = HUAWEI_DEFAULTS.qps;
  if (cfg.qps !== undefined) {
    if (typeof cfg.qps !== 'number' || !(cfg.qps > 0)) problems.push(`qps must be a number > 0, got ${String(cfg.qps)}`);
    else qps = cfg.qps;
  }
  let readQps: number = HUAWEI_DEFAULTS.readQps;
  if (cfg.readQps !== undefined) {
    if (typeof cfg.readQps !== 'number' || !(cfg.readQps > 0)) problems.push(`readQps must be a number > 0, got ${String(cfg.readQps)}`);
    else readQps = cfg.readQps;
  }
  const userAgent = cfg.userAgent === undefined ? HUAWEI_DEFAULTS.userAgent : cfg.userAgent.trim();
  if (!userAgent) problems.push('userAgent must not be empty (an empty one makes the SDK write ~/.huaweicloud/application_id)');

  if (problems.length || !endpoint) throw new HuaweiConfigError(problems.length ? problems : ['endpoint could not be determined']);
  return {
    flavor,
    endpoint,
    projectId: cfg.projectId,
    ...(cfg.vpcId ? { vpcId: cfg.vpcId } : {}),
    ...(routeTableIds?.length ? { routeTableIds: [...new Set(routeTableIds)] } : {}),
    credentials: {
      ak: cfg.credentials.ak,
      sk: cfg.credentials.sk,
      ...(cfg.credentials.securityToken ? { securityToken: cfg.credentials.securityToken } : {}),
    },
    timeoutMs,
    qps,
    burst,
    readQps,
    userAgent,
    pageSize,
  };
}
