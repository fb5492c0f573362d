// AK/SK (and an optional security token) for the Huawei Cloud / OTC provider, from a directory
// mounted from a Kubernetes Secret or from environment variables. Values are never printed:
// errors name what is missing, and redact() scrubs secrets out of any text.

import fs from 'node:fs';
import path from 'node:path';
import { CredentialsError, readCredentialFile as readOptional } from '../credentials-file.js';
import { redactSecrets } from '../redact.js';

export { CredentialsError };

export interface HuaweiCredentials {
  ak: string;
  sk: string;
  /** Temporary credentials (STS) come with a security token. */
  securityToken?: string;
}

export interface LoadedCredentials extends HuaweiCredentials {
  /** Where they came from, for logs: "dir:/etc/hostnet/cloud" or "env:HUAWEICLOUD_SDK_AK". */
  source: string;
}

export interface LoadCredentialsOptions {
  /** Directory with the files access-key, secret-key and optionally security-token. */
  dir?: string;
  /** Environment to read when no dir is given (default: process.env). */
  env?: NodeJS.ProcessEnv;
}

/** File names inside the mounted Secret. */
export const CREDENTIAL_FILES = Object.freeze({
  ak: 'access-key',
  sk: 'secret-key',
  securityToken: 'security-token',
});

/** Environment variable names, first match wins. */
export const CREDENTIAL_ENV = Object.freeze({
  ak: ['HUAWEICLOUD_SDK_AK', 'OS_ACCESS_KEY'],
  sk: ['HUAWEICLOUD_SDK_SK', 'OS_SECRET_KEY'],
  securityToken: ['HUAWEICLOUD_SDK_SECURITY_TOKEN', 'OS_SECURITY_TOKEN'],
});

function fromDir(dir: string): LoadedCredentials {
  let st: fs.Stats;
  try {
    st = fs.statSync(dir);
  } catch {
    throw new CredentialsError(`credentials directory ${dir} does not exist (mount the Secret with keys ${CREDENTIAL_FILES.ak} and ${CREDENTIAL_FILES.sk})`);
  }
  if (!st.isDirectory()) throw new CredentialsError(`credentials path ${dir} is not a directory`);
  const ak = readOptional(path.join(dir, CREDENTIAL_FILES.ak));
  const sk = readOptional(path.join(dir, CREDENTIAL_FILES.sk));
  const missing = [!ak && CREDENTIAL_FILES.ak, !sk && CREDENTIAL_FILES.sk].filter(Boolean);
  if (missing.length || !ak || !sk) {
    throw new CredentialsError(`credentials directory ${dir} lacks ${missing.join(' and ')} (missing or empty file)`);
  }
  const securityToken = readOptional(path.join(dir, CREDENTIAL_FILES.securityToken));
  return { ak, sk, ...(securityToken ? { securityToken } : {}), source: `dir:${dir}` };
}

function firstEnv(env: NodeJS.ProcessEnv, names: readonly string[]): [string, string] | undefined {
  for (const n of names) {
    const v = env[n]?.trim();
    if (v) return [n, v];
  }
  return undefined;
}

function fromEnv(env: NodeJS.ProcessEnv): LoadedCredentials {
  const ak = firstEnv(env, CREDENTIAL_ENV.ak);
  const sk = firstEnv(env, CREDENTIAL_ENV.sk);
  if (!ak || !sk) {
    const missing = [!ak && CREDENTIAL_ENV.ak.join(' or '), !sk && CREDENTIAL_ENV.sk.join(' or ')].filter(Boolean);
    throw new CredentialsError(`no cloud credentials: set ${missing.join(' and ')}, or mount a Secret directory with ${CREDENTIAL_FILES.ak} and ${CREDENTIAL_FILES.sk}`);
  }
  const token = firstEnv(env, CREDENTIAL_ENV.securityToken);
  return { ak: ak[1], sk: sk[1], ...(token ? { securityToken: token[1] } : {}), source: `env:${ak[0]}` };
}

/**
 * Loads credentials from `dir` when given (a mounted Secret: access-key, secret-key, optional
 * security-token; whitespace trimmed), otherwise from the environment. Throws CredentialsError
 * naming what is missing, never the values.
 */
export function loadCredentials(opts: LoadCredentialsOptions = {}): LoadedCredentials {
  if (opts.dir) return fromDir(opts.dir);
  return fromEnv(opts.env ?? process.env);
}

/** The same key (AK, SK and token): a re-read that found nothing new. */
export function sameCredentials(a: HuaweiCredentials, b: HuaweiCredentials): boolean {
  return a.ak === b.ak && a.sk === b.sk && (a.securityToken ?? '') === (b.securityToken ?? '');
}

/** What a log line may show of an access key: its last 4 characters at most (never the SK). */
export function akHint(ak: string): string {
  return ak.length > 8 ? `…${ak.slice(-4)}` : '…';
}

const SIGNATURE_HEADER = /(SDK-HMAC-SHA256\s+)?Access=[^,\s]+,\s*SignedHeaders=[^,\s]+,\s*Signature=[0-9a-fA-F]+/g;

/**
 * Replaces every occurrence of the given secrets (AK, SK, token: values shorter than 4
 * characters are ignored) and any SDK-HMAC-SHA256 Authorization value by "***".
 */
export function redact(text: string, secrets: readonly (string | undefined)[]): string {
  return redactSecrets(text.replace(SIGNATURE_HEADER, '***'), secrets);
}
