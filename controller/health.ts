// /metrics on one address, /healthz and /readyz on another (either may be disabled with "0").
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export interface HealthSource {
  ready(): boolean;
  live(): boolean;
}

function listen(server: Server, address: string): Promise<Server> {
  const i = address.lastIndexOf(':');
  const host = address.slice(0, i).replace(/^\[|\]$/g, '') || undefined;
  const port = Number(address.slice(i + 1));
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve(server));
  });
}

export async function serveMetrics(address: string, registry: Registry): Promise<Server | undefined> {
  if (address === '0') return undefined;
  const server = createServer((req, res) => {
    if (req.url !== '/metrics') {
      res.writeHead(404).end('not found\n');
      return;
    }
    registry
      .metrics()
      .then((text) => res.writeHead(200, { 'Content-Type': registry.contentType }).end(text))
      .catch((err: unknown) => res.writeHead(500).end(String(err)));
  });
  return listen(server, address);
}

export async function serveHealth(address: string, src: HealthSource): Promise<Server | undefined> {
  if (address === '0') return undefined;
  const server = createServer((req, res) => {
    const ok = req.url === '/healthz' ? src.live() : req.url === '/readyz' ? src.ready() : undefined;
    if (ok === undefined) res.writeHead(404).end('not found\n');
    else res.writeHead(ok ? 200 : 503, { 'Content-Type': 'text/plain' }).end(ok ? 'ok\n' : 'not ready\n');
  });
  return listen(server, address);
}
