#!/usr/bin/env node
// Packs every publishable workspace package the way it will be published (`pnpm pack` rewrites
// `workspace:*` to real versions), installs all tarballs into an empty folder with npm, and imports each
// one there. Catches missing `files`, broken `exports`, and dependencies that only resolve in the workspace.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../../../..');
const work = mkdtempSync(join(tmpdir(), 'gptoss-pack-'));
const packs = join(work, 'packs');
const app = join(work, 'app');
const sh = (cmd, args, cwd) => execFileSync(cmd, args, { cwd, stdio: ['ignore', 'pipe', 'inherit'], encoding: 'utf8' });

const pkgs = [];
for (const group of ['packages', 'apps']) {
  for (const dir of readdirSync(join(root, group))) {
    const pj = JSON.parse(readFileSync(join(root, group, dir, 'package.json'), 'utf8'));
    if (!pj.private) pkgs.push({ dir: join(root, group, dir), name: pj.name });
  }
}
try {
  const tarballs = [];
  for (const p of pkgs) {
    const out = sh('pnpm', ['pack', '--pack-destination', packs], p.dir).trim().split('\n');
    tarballs.push(out.filter((l) => l.endsWith('.tgz')).pop());
    console.log(`packed ${p.name}`);
  }
  sh('mkdir', ['-p', app]);
  // npm 11 runs install scripts only for packages named in allowScripts: our addon compiles at install.
  writeFileSync(
    join(app, 'package.json'),
    JSON.stringify({ name: 'pack-check', private: true, type: 'module', allowScripts: { '@gptoss/kernels-native': true } }),
  );
  // Local tarballs must win over the registry for our own packages, so they are installed in one command.
  sh('npm', ['install', '--no-audit', '--no-fund', ...tarballs], app);
  for (const p of pkgs) {
    const code = `const m = await import(${JSON.stringify(p.name)}); if (Object.keys(m).length === 0) throw new Error('no exports');`;
    sh('node', ['--input-type=module', '-e', code], app);
    console.log(`imported ${p.name} from its tarball`);
  }
  console.log(`pack-check: ${pkgs.length} packages packed, installed and imported`);
} finally {
  rmSync(work, { recursive: true, force: true });
}
