// Bundles bench/render-parse.bench.ts with esbuild (dependencies stay external) and runs it with node.
import { build } from 'esbuild';
import { fileURLToPath } from 'node:url';

const here = fileURLToPath(new URL('.', import.meta.url));
// Inside node_modules so the bundle resolves tiktoken/js-tiktoken from this package, and git ignores it.
const outfile = `${here}../node_modules/.cache/gptoss-bench/render-parse.bench.mjs`;
await build({
  entryPoints: [`${here}render-parse.bench.ts`],
  bundle: true,
  platform: 'node',
  format: 'esm',
  target: 'node20',
  outfile,
  packages: 'external',
  logLevel: 'warning',
});
await import(outfile);
