// A small typed client of the Docker Engine API over its unix socket (node's own http module;
// no Docker SDK is installed). Only what the agent needs: ping, networks (list, inspect,
// create, remove) and the containers attached to a network (from inspect).
// API version 1.41 (Docker 20.10, Debian 12's docker.io); newer engines accept it too.
import { request } from 'node:http';

export const DOCKER_API_VERSION = 'v1.41';

export interface DockerNetwork {
  Id: string;
  Name: string;
  Driver: string;
  IPAM?: { Config?: { Subnet?: string; Gateway?: string }[] | null };
  Options?: Record<string, string> | null;
  Labels?: Record<string, string> | null;
  /** Only in inspect: endpoint id → container. */
  Containers?: Record<string, { Name?: string; IPv4Address?: string }> | null;
}

export interface CreateNetwork {
  Name: string;
  Driver: 'bridge';
  CheckDuplicate: true;
  IPAM: { Driver: 'default'; Config: { Subnet: string; Gateway: string }[] };
  Options: Record<string, string>;
  Labels: Record<string, string>;
}

/** An answer of the Engine API other than 2xx (message from its JSON body). */
export class DockerApiError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** The socket did not answer (dockerd stopped, wrong path, permission). */
export class DockerUnavailableError extends Error {}

export class DockerClient {
  constructor(
    /** Path of the unix socket, e.g. /var/run/docker.sock. */
    readonly socketPath: string,
    private readonly timeoutMs = 10_000,
  ) {}

  /** "unix:///var/run/docker.sock" or a plain path → the socket path. */
  static fromHost(host: string): DockerClient {
    if (host.startsWith('unix://')) return new DockerClient(host.slice('unix://'.length));
    if (host.startsWith('/')) return new DockerClient(host);
    throw new Error(`only unix sockets are supported, got ${JSON.stringify(host)}`);
  }

  async ping(): Promise<void> {
    await this.call('GET', '/_ping');
  }

  async listNetworks(): Promise<DockerNetwork[]> {
    return (await this.call('GET', '/networks')) as DockerNetwork[];
  }

  /** undefined when no network has this id or name. */
  async inspectNetwork(idOrName: string): Promise<DockerNetwork | undefined> {
    try {
      return (await this.call('GET', `/networks/${encodeURIComponent(idOrName)}`)) as DockerNetwork;
    } catch (err) {
      if (err instanceof DockerApiError && err.status === 404) return undefined;
      throw err;
    }
  }

  async createNetwork(spec: CreateNetwork): Promise<string> {
    const res = (await this.call('POST', '/networks/create', spec)) as { Id: string };
    return res.Id;
  }

  /** Removes a network; false when it was already gone. */
  async removeNetwork(id: string): Promise<boolean> {
    try {
      await this.call('DELETE', `/networks/${encodeURIComponent(id)}`);
      return true;
    } catch (err) {
      if (err instanceof DockerApiError && err.status === 404) return false;
      throw err;
    }
  }

  private call(method: string, path: string, body?: unknown): Promise<unknown> {
    const payload = body === undefined ? undefined : JSON.stringify(body);
    return new Promise((resolve, reject) => {
      const req = request(
        {
          socketPath: this.socketPath,
          method,
          path: path === '/_ping' ? path : `/${DOCKER_API_VERSION}${path}`,
          headers: { Host: 'docker', ...(payload ? { 'Content-Type': 'application/json', 'Content-Length': Buffer.byteLength(payload) } : {}) },
          timeout: this.timeoutMs,
        },
        (res) => {
          const chunks: Buffer[] = [];
          res.on('data', (c: Buffer) => chunks.push(c));
          res.on('error', (err) => reject(new DockerUnavailableError(`docker ${method} ${path}: ${err.message}`)));
          res.on('end', () => {
            const text = Buffer.concat(chunks).toString('utf8');
            const status = res.statusCode ?? 0;
            if (status < 200 || status >= 300) {
              let message = text.trim();
              try {
                message = (JSON.parse(text) as { message?: string }).message ?? message;
              } catch {
                // plain text answer
              }
              reject(new DockerApiError(status, `docker ${method} ${path}: ${status} ${message}`));
              return;
            }
            if (!text || !(res.headers['content-type'] ?? '').includes('json')) {
              resolve(text);
              return;
            }
            try {
              resolve(JSON.parse(text));
            } catch {
              reject(new DockerApiError(status, `docker ${method} ${path}: answer is not JSON`));
            }
          });
        },
      );
      req.on('timeout', () => req.destroy(new Error(`no answer within ${this.timeoutMs} ms`)));
      req.on('error', (err) => reject(new DockerUnavailableError(`docker socket ${this.socketPath}: ${err.message}`)));
      req.end(payload);
    });
  }
}
