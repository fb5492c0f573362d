// The Huawei Cloud Node SDK's four known pitfalls, each pinned by a test:
//  1. the core requires `uuid` without declaring it;
//  2. without a customUserAgent it writes ~/.huaweicloud/application_id;
//  3. it logs failed requests to stdout with the Authorization header;
//  4. it sets no request timeout.

import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import { createRequire } from 'node:module';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { inspect } from 'node:util';
import { createHuaweiProvider, type HuaweiProviderConfig, type ProviderLogger } from '../../controller/provider/huawei/provider.js';
import { CloudError } from '../../controller/provider/errors.js';
import { isHuaweiSdkLoggingSilenced } from '../../controller/provider/huawei/sdk-quiet.js';

const require = createRequire(import.meta.url);
const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

const AK = 'PITFALLAK0000000001';
const SK = 'PITFALLSKverysecretvalue0001';

type Mode = 'json500' | 'vpc400' | 'hang' | 'trickle' | 'ok';

interface Server {
  url: string;
  close(): Promise<void>;
}

async function startServer(mode: Mode): Promise<Server> {
  const timers = new Set<NodeJS.Timeout>();
  const server = http.createServer((req, res) => {
    req.resume();
    switch (mode) {
      case 'json500':
        res.writeHead(500, { 'content-type': 'application/json', 'x-request-id': 'rid-500' });
        res.end('{"code":"VPC.0106","message":"Internal server error."}');
        return;
      case 'vpc400':
        res.writeHead(400, { 'content-type': 'application/json', 'x-request-id': 'rid-400' });
        res.end('{"code":"VPC.2812","message":"duplicate"}');
        return;
      case 'ok':
        res.writeHead(200, { 'content-type': 'application/json' });
        res.end('{"routetable":{"id":"rt-1","routes":[]}}');
        return;
      case 'hang':
        return; // never answers
      case 'trickle': {
        // Answers headers, then one byte every 100 ms forever: the socket never idles.
        res.writeHead(200, { 'content-type': 'application/json' });
        const t = setInterval(() => res.write(' '), 100);
        timers.add(t);
        res.on('close', () => clearInterval(t));
        return;
      }
    }
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        for (const t of timers) clearInterval(t);
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function recordingLogger(): ProviderLogger & { text(): string } {
  const lines: string[] = [];
  const at = (level: string) => (msg: string, meta?: object) => void lines.push(`${level} ${msg} ${JSON.stringify(meta ?? {})}`);
  return { debug: at('debug'), info: at('info'), warn: at('warn'), error: at('error'), text: () => lines.join('\n') };
}

function cfg(url: string, extra: Partial<HuaweiProviderConfig> = {}): HuaweiProviderConfig {
  return {
    flavor: 'huaweicloud',
    endpoint: url,
    projectId: 'pitfallproject01',
    vpcId: 'vpc-1',
    credentials: { ak: AK, sk: SK },
    timeoutMs: 2000,
    ...extra,
  };
}

/** Records everything written to stdout/stderr or console.* while fn runs. */
async function captureOutput(fn: () => Promise<void>): Promise<string> {
  const chunks: string[] = [];
  const origOut = process.stdout.write.bind(process.stdout);
  const origErr = process.stderr.write.bind(process.stderr);
  const consoleMethods = ['log', 'info', 'warn', 'error', 'debug', 'trace'] as const;
  const origConsole = consoleMethods.map((m) => console[m]);
  const grab = (chunk: unknown): void => void chunks.push(typeof chunk === 'string' ? chunk : Buffer.from(chunk as Uint8Array).toString('utf8'));
  process.stdout.write = ((chunk: unknown) => (grab(chunk), true)) as typeof process.stdout.write;
  process.stderr.write = ((chunk: unknown) => (grab(chunk), true)) as typeof process.stderr.write;
  for (const m of consoleMethods) console[m] = (...args: unknown[]) => grab(args.map((a) => (typeof a === 'string' ? a : inspect(a))).join(' '));
  try {
    await fn();
  } finally {
    process.stdout.write = origOut;
    process.stderr.write = origErr;
    consoleMethods.forEach((m, i) => (console[m] = origConsole[i]!));
  }
  return chunks.join('');
}

function assertNoSecrets(label: string, text: string): void {
  for (const bad of [AK, SK, 'SDK-HMAC-SHA256', 'Signature=']) {
    assert.ok(!text.includes(bad), `${label} contains ${bad}:\n${text.slice(0, 2000)}`);
  }
  // The header, in any printed form ("Authorization: ...", Authorization: '...', "Authorization":"...");
  // the SDK exception's field encodedAuthorizationMessage is not a leak.
  assert.doesNotMatch(text, /\bAuthorization\b['"]?\s*[:=]/, `${label} contains an Authorization header`);
}

describe('huawei SDK pitfalls', () => {
  describe('1. the undeclared uuid dependency', () => {
    it('the SDK core and VPC packages load', () => {
      const core = require('@huaweicloud/huaweicloud-sdk-core') as Record<string, unknown>;
      const vpc = require('@huaweicloud/huaweicloud-sdk-vpc') as Record<string, unknown>;
      assert.equal(typeof core.BasicCredentials, 'function');
      assert.equal(typeof vpc.VpcClient, 'function');
      // DefaultUserAgent.js is the module that does require('uuid').
      assert.doesNotThrow(() => require('@huaweicloud/huaweicloud-sdk-core/http/DefaultUserAgent'));
    });

    it('uuid resolves from the core, as CommonJS 9.x, and package.json declares it', () => {
      const fromCore = createRequire(require.resolve('@huaweicloud/huaweicloud-sdk-core'));
      const uuid = fromCore('uuid') as { v4?: () => string };
      assert.equal(typeof uuid.v4, 'function');
      const uuidPkg = JSON.parse(fs.readFileSync(fromCore.resolve('uuid/package.json'), 'utf8')) as { version: string };
      assert.match(uuidPkg.version, /^9\./);
      const pkg = JSON.parse(fs.readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
      assert.match(pkg.dependencies?.uuid ?? '', /^[~^]?9\./, 'package.json must depend on uuid 9 (CommonJS) for the SDK core');
    });
  });

  describe('2. no writes to the home directory', () => {
    let home: string;
    let saved: { HOME?: string; USERPROFILE?: string };
    beforeEach(() => {
      home = fs.mkdtempSync(path.join(os.tmpdir(), 'hostnet-home-'));
      saved = { HOME: process.env.HOME, USERPROFILE: process.env.USERPROFILE };
      process.env.HOME = home;
      process.env.USERPROFILE = home;
    });
    afterEach(() => {
      for (const [k, v] of Object.entries(saved)) {
        if (v === undefined) delete process.env[k];
        else process.env[k] = v;
      }
      fs.rmSync(home, { recursive: true, force: true });
    });

    it('building the provider and calling the cloud leaves a fresh HOME empty', async () => {
      assert.equal(os.homedir(), home);
      const server = await startServer('ok');
      try {
        const p = createHuaweiProvider(cfg(server.url), recordingLogger());
        await p.listRoutes('rt-1');
      } finally {
        await server.close();
      }
      assert.deepEqual(fs.readdirSync(home), []);
    });

    it('(control) the bare SDK without customUserAgent does write ~/.huaweicloud/application_id', () => {
      const vpc = require('@huaweicloud/huaweicloud-sdk-vpc') as typeof import('@huaweicloud/huaweicloud-sdk-vpc');
      const core = require('@huaweicloud/huaweicloud-sdk-core') as typeof import('@huaweicloud/huaweicloud-sdk-core');
      vpc.VpcClient.newBuilder()
        .withCredential(new core.BasicCredentials().withAk('x').withSk('y').withProjectId('p'))
        .withEndpoint('http://127.0.0.1:9')
        .build();
      assert.ok(fs.existsSync(path.join(home, '.huaweicloud', 'application_id')));
    });
  });

  describe('3. no credentials in any output', () => {
    it('the SDK logger is silenced', () => {
      assert.ok(isHuaweiSdkLoggingSilenced());
    });

    for (const mode of ['json500', 'vpc400', 'refused'] as const) {
      it(`a failing request (${mode}) prints nothing with AK, SK or the Authorization header`, async () => {
        const savedDebug = process.env.DEBUG;
        process.env.DEBUG = 'DEBUG'; // the SDK's own switch for request/response debug logs
        const server = await startServer(mode === 'refused' ? 'ok' : mode);
        let url = server.url;
        if (mode === 'refused') await server.close();
        url = mode === 'refused' ? url : server.url;
        const log = recordingLogger();
        let caught: unknown;
        try {
          const out = await captureOutput(async () => {
            const p = createHuaweiProvider(cfg(url), log);
            try {
              await p.applyRoutes('rt-1', { add: [{ destination: '10.0.2.0/24', nexthop: 'srv', description: '' }], mod: [], del: [] });
            } catch (err) {
              caught = err;
            }
          });
          assertNoSecrets('stdout/stderr/console', out);
        } finally {
          if (savedDebug === undefined) delete process.env.DEBUG;
          else process.env.DEBUG = savedDebug;
          if (mode !== 'refused') await server.close();
        }
        assert.ok(caught instanceof CloudError, 'the call must fail');
        assert.equal(caught.kind, mode === 'vpc400' ? 'conflict' : 'transient');
        assertNoSecrets('CloudError', `${caught.message}\n${inspect(caught, { depth: 5 })}\n${JSON.stringify(caught)}`);
        assertNoSecrets('provider log', log.text());
      });
    }

    it('(control) the bare SDK does print the Authorization header on a failed request', async function () {
      this.timeout(20000);
      const script = `
        const http = require('node:http');
        const vpc = require('@huaweicloud/huaweicloud-sdk-vpc');
        const core = require('@huaweicloud/huaweicloud-sdk-core');
        const srv = http.createServer((q, r) => { r.writeHead(500); r.end('{}'); });
        srv.listen(0, '127.0.0.1', async () => {
          const c = vpc.VpcClient.newBuilder()
            .withCredential(new core.BasicCredentials().withAk('${AK}').withSk('${SK}').withProjectId('p'))
            .withEndpoint('http://127.0.0.1:' + srv.address().port)
            .withOptions({ customUserAgent: 'control' }).build();
          try { await c.showRouteTable(new vpc.ShowRouteTableRequest().withRoutetableId('x')); } catch {}
          srv.close(); process.exit(0);
        });`;
      const out = await new Promise<string>((resolve, reject) => {
        execFile(process.execPath, ['-e', script], { cwd: repoRoot, timeout: 15000 }, (err, stdout, stderr) =>
          err ? reject(err) : resolve(stdout + stderr),
        );
      });
      assert.match(out, /Authorization/);
      assert.ok(out.includes(AK), 'the control run should leak the AK: the capture above would see it');
    });
  });

  describe('4. a request timeout is always set', () => {
    it('a server that never answers fails as transient within about the timeout', async () => {
      const server = await startServer('hang');
      try {
        const p = createHuaweiProvider(cfg(server.url, { timeoutMs: 300 }), recordingLogger());
        const started = Date.now();
        await assert.rejects(p.listRoutes('rt-1'), (err: unknown) => {
          assert.ok(err instanceof CloudError);
          assert.equal(err.kind, 'transient');
          assert.equal(err.httpStatus, undefined);
          return true;
        });
        const ms = Date.now() - started;
        assert.ok(ms >= 250 && ms < 1500, `failed after ${ms} ms`);
      } finally {
        await server.close();
      }
    });

    it('a server that trickles bytes forever is cut off by the hard deadline', async () => {
      const server = await startServer('trickle');
      try {
        const p = createHuaweiProvider(cfg(server.url, { timeoutMs: 300 }), recordingLogger());
        const started = Date.now();
        await assert.rejects(p.listRoutes('rt-1'), (err: unknown) => err instanceof CloudError && err.kind === 'transient' && /timed out/.test(err.message));
        const ms = Date.now() - started;
        assert.ok(ms < 2500, `failed after ${ms} ms`);
      } finally {
        await server.close();
      }
    });

    it('the default timeout is 10 s (the SDK default is none)', () => {
      const p = createHuaweiProvider(cfg('http://127.0.0.1:9', { timeoutMs: undefined }), recordingLogger());
      assert.equal(p.config.timeoutMs, 10000);
    });
  });
});
