// A Secret volume laid out the way kubelet's atomic writer lays it out, for the credentials
// rotation tests of every provider: the key files are symlinks through `..data` to a timestamped
// directory, and an update swaps `..data` in one atomic rename.
import fs from 'node:fs';
import path from 'node:path';

let generation = 0;

/**
 * Writes the Secret's keys the way kubelet's atomic writer does: a new timestamped directory,
 * a `..data_tmp` symlink to it renamed over `..data` (one atomic step), the key files as
 * symlinks through `..data` (created once), then the old directory removed.
 */
export function writeKubeletSecret(dir: string, keys: Record<string, string>): void {
  const old = fs.existsSync(path.join(dir, '..data')) ? fs.readlinkSync(path.join(dir, '..data')) : undefined;
  const stamp = `..2026_12_02_00_00_${String(++generation).padStart(2, '0')}.${process.pid}`;
  fs.mkdirSync(path.join(dir, stamp));
  for (const [name, value] of Object.entries(keys)) fs.writeFileSync(path.join(dir, stamp, name), value);
  fs.symlinkSync(stamp, path.join(dir, '..data_tmp'));
  fs.renameSync(path.join(dir, '..data_tmp'), path.join(dir, '..data'));
  for (const name of Object.keys(keys)) {
    if (!fs.existsSync(path.join(dir, name))) fs.symlinkSync(path.join('..data', name), path.join(dir, name));
  }
  if (old) fs.rmSync(path.join(dir, old), { recursive: true, force: true });
}
