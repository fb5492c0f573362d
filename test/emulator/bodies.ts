// Request bodies as the VPC API accepts them: JSON shape and field types checked here (VPC.0002
// on a mismatch), meaning checked by the model (state.ts). Unknown fields are ignored, as the
// cloud ignores them.

import { Errors } from './errors.js';
import type { RouteDelta, RouteInput, SgRuleInput } from './state.js';
import type { AddressPair } from './types.js';

type Json = Record<string, unknown>;

export function parseJson(raw: string): unknown {
  if (raw.trim() === '') return undefined;
  try {
    return JSON.parse(raw) as unknown;
  } catch {
    throw Errors.invalidParam('The request body is not valid JSON.');
  }
}

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function object(value: unknown, name: string): Json {
  if (!isObject(value)) throw Errors.invalidParam(`${name} must be an object.`);
  return value;
}

function optString(o: Json, key: string, name: string): string | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (typeof v !== 'string') throw Errors.invalidParam(`${name}.${key} must be a string.`);
  return v;
}

function optNullableString(o: Json, key: string, name: string): string | null | undefined {
  return o[key] === null ? null : optString(o, key, name);
}

function optNumber(o: Json, key: string, name: string): number | null | undefined {
  const v = o[key];
  if (v === undefined || v === null) return v;
  // The v3 SDK models type priority as a string; the API takes either.
  if (typeof v === 'string' && /^\d+$/.test(v)) return Number(v);
  if (typeof v !== 'number') throw Errors.invalidParam(`${name}.${key} must be a number.`);
  return v;
}

function optArray(o: Json, key: string, name: string): unknown[] | undefined {
  const v = o[key];
  if (v === undefined) return undefined;
  if (!Array.isArray(v)) throw Errors.invalidParam(`${name}.${key} must be a list.`);
  return v;
}

function routeInput(value: unknown, name: string): RouteInput {
  const o = object(value, name);
  const out: RouteInput = {};
  for (const key of ['type', 'destination', 'nexthop', 'description'] as const) {
    const v = optString(o, key, name);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

export interface UpdateRouteTableBody {
  name?: string;
  description?: string;
  routes: RouteDelta;
}

/** `{"routetable":{"name"?,"description"?,"routes"?:{"add"?,"mod"?,"del"?}}}` */
export function parseUpdateRouteTable(body: unknown): UpdateRouteTableBody {
  const table = object(object(body, 'body').routetable, 'routetable');
  const out: UpdateRouteTableBody = { routes: {} };
  const name = optString(table, 'name', 'routetable');
  const description = optString(table, 'description', 'routetable');
  if (name !== undefined) out.name = name;
  if (description !== undefined) out.description = description;
  if (table.routes !== undefined) {
    const routes = object(table.routes, 'routetable.routes');
    for (const action of ['add', 'mod', 'del'] as const) {
      const list = optArray(routes, action, 'routetable.routes');
      if (list) out.routes[action] = list.map((r, i) => routeInput(r, `routetable.routes.${action}[${i}]`));
    }
  }
  return out;
}

/** `{"routetable":{"name","vpc_id","description"?,"routes"?:[...]}}` */
export function parseCreateRouteTable(body: unknown): { name?: string; vpc_id?: string; description?: string; routes?: RouteInput[] } {
  const table = object(object(body, 'body').routetable, 'routetable');
  const out: { name?: string; vpc_id?: string; description?: string; routes?: RouteInput[] } = {};
  const name = optString(table, 'name', 'routetable');
  const vpcId = optString(table, 'vpc_id', 'routetable');
  const description = optString(table, 'description', 'routetable');
  if (name !== undefined) out.name = name;
  if (vpcId !== undefined) out.vpc_id = vpcId;
  if (description !== undefined) out.description = description;
  const routes = optArray(table, 'routes', 'routetable');
  if (routes) out.routes = routes.map((r, i) => routeInput(r, `routetable.routes[${i}]`));
  return out;
}

export interface PortUpdateBody {
  name?: string;
  allowed_address_pairs?: AddressPair[];
  security_groups?: string[];
}

/** `{"port":{"allowed_address_pairs"?:[{"ip_address","mac_address"?}],"name"?,"security_groups"?}}` */
export function parseUpdatePort(body: unknown): PortUpdateBody {
  const port = object(object(body, 'body').port, 'port');
  const out: PortUpdateBody = {};
  const name = optString(port, 'name', 'port');
  if (name !== undefined) out.name = name;
  const pairs = optArray(port, 'allowed_address_pairs', 'port');
  if (pairs) {
    out.allowed_address_pairs = pairs.map((p, i) => {
      const o = object(p, `port.allowed_address_pairs[${i}]`);
      const ip = optString(o, 'ip_address', `port.allowed_address_pairs[${i}]`);
      if (ip === undefined) throw Errors.invalidParam(`port.allowed_address_pairs[${i}].ip_address is required.`);
      const mac = optString(o, 'mac_address', `port.allowed_address_pairs[${i}]`);
      return mac === undefined ? { ip_address: ip } : { ip_address: ip, mac_address: mac };
    });
  }
  const groups = optArray(port, 'security_groups', 'port');
  if (groups) {
    out.security_groups = groups.map((g) => {
      if (typeof g !== 'string') throw Errors.invalidParam('port.security_groups must be a list of IDs.');
      return g;
    });
  }
  return out;
}

/** `{"security_group_rule":{...}}` of the v1, v3 and Neutron create calls. */
export function parseSgRule(body: unknown): SgRuleInput {
  const rule = object(object(body, 'body').security_group_rule, 'security_group_rule');
  const n = 'security_group_rule';
  const out: SgRuleInput = { direction: optString(rule, 'direction', n) ?? '' };
  const strings = ['security_group_id', 'ethertype', 'description', 'action'] as const;
  for (const key of strings) {
    const v = optString(rule, key, n);
    if (v !== undefined) out[key] = v;
  }
  const nullable = ['protocol', 'multiport', 'remote_ip_prefix', 'remote_group_id', 'remote_address_group_id'] as const;
  for (const key of nullable) {
    const v = optNullableString(rule, key, n);
    if (v !== undefined) out[key] = v;
  }
  const min = optNumber(rule, 'port_range_min', n);
  const max = optNumber(rule, 'port_range_max', n);
  const priority = optNumber(rule, 'priority', n);
  if (min !== undefined) out.port_range_min = min;
  if (max !== undefined) out.port_range_max = max;
  if (priority !== undefined && priority !== null) out.priority = priority;
  return out;
}
