// Bundles @gptoss/harmony for the browser with esbuild (used by test/browser.test.ts and for the size figure in
// README.md). `node scripts/bundle.mjs` prints the minified and gzipped sizes with and without the o200k ranks.
import { gzipSync } from 'node:zlib';
import { fileURLToPath } from 'node:url';
import { build } from 'esbuild';

const RANKS = 'js-tiktoken/ranks/o200k_base';
const entry = fileURLToPath(new URL('../src/index.ts', import.meta.url));

/** One ESM file for browsers; `withRanks: false` leaves the ranks module as an external import. */
export async function bundleHarmony({ withRanks = true, minify = true } = {}) {
  const result = await build({
    entryPoints: [entry],
    bundle: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    minify,
    write: false,
    external: withRanks ? [] : [RANKS],
    logLevel: 'silent',
  });
  return result.outputFiles[0].contents;
}

if (process.argv[1] === fileURLToPath(import.meta.url)) {
  for (const withRanks of [false, true]) {
    const code = await bundleHarmony({ withRanks });
    const kb = (n) => `${(n / 1024).toFixed(1)} KiB`;
    console.log(
      `${withRanks ? 'with ranks   ' : 'without ranks'}: ${kb(code.length)} minified, ${kb(gzipSync(code).length)} gzipped`,
    );
  }
}
