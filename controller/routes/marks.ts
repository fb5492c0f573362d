// The ownership mark in a route's description (providers with ownership kind 'mark'). The controller modifies or deletes only routes
// that carry its installation's mark; everything else in a table belongs to somebody else.
import { createHash } from 'node:crypto';

const PREFIX = 'hostnet';
/** The default: what a cloud's 0-255 character description field holds. */
const DEFAULT_MAX_MARK = 255;

/**
 * "hostnet:<installation>:<hostnetwork>", shortened with a hash when over `maxLength` (the
 * provider's capabilities.ownership.maxLength).
 */
export function markFor(installationId: string, hostName: string, maxLength = DEFAULT_MAX_MARK): string {
  const head = `${PREFIX}:${installationId}:`;
  const full = head + hostName;
  if (full.length <= maxLength) return full;
  const hash = createHash('sha256').update(hostName).digest('hex').slice(0, 12);
  return `${head}${hostName.slice(0, Math.max(0, maxLength - head.length - 13))}~${hash}`;
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
