#!/usr/bin/env node
// Builds the native addon with node-gyp, skipping the build when build/Release is newer than every source.
//   node scripts/build-addon.mjs            build if sources changed (turbo `build`)
//   node scripts/build-addon.mjs --install  the package's install script: never fails the install; on failure it
//                                           prints one line and leaves the addon absent (the runtime then falls
//                                           back to the reference backend and says why)
//   node scripts/build-addon.mjs --force    always rebuild
import { spawnSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = dirname(dirname(fileURLToPath(import.meta.url)));
const install = process.argv.includes('--install');
const force = process.argv.includes('--force');
const addon = join(root, 'build', 'Release', 'gptoss_kernels.node');

function newestSource() {
  let t = statSync(join(root, 'binding.gyp')).mtimeMs;
  for (const f of readdirSync(join(root, 'native'))) t = Math.max(t, statSync(join(root, 'native', f)).mtimeMs);
  return t;
}

if (!force && existsSync(addon) && statSync(addon).mtimeMs >= newestSource()) {
  if (!install) console.log('kernels-native: addon up to date');
  process.exit(0);
}

let gyp;
try {
  gyp = createRequire(import.meta.url).resolve('node-gyp/bin/node-gyp.js');
} catch {
  fail('node-gyp is not installed');
}
const args = [gyp, 'rebuild', '--jobs', 'max'];
// Use the headers that ship with this Node when they are present, so no download is needed (offline machines).
const prefix = dirname(dirname(process.execPath));
if (!process.env.npm_config_nodedir && existsSync(join(prefix, 'include', 'node', 'node_api.h'))) args.push(`--nodedir=${prefix}`);
const r = spawnSync(process.execPath, args, { cwd: root, stdio: install ? 'pipe' : 'inherit', encoding: 'utf8' });
if (r.status !== 0) {
  const why = install ? lastError(`${r.stdout ?? ''}\n${r.stderr ?? ''}`) : `node-gyp exited with ${r.status}`;
  fail(why);
}
if (!install) console.log('kernels-native: addon built');

function lastError(text) {
  const lines = text.split('\n').filter((l) => /error|not found|ERR!/i.test(l));
  return (lines.find((l) => /error:/.test(l)) ?? lines[0] ?? 'unknown error').trim().slice(0, 200);
}

function fail(reason) {
  const msg = `@gptoss/kernels-native: native addon not built (${reason}); the cpu backend is unavailable. ` +
    'Install a C++ compiler and run pnpm rebuild @gptoss/kernels-native';
  if (install) {
    console.log(msg);
    process.exit(0);
  }
  console.error(msg);
  process.exit(1);
}
