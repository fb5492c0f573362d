// Checks of the AWS provider's flags, here so the core's config.ts names no EC2 id format.
// Pure, and free of the AWS SDK (config.ts runs for every provider).

export interface AwsFlagValues {
  region?: string;
  vpcId?: string;
  routeTableIds: string[];
  routeTableTag?: string;
}

export interface AwsTableTag {
  key: string;
  value?: string;
}

const REGION = /^[a-z]{2}(-[a-z]+)+-\d+$/;
const TABLE_ID = /^rtb-[0-9a-f]{8,17}$/;
const VPC_ID = /^vpc-[0-9a-f]{8,17}$/;

/** The first problem as [flag, why], or the parsed tag. */
export function checkAwsFlags(v: AwsFlagValues): { problem: [string, string] } | { tag: AwsTableTag } {
  if (!v.region || !REGION.test(v.region)) return { problem: ['cloud-region', 'is required with --cloud-provider=aws: a region name like eu-central-1'] };
  if (!v.vpcId && v.routeTableIds.length === 0) return { problem: ['route-table-ids', 'set --route-table-ids or --cloud-vpc-id (then the tables of the VPC carrying --route-table-tag are used)'] };
  for (const id of v.routeTableIds) if (!TABLE_ID.test(id)) return { problem: ['route-table-ids', `${id} is not a route table id like rtb-0123456789abcdef0`] };
  if (v.vpcId && !VPC_ID.test(v.vpcId)) return { problem: ['cloud-vpc-id', 'want a VPC id like vpc-0123456789abcdef0'] };
  const tag = v.routeTableTag ?? '';
  const eq = tag.indexOf('=');
  const parsed: AwsTableTag = eq < 0 ? { key: tag } : { key: tag.slice(0, eq), value: tag.slice(eq + 1) };
  // AWS tag keys: 1-128 characters, values at most 256; the aws: prefix is AWS's own.
  if (!parsed.key || parsed.key.length > 128 || parsed.key.startsWith('aws:')) return { problem: ['route-table-tag', 'want a tag key (1-128 characters, not aws:…), or key=value'] };
  if (parsed.value !== undefined && parsed.value.length > 256) return { problem: ['route-table-tag', 'the value has more than 256 characters'] };
  return { tag: parsed };
}
