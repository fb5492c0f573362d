// Real @alicloud/vpc20160428 / @alicloud/ecs20140526 clients pointed at the Alibaba emulator
// (endpoint host:port, protocol http, the SDK's default ACS3-HMAC-SHA256), for tests that must
// prove the emulator speaks what the SDK sends.

import { $OpenApiUtil } from '@alicloud/openapi-core';
import * as Ecs from '@alicloud/ecs20140526';
import * as Vpc from '@alicloud/vpc20160428';
import { ALI_SEED } from './seed.js';

export interface AliClientOptions {
  accessKeyId?: string;
  accessKeySecret?: string;
  regionId?: string;
  /** Read timeout in ms (default 5000). */
  timeoutMs?: number;
}

function config(endpoint: string, opts: AliClientOptions): $OpenApiUtil.Config {
  return new $OpenApiUtil.Config({
    accessKeyId: opts.accessKeyId ?? ALI_SEED.accessKeyId,
    accessKeySecret: opts.accessKeySecret ?? ALI_SEED.accessKeySecret,
    regionId: opts.regionId ?? ALI_SEED.regionId,
    endpoint,
    protocol: 'http',
    readTimeout: opts.timeoutMs ?? 5000,
    connectTimeout: opts.timeoutMs ?? 5000,
  });
}

// The client class is these CommonJS packages' `default` export. Under tsx's CommonJS path the
// namespace's `default` is the class; under its ESM path it is module.exports, whose `default` is.
export type AliVpcClient = InstanceType<typeof Vpc.default.default>;
export type AliEcsClient = InstanceType<typeof Ecs.default.default>;

function clientClass<T>(ns: unknown): T {
  const d = (ns as { default: unknown }).default;
  return (typeof d === 'function' ? d : (d as { default: unknown }).default) as T;
}

export function aliVpcClient(endpoint: string, opts: AliClientOptions = {}): AliVpcClient {
  const VpcClient = clientClass<typeof Vpc.default.default>(Vpc);
  return new VpcClient(config(endpoint, opts));
}

export function aliEcsClient(endpoint: string, opts: AliClientOptions = {}): AliEcsClient {
  const EcsClient = clientClass<typeof Ecs.default.default>(Ecs);
  return new EcsClient(config(endpoint, opts));
}
