// Bundles bench/run.ts into one file for the device machine, next to a linux-x64-only copy of `webgpu` (Dawn).
// Usage (from packages/kernels-webgpu): node bench/bundle.mjs [outDir=../../.device] [--run -- args...]
import { build } from 'esbuild';
import { cpSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, resolve } from 'node:path';
import { spawnSync } from 'node:child_process';

const argv = process.argv.slice(2);
const outDir = resolve(argv[0] && !argv[0].startsWith('--') ? argv[0] : '../../.device');
for (const [entry, out] of [
  ['bench/run.ts', 'bench.mjs'],
  ['bench/conformance.ts', 'conformance.mjs'],
  ['bench/runtime.ts', 'runtime.mjs'],
  ['bench/floor.ts', 'floor.mjs'],
  ['src/index.ts', 'kernels-webgpu.mjs'],
]) {
  await build({
    entryPoints: [entry],
    bundle: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    external: ['webgpu'],
    outfile: join(outDir, out),
    conditions: ['@gptoss/source'],
    // Bundled dependencies written as CommonJS (e.g. in the runtime's graph) need a require.
    banner: { js: "import { createRequire as __cr } from 'node:module'; const require = __cr(import.meta.url);" },
    logLevel: 'warning',
  });
}
const req = createRequire(import.meta.url);
const wgDir = dirname(req.resolve('webgpu/package.json'));
const dst = join(outDir, 'node_modules', 'webgpu');
mkdirSync(join(dst, 'dist', 'linux-x64'), { recursive: true });
for (const f of ['package.json', 'index.js']) cpSync(join(wgDir, f), join(dst, f));
cpSync(join(wgDir, 'dist', 'linux-x64', 'dawn.node'), join(dst, 'dist', 'linux-x64', 'dawn.node'));
console.log(`bench bundled into ${outDir}/bench.mjs`);
const i = argv.indexOf('--run');
if (i >= 0) {
  const r = spawnSync(process.execPath, [join(outDir, 'bench.mjs'), ...argv.slice(i + 1).filter((a) => a !== '--')], {
    stdio: 'inherit',
  });
  process.exit(r.status ?? 1);
}
