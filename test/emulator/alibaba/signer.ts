// ACS3-HMAC-SHA256, Alibaba Cloud's request signature (the default of the 2.x/7.x Node SDKs on
// @alicloud/openapi-core), written from the public description of the signature (summarised in
// shared/notes/alibaba-vpc-api.md). Both halves live here: the emulator verifies with it, and
// tests sign raw requests with it (to read an error body as sent, or to replay a nonce).
//
// The canonical request is built from what is on the wire: the query as received is decoded
// and re-encoded in RFC 3986 style, so a client that leaves `*` raw (the SDK does) and one that
// sends `%2A` sign the same string.

import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

export const ACS3_ALGORITHM = 'ACS3-HMAC-SHA256';
/** SHA-256 of the empty string: the payload hash of an RPC call (its body is always empty). */
export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

/** RFC 3986 percent-encoding: only A-Z a-z 0-9 - _ . ~ stay, everything else %XX upper-case. */
export function acsEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value.replace(/\+/g, '%20'));
  } catch {
    return value;
  }
}

/** The raw query parsed into decoded key/value pairs, in the order received. */
export function parseQuery(rawQuery: string): [string, string][] {
  if (rawQuery === '') return [];
  return rawQuery
    .split('&')
    .filter((part) => part !== '')
    .map((part) => {
      const eq = part.indexOf('=');
      return eq < 0 ? [safeDecode(part), ''] : [safeDecode(part.slice(0, eq)), safeDecode(part.slice(eq + 1))];
    });
}

/** Canonical query: every pair decoded, re-encoded, sorted by encoded key (then value), joined by &. */
export function canonicalQuery(rawQuery: string): string {
  return parseQuery(rawQuery)
    .map(([k, v]) => [acsEncode(k), acsEncode(v)] as const)
    .sort(([ka, va], [kb, vb]) => (ka < kb ? -1 : ka > kb ? 1 : va < vb ? -1 : va > vb ? 1 : 0))
    .map(([k, v]) => `${k}=${v}`)
    .join('&');
}

export type Headers = Record<string, string | string[] | undefined>;

function header(headers: Headers, name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(',') : v;
}

export interface CanonicalInput {
  method: string;
  /** Path without the query ("/" for RPC). */
  rawPath: string;
  rawQuery: string;
  /** Lower-case header names. */
  headers: Headers;
  /** Signed header names, lower case, in the order of the Authorization header. */
  signedHeaders: readonly string[];
  /** Hex SHA-256 of the body. */
  payloadHash: string;
}

export function canonicalRequest(input: CanonicalInput): string {
  const headerLines = input.signedHeaders.map((name) => `${name}:${(header(input.headers, name) ?? '').trim()}\n`).join('');
  return [input.method.toUpperCase(), input.rawPath === '' ? '/' : input.rawPath, canonicalQuery(input.rawQuery), headerLines, input.signedHeaders.join(';'), input.payloadHash].join('\n');
}

export function stringToSign(canonical: string): string {
  return `${ACS3_ALGORITHM}\n${sha256Hex(canonical)}`;
}

export function signString(secret: string, toSign: string): string {
  return createHmac('sha256', secret).update(toSign).digest('hex');
}

export interface ParsedAuthorization {
  accessKeyId: string;
  signedHeaders: string[];
  signature: string;
}

/** Parses `ACS3-HMAC-SHA256 Credential=AK,SignedHeaders=a;b,Signature=hex`; undefined if malformed. */
export function parseAuthorization(value: string | undefined): ParsedAuthorization | undefined {
  if (value === undefined || !value.startsWith(`${ACS3_ALGORITHM} `)) return undefined;
  const fields = new Map<string, string>();
  for (const part of value.slice(ACS3_ALGORITHM.length + 1).split(',')) {
    const eq = part.indexOf('=');
    if (eq < 0) return undefined;
    fields.set(part.slice(0, eq).trim(), part.slice(eq + 1).trim());
  }
  const accessKeyId = fields.get('Credential');
  const signed = fields.get('SignedHeaders');
  const signature = fields.get('Signature');
  if (!accessKeyId || !signed || !signature || !/^[0-9a-f]{64}$/.test(signature)) return undefined;
  return { accessKeyId, signedHeaders: signed.split(';').map((h) => h.trim().toLowerCase()), signature };
}

