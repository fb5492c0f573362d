// SDK-HMAC-SHA256, the AK/SK request signature of Huawei Cloud's API gateway, written from the
// way @huaweicloud/huaweicloud-sdk-core 3.1.x signs requests (auth/AKSKSigner.js). Both halves
// live here: the emulator verifies with it, and tests (or anyone wanting raw HTTP against the
// emulator, e.g. to read the VPC error body the SDK throws away) sign with it.
//
// The canonical request is built from what is on the wire, not from a structured request, so the
// verifier sees exactly what a real gateway would: the raw path (each segment percent-encoded
// again, as the SDK encodes its already-encoded URL), the query decoded then re-encoded in
// RFC 3986 style, the listed headers, and the SHA-256 of the body bytes.

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';

export const SDK_ALGORITHM = 'SDK-HMAC-SHA256';
/** SHA-256 of the empty string: the payload hash of a request without a body. */
export const EMPTY_BODY_SHA256 = 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855';
/** Header that lets a client opt out of hashing the body (the SDK does so for non-JSON bodies). */
export const CONTENT_SHA256_HEADER = 'x-sdk-content-sha256';

export function sha256Hex(data: string | Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

export function hmacSha256Hex(key: string, data: string): string {
  return createHmac('sha256', key).update(data).digest('hex');
}

/** `YYYYMMDDTHHmmssZ`, the X-Sdk-Date format (UTC, no separators, no milliseconds). */
export function formatSdkDate(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d{3}Z$/, 'Z');
}

/** Parses an X-Sdk-Date value; undefined when it is not exactly `YYYYMMDDTHHmmssZ`. */
export function parseSdkDate(value: string): Date | undefined {
  const m = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/.exec(value);
  if (!m) return undefined;
  const [, y, mo, d, h, mi, s] = m.map(Number) as [number, number, number, number, number, number, number];
  const date = new Date(Date.UTC(y, mo - 1, d, h, mi, s));
  // Date.UTC rolls over silently (month 13, second 61); a real date must round-trip.
  return formatSdkDate(date) === value ? date : undefined;
}

/**
 * Percent-encodes everything but RFC 3986 unreserved characters (A-Z a-z 0-9 - . _ ~), UTF-8 for
 * non-ASCII: the SDK's urlEncode. encodeURIComponent keeps ! ' ( ) * as they are, the SDK does not.
 */
export function sdkUrlEncode(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => '%' + c.charCodeAt(0).toString(16).toUpperCase());
}

/** Canonical URI: every raw path segment encoded once more, always ending in "/". */
export function canonicalUri(rawPath: string): string {
  const encoded = rawPath.split('/').map(sdkUrlEncode).join('/');
  return encoded.endsWith('/') ? encoded : encoded + '/';
}

function safeDecode(value: string): string {
  try {
    return decodeURIComponent(value);
  } catch {
    return value;
  }
}

/**
 * Canonical query string from a raw query (without "?"): keys sorted, the values of a repeated
 * key sorted, both re-encoded. "+" is taken literally: the SDK sends spaces as %20.
 */
export function canonicalQuery(rawQuery: string): string {
  const byKey = new Map<string, string[]>();
  for (const part of rawQuery.split('&')) {
    if (part === '') continue;
    const eq = part.indexOf('=');
    const key = safeDecode(eq < 0 ? part : part.slice(0, eq));
    const value = eq < 0 ? '' : safeDecode(part.slice(eq + 1));
    const values = byKey.get(key) ?? [];
    values.push(value);
    byKey.set(key, values);
  }
  const out: string[] = [];
  for (const key of [...byKey.keys()].sort()) {
    for (const value of (byKey.get(key) ?? []).sort()) out.push(`${sdkUrlEncode(key)}=${sdkUrlEncode(value)}`);
  }
  return out.join('&');
}

export interface CanonicalRequestInput {
  method: string;
  /** Path exactly as sent on the request line, without the query. */
  rawPath: string;
  /** Query exactly as sent, without "?"; "" when none. */
  rawQuery: string;
  /** Header values by lowercase name. */
  headers: Readonly<Record<string, string | undefined>>;
  /** Lowercase header names, in the order of the SignedHeaders list (already sorted by a signer). */
  signedHeaders: readonly string[];
  payloadHash: string;
}

export function canonicalRequest(input: CanonicalRequestInput): string {
  const canonicalHeaders = input.signedHeaders.map((name) => `${name}:${input.headers[name] ?? ''}\n`).join('');
  return [
    input.method.toUpperCase(),
    canonicalUri(input.rawPath),
    canonicalQuery(input.rawQuery),
    canonicalHeaders,
    input.signedHeaders.join(';'),
    input.payloadHash,
  ].join('\n');
}

export function stringToSign(sdkDate: string, canonical: string): string {
  return [SDK_ALGORITHM, sdkDate, sha256Hex(canonical)].join('\n');
}

/** Splits a request target ("/path?query") into raw path and raw query. */
export function splitTarget(target: string): { rawPath: string; rawQuery: string } {
  const q = target.indexOf('?');
  return q < 0 ? { rawPath: target, rawQuery: '' } : { rawPath: target.slice(0, q), rawQuery: target.slice(q + 1) };
}

export interface ParsedAuthorization {
  ak: string;
  signedHeaders: string[];
  signature: string;
}

