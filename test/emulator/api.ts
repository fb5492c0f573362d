// The cloud API surface: which method + path is which SDK operation, what it does to the model,
// and how its answers and errors look. Paths are the ones @huaweicloud/huaweicloud-sdk-vpc 3.1.173
// calls (v2 VpcClient for v1 and Neutron paths, v3 VpcClient for /v3 security-group rules).

import { Errors, GatewayError, VpcError } from './errors.js';
import { parseCreateRouteTable, parseSgRule, parseUpdatePort, parseUpdateRouteTable } from './bodies.js';
import type { VpcState } from './state.js';
import { portNeutron, portV1, routeTableDetail, routeTableListEntry, sgRuleNeutron, sgRuleV1, sgRuleV3 } from './views.js';

/** Error body format: v1 `{code,message}`, v3 `{error_code,error_msg,request_id}`, Neutron `{NeutronError}`. */
export type ApiFamily = 'v1' | 'v3' | 'neutron';

/** Decoded query parameters; a repeated key keeps every value. */
export class Query {
  private readonly values = new Map<string, string[]>();

  constructor(rawQuery: string) {
    for (const part of rawQuery.split('&')) {
      if (part === '') continue;
      const eq = part.indexOf('=');
      const decode = (s: string): string => {
        try {
          return decodeURIComponent(s.replace(/\+/g, ' '));
        } catch {
          return s;
        }
      };
      const key = decode(eq < 0 ? part : part.slice(0, eq));
      const list = this.values.get(key) ?? [];
      list.push(decode(eq < 0 ? '' : part.slice(eq + 1)));
      this.values.set(key, list);
    }
  }

  get(key: string): string | undefined {
    return this.values.get(key)?.[0];
  }

  all(key: string): string[] {
    return this.values.get(key) ?? [];
  }

  /** An integer parameter in [min, max], or undefined when absent; VPC.0002 otherwise. */
  int(key: string, min: number, max: number): number | undefined {
    const v = this.get(key);
    if (v === undefined) return undefined;
    if (!/^\d+$/.test(v) || Number(v) < min || Number(v) > max) throw Errors.invalidParam(`${key} must be an integer ${min}-${max}.`);
    return Number(v);
  }
}

export interface ApiContext {
  state: VpcState;
  /** Path parameters after the project ID, decoded. */
  params: string[];
  query: Query;
  body: unknown;
  requestId: string;
}

export interface ApiResult {
  status: number;
  body: unknown;
}

export interface ApiOperation {
  /** The SDK's operation name, recorded in the call log. */
  name: string;
  method: string;
  pattern: RegExp;
  /** Whether the first capture group is {project_id}. */
  projectInPath: boolean;
  family: ApiFamily;
  run(ctx: ApiContext): ApiResult;
}

const ID = '([^/]+)';

function op(
  name: string,
  method: string,
  path: string,
  family: ApiFamily,
  run: (ctx: ApiContext) => ApiResult,
): ApiOperation {
  const projectInPath = path.includes('{project_id}');
  const source = path.replace('{project_id}', ID).replace(/\{[a-z_]+\}/g, ID);
  return { name, method, pattern: new RegExp(`^${source}/?$`), projectInPath, family, run };
}

const limitOf = (q: Query): number | undefined => q.int('limit', 1, 2000);

