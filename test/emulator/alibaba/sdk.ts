// Real @alicloud/vpc20160428 / @alicloud/ecs20140526 clients pointed at the Alibaba emulator
// (endpoint host:port, protocol http, the SDK's default ACS3-HMAC-SHA256), for tests that must
// prove the emulator speaks what the SDK sends.

import { $OpenApiUtil } from '@alicloud/openapi-core';
import Ecs from '@alicloud/ecs20140526';
import Vpc from '@alicloud/vpc20160428';
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

// Under NodeNext these CommonJS packages' default import is module.exports; the client class is
// its `default`.
export type AliVpcClient = Vpc.default;
export type AliEcsClient = Ecs.default;

export function aliVpcClient(endpoint: string, opts: AliClientOptions = {}): AliVpcClient {
  return new Vpc.default(config(endpoint, opts));
}

export function aliEcsClient(endpoint: string, opts: AliClientOptions = {}): AliEcsClient {
  return new Ecs.default(config(endpoint, opts));
}
