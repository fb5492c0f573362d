// The cloud operations in the core's terms: what metrics, logs and the fence call a cloud call,
// whichever cloud it goes to. A provider may add its own API's operation name (e.g. as the
// `api` field of a log line); the metrics' `operation` label is always one of these.
export const Operation = {
  listRouteTables: 'routeTables.list',
  listRoutes: 'routes.list',
  /** One atomic batch of route changes (routeWrites 'atomic-batch'). */
  applyRoutes: 'routes.apply',
  /** One change of one route (routeWrites 'per-route'). */
  writeRoute: 'routes.write',
  /** Reading a host's NIC(s). */
  readNic: 'nic.read',
  /** Changing a host's NIC (letting a block through, or taking that back). */
  updateNic: 'nic.update',
  ensureSourceDestCheck: 'nic.ensure',
  removeSourceDestCheck: 'nic.restore',
  ensureIngressRule: 'securityGroup.ensure',
  createIngressRule: 'securityGroup.createRule',
} as const;

export type OperationName = (typeof Operation)[keyof typeof Operation];
