// The request captured on the wire from @alicloud/vpc20160428 7.3.2 (shared/notes/
// alibaba-vpc-api.md), with the test AccessKey of the seed: it must verify.

import type { WireRequest } from './signer.js';

/** The request captured on the wire from @alicloud/vpc20160428 7.3.2. */
export const CAPTURED: WireRequest = {
  method: 'POST',
  rawPath: '/',
  rawQuery: 'MaxResult=50&RegionId=eu-central-1&RouteTableId=vtb-gw8note0vector0table01',
  headers: {
    host: '127.0.0.1:18181',
    'x-acs-version': '2016-04-28',
    'x-acs-action': 'DescribeRouteEntryList',
    'x-acs-date': '2026-12-01T21:48:22Z',
    'x-acs-signature-nonce': '4019d1ac1a66c182cdffa9801482bc62667297ab03683213669cbb1fc3283737',
    'x-acs-content-sha256': 'e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855',
    'x-acs-credentials-provider': 'static_ak',
    authorization:
      'ACS3-HMAC-SHA256 Credential=LTAI5tTESTACCESSKEYID01,SignedHeaders=host;x-acs-action;x-acs-content-sha256;x-acs-credentials-provider;x-acs-date;x-acs-signature-nonce;x-acs-version,Signature=c29989dce007e8a023b53661b732da74ebf4ff35cac72fb1eb743f34d5be37fe',
  },
  body: Buffer.alloc(0),
};
