// Alibaba's gateway check of an ACS3-HMAC-SHA256 request, in the order the errors are documented:
// signature header shape, AccessKey known and enabled, x-acs-date within the clock window,
// signature, the STS token of an STS AccessKey, nonce not seen before, and the RAM policy
// allowing the action.

import { AliErrors } from './errors.js';
import { parseAcsDate, parseAuthorization, verifySignature, type WireRequest } from './signer.js';
import type { AliState } from './state.js';

export interface AliAuthOptions {
  /** Allowed distance between x-acs-date and the server clock, either way (docs: 15 minutes). */
  maxSkewMs: number;
}

export const DEFAULT_ALI_AUTH: AliAuthOptions = { maxSkewMs: 15 * 60_000 };

/** Headers every ACS3 request must sign (the SDK signs these and more). */
const REQUIRED_SIGNED = ['host', 'x-acs-action', 'x-acs-version', 'x-acs-date', 'x-acs-signature-nonce'];

function header(req: WireRequest, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

export class AliAuthenticator {
  /** Nonces seen within the clock window, with the time they arrived (ms). */
  private readonly nonces = new Map<string, number>();

  constructor(
    private readonly state: AliState,
    private readonly nowMs: () => number,
    private readonly options: AliAuthOptions = DEFAULT_ALI_AUTH,
  ) {}

  static accessKeyOf(req: WireRequest): string | undefined {
    return parseAuthorization(header(req, 'authorization'))?.accessKeyId;
  }

  /** The verified AccessKey id; throws AliError otherwise. */
  authenticate(req: WireRequest, action: string): string {
    const auth = parseAuthorization(header(req, 'authorization'));
    if (!auth || !REQUIRED_SIGNED.every((h) => auth.signedHeaders.includes(h))) throw AliErrors.incompleteSignature();
    const account = this.state.account(auth.accessKeyId);
    if (!account) throw AliErrors.accessKeyNotFound();
    if (account.disabled) throw AliErrors.accessKeyInactive();
    const dateText = header(req, 'x-acs-date');
    const date = dateText === undefined ? undefined : parseAcsDate(dateText);
    if (!date) throw AliErrors.timestampMalformed();
    const now = this.nowMs();
    if (Math.abs(now - date.getTime()) > this.options.maxSkewMs) throw AliErrors.timestampExpired();
    if (!verifySignature(req, auth, account.secret)) throw AliErrors.signatureMismatch();
    if (account.securityToken !== undefined) {
      // STS: the token must be sent and signed (a token outside the signature could be swapped).
      const token = header(req, 'x-acs-security-token');
      if (token === undefined || !auth.signedHeaders.includes('x-acs-security-token')) throw AliErrors.securityTokenMissing();
      if (token !== account.securityToken) throw AliErrors.securityTokenMismatch();
    }
    const nonce = header(req, 'x-acs-signature-nonce');
    if (!nonce) throw AliErrors.missingNonce();
    this.forgetOldNonces(now);
    // Only a verified request consumes its nonce: a forged one cannot burn someone's nonce.
    if (this.nonces.has(nonce)) throw AliErrors.nonceUsed();
    this.nonces.set(nonce, now);
    if (account.deny.has(action)) throw AliErrors.forbiddenRam();
    return auth.accessKeyId;
  }

  /** A nonce older than the clock window can never verify again (its date would be refused). */
  private forgetOldNonces(now: number): void {
    for (const [nonce, at] of this.nonces) {
      if (now - at <= 2 * this.options.maxSkewMs) break;
      this.nonces.delete(nonce);
    }
  }

  reset(): void {
    this.nonces.clear();
  }
}
