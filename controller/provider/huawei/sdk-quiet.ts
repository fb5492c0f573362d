// Silences the Huawei Cloud SDK's own logging.
//
// @huaweicloud/huaweicloud-sdk-core (3.1.x) calls log4js.configure() when it is first loaded
// (logger/log4jLogger.js) with a stdout appender at level debug, and DefaultHttpClient logs every
// failed request at ERROR with the full axios config — including the Authorization header that
// carries the access key and the request signature. With DEBUG=DEBUG in the environment it also
// logs every request's headers. None of that may reach our logs, so every logger instance the SDK
// can write to is switched off right after the core is loaded: the log4js category level goes to
// "off" and the instance's log methods become no-ops (the latter survives a later
// log4js.configure() by some other library).
//
// Import this module before (or instead of) importing the SDK; huawei-sdk.ts does.

import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

const LOG_METHODS = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'mark', 'log'] as const;

interface Log4jsLoggerLike {
  level: unknown;
  [method: string]: unknown;
}

const silenced = new Set<object>();

function noop(): void {
  /* the SDK's log output is dropped on purpose: it can carry credentials */
}

/** The paths of every copy of the SDK core the VPC SDK (and this project) would load. */
function coreLoggerModulePaths(): string[] {
  const paths = new Set<string>();
  const target = '@huaweicloud/huaweicloud-sdk-core/logger/log4jLogger';
  // The copy the VPC package resolves (it may carry a nested core of its own)...
  try {
    const vpcMain = require.resolve('@huaweicloud/huaweicloud-sdk-vpc');
    paths.add(createRequire(vpcMain).resolve(target));
  } catch {
    /* VPC SDK not installed: nothing to silence there */
  }
  // ...and the copy this project resolves directly.
  try {
    paths.add(require.resolve(target));
  } catch {
    /* core not installed */
  }
  return [...paths];
}

/**
 * Switches off the SDK's log4js logger(s). Idempotent; returns how many logger instances are
 * silenced in total.
 */
export function silenceHuaweiSdkLogging(): number {
  for (const path of coreLoggerModulePaths()) {
    const mod = require(path) as { Logger4jInstance?: Log4jsLoggerLike };
    const inst = mod.Logger4jInstance;
    if (!inst || silenced.has(inst)) continue;
    try {
      inst.level = 'off';
    } catch {
      /* a log4js without the "off" level: the no-op methods below still hold */
    }
    for (const m of LOG_METHODS) inst[m] = noop;
    silenced.add(inst);
  }
  return silenced.size;
}

/** True once at least one SDK logger instance is silenced (for tests and startup checks). */
export function isHuaweiSdkLoggingSilenced(): boolean {
  return silenced.size > 0;
}

silenceHuaweiSdkLogging();
