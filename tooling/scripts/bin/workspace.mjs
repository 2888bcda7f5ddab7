#!/usr/bin/env node
// `npm test` and `npm start` on a fresh clone, with only Node and npm present: install the pinned pnpm
// (locally, no global write needed), the Debian packages the tests use, the workspace, then run the job.
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync } from 'node:fs';
import { delimiter, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = resolve(fileURLToPath(import.meta.url), '../../../..');
const PNPM_VERSION = '12.21.0';
const toolsDir = join(root, '.cache', 'tools');
const env = { ...process.env, TURBO_TELEMETRY_DISABLED: '1', DO_NOT_TRACK: '1' };
env.PATH = [join(toolsDir, 'node_modules', '.bin'), env.PATH].join(delimiter);

const SWIFTSHADER_ICD = '/usr/lib/chromium/vk_swiftshader_icd.json';

function log(msg) {
  console.log(`\x1b[1m[gptoss]\x1b[0m ${msg}`);
}

function run(cmd, args, opts = {}) {
  const r = spawnSync(cmd, args, { stdio: 'inherit', cwd: root, env, ...opts });
  if (r.error) throw r.error;
  if (r.status !== 0 && !opts.allowFail) {
    log(`\`${cmd} ${args.join(' ')}\` failed with exit code ${r.status}`);
    process.exit(r.status ?? 1);
  }
  return r.status;
}

function quiet(cmd, args) {
  const r = spawnSync(cmd, args, { encoding: 'utf8', cwd: root, env });
  return r.status === 0 ? r.stdout.trim() : null;
}

function ensurePnpm() {
  if (quiet('pnpm', ['--version']) === PNPM_VERSION) return;
  log(`installing pnpm ${PNPM_VERSION} into .cache/tools`);
  mkdirSync(toolsDir, { recursive: true });
  run('npm', ['install', '--no-save', '--no-package-lock', '--prefix', toolsDir, `pnpm@${PNPM_VERSION}`]);
}

// Debian packages the test suite drives for real: Chromium (a real page for the browser tests and the
// SwiftShader Vulkan driver that runs WebGPU without a GPU) and Mesa's lavapipe (a CPU Vulkan driver with
// shader-f16, for the WebGPU kernels' f16 path; Mesa 24 or later, from bookworm-backports on Debian 12).
// Installed only when missing.
function lavapipeOk() {
  const v = quiet('dpkg-query', ['-W', '-f=${Version}', 'mesa-vulkan-drivers']);
  return !!v && Number(v.split('.')[0]) >= 24;
}

function ensureApt() {
  const want = [];
  if (!existsSync('/usr/bin/chromium') || !existsSync(SWIFTSHADER_ICD)) want.push('chromium');
  const mesa = !lavapipeOk();
  if (want.length === 0 && !mesa) return;
  if (!quiet('sh', ['-c', 'command -v apt-get'])) {
    log(`cannot install ${[...want, ...(mesa ? ['mesa-vulkan-drivers'] : [])].join(', ')}: apt-get not found; tests that need them will fail`);
    return;
  }
  const sudo = process.getuid?.() === 0 ? [] : ['sudo', '-n'];
  const aptEnv = { ...env, DEBIAN_FRONTEND: 'noninteractive' };
  const [cmd, ...pre] = sudo.length ? sudo : ['apt-get'];
  const base = sudo.length ? [...pre, 'apt-get'] : [];
  // Debian 12's own Mesa (22.3) has a lavapipe that Dawn rejects; its backports suite has Mesa 25.
  const bookworm = /^VERSION_CODENAME=bookworm$/m.test(quiet('cat', ['/etc/os-release']) ?? '');
  const bpo = '/etc/apt/sources.list.d/gptoss-bookworm-backports.list';
  if (mesa && bookworm && !quiet('sh', ['-c', 'grep -rqs "bookworm-backports" /etc/apt/sources.list /etc/apt/sources.list.d && echo y'])) {
    log(`adding Debian's bookworm-backports suite (${bpo}) for Mesa's lavapipe`);
    const line = 'deb http://deb.debian.org/debian bookworm-backports main';
    run(sudo.length ? 'sudo' : 'sh', [...(sudo.length ? ['-n', 'sh'] : []), '-c', `echo '${line}' > ${bpo}`]);
  }
  log(`installing Debian packages: ${[...want, ...(mesa ? ['mesa-vulkan-drivers'] : [])].join(', ')}`);
  run(cmd, [...base, 'update', '-q'], { env: aptEnv, allowFail: true });
  if (want.length) run(cmd, [...base, 'install', '-y', '-q', '--no-install-recommends', ...want], { env: aptEnv });
  if (mesa) {
    const t = bookworm ? ['-t', 'bookworm-backports'] : [];
    run(cmd, [...base, 'install', '-y', '-q', '--no-install-recommends', ...t, 'mesa-vulkan-drivers'], { env: aptEnv });
  }
}

function gpuEnv() {
  if (!env.VK_ICD_FILENAMES && !env.VK_DRIVER_FILES && existsSync(SWIFTSHADER_ICD)) {
    // Dawn dlopens libvulkan.so.1; Debian's chromium ships one beside its SwiftShader driver.
    env.VK_ICD_FILENAMES = SWIFTSHADER_ICD;
    env.LD_LIBRARY_PATH = ['/usr/lib/chromium', env.LD_LIBRARY_PATH].filter(Boolean).join(delimiter);
  }
  // With a Vulkan driver present, a WebGPU suite that finds no adapter is a failure, not a skip.
  if (env.VK_ICD_FILENAMES || env.VK_DRIVER_FILES) env.GPTOSS_REQUIRE_WEBGPU ??= '1';
  env.XDG_RUNTIME_DIR ??= '/tmp';
}

function install() {
  ensurePnpm();
  const frozen = env.CI ? ['--frozen-lockfile'] : [];
  run('pnpm', ['install', ...frozen]);
}

const [job = 'test', ...rest] = process.argv.slice(2);
if (job === 'test') {
  ensureApt();
  install();
  gpuEnv();
  run('pnpm', ['exec', 'turbo', 'run', 'build', 'lint', 'typecheck', 'test', '--continue=never', '--concurrency=2', ...rest]);
  run('pnpm', ['exec', 'changeset', 'status']);
  run('node', [join(root, 'tooling/scripts/bin/pack-check.mjs')]);
  log('all checks passed');
} else if (job === 'start') {
  install();
  gpuEnv();
  run('pnpm', ['exec', 'turbo', 'run', 'build', '--filter=@gptoss/cli...']);
  // `npm start` alone runs the CLI's `start` job; `npm start -- <command> …` runs that command instead.
  run('node', [join(root, 'apps/cli/dist/bin.js'), ...(rest.length > 0 ? rest : ['start'])]);
} else {
  console.error(`unknown job "${job}": expected "test" or "start"`);
  process.exit(2);
}
