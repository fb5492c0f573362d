// What the Alibaba provider's suites set up around it: a credentials directory as the Secret is
// mounted (files access-key-id and access-key-secret), and the emulator of test/emulator/alibaba/
// started for a suite next to such a directory holding the seed's AccessKey.
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ALI_SEED, startAliEmulator, type AliEmulator, type AliEmulatorOptions } from '../emulator/alibaba/server.js';

/** Writes the two files of the credentials Secret into `dir` (the seed's AccessKey by default). */
export async function writeAliCredentials(dir: string, accessKeyId: string = ALI_SEED.accessKeyId, accessKeySecret: string = ALI_SEED.accessKeySecret): Promise<void> {
  await writeFile(join(dir, 'access-key-id'), accessKeyId);
  await writeFile(join(dir, 'access-key-secret'), accessKeySecret);
}

/** A new temporary directory holding the seed's AccessKey as the Secret's files. */
export async function aliCredentialsDir(prefix: string): Promise<string> {
  const dir = await mkdtemp(join(tmpdir(), prefix));
  await writeAliCredentials(dir);
  return dir;
}

/** A temporary directory made before the suite and removed after it. */
export function useTempDir(prefix: string): { readonly path: string } {
  let path: string | undefined;
  before(async () => {
    path = await mkdtemp(join(tmpdir(), prefix));
  });
  after(async () => {
    if (path) await rm(path, { recursive: true, force: true });
  });
  return {
    get path(): string {
      if (!path) throw new Error('useTempDir: the directory is made in the before hook');
      return path;
    },
  };
}

/** The emulator and a credentials directory with the seed's AccessKey, for a suite. */
export function useAliEmulator(opts: AliEmulatorOptions, dirPrefix: string): { readonly em: AliEmulator; readonly dir: string } {
  let em: AliEmulator | undefined;
  let dir: string | undefined;
  before(async () => {
    em = await startAliEmulator(opts);
    dir = await aliCredentialsDir(dirPrefix);
  });
  after(async () => {
    await em?.close();
    if (dir) await rm(dir, { recursive: true, force: true });
  });
  return {
    get em(): AliEmulator {
      if (!em) throw new Error('useAliEmulator: the emulator starts in the before hook');
      return em;
    },
    get dir(): string {
      if (!dir) throw new Error('useAliEmulator: the directory is made in the before hook');
      return dir;
    },
  };
}
