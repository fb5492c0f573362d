// Kubernetes API errors in one readable line: client-node's ApiException carries the status code
// and the API's JSON Status body (with response headers) in its message.
export function describeKubeError(err: unknown): string {
  const e = err as { code?: number; body?: unknown; message?: string } | undefined;
  if (typeof e?.code === 'number' && e.code >= 100) {
    let msg = '';
    try {
      const body = typeof e.body === 'string' ? (JSON.parse(e.body) as { message?: string }) : (e.body as { message?: string } | undefined);
      msg = body?.message ?? '';
    } catch {
      msg = String(e.body ?? '').slice(0, 300);
    }
    return `HTTP ${e.code}${msg ? `: ${msg}` : ''}`;
  }
  return String(e?.message ?? err);
}

export function kubeStatusCode(err: unknown): number | undefined {
  const c = (err as { code?: unknown; statusCode?: unknown } | undefined)?.code ?? (err as { statusCode?: unknown } | undefined)?.statusCode;
  return typeof c === 'number' ? c : undefined;
}