/** Parses `SDK-HMAC-SHA256 Access=AK, SignedHeaders=a;b, Signature=hex`; undefined when garbled. */
export function parseAuthorization(value: string | undefined): ParsedAuthorization | undefined {
  if (!value) return undefined;
  const m = /^SDK-HMAC-SHA256\s+Access=([^,\s]+),\s*SignedHeaders=([^,\s]+),\s*Signature=([0-9a-fA-F]{64})$/.exec(value.trim());
  if (!m) return undefined;
  const [, ak, headers, signature] = m as unknown as [string, string, string, string];
  return { ak, signedHeaders: headers.toLowerCase().split(';').filter((h) => h !== ''), signature: signature.toLowerCase() };
}

export interface WireRequest {
  method: string;
  /** Request target as received: path plus optional "?query". */
  target: string;
  /** Header values by lowercase name (Node's IncomingMessage.headers fits). */
  headers: Readonly<Record<string, string | string[] | undefined>>;
  body: Buffer | string;
}

function headerValue(headers: WireRequest['headers'], name: string): string | undefined {
  const v = headers[name];
  return Array.isArray(v) ? v.join(', ') : v;
}

/** The signature a client holding `sk` must have sent for this request, given its Authorization. */
export function expectedSignature(req: WireRequest, auth: ParsedAuthorization, sk: string): string {
  const date = headerValue(req.headers, 'x-sdk-date') ?? '';
  const { rawPath, rawQuery } = splitTarget(req.target);
  const headers: Record<string, string | undefined> = {};
  for (const name of auth.signedHeaders) headers[name] = headerValue(req.headers, name);
  const declaredHash = auth.signedHeaders.includes(CONTENT_SHA256_HEADER) ? headers[CONTENT_SHA256_HEADER] : undefined;
  const bodyLength = typeof req.body === 'string' ? req.body.length : req.body.byteLength;
  const payloadHash = declaredHash ?? (bodyLength === 0 ? EMPTY_BODY_SHA256 : sha256Hex(req.body));
  const canonical = canonicalRequest({ method: req.method, rawPath, rawQuery, headers, signedHeaders: auth.signedHeaders, payloadHash });
  return hmacSha256Hex(sk, stringToSign(date, canonical));
}

/** Constant-time comparison of the received signature against the expected one. */
export function verifySignature(req: WireRequest, auth: ParsedAuthorization, sk: string): boolean {
  const expected = Buffer.from(expectedSignature(req, auth, sk), 'hex');
  const got = Buffer.from(auth.signature, 'hex');
  return got.length === expected.length && timingSafeEqual(got, expected);
}

export interface SignInput {
  method: string;
  /** Absolute URL, e.g. http://127.0.0.1:18080/v1/{pid}/routetables?vpc_id=x */
  url: string;
  ak: string;
  sk: string;
  /** Sent as X-Project-Id (and signed) when given, as the SDK does with BasicCredentials. */
  projectId?: string;
  body?: string;
  /** Extra headers to send and sign (names any case). */
  headers?: Record<string, string>;
  /** Signing time; default now. */
  date?: Date;
}

/**
 * Signs like the SDK: every header present is signed (content-type, host, x-project-id,
 * x-sdk-date, plus extras). Returns the headers to send, Authorization included.
 */
export function signRequest(input: SignInput): Record<string, string> {
  const url = new URL(input.url);
  const headers: Record<string, string> = { 'content-type': 'application/json' };
  for (const [k, v] of Object.entries(input.headers ?? {})) headers[k.toLowerCase()] = v;
  headers['host'] = url.host;
  headers['x-sdk-date'] = formatSdkDate(input.date ?? new Date());
  if (input.projectId !== undefined) headers['x-project-id'] = input.projectId;
  const signedHeaders = Object.keys(headers).sort();
  const body = input.body ?? '';
  const auth: ParsedAuthorization = { ak: input.ak, signedHeaders, signature: '' };
  const signature = expectedSignature(
    { method: input.method, target: url.pathname + url.search, headers, body },
    auth,
    input.sk,
  );
  headers['authorization'] = `${SDK_ALGORITHM} Access=${input.ak}, SignedHeaders=${signedHeaders.join(';')}, Signature=${signature}`;
  return headers;
}

export interface SignedFetchOptions {
  method?: string;
  /** Serialized with JSON.stringify unless already a string. */
  body?: unknown;
  ak: string;
  sk: string;
  projectId?: string;
  date?: Date;
  headers?: Record<string, string>;
}

/** fetch() with an SDK-HMAC-SHA256 signature: raw HTTP against the emulator (or the real cloud). */
export async function signedFetch(url: string, opts: SignedFetchOptions): Promise<Response> {
  const method = (opts.method ?? 'GET').toUpperCase();
  const body = opts.body === undefined ? undefined : typeof opts.body === 'string' ? opts.body : JSON.stringify(opts.body);
  const headers = signRequest({
    method,
    url,
    ak: opts.ak,
    sk: opts.sk,
    ...(opts.projectId !== undefined ? { projectId: opts.projectId } : {}),
    ...(body !== undefined ? { body } : {}),
    ...(opts.headers ? { headers: opts.headers } : {}),
    ...(opts.date ? { date: opts.date } : {}),
  });
  // fetch sets Host itself (to the same value); it refuses a caller-supplied one.
  delete headers['host'];
  return fetch(url, { method, headers, ...(body !== undefined ? { body } : {}) });
}
