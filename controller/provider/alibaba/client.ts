// Builds the @alicloud/vpc20160428 and @alicloud/ecs20140526 clients the provider talks through:
// endpoint (default the region's public VPC/ECS endpoint; any host:port, e.g. the emulator),
// region, protocol, timeouts, and credentials from a mounted Secret (files access-key-id,
// access-key-secret, optionally security-token for STS) or, when none is mounted, the SDK's own
// credential chain (@alicloud/credentials: environment, profile, ECS RAM role, OIDC/RRSA role).
// Credentials are never logged: describeCredentials() says where they came from, nothing more.

import * as path from 'node:path';
import * as AliCredentials from '@alicloud/credentials';
import * as Ecs from '@alicloud/ecs20140526';
import { $OpenApiUtil } from '@alicloud/openapi-core';
import * as Vpc from '@alicloud/vpc20160428';
import { CredentialsError, readCredentialFile } from '../credentials-file.js';

export type AlibabaVpcClient = InstanceType<typeof Vpc.default.default>;
export type AlibabaEcsClient = InstanceType<typeof Ecs.default.default>;

/** File names inside the mounted Secret. */
export const ALIBABA_CREDENTIAL_FILES = Object.freeze({
  accessKeyId: 'access-key-id',
  accessKeySecret: 'access-key-secret',
  securityToken: 'security-token',
});

export interface AlibabaClientConfig {
  regionId: string;
  /** host[:port]; default vpc.<region>.aliyuncs.com / ecs.<region>.aliyuncs.com. */
  vpcEndpoint?: string;
  ecsEndpoint?: string;
  /** 'https' (default) or 'http' (only for a local emulator). */
  protocol?: 'https' | 'http';
  /** Directory of the mounted Secret; absent: the SDK's default credential chain. */
  credentialsDir?: string;
  timeoutMs?: number;
}

export interface StaticCredentials {
  accessKeyId: string;
  accessKeySecret: string;
  securityToken?: string;
}

/** A CredentialsError, so the shared re-read (../credentials-file.ts) logs its message as it is. */
export class AlibabaCredentialsError extends CredentialsError {
  constructor(message: string) {
    super(message);
    this.name = 'AlibabaCredentialsError';
  }
}

const readOptional = readCredentialFile;

/** Reads the mounted Secret; an actionable error names the missing file (never a value). */
export function loadStaticCredentials(dir: string): StaticCredentials {
  const accessKeyId = readOptional(path.join(dir, ALIBABA_CREDENTIAL_FILES.accessKeyId));
  const accessKeySecret = readOptional(path.join(dir, ALIBABA_CREDENTIAL_FILES.accessKeySecret));
  const securityToken = readOptional(path.join(dir, ALIBABA_CREDENTIAL_FILES.securityToken));
  const missing = [!accessKeyId && ALIBABA_CREDENTIAL_FILES.accessKeyId, !accessKeySecret && ALIBABA_CREDENTIAL_FILES.accessKeySecret].filter(Boolean);
  if (missing.length > 0) throw new AlibabaCredentialsError(`credentials directory ${dir} lacks ${missing.join(' and ')} (a Secret with keys ${ALIBABA_CREDENTIAL_FILES.accessKeyId}, ${ALIBABA_CREDENTIAL_FILES.accessKeySecret}[, ${ALIBABA_CREDENTIAL_FILES.securityToken}])`);
  return { accessKeyId: accessKeyId!, accessKeySecret: accessKeySecret!, ...(securityToken ? { securityToken } : {}) };
}

/** The same AccessKey (id, secret and STS token): a re-read that found nothing new. */
export function sameStaticCredentials(a: StaticCredentials, b: StaticCredentials): boolean {
  return a.accessKeyId === b.accessKeyId && a.accessKeySecret === b.accessKeySecret && (a.securityToken ?? '') === (b.securityToken ?? '');
}

