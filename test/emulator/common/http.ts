// HTTP plumbing shared by the cloud emulators (Huawei in test/emulator/, Alibaba in
// test/emulator/alibaba/): reading a bounded body, delays, the loopback check of the admin API,
// and holding a request for a timeout fault.

import type { IncomingMessage, ServerResponse } from 'node:http';

export const MAX_BODY = 1 << 20;

/** The request body, at most MAX_BODY bytes kept (the rest is read and dropped). */
export function readBody(req: IncomingMessage): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size <= MAX_BODY) chunks.push(chunk);
    });
    req.on('end', () => resolve(Buffer.concat(chunks)));
    req.on('error', reject);
  });
}

export function sleep(ms: number): Promise<void> {
  return ms > 0 ? new Promise((resolve) => setTimeout(resolve, ms)) : Promise.resolve();
}

export function isLoopback(address: string | undefined): boolean {
  return address === '127.0.0.1' || address === '::1' || address === '::ffff:127.0.0.1';
}

/**
 * Holds a request for `ms`, or until the client gives up (or `held` is drained on close) when
 * undefined. `held` collects the release functions so an emulator can free them all on close.
 */
export function holdResponse(res: ServerResponse, ms: number | undefined, held: Set<() => void>): Promise<void> {
  return new Promise((resolve) => {
    let timer: NodeJS.Timeout | undefined;
    const release = (): void => {
      if (timer) clearTimeout(timer);
      held.delete(release);
      resolve();
    };
    held.add(release);
    res.once('close', release);
    if (ms !== undefined) timer = setTimeout(release, ms);
  });
}
