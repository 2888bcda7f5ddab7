// Bundled size of the tokenizer and of the whole package, minified, with the o200k_base ranks (js-tiktoken) left
// external; plus the size of the ranks module itself. Run: node bench/encode-size.mjs
import { build } from 'esbuild';
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { fileURLToPath } from 'node:url';
import { gzipSync } from 'node:zlib';

const root = fileURLToPath(new URL('..', import.meta.url));

async function size(entry) {
  const r = await build({
    entryPoints: [`${root}${entry}`],
    bundle: true,
    minify: true,
    format: 'esm',
    platform: 'browser',
    target: 'es2022',
    external: ['js-tiktoken', 'js-tiktoken/*'],
    write: false,
    logLevel: 'error',
  });
  const code = r.outputFiles[0].contents;
  return { bytes: code.length, gzip: gzipSync(code, { level: 9 }).length };
}

const fmt = (s) => `${(s.bytes / 1024).toFixed(1)} KiB minified, ${(s.gzip / 1024).toFixed(1)} KiB gzip`;
console.log(`tokenizer only (src/tokenizer/index.ts), ranks external: ${fmt(await size('src/tokenizer/index.ts'))}`);
console.log(`whole package (src/index.ts), ranks external:           ${fmt(await size('src/index.ts'))}`);
const ranksPath = createRequire(`${root}package.json`).resolve('js-tiktoken/ranks/o200k_base');
const ranks = readFileSync(ranksPath);
console.log(`ranks module js-tiktoken/ranks/o200k_base:               ${fmt({ bytes: ranks.length, gzip: gzipSync(ranks, { level: 9 }).length })}`);