export interface WireRequest {
  method: string;
  rawPath: string;
  rawQuery: string;
  headers: Headers;
  body: Buffer;
}

/** The signature the request should carry with `secret`. */
export function expectedSignature(req: WireRequest, auth: ParsedAuthorization, secret: string): string {
  const payloadHash = header(req.headers, 'x-acs-content-sha256') ?? sha256Hex(req.body);
  return signString(secret, stringToSign(canonicalRequest({ ...req, signedHeaders: auth.signedHeaders, payloadHash })));
}

/**
 * True when the signature matches (constant-time compare) and the signed payload hash is the
 * body's: a client may not sign one body and send another.
 */
export function verifySignature(req: WireRequest, auth: ParsedAuthorization, secret: string): boolean {
  const declared = header(req.headers, 'x-acs-content-sha256');
  if (declared !== undefined && declared !== sha256Hex(req.body)) return false;
  const want = Buffer.from(expectedSignature(req, auth, secret), 'hex');
  const got = Buffer.from(auth.signature, 'hex');
  return want.length === got.length && timingSafeEqual(want, got);
}

/** `YYYY-MM-DDTHH:MM:SSZ`, the x-acs-date format. */
export function formatAcsDate(date: Date): string {
  return date.toISOString().replace(/\.\d{3}Z$/, 'Z');
}

export function parseAcsDate(value: string): Date | undefined {
  if (!/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}Z$/.test(value)) return undefined;
  const date = new Date(value);
  return Number.isNaN(date.getTime()) || formatAcsDate(date) !== value ? undefined : date;
}

export interface SignRpcInput {
  /** http://host:port */
  url: string;
  action: string;
  version: string;
  params: Record<string, string>;
  accessKeyId: string;
  accessKeySecret: string;
  date?: Date;
  nonce?: string;
}

/** Signs an RPC call as the SDK sends it: POST /?params, empty body, action/version headers. */
export function signRpc(input: SignRpcInput): { target: string; headers: Record<string, string> } {
  const host = new URL(input.url).host;
  const rawQuery = Object.entries(input.params)
    .map(([k, v]) => `${acsEncode(k)}=${acsEncode(v)}`)
    .join('&');
  const headers: Record<string, string> = {
    host,
    'x-acs-action': input.action,
    'x-acs-version': input.version,
    'x-acs-date': formatAcsDate(input.date ?? new Date()),
    'x-acs-signature-nonce': input.nonce ?? randomBytes(32).toString('hex'),
    'x-acs-content-sha256': EMPTY_BODY_SHA256,
  };
  const signedHeaders = Object.keys(headers).sort();
  const canonical = canonicalRequest({ method: 'POST', rawPath: '/', rawQuery, headers, signedHeaders, payloadHash: EMPTY_BODY_SHA256 });
  const signature = signString(input.accessKeySecret, stringToSign(canonical));
  headers.authorization = `${ACS3_ALGORITHM} Credential=${input.accessKeyId},SignedHeaders=${signedHeaders.join(';')},Signature=${signature}`;
  return { target: `/?${rawQuery}`, headers };
}

/** A signed RPC call over fetch; the answer as received (status and JSON body). */
export async function signedRpc(input: SignRpcInput): Promise<{ status: number; body: Record<string, unknown> }> {
  const { target, headers } = signRpc(input);
  const { host, ...sent } = headers;
  void host; // fetch sets Host itself, to the same value
  const res = await fetch(new URL(target, input.url), { method: 'POST', headers: sent });
  return { status: res.status, body: (await res.json()) as Record<string, unknown> };
}
