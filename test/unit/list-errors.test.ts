// controller/kube/list.ts when what answers is not the API server's JSON: a proxy's text error
// page is still a clear ApiException (its status code, the text as the body), and an answer cut
// short is an error, never a shorter list. A loopback HTTP server plays the proxy.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { KubeConfig } from '@kubernetes/client-node';
import { describeKubeError } from '../../controller/kube/errors.js';
import { listWithoutManagedFields } from '../../controller/kube/list.js';

describe('listWithoutManagedFields: answers that are not a list', () => {
  let server: Server;
  let answer: (res: import('node:http').ServerResponse) => void;
  let kc: KubeConfig;

  before(async () => {
    server = createServer((_req, res) => answer(res));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    kc = new KubeConfig();
    kc.loadFromOptions({
      // client-node accepts plain HTTP only with skipTLSVerify.
      clusters: [{ name: 'c', server: `http://127.0.0.1:${port}`, skipTLSVerify: true }],
      users: [{ name: 'u', token: 'test-token' }],
      contexts: [{ name: 'x', cluster: 'c', user: 'u' }],
      currentContext: 'x',
    });
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  it("a proxy's text error page: the ApiException carries its status and text", async () => {
    answer = (res) => res.writeHead(502, { 'content-type': 'text/html' }).end('<html>Bad Gateway</html>');
    await assert.rejects(listWithoutManagedFields(kc, '/apis/hostnet.io/v1alpha1/hostnetworks', {}), (err: unknown) => {
      assert.equal((err as { code?: number }).code, 502);
      assert.equal(describeKubeError(err), 'HTTP 502: <html>Bad Gateway</html>');
      return true;
    });
  });

  it('an answer cut short is an error, not a shorter list', async () => {
    answer = (res) => res.writeHead(200, { 'content-type': 'application/json' }).end('{"kind":"HostNetworkList","items":[{"metadata":{"name":"a"}},{"metadata":');
    await assert.rejects(listWithoutManagedFields(kc, '/apis/hostnet.io/v1alpha1/hostnetworks', {}), /ended in the middle/);
  });
});
