// A TLS-terminating proxy in front of the test's kube-apiserver that can misbehave on watches
// only. Terminating TLS (with a CA of its own, trusted by the kubeconfig it writes) is what lets
// it read the request path and tell a watch (`watch=true`) from a list; everything else is
// forwarded untouched, the client's bearer token included.
//
// Modes for watches (lists and writes always pass):
// - 'pass':   forwarded;
// - 'freeze': silent but open, like a connection a NAT or load balancer dropped without a RST:
//             established watches stop getting bytes and new ones are held without being
//             forwarded. A frozen connection stays dead after thaw(); only new watches pass;
// - 'reset':  established watches and every new one are cut (socket destroyed before any
//             response), like a connection reset;
// - 'forbid': established watches are cut and every new one is refused with the API server's
//             403 Status, as when the RBAC rule lacks the `watch` verb.
// Independently, lagBehind(names) plays an API server whose watch cache is behind etcd for those
// objects: lists served from the watch cache (resourceVersion=0) and watch events leave them out,
// while consistent lists (no resourceVersion, e.g. a direct read by name) still show them.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { type IncomingMessage, type ServerResponse } from 'node:http';
import { Agent, createServer, request, type Server } from 'node:https';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { KubeConfig } from '@kubernetes/client-node';

export type WatchMode = 'pass' | 'freeze' | 'reset' | 'forbid';

export interface WatchProxy {
  /** https://127.0.0.1:PORT */
  url: string;
  /** A kubeconfig for the proxy: its own CA (no insecure-skip-tls-verify), the upstream's token. */
  kubeConfig(): KubeConfig;
  setWatchMode(mode: WatchMode): void;
  /** The watch cache misses these objects (by name) from now on; [] catches it up again. */
  lagBehind(names: string[]): void;
  /** Watch requests received so far, whatever the mode did with them. */
  readonly watchRequests: number;
  /** Path and query of every GET that was not a watch (lists, reads), in order. */
  readonly listPaths: string[];
  /** Watch requests frozen or cut so far (established ones at the switch included). */
  readonly watchesFrozen: number;
  readonly watchesReset: number;
  readonly watchesForbidden: number;
  /** Lists (GET without watch=true) received so far. */
  readonly listRequests: number;
  close(): Promise<void>;
}

interface Pki {
  ca: string;
  key: string;
  cert: string;
}

