// The API gateway's AK/SK check: signature, clock skew, lockout after repeated bad signatures,
// and the project the credential may act on. Throws GatewayError (gateway-formatted 401) or
// VpcError (the service's own 403 when the URL names another project than X-Project-Id).

import { Errors } from './errors.js';
import { parseAuthorization, parseSdkDate, verifySignature, type WireRequest } from './signer.js';

export interface AuthOptions {
  /** Consecutive bad signatures that lock an AK (Huawei: 5). */
  lockAfter: number;
  /** How long a locked AK stays locked (Huawei: 5 minutes). */
  lockMs: number;
  /** Allowed distance between X-Sdk-Date and the server clock (Huawei: 15 minutes). */
  maxSkewMs: number;
}

export const DEFAULT_AUTH_OPTIONS: AuthOptions = { lockAfter: 5, lockMs: 5 * 60_000, maxSkewMs: 15 * 60_000 };

export interface AuthAccount {
  projectId: string;
  credentials: ReadonlyMap<string, string>;
}

export interface AuthResult {
  ak: string;
  projectId: string;
}

function header(req: WireRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export class Authenticator {
  private readonly failures = new Map<string, { count: number; lockedUntil: number }>();

  constructor(
    private readonly account: () => AuthAccount,
    private readonly now: () => Date,
    private readonly options: AuthOptions = DEFAULT_AUTH_OPTIONS,
  ) {}

  /** The AK named by a request, whether or not it verifies (for the call log). */
  static akOf(req: WireRequest): string | undefined {
    return parseAuthorization(header(req, 'authorization'))?.ak;
  }

  /**
   * @param pathProject the project_id of a v1/v3 URL; undefined for Neutron paths, which carry
   *   the project only in X-Project-Id.
   */
  authenticate(req: WireRequest, pathProject: string | undefined): AuthResult {
    const auth = parseAuthorization(header(req, 'authorization'));
    if (!auth) throw Errors.authMissing();
    const account = this.account();
    const sk = account.credentials.get(auth.ak);
    if (sk === undefined) throw Errors.akNotExist(auth.ak);
    const now = this.now().getTime();
    const record = this.failures.get(auth.ak);
    if (record && record.lockedUntil > now) throw Errors.akLocked();
    const dateText = header(req, 'x-sdk-date');
    const date = dateText === undefined ? undefined : parseSdkDate(dateText);
    if (!date) throw Errors.badDate();
    if (Math.abs(date.getTime() - now) > this.options.maxSkewMs) throw Errors.dateSkew();
    if (!verifySignature(req, auth, sk)) {
      // A lock that has run out starts a fresh count.
      const expired = record !== undefined && record.lockedUntil !== 0 && record.lockedUntil <= now;
      const failures = record && !expired ? record : { count: 0, lockedUntil: 0 };
      failures.count += 1;
      if (failures.count >= this.options.lockAfter) {
        failures.count = 0;
        failures.lockedUntil = now + this.options.lockMs;
      }
      this.failures.set(auth.ak, failures);
      throw Errors.badSignature();
    }
    this.failures.delete(auth.ak);
    const headerProject = header(req, 'x-project-id');
    if (headerProject !== undefined && headerProject !== account.projectId) throw Errors.unknownProject(headerProject);
    if (pathProject !== undefined && pathProject !== account.projectId) {
      if (headerProject !== undefined) throw Errors.projectMismatch(pathProject, headerProject);
      throw Errors.unknownProject(pathProject);
    }
    return { ak: auth.ak, projectId: account.projectId };
  }

  /** Whether an AK is locked right now (for tests and the admin state). */
  isLocked(ak: string): boolean {
    const record = this.failures.get(ak);
    return record !== undefined && record.lockedUntil > this.now().getTime();
  }

  reset(): void {
    this.failures.clear();
  }
}
