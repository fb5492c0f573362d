// Loading an emulated account from a file (JSON, or YAML by extension): the same shape as
// VpcStateInit, so several VPCs, subnets and route tables can be described. References between
// objects are checked when the state is built (VpcState throws with the offending ID).

import { readFile } from 'node:fs/promises';
import { VpcState } from './state.js';
import type { VpcStateInit } from './types.js';

const LISTS = ['credentials', 'vpcs', 'subnets', 'servers', 'route_tables', 'security_groups'] as const;

/** Checks the top-level shape and fills absent lists with []. Throws Error naming the problem. */
export function normalizeStateInit(data: unknown, source = 'state'): VpcStateInit {
  if (typeof data !== 'object' || data === null || Array.isArray(data)) throw new Error(`${source}: expected an object`);
  const o = data as Record<string, unknown>;
  if (typeof o.project_id !== 'string' || o.project_id === '') throw new Error(`${source}: project_id must be a non-empty string`);
  for (const key of LISTS) {
    if (o[key] === undefined) o[key] = [];
    if (!Array.isArray(o[key])) throw new Error(`${source}: ${key} must be a list`);
  }
  const init = o as unknown as VpcStateInit;
  if (init.credentials.length === 0) throw new Error(`${source}: credentials must hold at least one {ak, sk}`);
  for (const c of init.credentials) {
    if (typeof c?.ak !== 'string' || typeof c?.sk !== 'string') throw new Error(`${source}: every credential needs string ak and sk`);
  }
  // Build once to surface broken references now rather than at the first request.
  try {
    new VpcState(init);
  } catch (e) {
    throw new Error(`${source}: ${(e as Error).message}`);
  }
  return init;
}

/** Reads a state file: .yaml/.yml as YAML, anything else as JSON. */
export async function loadStateFile(path: string): Promise<VpcStateInit> {
  const text = await readFile(path, 'utf8');
  let data: unknown;
  if (/\.ya?ml$/i.test(path)) {
    // Loaded lazily: the Kubernetes client is heavy and only needed for its YAML parser.
    const { loadYaml } = await import('@kubernetes/client-node');
    data = loadYaml<unknown>(text);
  } else {
    data = JSON.parse(text) as unknown;
  }
  return normalizeStateInit(data, path);
}
