// The ownership mark in a route's description. The controller modifies or deletes only routes
// that carry its installation's mark; everything else in a table belongs to somebody else.
import { createHash } from 'node:crypto';

const PREFIX = 'hostnet';
const MAX_DESCRIPTION = 255;

/** "hostnet:<installation>:<hostnetwork>", shortened with a hash when over the cloud's 255. */
export function markFor(installationId: string, hostName: string): string {
  const head = `${PREFIX}:${installationId}:`;
  const full = head + hostName;
  if (full.length <= MAX_DESCRIPTION) return full;
  const hash = createHash('sha256').update(hostName).digest('hex').slice(0, 12);
  return `${head}${hostName.slice(0, MAX_DESCRIPTION - head.length - 13)}~${hash}`;
}

export function isOwnedBy(installationId: string, description: string | undefined): boolean {
  return (description ?? '').startsWith(`${PREFIX}:${installationId}:`);
}

/** The HostNetwork name in a mark, when it was not shortened. */
export function ownerFromMark(installationId: string, description: string | undefined): string | undefined {
  if (!isOwnedBy(installationId, description)) return undefined;
  const name = description!.slice(`${PREFIX}:${installationId}:`.length);
  return name.includes('~') ? undefined : name;
}