export const OPERATIONS: readonly ApiOperation[] = [
  // ---- route tables (v1) ----
  op('ListRouteTables', 'GET', '/v1/{project_id}/routetables', 'v1', ({ state, query }) => {
    const tables = state.listRouteTables({
      ...opt('id', query.get('id')),
      ...opt('vpc_id', query.get('vpc_id')),
      ...opt('subnet_id', query.get('subnet_id')),
      ...opt('limit', limitOf(query)),
      ...opt('marker', query.get('marker')),
    });
    return { status: 200, body: { routetables: tables.map((t) => routeTableListEntry(t, state.projectId)) } };
  }),
  op('ShowRouteTable', 'GET', '/v1/{project_id}/routetables/{routetable_id}', 'v1', ({ state, params }) => ({
    status: 200,
    body: { routetable: routeTableDetail(state.showRouteTable(params[0]!), state.projectId) },
  })),
  op('UpdateRouteTable', 'PUT', '/v1/{project_id}/routetables/{routetable_id}', 'v1', ({ state, params, body }) => {
    const parsed = parseUpdateRouteTable(body);
    const table = state.updateRouteTable(params[0]!, parsed.routes, {
      ...opt('name', parsed.name),
      ...opt('description', parsed.description),
    });
    return { status: 200, body: { routetable: routeTableDetail(table, state.projectId) } };
  }),
  op('CreateRouteTable', 'POST', '/v1/{project_id}/routetables', 'v1', ({ state, body }) => ({
    status: 200,
    body: { routetable: routeTableDetail(state.createRouteTable(parseCreateRouteTable(body)), state.projectId) },
  })),

  // ---- ports (v1 and Neutron) ----
  op('ListPorts', 'GET', '/v1/{project_id}/ports', 'v1', ({ state, query }) => ({
    status: 200,
    body: { ports: state.listPorts(portFilter(query)).map((p) => portV1(p, state.projectId)) },
  })),
  op('ShowPort', 'GET', '/v1/{project_id}/ports/{port_id}', 'v1', ({ state, params }) => ({
    status: 200,
    body: { port: portV1(state.getPort(params[0]!), state.projectId) },
  })),
  op('UpdatePort', 'PUT', '/v1/{project_id}/ports/{port_id}', 'v1', ({ state, params, body }) => ({
    status: 200,
    body: { port: portV1(state.updatePort(params[0]!, parseUpdatePort(body)), state.projectId) },
  })),
  op('NeutronListPorts', 'GET', '/v2.0/ports', 'neutron', ({ state, query }) => ({
    status: 200,
    body: { ports: state.listPorts(portFilter(query)).map((p) => portNeutron(p, state.projectId)) },
  })),
  op('NeutronShowPort', 'GET', '/v2.0/ports/{port_id}', 'neutron', ({ state, params }) => ({
    status: 200,
    body: { port: portNeutron(state.getPort(params[0]!), state.projectId) },
  })),
  op('NeutronUpdatePort', 'PUT', '/v2.0/ports/{port_id}', 'neutron', ({ state, params, body }) => ({
    status: 200,
    body: { port: portNeutron(state.updatePort(params[0]!, parseUpdatePort(body)), state.projectId) },
  })),

  // ---- security-group rules (v1, v3, Neutron) ----
  op('CreateSecurityGroupRule', 'POST', '/v1/{project_id}/security-group-rules', 'v1', ({ state, body }) => ({
    status: 200,
    body: { security_group_rule: sgRuleV1(state.createSgRule(parseSgRule(body), 'v1'), state.projectId) },
  })),
  op('ListSecurityGroupRules', 'GET', '/v1/{project_id}/security-group-rules', 'v1', ({ state, query }) => ({
    status: 200,
    body: { security_group_rules: state.listSgRules(sgFilter(query)).map((r) => sgRuleV1(r, state.projectId)) },
  })),
  op('CreateSecurityGroupRuleV3', 'POST', '/v3/{project_id}/vpc/security-group-rules', 'v3', ({ state, body, requestId }) => ({
    status: 201,
    body: { request_id: requestId, security_group_rule: sgRuleV3(state.createSgRule(parseSgRule(body), 'v3'), state.projectId) },
  })),
  op('ListSecurityGroupRulesV3', 'GET', '/v3/{project_id}/vpc/security-group-rules', 'v3', ({ state, query, requestId }) => {
    const rules = state.listSgRules(sgFilter(query));
    return {
      status: 200,
      body: {
        request_id: requestId,
        security_group_rules: rules.map((r) => sgRuleV3(r, state.projectId)),
        page_info: { previous_marker: rules[0]?.id ?? '', current_count: rules.length },
      },
    };
  }),
  op('NeutronCreateSecurityGroupRule', 'POST', '/v2.0/security-group-rules', 'neutron', ({ state, body }) => ({
    status: 201,
    body: { security_group_rule: sgRuleNeutron(state.createSgRule(parseSgRule(body), 'neutron'), state.projectId) },
  })),
  op('NeutronListSecurityGroupRules', 'GET', '/v2.0/security-group-rules', 'neutron', ({ state, query }) => ({
    status: 200,
    body: { security_group_rules: state.listSgRules(sgFilter(query)).map((r) => sgRuleNeutron(r, state.projectId)) },
  })),
];