/** A throw-away CA and a server certificate for 127.0.0.1 signed by it (openssl CLI). */
function makePki(): Pki {
  const dir = mkdtempSync(join(tmpdir(), 'hostnet-watch-proxy-'));
  try {
    const ssl = (...args: string[]): void => void execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
    ssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=hostnet-test-proxy-ca');
    ssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(join(dir, 'ext.cnf'), 'subjectAltName=IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
    ssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'ext.cnf');
    return { ca: readFileSync(join(dir, 'ca.crt'), 'utf8'), key: readFileSync(join(dir, 'server.key'), 'utf8'), cert: readFileSync(join(dir, 'server.crt'), 'utf8') };
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// Hop-by-hop headers are the proxy's own business on each side (RFC 9110 7.6.1).
const HOP_BY_HOP = new Set(['connection', 'keep-alive', 'transfer-encoding', 'upgrade', 'proxy-connection', 'te', 'trailer']);

function endToEnd(headers: IncomingMessage['headers']): Record<string, string | string[]> {
  const out: Record<string, string | string[]> = {};
  for (const [k, v] of Object.entries(headers)) if (v !== undefined && !HOP_BY_HOP.has(k)) out[k] = v;
  return out;
}

interface OpenWatch {
  req: IncomingMessage;
  frozen: boolean;
}

/** Starts a proxy to `upstream` (the test control plane's URL) for clients of `upstreamKc`. */
export async function startWatchProxy(upstream: string, upstreamKc: KubeConfig): Promise<WatchProxy> {
  const pki = makePki();
  const target = new URL(upstream);
  // The test control plane's serving certificate is self-signed (its kubeconfig skips the check).
  const upstreamAgent = new Agent({ rejectUnauthorized: false, keepAlive: true });
  let mode: WatchMode = 'pass';
  let watchRequests = 0;
  let watchesFrozen = 0;
  let watchesReset = 0;
  let watchesForbidden = 0;
  let listRequests = 0;
  const listPaths: string[] = [];
  const open = new Set<OpenWatch>();
  let behind = new Set<string>();
  const hidden = (obj: unknown): boolean => behind.has((obj as { metadata?: { name?: string } } | undefined)?.metadata?.name ?? '');

  /** `lag`: the answer is rewritten to leave out the objects the watch cache is behind on. */
  const forward = (req: IncomingMessage, res: ServerResponse, w?: OpenWatch, lag?: 'list' | 'watch'): void => {
    const headers: Record<string, string | string[]> = { ...endToEnd(req.headers), host: target.host };
    // A body to rewrite must come uncompressed.
    if (lag) delete headers['accept-encoding'];
    const up = request({ host: target.hostname, port: target.port, method: req.method, path: req.url, headers, agent: upstreamAgent }, (upRes) => {
      const resHeaders = endToEnd(upRes.headers);
      if (lag === 'list') {
        let body = '';
        upRes.setEncoding('utf8');
        upRes.on('data', (chunk: string) => (body += chunk));
        upRes.on('end', () => {
          try {
            const list = JSON.parse(body) as { items?: unknown[] };
            if (Array.isArray(list.items)) body = JSON.stringify({ ...list, items: list.items.filter((o) => !hidden(o)) });
          } catch {
            // Not JSON (an error page): passed on as it is.
          }
          delete resHeaders['content-length'];
          res.writeHead(upRes.statusCode ?? 502, resHeaders);
          res.end(body);
        });
        upRes.on('error', () => res.destroy());
        return;
      }
      res.writeHead(upRes.statusCode ?? 502, resHeaders);
      res.flushHeaders();
      let partial = '';
      if (lag === 'watch') upRes.setEncoding('utf8');
      upRes.on('data', (chunk: Buffer | string) => {
        if (w?.frozen) return;
        if (lag !== 'watch') return void res.write(chunk);
        // One JSON event per line: events of objects the cache is behind on are left out.
        const lines = (partial + String(chunk)).split('\n');
        partial = lines.pop() ?? '';
        const kept = lines.filter((line) => {
          try {
            return !hidden((JSON.parse(line) as { object?: unknown }).object);
          } catch {
            return true;
          }
        });
        if (kept.length > 0) res.write(kept.map((l) => `${l}\n`).join(''));
      });
      upRes.on('end', () => {
        if (!w?.frozen) res.end(partial);
      });
      upRes.on('error', () => res.destroy());
    });
    up.on('error', () => res.destroy());
    // The client went away (aborted its watch, or we cut it): let go of the upstream request too.
    res.on('close', () => up.destroy());
    req.pipe(up);
  };

  const server: Server = createServer({ key: pki.key, cert: pki.cert }, (req, res) => {
    const isWatch = new URL(req.url ?? '/', 'https://proxy').searchParams.get('watch') === 'true';
    if (!isWatch) {
      const fromWatchCache = new URL(req.url ?? '/', 'https://proxy').searchParams.get('resourceVersion') === '0';
      if (req.method === 'GET') {
        listRequests++;
        listPaths.push(req.url ?? '');
      }
      return forward(req, res, undefined, req.method === 'GET' && fromWatchCache && behind.size > 0 ? 'list' : undefined);
    }
    watchRequests++;
    if (mode === 'reset') {
      watchesReset++;
      req.socket.destroy();
      return;
    }
    if (mode === 'forbid') {
      watchesForbidden++;
      // The body kube-apiserver sends for a watch the caller may not do.
      res.writeHead(403, { 'content-type': 'application/json' });
      res.end(
        JSON.stringify({
          kind: 'Status',
          apiVersion: 'v1',
          metadata: {},
          status: 'Failure',
          message: `forbidden: the test's watch proxy refuses watch on ${req.url ?? ''}`,
          reason: 'Forbidden',
          code: 403,
        }),
      );
      return;
    }
    const w: OpenWatch = { req, frozen: mode === 'freeze' };
    open.add(w);
    res.on('close', () => open.delete(w));
    if (w.frozen) {
      watchesFrozen++;
      return; // held: never forwarded, never answered
    }
    forward(req, res, w, 'watch');
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const url = `https://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    kubeConfig() {
      const user = upstreamKc.getCurrentUser();
      if (!user?.token) throw new Error('watch proxy: the upstream kubeconfig has no bearer token to forward');
      const kc = new KubeConfig();
      kc.loadFromOptions({
        clusters: [{ name: 'via-proxy', server: url, caData: Buffer.from(pki.ca).toString('base64'), skipTLSVerify: false }],
        users: [{ name: 'admin', token: user.token }],
        contexts: [{ name: 'via-proxy', cluster: 'via-proxy', user: 'admin' }],
        currentContext: 'via-proxy',
      });
      return kc;
    },
    setWatchMode(next) {
      mode = next;
      for (const w of open) {
        if (next === 'freeze' && !w.frozen) {
          w.frozen = true;
          watchesFrozen++;
        } else if (next === 'reset' || next === 'forbid') {
          watchesReset++;
          w.req.socket.destroy();
        }
      }
    },
    lagBehind(names) {
      behind = new Set(names);
    },
    get listPaths() {
      return [...listPaths];
    },
    get watchRequests() {
      return watchRequests;
    },
    get watchesFrozen() {
      return watchesFrozen;
    },
    get watchesReset() {
      return watchesReset;
    },
    get watchesForbidden() {
      return watchesForbidden;
    },
    get listRequests() {
      return listRequests;
    },
    async close() {
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
      upstreamAgent.destroy();
    },
  };
}
