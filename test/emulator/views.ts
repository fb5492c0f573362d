// Model records rendered the way each API family shows them (field sets of the SDK's response
// models: RouteTableResp, RouteTableListResp, Port, NeutronPort, v1/v3/Neutron SecurityGroupRule).

import { portRange } from './state.js';
import type { Port, RouteTable, SgRule } from './types.js';

/** List entry: no routes (only show returns them). */
export function routeTableListEntry(t: RouteTable, projectId: string): Record<string, unknown> {
  return {
    id: t.id,
    name: t.name,
    default: t.default,
    subnets: t.subnets.map((id) => ({ id })),
    tenant_id: projectId,
    vpc_id: t.vpc_id,
    description: t.description,
    created_at: t.created_at,
    updated_at: t.updated_at,
  };
}

export function routeTableDetail(t: RouteTable, projectId: string): Record<string, unknown> {
  return {
    id: t.id,
    name: t.name,
    default: t.default,
    routes: t.routes.map((r) => ({ type: r.type, destination: r.destination, nexthop: r.nexthop, description: r.description })),
    subnets: t.subnets.map((id) => ({ id })),
    tenant_id: projectId,
    vpc_id: t.vpc_id,
    description: t.description,
    created_at: t.created_at,
    updated_at: t.updated_at,
  };
}

function portCommon(p: Port): Record<string, unknown> {
  return {
    id: p.id,
    name: p.name,
    network_id: p.network_id,
    admin_state_up: p.admin_state_up,
    mac_address: p.mac_address,
    fixed_ips: p.fixed_ips.map((f) => ({ ...f })),
    device_id: p.device_id,
    device_owner: p.device_owner,
    status: p.status,
    security_groups: [...p.security_groups],
    allowed_address_pairs: p.allowed_address_pairs.map((a) => ({ ...a })),
    extra_dhcp_opts: [],
    'binding:vnic_type': 'normal',
    'binding:vif_details': {},
    'binding:profile': {},
    dns_assignment: [],
    dns_name: '',
    port_security_enabled: true,
  };
}

export function portV1(p: Port, projectId: string): Record<string, unknown> {
  return {
    ...portCommon(p),
    tenant_id: projectId,
    instance_id: p.device_id,
    instance_type: p.device_owner.startsWith('compute:') ? 'ecs' : '',
    zone_id: 'az1',
    enable_efi: false,
  };
}

export function portNeutron(p: Port, projectId: string): Record<string, unknown> {
  return { ...portCommon(p), tenant_id: projectId, project_id: projectId, created_at: p.created_at, updated_at: p.updated_at };
}

export function sgRuleV1(r: SgRule, projectId: string): Record<string, unknown> {
  return {
    id: r.id,
    description: r.description,
    security_group_id: r.security_group_id,
    direction: r.direction,
    ethertype: r.ethertype,
    protocol: r.protocol,
    ...portRange(r.multiport),
    remote_ip_prefix: r.remote_ip_prefix,
    remote_group_id: r.remote_group_id,
    remote_address_group_id: r.remote_address_group_id,
    tenant_id: projectId,
  };
}

export function sgRuleNeutron(r: SgRule, projectId: string): Record<string, unknown> {
  return { ...sgRuleV1(r, projectId), project_id: projectId, created_at: r.created_at, updated_at: r.updated_at };
}

export function sgRuleV3(r: SgRule, projectId: string): Record<string, unknown> {
  return {
    id: r.id,
    description: r.description,
    security_group_id: r.security_group_id,
    direction: r.direction,
    protocol: r.protocol ?? '',
    ethertype: r.ethertype,
    multiport: r.multiport ?? '',
    action: r.action,
    priority: r.priority,
    remote_group_id: r.remote_group_id ?? '',
    remote_ip_prefix: r.remote_ip_prefix ?? '',
    remote_address_group_id: r.remote_address_group_id ?? '',
    created_at: `${r.created_at}Z`,
    updated_at: `${r.updated_at}Z`,
    project_id: projectId,
    enabled: true,
  };
}