/** `{key: value}` when value is defined, `{}` otherwise (exactOptionalPropertyTypes-friendly spreading). */
function opt<K extends string, V>(key: K, value: V | undefined): { [P in K]?: V } {
  return value === undefined ? {} : ({ [key]: value } as { [P in K]?: V });
}

function portFilter(query: Query): Parameters<VpcState['listPorts']>[0] {
  return {
    ...opt('id', query.get('id')),
    ...opt('name', query.get('name')),
    ...opt('device_id', query.get('device_id')),
    ...opt('network_id', query.get('network_id')),
    ...(query.all('fixed_ips').length > 0 ? { fixed_ips: query.all('fixed_ips') } : {}),
    ...opt('limit', limitOf(query)),
    ...opt('marker', query.get('marker')),
  };
}

function sgFilter(query: Query): Parameters<VpcState['listSgRules']>[0] {
  return {
    ...opt('security_group_id', query.get('security_group_id')),
    ...opt('remote_ip_prefix', query.get('remote_ip_prefix')),
    ...opt('direction', query.get('direction')),
    ...opt('protocol', query.get('protocol')),
    ...opt('limit', limitOf(query)),
    ...opt('marker', query.get('marker')),
  };
}

export interface OperationMatch {
  op: ApiOperation;
  params: string[];
  pathProject?: string;
}

function decodeSegment(s: string): string {
  try {
    return decodeURIComponent(s);
  } catch {
    return s;
  }
}

/** The operation serving `method rawPath`, or undefined (the gateway's "API does not exist"). */
export function matchOperation(method: string, rawPath: string): OperationMatch | undefined {
  for (const candidate of OPERATIONS) {
    if (candidate.method !== method) continue;
    const m = candidate.pattern.exec(rawPath);
    if (!m) continue;
    const groups = m.slice(1).map((g) => decodeSegment(g ?? ''));
    if (!candidate.projectInPath) return { op: candidate, params: groups };
    return { op: candidate, params: groups.slice(1), pathProject: groups[0]! };
  }
  return undefined;
}

/** The name the call log uses for a path, even when the method does not match (e.g. for 404s). */
export function operationNameFor(method: string, rawPath: string): string {
  return matchOperation(method, rawPath)?.op.name ?? 'Unknown';
}

export interface RenderedError {
  status: number;
  /** The code for the call log: VPC.xxxx, APIGW.xxxx, APIG.0308 or the Neutron type. */
  code: string;
  body: unknown;
}

/** Renders an error the way the gateway or the service of `family` would. */
export function renderError(err: VpcError | GatewayError, family: ApiFamily, requestId: string): RenderedError {
  if (err instanceof GatewayError) {
    return { status: err.status, code: err.code, body: { error_code: err.code, error_msg: err.message, request_id: requestId } };
  }
  switch (family) {
    case 'v1':
      return { status: err.status, code: err.code, body: { code: err.code, message: err.message } };
    case 'v3':
      return { status: err.status, code: err.code, body: { request_id: requestId, error_code: err.code, error_msg: err.message } };
    case 'neutron':
      return { status: err.status, code: err.neutronType, body: { NeutronError: { type: err.neutronType, message: err.message, detail: '' } } };
  }
}

/** An injected failure rendered as the layer that would produce it would. */
export function injectedError(status: number, code?: string, message?: string): VpcError | GatewayError {
  if (status === 429) {
    if (code === undefined || code.startsWith('APIG')) {
      return new GatewayError(429, code ?? 'APIG.0308', message ?? Errors.throttled(10).message);
    }
    return new VpcError(429, code, message ?? 'Too many requests.');
  }
  if (status === 502 || status === 503 || status === 504) {
    if (code === undefined || code.startsWith('APIG')) {
      return new GatewayError(status, code ?? 'APIGW.0201', message ?? 'Backend unavailable');
    }
  }
  const fallback = status >= 500 ? Errors.internal() : Errors.invalidParam('Injected failure.');
  const neutronType = status >= 500 ? 'InternalServerError' : 'BadRequest';
  return new VpcError(status, code ?? fallback.code, message ?? fallback.message, neutronType);
}
