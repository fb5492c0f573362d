// One list of a resource, read the way a 5,000-object answer costs least memory. client-node's
// generated list holds, for a moment, the answer's chunks, their concatenation, the decoded 30 MB
// string and the whole parsed list with managedFields (a restart's peak RSS came from it, issue
// 16). Here each item is parsed as soon as its text is complete (list-items.ts) and loses its
// managedFields (which no cache of ours keeps) at once. Errors are client-node's ApiException
// (status code, Status body, headers), as its own list throws.
import { request as httpRequest, type IncomingMessage } from 'node:http';
import { request as httpsRequest, type RequestOptions } from 'node:https';
import { createGunzip } from 'node:zlib';
import { ApiException, type KubeConfig } from '@kubernetes/client-node';
import { ListItemSplitter } from './list-items.js';

export interface ListAnswer<T> {
  items: T[];
  metadata?: { resourceVersion?: string; continue?: string };
}

/** GET `path` with `query`: the list, its items without metadata.managedFields. */
export async function listWithoutManagedFields<T>(kc: KubeConfig, path: string, query: Record<string, string>): Promise<ListAnswer<T>> {
  const server = kc.getCurrentCluster()?.server;
  if (!server) throw new Error('no current cluster in the kubeconfig');
  const url = new URL(server.replace(/\/+$/, '') + path);
  for (const [k, v] of Object.entries(query)) url.searchParams.set(k, v);
  const opts: RequestOptions = { method: 'GET', headers: { Accept: 'application/json', 'Accept-Encoding': 'gzip' } };
  await kc.applyToHTTPSOptions(opts);
  const res = await new Promise<IncomingMessage>((resolve, reject) => {
    const req = (url.protocol === 'http:' ? httpRequest : httpsRequest)(url, opts, resolve);
    req.on('error', reject);
    req.end();
  });
  const body = res.headers['content-encoding'] === 'gzip' ? res.pipe(createGunzip()) : res;
  const status = res.statusCode ?? 0;
  const ok = status >= 200 && status <= 299;
  const items: T[] = [];
  const splitter = new ListItemSplitter((text) => {
    const item = JSON.parse(text) as { metadata?: { managedFields?: unknown } };
    if (item.metadata) delete item.metadata.managedFields;
    items.push(item as T);
  });
  const decoder = new TextDecoder();
  let errorText = '';
  try {
    for await (const chunk of body) {
      const piece = decoder.decode(chunk as Buffer, { stream: true });
      if (ok) splitter.feed(piece);
      else errorText += piece;
    }
    const last = decoder.decode();
    if (ok) splitter.feed(last);
    else errorText += last;
  } finally {
    res.destroy();
  }
  if (!ok) {
    let parsed: unknown = errorText;
    try {
      parsed = JSON.parse(errorText);
    } catch {
      // Not JSON (a proxy's error page): passed on as text.
    }
    throw new ApiException(status, `list ${url.pathname} answered ${status}`, parsed, res.headers as Record<string, string>);
  }
  const list = JSON.parse(splitter.end()) as ListAnswer<T>;
  list.items = items;
  return list;
}
