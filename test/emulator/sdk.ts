// Real @huaweicloud/huaweicloud-sdk-vpc clients pointed at an emulator, set up the way the
// controller sets them up (explicit project ID, custom User-Agent, a timeout), for tests that
// must prove the emulator speaks what the SDK sends.

import { createRequire } from 'node:module';
import { BasicCredentials } from '@huaweicloud/huaweicloud-sdk-core';
import { VpcClient, v3 } from '@huaweicloud/huaweicloud-sdk-vpc';
import { SEED } from './seed.js';

export interface ClientOptions {
  ak?: string;
  sk?: string;
  projectId?: string;
  timeoutMs?: number;
}

interface Log4js {
  configure(config: unknown): void;
}

/**
 * The SDK configures log4js globally on import and logs every failed request at ERROR, with the
 * Authorization header. Tests provoke failures on purpose: turn that logger off.
 */
export function silenceSdkLogs(): void {
  const require = createRequire(import.meta.url);
  const log4js = require('log4js') as Log4js;
  log4js.configure({ appenders: { out: { type: 'stdout' } }, categories: { default: { appenders: ['out'], level: 'off' } } });
}

function credentials(opts: ClientOptions): BasicCredentials {
  return new BasicCredentials()
    .withAk(opts.ak ?? SEED.ak)
    .withSk(opts.sk ?? SEED.sk)
    .withProjectId(opts.projectId ?? SEED.projectId);
}

/** The v2 VpcClient (route tables, ports, v1 and Neutron security-group rules). */
export function vpcClient(url: string, opts: ClientOptions = {}): VpcClient {
  return VpcClient.newBuilder()
    .withCredential(credentials(opts))
    .withEndpoint(url)
    .withOptions({ customUserAgent: 'hostnet-test', axiosRequestConfig: { timeout: opts.timeoutMs ?? 5000 } })
    .build();
}

/** The v3 VpcClient (v3 security-group rules). */
export function vpcClientV3(url: string, opts: ClientOptions = {}): v3.VpcClient {
  return v3.VpcClient.newBuilder()
    .withCredential(credentials(opts))
    .withEndpoint(url)
    .withOptions({ customUserAgent: 'hostnet-test', axiosRequestConfig: { timeout: opts.timeoutMs ?? 5000 } })
    .build();
}