/** What a log line may show of an AccessKey id: LTAI****01 (never the secret or the token). */
export function accessKeyHint(accessKeyId: string): string {
  return accessKeyId.length > 8 ? `${accessKeyId.slice(0, 4)}****${accessKeyId.slice(-2)}` : '****';
}

/** The values to scrub from any message: the secret and the STS token (the id is no secret, and is not logged either). */
export function secretsOf(creds: StaticCredentials | undefined): string[] {
  return creds ? [creds.accessKeySecret, ...(creds.securityToken ? [creds.securityToken] : [])] : [];
}

/** "AccessKey LTAI****01 from /etc/hostnet/alibaba" or "the SDK's default credential chain". */
export function describeCredentials(cfg: AlibabaClientConfig, creds?: StaticCredentials): string {
  if (!cfg.credentialsDir || !creds) return "the SDK's default credential chain";
  return `${creds.securityToken ? 'STS token of AccessKey' : 'AccessKey'} ${accessKeyHint(creds.accessKeyId)} from ${cfg.credentialsDir}`;
}

function clientClass<T>(ns: unknown): T {
  // tsx's CommonJS path gives the class as the namespace's default, its ESM path module.exports.
  const d = (ns as { default: unknown }).default;
  return (typeof d === 'function' ? d : (d as { default: unknown }).default) as T;
}

function openApiConfig(cfg: AlibabaClientConfig, endpoint: string, creds: StaticCredentials | undefined): $OpenApiUtil.Config {
  const base = {
    regionId: cfg.regionId,
    endpoint,
    protocol: cfg.protocol ?? 'https',
    readTimeout: cfg.timeoutMs ?? 10_000,
    connectTimeout: cfg.timeoutMs ?? 10_000,
  };
  if (creds) {
    return new $OpenApiUtil.Config({ ...base, accessKeyId: creds.accessKeyId, accessKeySecret: creds.accessKeySecret, ...(creds.securityToken ? { securityToken: creds.securityToken } : {}) });
  }
  const Credential = clientClass<typeof AliCredentials.default.default>(AliCredentials);
  return new $OpenApiUtil.Config({ ...base, credential: new Credential() });
}

export interface AlibabaClients {
  vpc: AlibabaVpcClient;
  ecs: AlibabaEcsClient;
  /** The secrets to redact from any message (empty with the credential chain). */
  secrets: string[];
  /** The AccessKey they sign with, when it came from a mounted Secret. */
  credentials?: StaticCredentials;
  /** Where the credentials came from, safe to log. */
  credentialsSource: string;
}

/**
 * The clients of `cfg`, signing with `creds` (default: the Secret in cfg.credentialsDir read
 * now; none: the SDK's credential chain). Built again with the new key after a rotation.
 */
export function createAlibabaClients(cfg: AlibabaClientConfig, given?: StaticCredentials): AlibabaClients {
  if (!/^[a-z]{2,}-[a-z0-9-]+$/.test(cfg.regionId)) throw new AlibabaCredentialsError(`region ${JSON.stringify(cfg.regionId)} is not an Alibaba Cloud region id (e.g. eu-central-1)`);
  const creds = given ?? (cfg.credentialsDir ? loadStaticCredentials(cfg.credentialsDir) : undefined);
  const VpcClient = clientClass<typeof Vpc.default.default>(Vpc);
  const EcsClient = clientClass<typeof Ecs.default.default>(Ecs);
  return {
    vpc: new VpcClient(openApiConfig(cfg, cfg.vpcEndpoint ?? `vpc.${cfg.regionId}.aliyuncs.com`, creds)),
    ecs: new EcsClient(openApiConfig(cfg, cfg.ecsEndpoint ?? `ecs.${cfg.regionId}.aliyuncs.com`, creds)),
    secrets: secretsOf(creds),
    ...(creds ? { credentials: creds } : {}),
    credentialsSource: describeCredentials(cfg, creds),
  };
}
