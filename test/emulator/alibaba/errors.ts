// Every error the Alibaba emulator answers, in one catalog. Alibaba's gateway (POP) and the VPC
// and ECS services share one body, {"RequestId","HostId","Code","Message","Recommend"}.
// "docs": the code and HTTP status are in Alibaba Cloud's public API reference / error center;
// "field": seen in the field (Terraform provider, cloud-controller-manager), HTTP status ours;
// "guess": our own choice where the reference names no code; a client must not depend on it.

export class AliError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'AliError';
  }
}

const e = (status: number, code: string, message: string): AliError => new AliError(status, code, message);

export const AliErrors = {
  // ---- gateway: request shape and authentication (docs) ----
  actionNotFound: (action: string) => e(404, 'InvalidAction.NotFound', `Specified api ${action} is not found, please check your url and method.`),
  versionNotSupported: (version: string) => e(400, 'InvalidVersion', `Specified parameter Version ${version} is not valid.`),
  incompleteSignature: () => e(400, 'IncompleteSignature', 'The request signature does not conform to Aliyun standards.'),
  unsupportedMethod: (method: string) => e(400, 'UnsupportedHTTPMethod', `The HTTP method ${method} is not supported; RPC calls use POST or GET.`),
  accessKeyNotFound: () => e(404, 'InvalidAccessKeyId.NotFound', 'Specified access key is not found.'),
  accessKeyInactive: () => e(400, 'InvalidAccessKeyId.Inactive', 'Specified access key is disabled.'),
  signatureMismatch: () => e(400, 'SignatureDoesNotMatch', 'Specified signature is not matched with our calculation.'),
  timestampExpired: () => e(400, 'InvalidTimeStamp.Expired', 'Specified time stamp or date value is expired.'),
  timestampMalformed: () => e(400, 'InvalidTimeStamp.Format', 'Specified time stamp or date value is not well formatted.'),
  nonceUsed: () => e(400, 'SignatureNonceUsed', 'Specified signature nonce was used already.'),
  missingNonce: () => e(400, 'MissingSignatureNonce', 'SignatureNonce is mandatory for this action.'),
  securityTokenMissing: () => e(400, 'MissingSecurityToken', 'SecurityToken is mandatory for this AccessKey.'), // guess (code)
  securityTokenMismatch: () => e(400, 'InvalidSecurityToken.MismatchWithAccessKey', 'Specified SecurityToken mismatch with the AccessKey.'),
  forbiddenRam: () => e(403, 'Forbidden.RAM', "User not authorized to operate on the specified resource, or this API doesn't support RAM."),
  throttlingUser: () => e(400, 'Throttling.User', 'Request was denied due to user flow control.'),
  // ---- parameters (docs: MissingParameter / InvalidParameter family) ----
  missing: (name: string) => e(400, `Missing${name}`, `${name} is mandatory for this action.`),
  invalid: (name: string, why: string) => e(400, 'InvalidParameter', `The specified parameter ${name} is not valid: ${why}`),
  regionNotFound: (region: string) => e(404, 'InvalidRegionId.NotFound', `Specified value of RegionId ${region} is not supported.`),
  // ---- VPC route entries ----
  tableNotFound: (id: string) => e(404, 'InvalidRouteTableId.NotFound', `The specified route table ${id} does not exist.`), // docs
  entryNotFound: () => e(404, 'InvalidRouteEntry.NotFound', 'The specified route entry does not exist.'), // field: VPC_ROUTER_ENTRY_NOT_EXIST is its older spelling
  duplicate: (cidr: string) => e(400, 'InvalidCIDRBlock.Duplicate', `The specified CIDR block ${cidr} already exists in the route table.`), // field + docs
  cidrMalformed: (cidr: string) => e(400, 'InvalidDestinationCidrBlock.Malformed', `The destination CIDR block ${cidr} is malformed.`), // guess
  overlapsVSwitch: (cidr: string, vsw: string) => e(400, 'InvalidDestinationCidrBlock.OverlapVSwitch', `The destination ${cidr} equals, contains or is contained by the CIDR block of vSwitch ${vsw}.`), // guess
  reservedCidr: (cidr: string) => e(400, 'InvalidDestinationCidrBlock.Reserved', `The destination ${cidr} is in 100.64.0.0/10, which is reserved for cloud services.`), // guess
  nextHopNotFound: (id: string) => e(400, 'InvalidNextHop.NotFound', `The next hop ${id} is not an instance of the route table's VPC.`), // guess
  nextHopType: (t: string) => e(400, 'InvalidNextHopType', `NextHopType ${t} is not supported here (Instance only).`), // guess: the emulator models Instance next hops only
  quota: (limit: number) => e(400, 'QuotaExceeded.RouteEntry', `The custom route entries of the route table reached the quota of ${limit}.`), // field: "QuotaExceeded.Route" style
  taskConflict: () => e(400, 'TaskConflict', 'The operation conflicts with a task in progress in this VPC; try again later.'), // field + docs
  incorrectStatus: (status: string) => e(400, 'IncorrectRouteEntryStatus', `The route entry is ${status}; only an Available entry can be changed.`), // field
  systemEntry: () => e(400, 'OperationDenied.SystemRouteEntry', 'A system route entry cannot be changed.'), // guess
  tooMany: (name: string, max: number) => e(400, 'InvalidParameter', `The specified parameter ${name} is not valid: at most ${max} entries per call.`), // guess (code generic)
  // ---- ECS security groups ----
  securityGroupNotFound: (id: string) => e(404, 'InvalidSecurityGroupId.NotFound', `The specified security group ${id} does not exist.`), // docs
  // ---- injected or internal ----
  internal: () => e(500, 'InternalError', 'The request processing has failed due to some unknown error.'),
  serviceUnavailable: () => e(503, 'ServiceUnavailable', 'The request has failed due to a temporary failure of the server.'),
};

/** The error an injected fault answers with: given code, else the usual one for the status. */
export function injectedAliError(status: number, code?: string, message?: string): AliError {
  const fallback = status === 503 ? AliErrors.serviceUnavailable() : status >= 500 ? AliErrors.internal() : AliErrors.invalid('injected', 'fault');
  return new AliError(status, code ?? fallback.code, message ?? fallback.message);
}
