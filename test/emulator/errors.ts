// Every error the emulator returns, in one catalog, so docs/emulator.md can list them and tests
// can name them. Two layers answer errors in Huawei Cloud, and their bodies differ:
//  - the API gateway (APIG) before the service: `{"error_code","error_msg","request_id"}`;
//  - the VPC service itself: v1 `{"code","message"}`, v3 `{"error_code","error_msg","request_id"}`,
//    Neutron v2.0 `{"NeutronError":{"type","message","detail"}}`.
// Codes marked "seen"/"docs" in docs/emulator.md are real; the others were chosen for the emulator.

/** An error raised by the VPC model; the router renders it in the calling API's format. */
export class VpcError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    /** The Neutron exception type used when the call came in through /v2.0. */
    readonly neutronType = 'BadRequest',
  ) {
    super(message);
    this.name = 'VpcError';
  }
}

/** An error raised by the gateway layer (auth, throttling, routing): the same body for every API. */
export class GatewayError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

export const Errors = {
  // ---- VPC service ----
  invalidParam: (message: string) => new VpcError(400, 'VPC.0002', message, 'InvalidInput'),
  notFound: (what: string, id: string, neutronType = 'NotFound') =>
    new VpcError(404, 'VPC.0003', `${what} ${id} could not be found.`, neutronType),
  projectMismatch: (pathProject: string, headerProject: string) =>
    new VpcError(403, 'VPC.0010', `Project ${pathProject} in the URL does not match X-Project-Id ${headerProject}.`, 'Forbidden'),
  internal: () => new VpcError(500, 'VPC.0106', 'Internal server error.', 'InternalServerError'),
  tooManyRoutesOnCreate: () => new VpcError(400, 'VPC.2800', 'The num of routes to update is more than 5.'),
  routeQuota: (tableId: string, limit: number, wanted: number) =>
    new VpcError(
      400,
      'VPC.2801',
      `Route quota exceeded: route table ${tableId} would hold ${wanted} routes, the limit is ${limit} routes per route table.`,
    ),
  invalidDestination: (destination: string) =>
    new VpcError(400, 'VPC.2802', `Invalid destination ${JSON.stringify(destination)}: it must be an IPv4 CIDR network address such as 10.0.2.0/24.`),
  invalidNexthop: (type: string, nexthop: string, why: string) =>
    new VpcError(400, 'VPC.2803', `Invalid nexthop ${JSON.stringify(nexthop)} for route type ${type}: ${why}.`),
  routeNotExist: (destination: string, tableId: string) =>
    new VpcError(400, 'VPC.2804', `Route ${destination} does not exist in route table ${tableId}.`),
  systemRouteImmutable: (destination: string) =>
    new VpcError(400, 'VPC.2805', `Route ${destination} is a system (local) route and cannot be modified or deleted.`),
  routeTableNotFound: (id: string) => new VpcError(404, 'VPC.2808', `RouteTable ${id} is not exist.`, 'NotFound'),
  overlapsSystemRoute: (destination: string, other: string) =>
    new VpcError(400, 'VPC.2809', `Route destination ${destination} overlaps with system route or subnet ${other}.`),
  routeTableQuota: (vpcId: string, limit: number) =>
    new VpcError(400, 'VPC.2810', `The vpc ${vpcId} cannot support more customized routetables: the limit is ${limit} route tables per VPC.`),
  duplicateDestination: (destination: string) =>
    new VpcError(400, 'VPC.2812', `Route destination ${destination} is duplicated in the route table or the request.`),
  duplicateSgRule: (ruleId: string) =>
    new VpcError(409, 'VPC.0602', `Security group rule already exists. Rule id is ${ruleId}.`, 'SecurityGroupRuleExists'),

  // ---- API gateway ----
  apiNotFound: () => new GatewayError(404, 'APIGW.0101', 'The API does not exist or has not been published in the environment'),
  authMissing: () =>
    new GatewayError(401, 'APIGW.0301', 'Incorrect IAM authentication information: Authorization header is missing or malformed'),
  akNotExist: (ak: string) => new GatewayError(401, 'APIGW.0301', `Incorrect IAM authentication information: ak ${ak} not exist`),
  badSignature: () => new GatewayError(401, 'APIGW.0301', 'Incorrect IAM authentication information: verify aksk signature fail'),
  akLocked: () =>
    new GatewayError(401, 'APIGW.0301', 'Incorrect IAM authentication information: AK access failed to reach the limit,forbidden.'),
  badDate: () =>
    new GatewayError(401, 'APIGW.0301', 'Incorrect IAM authentication information: X-Sdk-Date is missing or not in the format YYYYMMDDTHHmmssZ'),
  dateSkew: () =>
    new GatewayError(401, 'APIGW.0301', 'Incorrect IAM authentication information: X-Sdk-Date is more than 15 minutes away from the server time'),
  unknownProject: (projectId: string) =>
    new GatewayError(401, 'APIGW.0301', `Incorrect IAM authentication information: project ${projectId} is not a project of this AK`),
  throttled: (limit: number) =>
    new GatewayError(429, 'APIG.0308', `The throttling threshold has been reached: policy user over ratelimit,limit:${limit},time:1 second`),
} as const;
