// The production entry points as bundles: `npm run build` compiles with tsc (type check, dist/ for
// the tests and tools) and then runs this, writing dist/bin/hostnet-controller.js,
// hostnet-agent.js and hostnet-agent-kubeconfig.js (plus the chunks they share). The image, the
// package's bin and `make bench` run these.
//
// Why a bundle (issue 16): @kubernetes/client-node is some 1,500 modules of generated code. Loaded
// from node_modules one file at a time it cost ~0.65 s of start-up and ~70 MiB of RSS before the
// controller did anything; one minified bundle loads in ~0.2 s and ~25 MiB (measured on the 2-core
// bench machine: `node --expose-gc` importing each and reading process.memoryUsage()). That start-up
// is most of a restart's time to Ready and most of the RSS at 100 hosts.
//
// The cloud SDKs stay in node_modules: the controller loads only the configured one, on demand
// (provider/factory.ts), and the Huawei provider requires single files of its SDK
// (provider/huawei/sdk.ts) and silences the SDK's loggers by their module paths
// (provider/huawei/sdk-quiet.ts) — both need the package's own files.
//
//   npx tsx hack/bundle.ts [--outdir dist/bin]
import { rmSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { build } from 'esbuild';

const repoRoot = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Packages loaded from node_modules at run time (see above). */
export const EXTERNAL_PACKAGES = ['@huaweicloud/*', '@aws-sdk/*', '@smithy/*', '@alicloud/*'];

export const ENTRY_POINTS = {
  'hostnet-controller': 'controller/main.ts',
  'hostnet-agent': 'agent/main.ts',
  'hostnet-agent-kubeconfig': 'agent/kubeconfig.ts',
};

export async function bundle(outdir: string): Promise<void> {
  rmSync(outdir, { recursive: true, force: true });
  await build({
    absWorkingDir: repoRoot,
    entryPoints: Object.fromEntries(Object.entries(ENTRY_POINTS).map(([name, src]) => [name, join(repoRoot, src)])),
    outdir,
    bundle: true,
    // Shared code (client-node above all) in chunks of its own; the providers stay lazy chunks.
    splitting: true,
    format: 'esm',
    platform: 'node',
    target: 'node20',
    // Whitespace and syntax only: the source text is kept in the heap, so its size is memory. The
    // names stay, so a stack trace reads without source maps; the maps beside the files give
    // the TypeScript lines when asked for (NODE_OPTIONS=--enable-source-maps, which costs ~11 MiB
    // of RSS, so the image leaves it off; docs/operations.md).
    minifyWhitespace: true,
    minifySyntax: true,
    sourcemap: 'linked',
    sourcesContent: false,
    external: EXTERNAL_PACKAGES,
    // CommonJS packages inside an ES module bundle still call require() for Node's built-ins.
    banner: { js: "import { createRequire as __hostnetCreateRequire } from 'node:module'; const require = __hostnetCreateRequire(import.meta.url);" },
    logLevel: 'warning',
    legalComments: 'linked',
  });
}

const isMain = process.argv[1] !== undefined && fileURLToPath(import.meta.url) === process.argv[1];
if (isMain) {
  const { values } = parseArgs({ options: { outdir: { type: 'string', default: join(repoRoot, 'dist', 'bin') }, help: { type: 'boolean', short: 'h' } } });
  if (values.help) {
    console.log('usage: npx tsx hack/bundle.ts [--outdir DIR]   (default dist/bin)');
  } else {
    await bundle(values.outdir);
    console.log(`bundled ${Object.keys(ENTRY_POINTS).join(', ')} into ${values.outdir}`);
  }
}
